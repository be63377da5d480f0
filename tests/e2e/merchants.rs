//! Merchant settings edited on disk go live without a restart: the same
//! requests get other payment decisions once the new revision serves, and a
//! broken merchant file is refused while the last good settings keep
//! answering.

use tollgate::grpc::pb::{
    FundingSource, LinkOutcome,
    PaymentMethodStatus::Active,
    PaymentMethodType::{BankAccount, CreditCard},
    RequiredAction::EnableAutoCharge,
};

use crate::support::{
    BundleDir, DEMO_REVISION, Server, assert_approve, assert_decline, assert_funding_arithmetic,
    assert_link, balance_method, funding_request, link_request, method, wait_for_reload_error,
    wait_for_revision,
};

const MERCHANTS: &str = "merchants.yaml";
const TESTS: &str = "payment_tests.yaml";

#[tokio::test]
async fn raising_a_minimum_health_score_denies_a_link_without_a_restart() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let req = || {
        link_request(
            "video-stream",
            42,
            vec![method("card-1", CreditCard, Active, 0)],
        )
    };
    let d = server.decide_link(req()).await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);

    // 45 keeps every demo test passing (they link at 50 and 80).
    dir.edit(MERCHANTS, "min_health_score: 40", "min_health_score: 45");
    dir.set_revision("2026-11-22.2");
    wait_for_revision(&server, "2026-11-22.2").await;
    let d = server.decide_link(req()).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_eq!(
        d.reasons[0].message,
        "fund-management health score 42 is below the minimum of 45 for `video-stream`"
    );
    assert_eq!(d.meta.expect("meta").bundle_revision, "2026-11-22.2");
}

#[tokio::test]
async fn allowing_a_split_and_a_fallback_at_ride_share_funds_a_short_balance() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let req = || {
        funding_request(
            "ride-share",
            3000,
            1200,
            vec![balance_method(), method("card-1", CreditCard, Active, 1)],
        )
    };
    let d = server.decide_funding(req()).await;
    assert_decline(&d, &["INSUFFICIENT_FUNDS", "FALLBACK_METHOD_SKIPPED"]);

    dir.edit(
        MERCHANTS,
        "accepted_methods: []",
        "accepted_methods: [CREDIT_CARD]",
    );
    dir.edit(MERCHANTS, "allow_split: false", "allow_split: true");
    // The demo tests that pinned ride-share's old settings go with them.
    dir.drop_tests(
        TESTS,
        &[
            "a second method the merchant does not accept asks for auto-charge",
            "balance only asks for auto-charge where the merchant accepts no second method",
            "a merchant that accepts no fallback declines a short balance",
        ],
    );
    dir.set_revision("2026-11-22.2");
    wait_for_revision(&server, "2026-11-22.2").await;

    let d = server.decide_funding(req()).await;
    assert_funding_arithmetic(&d, 3000);
    assert_approve(
        &d,
        &[
            (FundingSource::Balance, "wallet", 1200),
            (FundingSource::PaymentMethod, "card-1", 1800),
        ],
        &["FALLBACK_METHOD_USED"],
    );
    assert_eq!(
        d.reasons[0].message,
        "pay with the preset fallback `card-1` for the shortfall of 1800"
    );
    // And a card now links at ride-share.
    let d = server
        .decide_link(link_request(
            "ride-share",
            80,
            vec![method("card-1", CreditCard, Active, 0)],
        ))
        .await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
}

#[tokio::test]
async fn without_a_split_the_fallback_pays_the_whole_charge() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let req = || {
        funding_request(
            "video-stream",
            3000,
            1000,
            vec![balance_method(), method("bank-1", BankAccount, Active, 1)],
        )
    };
    let d = server.decide_funding(req()).await;
    assert_approve(
        &d,
        &[
            (FundingSource::Balance, "wallet", 1000),
            (FundingSource::PaymentMethod, "bank-1", 2000),
        ],
        &["FALLBACK_METHOD_USED"],
    );

    // `allow_split` removed: it defaults to false.
    dir.edit(MERCHANTS, "    allow_split: true\n", "");
    dir.drop_tests(
        TESTS,
        &["the lowest-ranked fallback pays the shortfall when the merchant allows a split"],
    );
    dir.set_revision("2026-11-22.2");
    wait_for_revision(&server, "2026-11-22.2").await;

    let d = server.decide_funding(req()).await;
    assert_funding_arithmetic(&d, 3000);
    assert_approve(
        &d,
        &[(FundingSource::PaymentMethod, "bank-1", 3000)],
        &["FALLBACK_METHOD_USED"],
    );
    assert_eq!(
        d.reasons[0].message,
        "pay with the preset fallback `bank-1` for the whole charge"
    );
}

#[tokio::test]
async fn a_default_merchant_profile_decides_for_unlisted_merchants() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let link = |score| {
        link_request(
            "bookshop",
            score,
            vec![method("card-1", CreditCard, Active, 1)],
        )
    };
    let charge = || {
        funding_request(
            "bookshop",
            3000,
            1000,
            vec![method("card-1", CreditCard, Active, 1)],
        )
    };
    let d = server.decide_link(link(80)).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["UNKNOWN_MERCHANT"]);
    let d = server.decide_funding(charge()).await;
    assert_decline(&d, &["UNKNOWN_MERCHANT"]);

    let merchants = dir.read(MERCHANTS);
    dir.write(
        MERCHANTS,
        &format!(
            "{merchants}\ndefault_merchant:\n  currency: JPY\n  accepted_methods: [BANK_ACCOUNT]\n  \
             min_health_score: 70\n  auto_charge: {{ min_amount_minor: 2000 }}\n"
        ),
    );
    dir.drop_tests(
        TESTS,
        &[
            "link to an unknown merchant is denied",
            "a charge for an unknown merchant is declined",
        ],
    );
    dir.set_revision("2026-11-22.2");
    wait_for_revision(&server, "2026-11-22.2").await;

    // The default profile's minimum health, under the requested id.
    let d = server.decide_link(link(69)).await;
    assert_link(&d, LinkOutcome::Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_eq!(
        d.reasons[0].message,
        "fund-management health score 69 is below the minimum of 70 for `bookshop`"
    );
    // It accepts bank accounts only: the card asks for auto-charge.
    let d = server.decide_link(link(70)).await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[EnableAutoCharge],
        &["METHOD_NOT_ACCEPTED_BY_MERCHANT"],
    );
    assert_eq!(
        d.reasons[0].message,
        "`bookshop` accepts none of the user's other methods; \
         enable auto-charge of at least 2000 JPY"
    );
    // A funding decision by the profile: no fallback it accepts.
    let d = server.decide_funding(charge()).await;
    assert_decline(&d, &["INSUFFICIENT_FUNDS", "FALLBACK_METHOD_SKIPPED"]);
    // A bank account, without a split (the default): the whole charge.
    let mut req = charge();
    req.methods.push(method("bank-1", BankAccount, Active, 2));
    let d = server.decide_funding(req).await;
    assert_funding_arithmetic(&d, 3000);
    assert_approve(
        &d,
        &[(FundingSource::PaymentMethod, "bank-1", 3000)],
        &["FALLBACK_METHOD_USED", "FALLBACK_METHOD_SKIPPED"],
    );
    // Listed merchants keep their own settings.
    let d = server
        .decide_link(link_request(
            "video-stream",
            50,
            vec![method("card-1", CreditCard, Active, 0)],
        ))
        .await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
}

#[tokio::test]
async fn a_broken_merchant_file_is_refused_and_the_last_good_settings_keep_answering() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let link = || {
        link_request(
            "video-stream",
            80,
            vec![method("card-1", CreditCard, Active, 0)],
        )
    };
    let charge = || funding_request("video-stream", 3000, 5000, vec![]);
    let before = server.status().await;

    dir.edit(
        MERCHANTS,
        "currency: JPY\n    # Non",
        "currency: yen\n    # Non",
    );
    dir.edit(
        MERCHANTS,
        "accepted_methods: [CREDIT_CARD, BANK_ACCOUNT]",
        "accepted_methods: [CREDIT_CARD, BALANCE]",
    );
    dir.edit(MERCHANTS, "min_health_score: 60", "min_health_score: 101");
    dir.set_revision("2026-11-22.2");
    let status = wait_for_reload_error(&server, "merchants.yaml").await;
    for problem in [
        "merchant `video-stream`: currency: `yen` is not an ISO 4217 code",
        "merchant `video-stream`: accepted_methods: the balance is always accepted",
        "merchant `ride-share`: min_health_score: `101` is outside 0-100",
    ] {
        assert!(
            status.last_reload_error.contains(problem),
            "`{problem}` in {status:?}"
        );
    }
    assert_eq!(
        status.revision, DEMO_REVISION,
        "the last good bundle serves"
    );
    assert_eq!(status.digest, before.digest);

    let d = server.decide_link(link()).await;
    assert_link(&d, LinkOutcome::Link, &[], &["SECOND_METHOD_AVAILABLE"]);
    assert_eq!(d.meta.expect("meta").bundle_revision, DEMO_REVISION);
    let d = server.decide_funding(charge()).await;
    assert_approve(
        &d,
        &[(FundingSource::Balance, "", 3000)],
        &["BALANCE_COVERS"],
    );
    // ride-share still asks for 60, not 101.
    let d = server
        .decide_link(link_request("ride-share", 60, vec![balance_method()]))
        .await;
    assert_link(
        &d,
        LinkOutcome::RequireAction,
        &[EnableAutoCharge],
        &["SINGLE_PAYMENT_METHOD"],
    );
}
