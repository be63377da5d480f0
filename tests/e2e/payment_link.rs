//! `DecidePaymentLink` over gRPC: every part of a decision arrives intact
//! (outcome, the actions to prompt in order, reasons with rule id, message
//! and details, provenance, the explain trace). What the demo bundle decides
//! is the demo's own tests' and `tests/cases/payment_link/`'s business.

use tollgate::grpc::pb::{
    LinkOutcome,
    PaymentMethodStatus::{Active, Expired, Suspended},
    PaymentMethodType::Postpaid,
    PaymentMethodType::{BankAccount, CreditCard},
    RequiredAction::{AdjustAutoCharge, EnableAutoCharge, ReactivatePaymentMethod},
};

use crate::support::{
    AFTER_ALLOW, AS_OF, Server, assert_provenance, auto_charge, balance_method, card, demo_counts,
    link_request, method, reason, trace,
};

#[tokio::test]
async fn a_payment_link_decision_arrives_intact() {
    let server = Server::embedded().await;
    let status = server.status().await;

    // Two actions, in order: the demo bundle's "only an expired second
    // method asks to reactivate it", with two inactive methods (the first
    // listed is named, with its details), explained.
    let mut req = link_request(
        "video-stream",
        80,
        vec![
            balance_method(),
            method("card-1", CreditCard, Expired, 0),
            method("bank-1", BankAccount, Suspended, 1),
        ],
    );
    req.explain = true;
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), LinkOutcome::RequireAction, "{d:#?}");
    assert_eq!(
        d.required_actions().collect::<Vec<_>>(),
        [ReactivatePaymentMethod, EnableAutoCharge]
    );
    assert_eq!(
        d.reasons,
        [reason(
            "PAYMENT_METHOD_INACTIVE",
            "accepted-method-inactive",
            "`card-1` (CREDIT_CARD) is EXPIRED; reactivate it, or enable auto-charge of \
             at least JPY 1,000",
            &[
                ("method_id", "card-1"),
                ("type", "CREDIT_CARD"),
                ("status", "EXPIRED"),
                ("min_amount_minor", "1000"),
                ("currency", "JPY"),
            ],
        )]
    );
    assert_provenance(&d, &status, AS_OF);
    assert_eq!(
        trace(&d),
        [
            ("health-not-reported", "deny", false, false, ""),
            ("health-score-too-low", "deny", false, false, ""),
            ("balance-frozen", "require_action", false, false, ""),
            ("auto-charge-available", "link", false, false, ""),
            ("second-method-available", "link", false, false, ""),
            (
                "auto-charge-source-not-accepted",
                "require_action",
                false,
                false,
                ""
            ),
            (
                "auto-charge-below-criterion",
                "require_action",
                false,
                false,
                ""
            ),
            (
                "auto-charge-threshold-below-criterion",
                "require_action",
                false,
                false,
                ""
            ),
            (
                "auto-charge-source-inactive",
                "require_action",
                false,
                false,
                ""
            ),
            ("accepted-method-inactive", "require_action", true, true, ""),
            (
                "methods-not-accepted",
                "require_action",
                false,
                false,
                AFTER_ALLOW
            ),
            (
                "method-not-accepted",
                "require_action",
                false,
                false,
                AFTER_ALLOW
            ),
            (
                "balance-only-second-method-possible",
                "require_action",
                false,
                false,
                AFTER_ALLOW
            ),
            ("balance-only", "require_action", false, false, AFTER_ALLOW),
        ]
    );

    // An unknown merchant is a decision, not a refusal: DENY with the
    // engine's own reason (no rule id), its details, no rule evaluated.
    // tests/cases/payment_link/unknown_merchant.yaml, explained.
    let mut req = link_request("bookshop", 100, vec![card("card-1", 1)]);
    req.auto_charge = auto_charge("card-1", 100_000);
    req.explain = true;
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), LinkOutcome::Deny, "{d:#?}");
    assert!(d.required_actions.is_empty(), "{d:#?}");
    assert_eq!(
        d.reasons,
        [reason(
            "UNKNOWN_MERCHANT",
            "",
            "merchant `bookshop` is not in the bundle and there is no default merchant profile",
            &[("merchant_id", "bookshop")],
        )]
    );
    assert_provenance(&d, &status, AS_OF);
    let t = trace(&d);
    let (link_rules, _) = demo_counts(&["bundle.yaml", "payment_link.yaml"]);
    assert_eq!(t.len(), link_rules as usize, "every link rule: {t:?}");
    for (rule, _, matched, decisive, note) in t {
        assert!(!matched && !decisive && !note.is_empty(), "{rule}: {d:#?}");
    }
}

/// The auto-charge criterion's prompts arrive as a wallet app renders them:
/// the new action `REQUIRED_ACTION_ADJUST_AUTO_CHARGE` after a reactivate,
/// and details a screen reads without parsing the message.
#[tokio::test]
async fn auto_charge_criterion_prompts_arrive_with_their_details() {
    let server = Server::embedded().await;

    let mut req = link_request(
        "video-stream",
        80,
        vec![method("card-1", CreditCard, Suspended, 0)],
    );
    req.auto_charge = auto_charge("card-1", 5000);
    let d = server.decide(req).await;
    assert_eq!(d.outcome(), LinkOutcome::RequireAction, "{d:#?}");
    assert_eq!(
        d.required_actions().collect::<Vec<_>>(),
        [ReactivatePaymentMethod, AdjustAutoCharge]
    );
    assert_eq!(
        d.reasons,
        [reason(
            "AUTO_CHARGE_SOURCE_INACTIVE",
            "auto-charge-source-inactive",
            "auto-charge draws on `card-1` (CREDIT_CARD), which is SUSPENDED; \
             reactivate it, or choose another source",
            &[
                ("source_method_id", "card-1"),
                ("source_type", "CREDIT_CARD"),
                ("status", "SUSPENDED"),
            ],
        )]
    );

    let mut req = link_request(
        "video-stream",
        80,
        vec![method("later-1", Postpaid, Active, 0)],
    );
    req.auto_charge = auto_charge("later-1", 5000);
    let d = server.decide(req).await;
    assert_eq!(d.required_actions().collect::<Vec<_>>(), [AdjustAutoCharge]);
    assert_eq!(
        d.reasons,
        [reason(
            "AUTO_CHARGE_SOURCE_NOT_ACCEPTED",
            "auto-charge-source-not-accepted",
            "auto-charge draws on `later-1` (POSTPAID), but `video-stream` accepts \
             auto-charge only from [CREDIT_CARD, BANK_ACCOUNT]; choose another source to link",
            &[
                ("accepted_source_types", "[CREDIT_CARD, BANK_ACCOUNT]"),
                ("source_method_id", "later-1"),
                ("source_type", "POSTPAID"),
            ],
        )]
    );
}
