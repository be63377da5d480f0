//! Every payment-link rule of the demo bundle over gRPC: outcome, the
//! actions to prompt in order, reason codes, rule ids, messages, and the
//! provenance and trace of the decision.

use tollgate::grpc::pb::{
    self, LinkOutcome,
    PaymentMethodStatus::{Active, Expired, Suspended},
    PaymentMethodType::{BankAccount, CreditCard, DebitCard, Points, Postpaid},
    RequiredAction::{AddPaymentMethod, EnableAutoCharge, ReactivatePaymentMethod},
};

use crate::support::{
    AS_OF, DEMO_LINK_RULES, DEMO_REVISION, Server, assert_first_reason, assert_link, auto_charge,
    balance_method, details, link_request, method, rfc3339, trace,
};

#[tokio::test]
async fn unknown_merchant_is_denied_before_any_rule_not_rejected() {
    let server = Server::embedded().await;
    let mut req = link_request(
        "bookshop",
        100,
        vec![method("card-1", CreditCard, Active, 1)],
    );
    req.auto_charge = auto_charge("card-1", 100_000);
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["UNKNOWN_MERCHANT"]);
    let reason = &d.reasons[0];
    assert_eq!(reason.rule_id, "", "an engine reason: {d:#?}");
    assert_eq!(details(reason), [("merchant_id", "bookshop")]);
    assert_eq!(
        reason.message,
        "merchant `bookshop` is not in the bundle and there is no default merchant profile"
    );
    let meta = d.meta.expect("meta");
    assert_eq!(meta.bundle_revision, DEMO_REVISION);
    assert_eq!(rfc3339(meta.evaluated_at.as_ref()), AS_OF);
}

#[tokio::test]
async fn health_below_the_merchant_minimum_is_denied() {
    let server = Server::embedded().await;
    let card = || vec![method("card-1", CreditCard, Active, 0)];

    // video-stream asks for 40: 39 is too low, 40 is enough.
    let d = server
        .decide_link(link_request("video-stream", 39, card()))
        .await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_first_reason(
        &d.reasons,
        "health-score-too-low",
        "fund-management health score 39 is below the minimum of 40 for `video-stream`",
    );
    let d = server
        .decide_link(link_request("video-stream", 40, card()))
        .await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);

    // ride-share asks for 60.
    let d = server
        .decide_link(link_request("ride-share", 59, card()))
        .await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_eq!(
        d.reasons[0].message,
        "fund-management health score 59 is below the minimum of 60 for `ride-share`"
    );
    let d = server
        .decide_link(link_request("ride-share", 60, card()))
        .await;
    assert_eq!(d.outcome(), LinkOutcome::RequireAction, "{d:#?}");
}

#[tokio::test]
async fn low_health_denies_even_with_auto_charge_that_would_link() {
    let server = Server::embedded().await;
    let mut req = link_request(
        "ride-share",
        10,
        vec![method("bank-1", BankAccount, Active, 0)],
    );
    req.auto_charge = auto_charge("bank-1", 10_000);
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
}

#[tokio::test]
async fn a_missing_health_counts_as_score_zero() {
    let server = Server::embedded().await;
    let mut req = link_request(
        "video-stream",
        0,
        vec![method("card-1", CreditCard, Active, 0)],
    );
    req.health = None;
    let d = server.decide_link(req.clone()).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_eq!(
        d.reasons[0].message,
        "fund-management health score 0 is below the minimum of 40 for `video-stream`"
    );
    // Signals alone do not make a score either.
    req.health = Some(pb::HealthIndex {
        score: 0,
        signals: [("shortfalls_90d".to_owned(), 0.0)].into(),
    });
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
}

#[tokio::test]
async fn auto_charge_meeting_the_criterion_links() {
    let server = Server::embedded().await;
    let mut req = link_request(
        "ride-share",
        80,
        vec![method("bank-1", BankAccount, Active, 0)],
    );
    req.auto_charge = auto_charge("bank-1", 3000);
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Link, &[], &["AUTO_CHARGE_AVAILABLE"]);
    assert_first_reason(
        &d.reasons,
        "auto-charge-available",
        "auto-charge of 3000 JPY from `bank-1` meets the minimum of 3000 for `ride-share`",
    );
}

#[tokio::test]
async fn auto_charge_links_whatever_other_methods_exist() {
    let server = Server::embedded().await;
    let mut req = link_request(
        "video-stream",
        80,
        vec![
            balance_method(),
            method("card-1", CreditCard, Expired, 1),
            method("later-1", Postpaid, Active, 2),
            method("bank-2", BankAccount, Suspended, 0),
            method("bank-1", BankAccount, Active, 0),
        ],
    );
    req.auto_charge = auto_charge("bank-1", 1000);
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Link, &[], &["AUTO_CHARGE_AVAILABLE"]);

    // At ride-share, which accepts no second method at all, the same: an
    // unaccepted source is fine for auto-charge.
    let mut req = link_request(
        "ride-share",
        80,
        vec![
            method("card-1", CreditCard, Active, 0),
            method("points", Points, Expired, 0),
        ],
    );
    req.auto_charge = auto_charge("card-1", 5000);
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Link, &[], &["AUTO_CHARGE_AVAILABLE"]);
}

#[tokio::test]
async fn auto_charge_below_the_merchant_minimum_does_not_link() {
    let server = Server::embedded().await;
    // ride-share wants at least 3000: 2999 falls through to the unaccepted card.
    let mut req = link_request(
        "ride-share",
        80,
        vec![method("bank-1", BankAccount, Active, 0)],
    );
    req.auto_charge = auto_charge("bank-1", 2999);
    let d = server.decide_link(req).await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[EnableAutoCharge],
        &["METHOD_NOT_ACCEPTED_BY_MERCHANT"],
    );

    // video-stream wants 1000: 999 falls through to the accepted card.
    let mut req = link_request(
        "video-stream",
        80,
        vec![method("card-1", CreditCard, Active, 0)],
    );
    req.auto_charge = auto_charge("card-1", 999);
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
}

#[tokio::test]
async fn auto_charge_that_is_off_or_draws_on_an_unusable_method_does_not_link() {
    let server = Server::embedded().await;
    let methods = vec![
        balance_method(),
        method("bank-1", BankAccount, Suspended, 0),
        method("card-1", CreditCard, Active, 0),
    ];
    let unusable = [
        // Switched off, though large enough.
        Some(pb::AutoCharge {
            enabled: false,
            source_method_id: "card-1".to_owned(),
            threshold_minor: 0,
            amount_minor: 10_000,
        }),
        // From a suspended method.
        auto_charge("bank-1", 10_000),
        // From the balance itself.
        auto_charge("wallet", 10_000),
    ];
    for ac in unusable {
        let mut req = link_request("ride-share", 80, methods.clone());
        req.auto_charge = ac.clone();
        let d = server.decide_link(req).await;
        assert_link(
            &d,
            LinkOutcome::RequireAction,
            &[EnableAutoCharge],
            &["METHOD_NOT_ACCEPTED_BY_MERCHANT"],
        );
    }
}

#[tokio::test]
async fn an_accepted_active_second_method_links() {
    let server = Server::embedded().await;
    for (kind, id) in [(CreditCard, "card-1"), (BankAccount, "bank-1")] {
        let d = server
            .decide_link(link_request(
                "video-stream",
                50,
                vec![balance_method(), method(id, kind, Active, 0)],
            ))
            .await;
        assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
        assert_first_reason(
            &d.reasons,
            "second-method-available",
            &format!("`{id}` is an active second method that `video-stream` accepts"),
        );
    }

    // The first accepted method is named, after unaccepted and inactive ones.
    let d = server
        .decide_link(link_request(
            "video-stream",
            50,
            vec![
                method("later-1", Postpaid, Active, 0),
                method("card-1", CreditCard, Expired, 0),
                method("bank-1", BankAccount, Active, 0),
                method("card-2", CreditCard, Active, 0),
            ],
        ))
        .await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
    assert_eq!(
        d.reasons[0].message,
        "`bank-1` is an active second method that `video-stream` accepts"
    );
}

#[tokio::test]
async fn a_method_the_merchant_does_not_accept_asks_for_auto_charge() {
    let server = Server::embedded().await;
    let d = server
        .decide_link(link_request(
            "ride-share",
            80,
            vec![method("card-1", CreditCard, Active, 0)],
        ))
        .await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[EnableAutoCharge],
        &["METHOD_NOT_ACCEPTED_BY_MERCHANT"],
    );
    assert_first_reason(
        &d.reasons,
        "method-not-accepted",
        "`ride-share` accepts none of the user's other methods; \
         enable auto-charge of at least 3000 JPY",
    );

    // At video-stream: active debit card and postpaid, and an accepted type
    // that is expired: the active unaccepted methods decide.
    let d = server
        .decide_link(link_request(
            "video-stream",
            80,
            vec![
                method("debit-1", DebitCard, Active, 0),
                method("later-1", Postpaid, Active, 0),
                method("card-1", CreditCard, Expired, 0),
            ],
        ))
        .await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[EnableAutoCharge],
        &["METHOD_NOT_ACCEPTED_BY_MERCHANT"],
    );
}

#[tokio::test]
async fn only_inactive_second_methods_ask_to_reactivate_then_enable_auto_charge() {
    let server = Server::embedded().await;
    let d = server
        .decide_link(link_request(
            "video-stream",
            80,
            vec![
                balance_method(),
                method("card-1", CreditCard, Expired, 0),
                method("bank-1", BankAccount, Suspended, 1),
            ],
        ))
        .await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[ReactivatePaymentMethod, EnableAutoCharge],
        &["PAYMENT_METHOD_INACTIVE"],
    );
    assert_first_reason(
        &d.reasons,
        "second-method-inactive",
        "the user's other methods are suspended or expired: [card-1, bank-1]",
    );

    // The same at ride-share, whatever the type.
    let d = server
        .decide_link(link_request(
            "ride-share",
            80,
            vec![method("later-1", Postpaid, Suspended, 0)],
        ))
        .await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[ReactivatePaymentMethod, EnableAutoCharge],
        &["PAYMENT_METHOD_INACTIVE"],
    );
}

#[tokio::test]
async fn balance_only_asks_to_add_a_method_where_the_merchant_accepts_one() {
    let server = Server::embedded().await;
    for methods in [vec![balance_method()], vec![]] {
        let d = server
            .decide_link(link_request("video-stream", 80, methods))
            .await;
        assert_link(
            &d,
            LinkOutcome::RequireAction,
            &[AddPaymentMethod, EnableAutoCharge],
            &["SINGLE_PAYMENT_METHOD"],
        );
        assert_first_reason(
            &d.reasons,
            "balance-only-second-method-possible",
            "the balance is the only payment method; add one `video-stream` accepts \
             ([CREDIT_CARD, BANK_ACCOUNT]) or enable auto-charge",
        );
    }
}

#[tokio::test]
async fn balance_only_asks_for_auto_charge_where_the_merchant_accepts_no_second_method() {
    let server = Server::embedded().await;
    for methods in [vec![balance_method()], vec![]] {
        let d = server
            .decide_link(link_request("ride-share", 80, methods))
            .await;
        assert_link(
            &d,
            LinkOutcome::RequireAction,
            &[EnableAutoCharge],
            &["SINGLE_PAYMENT_METHOD"],
        );
        assert_first_reason(
            &d.reasons,
            "balance-only",
            "the balance is the only payment method `ride-share` takes; \
             enable auto-charge of at least 3000 JPY",
        );
    }
}

#[tokio::test]
async fn link_decisions_carry_a_fresh_id_and_the_bundle_provenance() {
    let server = Server::embedded().await;
    let status = server.status().await;
    let req = link_request(
        "video-stream",
        80,
        vec![method("card-1", CreditCard, Active, 0)],
    );
    let a = server.decide_link(req.clone()).await.meta.expect("meta");
    let b = server.decide_link(req).await.meta.expect("meta");
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
async fn explain_traces_every_link_rule_in_bundle_order() {
    let server = Server::embedded().await;
    let mut req = link_request(
        "video-stream",
        80,
        vec![method("card-1", CreditCard, Active, 0)],
    );
    req.explain = true;
    let d = server.decide_link(req).await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
    assert_eq!(
        trace(&d),
        [
            ("health-score-too-low", "deny", false, false),
            ("auto-charge-available", "link", false, false),
            ("second-method-available", "link", true, true),
            ("method-not-accepted", "require_action", false, false),
            ("second-method-inactive", "require_action", false, false),
            (
                "balance-only-second-method-possible",
                "require_action",
                false,
                false
            ),
            ("balance-only", "require_action", false, false),
        ]
    );
    let meta = d.meta.expect("meta");
    let ids: Vec<&str> = meta.trace.iter().map(|t| t.rule_id.as_str()).collect();
    assert_eq!(ids, DEMO_LINK_RULES);
    for t in &meta.trace[3..] {
        assert_eq!(
            t.note, "not evaluated: an earlier allow rule decided",
            "{t:?}"
        );
    }

    // A deny: the health rule decides, and no link rule is evaluated.
    let mut req = link_request("video-stream", 10, vec![]);
    req.explain = true;
    let d = server.decide_link(req).await;
    let t = trace(&d);
    assert_eq!(t[0], ("health-score-too-low", "deny", true, true));
    for (rule, _, matched, decisive) in &t[1..] {
        assert!(!matched && !decisive, "{rule}: {d:#?}");
    }
    for t in &d.meta.expect("meta").trace[1..] {
        assert_eq!(
            t.note, "not evaluated: a deny rule already matched",
            "{t:?}"
        );
    }
}
