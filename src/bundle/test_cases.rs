//! A bundle's own tests: one request of one decision type and what it
//! should decide.

use std::sync::Arc;

use serde_saphyr::Spanned;

use super::{
    Location,
    model::{TestCase, Want},
    problems::Problems,
    schema::{TestDoc, WantDoc},
    types::{payment, plan_change},
};
use crate::domain::ReasonCode;

pub(super) fn test(p: &mut Problems, file: &Arc<str>, doc: &Spanned<TestDoc>) -> Option<TestCase> {
    let d = &doc.value;
    let at = Location::from(doc);
    let (want, reasons) = (&d.want, want_reasons(p, file, at, &d.name, &d.want));
    let kind = match (&d.plan_change, &d.payment_link, &d.charge_funding) {
        (Some(request), None, None) => plan_change::test(p, file, at, &d.name, request, want),
        (None, Some(request), None) => payment::link_test(p, file, at, &d.name, request, want),
        (None, None, Some(request)) => payment::funding_test(p, file, at, &d.name, request, want),
        _ => {
            p.at(
                file,
                at,
                format!(
                    "test `{}`: give exactly one request: `plan_change`, `payment_link` or `charge_funding`",
                    d.name
                ),
            );
            None
        }
    };
    let (request, kind) = kind?;
    Some(TestCase {
        name: d.name.clone(),
        file: file.clone(),
        at,
        request,
        want: Want {
            kind,
            reasons: reasons?,
        },
    })
}

fn want_reasons(
    p: &mut Problems,
    file: &str,
    at: Location,
    name: &str,
    want: &WantDoc,
) -> Option<Option<Vec<String>>> {
    let mut ok = true;
    for code in want.reasons.iter().flatten() {
        if let Err(e) = ReasonCode::parse(code) {
            p.at(file, at, format!("test `{name}`: want: reasons: {e}"));
            ok = false;
        }
    }
    ok.then(|| want.reasons.clone())
}
