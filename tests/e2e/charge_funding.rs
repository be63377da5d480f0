//! Every charge-funding rule of the demo bundle over gRPC, with the funding
//! arithmetic checked to the yen: the payment steps (BALANCE, PAYMENT_METHOD)
//! sum to the charge, no step is zero or negative, an AUTO_CHARGE top-up
//! comes first; and the skipped fallbacks, currency, provenance and trace.

use tollgate::grpc::pb::{
    self, FundingOutcome, FundingSource,
    PaymentMethodStatus::{Active, Expired, Suspended},
    PaymentMethodType::{BankAccount, CreditCard, DebitCard, Postpaid},
};

use crate::support::{
    AS_OF, DEMO_FUNDING_RULES, DEMO_REVISION, Server, assert_approve, assert_decline,
    assert_first_reason, assert_funding_arithmetic, auto_charge, balance_method, codes, details,
    funding_request, method, rfc3339, trace,
};

const BALANCE: FundingSource = FundingSource::Balance;
const AUTO_CHARGE: FundingSource = FundingSource::AutoCharge;
const PAYMENT_METHOD: FundingSource = FundingSource::PaymentMethod;

/// Decides `req` and checks the funding arithmetic whatever the outcome.
async fn fund(server: &Server, req: pb::ChargeFundingRequest) -> pb::ChargeFundingDecision {
    let amount = req.amount.as_ref().expect("an amount").amount_minor;
    let d = server.decide_funding(req).await;
    assert_funding_arithmetic(&d, amount);
    d
}

#[tokio::test]
async fn a_balance_that_covers_the_charge_pays_it_all() {
    let server = Server::embedded().await;
    let d = fund(&server, funding_request("video-stream", 3000, 5000, vec![])).await;
    assert_approve(&d, &[(BALANCE, "", 3000)], &["BALANCE_COVERS"]);
    assert_first_reason(
        &d.reasons,
        "balance-covers",
        "the balance of 5000 covers the charge of 3000 JPY",
    );

    // The listed balance method names the step; methods that could not be
    // fallbacks are not reported when the balance covers the charge.
    let d = fund(
        &server,
        funding_request(
            "ride-share",
            3000,
            10_000,
            vec![
                method("card-1", CreditCard, Active, 1),
                balance_method(),
                method("bank-1", BankAccount, Suspended, 0),
            ],
        ),
    )
    .await;
    assert_approve(&d, &[(BALANCE, "wallet", 3000)], &["BALANCE_COVERS"]);
}

#[tokio::test]
async fn a_balance_exactly_equal_to_the_charge_pays_it_all() {
    let server = Server::embedded().await;
    for merchant in ["video-stream", "ride-share"] {
        let mut req = funding_request(
            merchant,
            3000,
            3000,
            vec![balance_method(), method("card-1", CreditCard, Active, 1)],
        );
        // Auto-charge is not used when nothing is short.
        req.auto_charge = auto_charge("card-1", 5000);
        let d = fund(&server, req).await;
        assert_approve(&d, &[(BALANCE, "wallet", 3000)], &["BALANCE_COVERS"]);
    }
}

#[tokio::test]
async fn a_short_balance_is_topped_up_by_the_shortfall_when_it_exceeds_the_auto_charge_amount() {
    let server = Server::embedded().await;
    let mut req = funding_request(
        "video-stream",
        3000,
        500,
        vec![balance_method(), method("card-1", CreditCard, Active, 0)],
    );
    req.auto_charge = auto_charge("card-1", 1000);
    let d = fund(&server, req).await;
    // Shortfall 2500 > amount 1000: top up the shortfall.
    assert_approve(
        &d,
        &[(AUTO_CHARGE, "card-1", 2500), (BALANCE, "wallet", 3000)],
        &["AUTO_CHARGE_TOP_UP"],
    );
    assert_first_reason(
        &d.reasons,
        "auto-charge-top-up",
        "top up 2500 from `card-1` to cover the shortfall of 2500",
    );
}

#[tokio::test]
async fn a_short_balance_is_topped_up_by_the_auto_charge_amount_when_it_exceeds_the_shortfall() {
    let server = Server::embedded().await;
    let mut req = funding_request(
        "ride-share",
        3000,
        2500,
        vec![method("bank-1", BankAccount, Active, 0)],
    );
    req.auto_charge = auto_charge("bank-1", 5000);
    let d = fund(&server, req).await;
    // Shortfall 500 < amount 5000: top up the amount.
    assert_approve(
        &d,
        &[(AUTO_CHARGE, "bank-1", 5000), (BALANCE, "", 3000)],
        &["AUTO_CHARGE_TOP_UP"],
    );
    assert_eq!(
        d.reasons[0].message,
        "top up 5000 from `bank-1` to cover the shortfall of 500"
    );

    // Shortfall equal to the amount: either way 3000.
    let mut req = funding_request(
        "ride-share",
        4000,
        1000,
        vec![method("bank-1", BankAccount, Active, 0)],
    );
    req.auto_charge = auto_charge("bank-1", 3000);
    let d = fund(&server, req).await;
    assert_approve(
        &d,
        &[(AUTO_CHARGE, "bank-1", 3000), (BALANCE, "", 4000)],
        &["AUTO_CHARGE_TOP_UP"],
    );
}

#[tokio::test]
async fn auto_charge_comes_before_a_preset_fallback_and_reports_no_skipped_method() {
    let server = Server::embedded().await;
    let mut req = funding_request(
        "video-stream",
        3000,
        1000,
        vec![
            method("bank-1", BankAccount, Active, 1),
            method("later-1", Postpaid, Active, 0),
            method("card-1", CreditCard, Active, 0),
        ],
    );
    req.auto_charge = auto_charge("card-1", 1000);
    let d = fund(&server, req).await;
    assert_approve(
        &d,
        &[(AUTO_CHARGE, "card-1", 2000), (BALANCE, "", 3000)],
        &["AUTO_CHARGE_TOP_UP"],
    );
}

#[tokio::test]
async fn a_zero_balance_is_no_step() {
    let server = Server::embedded().await;
    // A fallback pays the whole charge: no BALANCE step of 0.
    let d = fund(
        &server,
        funding_request(
            "video-stream",
            3000,
            0,
            vec![balance_method(), method("card-1", CreditCard, Active, 1)],
        ),
    )
    .await;
    assert_approve(
        &d,
        &[(PAYMENT_METHOD, "card-1", 3000)],
        &["FALLBACK_METHOD_USED"],
    );
    assert_eq!(
        d.reasons[0].message,
        "pay with the preset fallback `card-1` for the shortfall of 3000"
    );

    // Auto-charge tops up the whole charge (3000 > 1000), then the balance pays.
    let mut req = funding_request(
        "video-stream",
        3000,
        0,
        vec![method("card-1", CreditCard, Active, 0)],
    );
    req.auto_charge = auto_charge("card-1", 1000);
    let d = fund(&server, req).await;
    assert_approve(
        &d,
        &[(AUTO_CHARGE, "card-1", 3000), (BALANCE, "", 3000)],
        &["AUTO_CHARGE_TOP_UP"],
    );

    // Nothing else: declined.
    let d = fund(&server, funding_request("video-stream", 1, 0, vec![])).await;
    assert_decline(&d, &["INSUFFICIENT_FUNDS"]);
}

#[tokio::test]
async fn the_lowest_ranked_fallback_pays_the_shortfall_where_the_merchant_allows_a_split() {
    let server = Server::embedded().await;
    let d = fund(
        &server,
        funding_request(
            "video-stream",
            3000,
            1000,
            vec![
                method("card-1", CreditCard, Active, 2),
                balance_method(),
                method("bank-1", BankAccount, Active, 1),
                method("card-2", CreditCard, Active, 3),
            ],
        ),
    )
    .await;
    assert_approve(
        &d,
        &[(BALANCE, "wallet", 1000), (PAYMENT_METHOD, "bank-1", 2000)],
        &["FALLBACK_METHOD_USED"],
    );
    assert_first_reason(
        &d.reasons,
        "fallback-method",
        "pay with the preset fallback `bank-1` for the shortfall of 2000",
    );
}

#[tokio::test]
async fn fallbacks_of_equal_rank_keep_the_order_they_are_listed_in() {
    let server = Server::embedded().await;
    for (first, second) in [("card-1", "bank-1"), ("bank-1", "card-1")] {
        let kind = |id: &str| {
            if id.starts_with("card") {
                CreditCard
            } else {
                BankAccount
            }
        };
        let d = fund(
            &server,
            funding_request(
                "video-stream",
                3000,
                2999,
                vec![
                    method("card-9", CreditCard, Active, 9),
                    method(first, kind(first), Active, 4),
                    method(second, kind(second), Active, 4),
                ],
            ),
        )
        .await;
        assert_approve(
            &d,
            &[(BALANCE, "", 2999), (PAYMENT_METHOD, first, 1)],
            &["FALLBACK_METHOD_USED"],
        );
    }
}

#[tokio::test]
async fn a_fallback_reports_every_method_it_could_not_use() {
    let server = Server::embedded().await;
    let d = fund(
        &server,
        funding_request(
            "video-stream",
            3000,
            1000,
            vec![
                method("later-1", Postpaid, Active, 1),
                method("card-1", CreditCard, Active, 3),
                method("bank-1", BankAccount, Active, 2),
                method("card-2", CreditCard, Expired, 1),
            ],
        ),
    )
    .await;
    // The usable card-1 is a fallback that was not needed, not a skipped one.
    assert_approve(
        &d,
        &[(BALANCE, "", 1000), (PAYMENT_METHOD, "bank-1", 2000)],
        &[
            "FALLBACK_METHOD_USED",
            "FALLBACK_METHOD_SKIPPED",
            "FALLBACK_METHOD_SKIPPED",
        ],
    );
    assert_eq!(
        details(&d.reasons[1]),
        [
            ("method_id", "later-1"),
            ("type", "POSTPAID"),
            ("why", "NOT_ACCEPTED_BY_MERCHANT")
        ]
    );
    assert_eq!(
        details(&d.reasons[2]),
        [
            ("method_id", "card-2"),
            ("type", "CREDIT_CARD"),
            ("why", "NOT_ACTIVE")
        ]
    );
}

#[tokio::test]
async fn skipped_fallbacks_say_why_each_was_not_used_in_listed_order() {
    let server = Server::embedded().await;
    let d = fund(
        &server,
        funding_request(
            "video-stream",
            3000,
            100,
            vec![
                balance_method(),
                // Not accepted comes first, even when also inactive and not preset.
                method("later-1", Postpaid, Suspended, 0),
                method("debit-1", DebitCard, Active, 1),
                // Accepted but inactive, preset or not.
                method("bank-1", BankAccount, Suspended, 1),
                method("card-1", CreditCard, Expired, 0),
                // Accepted and active but not preset.
                method("card-2", CreditCard, Active, 0),
            ],
        ),
    )
    .await;
    let skipped = "FALLBACK_METHOD_SKIPPED";
    assert_decline(
        &d,
        &[
            "INSUFFICIENT_FUNDS",
            skipped,
            skipped,
            skipped,
            skipped,
            skipped,
        ],
    );
    assert_first_reason(
        &d.reasons,
        "insufficient-funds",
        "the balance lacks 2900 JPY, and neither auto-charge nor a preset fallback \
         `video-stream` accepts can cover it",
    );
    let why: Vec<(&str, &str, &str)> = d.reasons[1..]
        .iter()
        .map(|r| {
            (
                r.details["method_id"].as_str(),
                r.details["type"].as_str(),
                r.details["why"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        why,
        [
            ("later-1", "POSTPAID", "NOT_ACCEPTED_BY_MERCHANT"),
            ("debit-1", "DEBIT_CARD", "NOT_ACCEPTED_BY_MERCHANT"),
            ("bank-1", "BANK_ACCOUNT", "NOT_ACTIVE"),
            ("card-1", "CREDIT_CARD", "NOT_ACTIVE"),
            ("card-2", "CREDIT_CARD", "NOT_PRESET"),
        ]
    );
    for r in &d.reasons[1..] {
        assert_eq!(r.rule_id, "", "an engine reason: {r:?}");
        assert_eq!(r.details.len(), 3, "{r:?}");
    }
    let messages: Vec<&str> = d.reasons[1..].iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        messages[0],
        "`later-1` (POSTPAID) was not used as a fallback: the merchant does not accept this method type"
    );
    assert_eq!(
        messages[2],
        "`bank-1` (BANK_ACCOUNT) was not used as a fallback: the method is not active"
    );
    assert_eq!(
        messages[4],
        "`card-2` (CREDIT_CARD) was not used as a fallback: the user did not preset it as a fallback"
    );
}

#[tokio::test]
async fn a_merchant_that_accepts_no_fallback_declines_a_short_balance() {
    let server = Server::embedded().await;
    let d = fund(
        &server,
        funding_request(
            "ride-share",
            3000,
            100,
            vec![method("card-1", CreditCard, Active, 1)],
        ),
    )
    .await;
    assert_decline(&d, &["INSUFFICIENT_FUNDS", "FALLBACK_METHOD_SKIPPED"]);
    assert_eq!(d.currency, "JPY");
    assert_eq!(d.reasons[1].details["why"], "NOT_ACCEPTED_BY_MERCHANT");

    // Auto-charge below ride-share's minimum does not help either.
    let mut req = funding_request(
        "ride-share",
        3000,
        100,
        vec![method("card-1", CreditCard, Active, 0)],
    );
    req.auto_charge = auto_charge("card-1", 2999);
    let d = fund(&server, req).await;
    assert_decline(&d, &["INSUFFICIENT_FUNDS", "FALLBACK_METHOD_SKIPPED"]);
}

#[tokio::test]
async fn a_charge_in_another_currency_is_declined_in_its_own_currency() {
    let server = Server::embedded().await;
    let mut req = funding_request("video-stream", 1000, 100_000, vec![]);
    req.amount = Some(pb::Money {
        currency: "USD".to_owned(),
        amount_minor: 1000,
    });
    let d = fund(&server, req).await;
    assert_decline(&d, &["CURRENCY_NOT_ACCEPTED"]);
    assert_eq!(d.currency, "USD", "the charge's currency: {d:#?}");
    assert_first_reason(
        &d.reasons,
        "currency-not-accepted",
        "`video-stream` charges in JPY, not USD",
    );
}

#[tokio::test]
async fn a_charge_for_an_unknown_merchant_is_declined_not_rejected() {
    let server = Server::embedded().await;
    let mut req = funding_request(
        "bookshop",
        1000,
        100_000,
        vec![method("card-1", CreditCard, Active, 1)],
    );
    req.amount = Some(pb::Money {
        currency: "EUR".to_owned(),
        amount_minor: 1000,
    });
    let d = fund(&server, req).await;
    assert_decline(&d, &["UNKNOWN_MERCHANT"]);
    assert_eq!(d.currency, "EUR");
    assert_eq!(d.reasons[0].rule_id, "");
    assert_eq!(details(&d.reasons[0]), [("merchant_id", "bookshop")]);
}

#[tokio::test]
async fn funding_decisions_carry_a_fresh_id_and_the_bundle_provenance() {
    let server = Server::embedded().await;
    let status = server.status().await;
    let req = funding_request("video-stream", 3000, 5000, vec![]);
    let a = server.decide_funding(req.clone()).await.meta.expect("meta");
    let b = server.decide_funding(req).await.meta.expect("meta");
    assert_ne!(a.decision_id, b.decision_id);
    for meta in [&a, &b] {
        let id = uuid::Uuid::parse_str(&meta.decision_id).expect("decision_id is a UUID");
        assert_eq!(id.get_version_num(), 7, "decision_id is a UUIDv7");
        assert_eq!(meta.bundle_name, "demo");
        assert_eq!(meta.bundle_revision, DEMO_REVISION);
        assert_eq!(meta.bundle_digest, status.digest);
        assert_eq!(rfc3339(meta.evaluated_at.as_ref()), AS_OF);
        assert_eq!(meta.trace, [], "no trace without explain");
    }
}

#[tokio::test]
async fn explain_traces_every_funding_rule_in_bundle_order() {
    let server = Server::embedded().await;
    let mut req = funding_request(
        "video-stream",
        3000,
        1000,
        vec![method("bank-1", BankAccount, Active, 1)],
    );
    req.explain = true;
    let d = fund(&server, req).await;
    assert_eq!(d.outcome(), FundingOutcome::Approve, "{d:#?}");
    assert_eq!(
        trace(&d),
        [
            ("currency-not-accepted", "decline", false, false),
            ("balance-covers", "approve", false, false),
            ("auto-charge-top-up", "approve", false, false),
            ("fallback-method", "approve", true, true),
            // A decline rule is still evaluated after an approve decided.
            ("insufficient-funds", "decline", false, false),
        ]
    );
    let ids: Vec<&str> = d
        .meta
        .as_ref()
        .expect("meta")
        .trace
        .iter()
        .map(|t| t.rule_id.as_str())
        .collect();
    assert_eq!(ids, DEMO_FUNDING_RULES);

    // A decline: the currency rule decides; no approve rule is evaluated.
    let mut req = funding_request("video-stream", 3000, 1000, vec![]);
    req.amount = Some(pb::Money {
        currency: "USD".to_owned(),
        amount_minor: 3000,
    });
    req.explain = true;
    let d = fund(&server, req).await;
    // The balance is short too, and nothing could fund it.
    assert_eq!(codes(&d), ["CURRENCY_NOT_ACCEPTED", "INSUFFICIENT_FUNDS"]);
    assert_eq!(
        trace(&d),
        [
            ("currency-not-accepted", "decline", true, true),
            ("balance-covers", "approve", false, false),
            ("auto-charge-top-up", "approve", false, false),
            ("fallback-method", "approve", false, false),
            ("insufficient-funds", "decline", true, true),
        ]
    );
    for t in &d.meta.expect("meta").trace[1..4] {
        assert_eq!(
            t.note, "not evaluated: a deny rule already matched",
            "{t:?}"
        );
    }
}
