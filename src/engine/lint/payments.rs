//! Payment gaps, by evaluation over the payment requests `tollgate diff`
//! generates ([`corpus::payments`], not a second generator, and not a
//! proof): for every merchant of the bundle (and one unlisted merchant
//! when it has a default profile), which outcomes its link requests and
//! its charge requests reach, with what each carries, and whether some
//! request falls through every rule to `NO_MATCHING_RULE`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::{
    bundle::{CompiledBundle, TestRequest},
    domain::{Answer, ChargeFundingDecision, DecisionKind, PaymentLinkDecision},
    engine::{
        ChargeFundingType, DecisionType, PaymentLinkType, codes,
        diff::corpus::{self, UNLISTED_MERCHANT},
    },
};

/// What the corpus reached for one merchant and one payment decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reached {
    /// Each outcome reached (`LINK`, `REQUIRE_ACTION`, `DENY`, `APPROVE`,
    /// `DECLINE`) with what it carried: the reason codes of a link or a
    /// deny, the actions of a `REQUIRE_ACTION` (`ADD_PAYMENT_METHOD
    /// ENABLE_AUTO_CHARGE`), the step sources of an approval
    /// (`AUTO_CHARGE BALANCE`), the reason codes of a decline.
    /// `NO_MATCHING_RULE` is never one of them.
    pub outcomes: BTreeMap<&'static str, BTreeSet<String>>,
    /// Whether some request reached only `NO_MATCHING_RULE`.
    pub no_match: bool,
    /// A request that did, as `tollgate diff` shows it.
    pub example: Option<String>,
    /// Requests decided.
    pub requests: usize,
}

impl Reached {
    /// Some request fell through every rule: the rules do not answer it.
    pub fn gap(&self) -> bool {
        self.no_match
    }
}

/// One merchant and one payment decision.
#[derive(Debug, Clone)]
pub struct MerchantGap {
    /// `payment_link` or `charge_funding`.
    pub decision: DecisionKind,
    /// The merchant's id, or `unlisted-merchant` for the default profile.
    pub merchant: String,
    /// The file of the merchant's entry (or of `default_merchant`).
    pub file: String,
    /// Its line.
    pub line: u64,
    /// What the corpus reached.
    pub reached: Reached,
}

impl MerchantGap {
    /// `file:line` of the merchant's entry.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Every merchant × payment decision with what the corpus reached, and the
/// corpus size. Sorted by merchant (the unlisted one under its id), links
/// before charges.
pub(super) fn payments(bundle: &CompiledBundle, now: Timestamp) -> (Vec<MerchantGap>, usize) {
    // By (merchant, decision type's index): links before charges.
    let mut by: BTreeMap<(String, usize), (DecisionKind, Reached)> = BTreeMap::new();
    let requests = corpus::payments(&[bundle], now);
    let size = requests.len();
    for (request, shown) in requests {
        let (merchant, kind) = match &request {
            TestRequest::PaymentLink(i) => (&i.wallet.merchant_id, DecisionKind::PaymentLink),
            TestRequest::ChargeFunding(i) => (&i.wallet.merchant_id, DecisionKind::ChargeFunding),
            TestRequest::PlanChange(_) => continue,
        };
        let (_, slot) = by
            .entry((merchant.clone(), kind.index()))
            .or_insert_with(|| (kind, Reached::default()));
        match request {
            TestRequest::PaymentLink(input) => {
                record::<PaymentLinkType>(bundle, input, now, &shown, slot, link_detail);
            }
            TestRequest::ChargeFunding(input) => {
                record::<ChargeFundingType>(bundle, input, now, &shown, slot, funding_detail);
            }
            TestRequest::PlanChange(_) => {}
        }
    }
    let out = by
        .into_iter()
        .map(|((merchant, _), (decision, reached))| {
            let profile = if merchant == UNLISTED_MERCHANT {
                bundle.merchants.default.as_ref()
            } else {
                bundle.merchants.by_id.get(&merchant)
            };
            MerchantGap {
                decision,
                file: profile.map_or_else(String::new, |m| m.file.to_string()),
                line: profile.map_or(0, |m| m.at.line),
                merchant,
                reached,
            }
        })
        .collect();
    (out, size)
}

/// Decides one generated request and adds what it reached to `out`.
fn record<T: DecisionType>(
    bundle: &CompiledBundle,
    input: T::Input,
    now: Timestamp,
    shown: &str,
    out: &mut Reached,
    detail: fn(&T::Decision) -> String,
) {
    let Ok(req) = T::parse(input, now) else {
        // The corpus builds valid requests; one the domain refuses says
        // nothing about the rules.
        return;
    };
    let Ok(d) = T::decide(bundle, &req) else {
        return;
    };
    out.requests += 1;
    if d.reasons()
        .iter()
        .any(|r| r.code.as_str() == codes::NO_MATCHING_RULE)
    {
        out.no_match = true;
        out.example.get_or_insert_with(|| shown.to_owned());
        return;
    }
    out.outcomes
        .entry(d.outcome())
        .or_default()
        .insert(detail(&d));
}

fn codes_of(d: &impl Answer) -> String {
    let codes: Vec<&str> = d.reasons().iter().map(|r| r.code.as_str()).collect();
    codes.join(" ")
}

/// A link's or a deny's reason codes; a `REQUIRE_ACTION`'s actions.
fn link_detail(d: &PaymentLinkDecision) -> String {
    if d.required_actions.is_empty() {
        codes_of(d)
    } else {
        let actions: Vec<&str> = d.required_actions.iter().map(|a| a.as_str()).collect();
        actions.join(" ")
    }
}

/// An approval's step sources in order; a decline's reason codes.
fn funding_detail(d: &ChargeFundingDecision) -> String {
    if d.steps.is_empty() {
        codes_of(d)
    } else {
        let sources: Vec<&str> = d.steps.iter().map(|s| s.source.as_str()).collect();
        sources.join(" ")
    }
}
