//! A bundle's own tests: one request of one decision type and what it
//! should decide. Every test is evaluated at a stated instant: its own
//! `as_of`, or its file's `test_defaults.as_of`; never at a clock.

use std::sync::Arc;

use serde_saphyr::Spanned;

use super::{
    Location,
    model::{TestCase, Want},
    problems::Problems,
    schema::{TestDefaultsDoc, TestDoc, WantDoc},
    types::{payment, plan_change},
};
use crate::domain::ReasonCode;

pub(super) fn test(
    p: &mut Problems,
    file: &Arc<str>,
    doc: &Spanned<TestDoc>,
    defaults: Option<&TestDefaultsDoc>,
) -> Option<TestCase> {
    let d = &doc.value;
    let at = Location::from(doc);
    let (want, reasons) = (&d.want, want_reasons(p, file, at, &d.name, &d.want));
    let own_as_of = match (&d.plan_change, &d.payment_link, &d.charge_funding) {
        (Some(r), None, None) => Some(r.as_of),
        (None, Some(r), None) => Some(r.as_of),
        (None, None, Some(r)) => Some(r.as_of),
        _ => None,
    };
    // `None` when there is not exactly one request (reported below).
    let as_of = own_as_of.map(|own| own.or(defaults.map(|t| t.as_of)));
    if as_of == Some(None) {
        p.at(
            file,
            at,
            format!(
                "test `{}`: no `as_of`: give the request one, or give the file `test_defaults: {{ as_of: ... }}`",
                d.name
            ),
        );
    }
    let as_of = as_of.flatten();
    if want.precondition.is_some() && d.plan_change.is_none() {
        p.at(
            file,
            at,
            format!(
                "test `{}`: want: precondition: only a plan change can lack a billing fact",
                d.name
            ),
        );
    }
    let kind = match (&d.plan_change, &d.payment_link, &d.charge_funding) {
        (Some(request), None, None) => {
            plan_change::test(p, (file, at, &d.name), request, want, as_of)
        }
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
    let (mut request, kind) = kind?;
    *request.as_of_mut() = Some(as_of?);
    Some(TestCase {
        name: d.name.clone(),
        file: file.clone(),
        at,
        request,
        want: Want {
            kind,
            reasons: reasons?,
            messages: d.want.messages.clone(),
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
