//! `DecideChargeFunding` over gRPC: every part of a decision arrives intact
//! (outcome, steps with source, method and amount, the currency, reasons
//! with rule id, message and details, provenance, the explain trace). What
//! the demo bundle decides is the demo's own tests' and
//! `tests/cases/charge_funding/`'s business.

use tollgate::grpc::pb::{
    self, FundingOutcome, FundingSource,
    PaymentMethodStatus::{Active, Suspended},
    PaymentMethodType::{CreditCard, Postpaid},
};

use crate::support::{
    AFTER_ALLOW, AFTER_DENY, AS_OF, Server, assert_provenance, auto_charge, card, funding_request,
    method, money, reason, trace,
};

#[tokio::test]
async fn a_charge_funding_decision_arrives_intact() {
    let server = Server::embedded().await;
    let status = server.status().await;

    // A preset top-up that covers the shortfall, explained: two steps, from
    // a method and from the balance.
    let mut req = funding_request("video-stream", 3000, 500, vec![card("card-1", 0)]);
    req.auto_charge = auto_charge("card-1", 2500);
    req.explain = true;
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), FundingOutcome::Approve, "{d:#?}");
    assert_eq!(
        d.steps,
        [
            step(FundingSource::AutoCharge, "card-1", 2500),
            step(FundingSource::Balance, "", 3000),
        ]
    );
    assert_eq!(d.currency, "JPY");
    assert_eq!(
        d.reasons,
        [reason(
            "AUTO_CHARGE_TOP_UP",
            "auto-charge-top-up",
            "top up the user's preset JPY 2,500 from `card-1` for the shortfall of JPY 2,500",
            &[],
        )]
    );
    assert_provenance(&d, &status, AS_OF);
    assert_eq!(
        trace(&d),
        [
            ("currency-not-accepted", "decline", false, false, ""),
            ("balance-unavailable", "decline", false, false, ""),
            ("balance-covers", "approve", false, false, ""),
            ("top-up-below-shortfall", "decline", false, false, ""),
            ("auto-charge-top-up", "approve", true, true, ""),
            ("fallback-method", "approve", false, false, AFTER_ALLOW),
            // A decline rule is still evaluated after an approve decided.
            ("top-up-source-not-accepted", "decline", false, false, ""),
            ("top-up-source-inactive", "decline", false, false, ""),
            ("insufficient-funds", "decline", false, false, ""),
        ]
    );

    // A decline in the charge's own currency, without steps: the currency
    // decides alone (a shortfall in another unit means nothing), and no
    // approve rule is evaluated.
    let mut req = funding_request("video-stream", 3000, 1000, vec![]);
    req.amount = money("USD", 3000);
    req.explain = true;
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), FundingOutcome::Decline, "{d:#?}");
    assert_eq!(d.steps, [], "{d:#?}");
    assert_eq!(d.currency, "USD");
    assert_eq!(
        d.reasons,
        [reason(
            "CURRENCY_NOT_ACCEPTED",
            "currency-not-accepted",
            "`video-stream` charges in JPY, not USD",
            &[],
        ),]
    );
    assert_provenance(&d, &status, AS_OF);
    assert_eq!(
        trace(&d),
        [
            ("currency-not-accepted", "decline", true, true, ""),
            ("balance-unavailable", "decline", false, false, ""),
            ("balance-covers", "approve", false, false, AFTER_DENY),
            ("top-up-below-shortfall", "decline", false, false, ""),
            ("auto-charge-top-up", "approve", false, false, AFTER_DENY),
            ("fallback-method", "approve", false, false, AFTER_DENY),
            ("top-up-source-not-accepted", "decline", false, false, ""),
            ("top-up-source-inactive", "decline", false, false, ""),
            ("insufficient-funds", "decline", false, false, ""),
        ]
    );

    // The engine's own reasons (no rule id) with their details: a skipped
    // fallback, and an unknown merchant, declined in the charge's currency.
    let req = funding_request(
        "video-stream",
        3000,
        1000,
        vec![method("later-1", Postpaid, Active, 1)],
    );
    let d = server.decide(req).await;
    assert_eq!(
        d.reasons[1],
        reason(
            "FALLBACK_METHOD_SKIPPED",
            "",
            "`later-1` (POSTPAID) was not used as a fallback: \
             the merchant does not accept this method type",
            &[
                ("method_id", "later-1"),
                ("type", "POSTPAID"),
                ("why", "NOT_ACCEPTED_BY_MERCHANT"),
            ],
        )
    );
    let mut req = funding_request("bookshop", 1000, 100_000, vec![]);
    req.amount = money("EUR", 1000);
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), FundingOutcome::Decline, "{d:#?}");
    assert_eq!(d.currency, "EUR");
    let unknown =
        "merchant `bookshop` is not in the bundle and there is no default merchant profile";
    let details = [("merchant_id", "bookshop")];
    assert_eq!(
        d.reasons,
        [reason("UNKNOWN_MERCHANT", "", unknown, &details)]
    );
}

/// A top-up that the source's status rules out declines with details a
/// payment screen reads: which source, its status, what is short.
#[tokio::test]
async fn a_decline_for_an_inactive_auto_charge_source_arrives_with_its_details() {
    let server = Server::embedded().await;
    let mut req = funding_request(
        "video-stream",
        3000,
        500,
        vec![method("card-1", CreditCard, Suspended, 0)],
    );
    req.auto_charge = auto_charge("card-1", 5000);
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), FundingOutcome::Decline, "{d:#?}");
    assert_eq!(d.steps, [], "{d:#?}");
    assert_eq!(
        d.reasons[0],
        reason(
            "AUTO_CHARGE_SOURCE_INACTIVE",
            "top-up-source-inactive",
            "the balance lacks JPY 2,500; auto-charge draws on `card-1`, which is SUSPENDED, \
             and no preset fallback `video-stream` accepts can pay",
            &[
                ("source_method_id", "card-1"),
                ("status", "SUSPENDED"),
                ("shortfall_minor", "2500"),
                ("currency", "JPY"),
            ],
        )
    );
}

fn step(source: FundingSource, method_id: &str, amount_minor: i64) -> pb::FundingStep {
    pb::FundingStep {
        source: source.into(),
        method_id: method_id.to_owned(),
        amount_minor,
    }
}
