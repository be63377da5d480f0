//! Merchant settings edited on disk go live without a restart: the same
//! requests get other payment decisions once the new revision serves, and a
//! broken merchant file is refused while the last good settings keep
//! answering, while a bundle with only warnings (a merchant left without a
//! health threshold) goes live. The settings these tests write (a default
//! merchant profile, a merchant without a split or a threshold) are in no
//! bundle of their own, so what they decide is checked here too.

use tollgate::grpc::pb::{
    FundingOutcome::{Approve, Decline},
    FundingSource::{Balance, PaymentMethod},
    LinkOutcome::{Deny, Link, RequireAction},
    RequiredAction::{AddPaymentMethod, EnableAutoCharge},
};

use crate::support::{
    BundleDir, DEMO_REVISION, Server, assert_funding, assert_link, balance_method, bank, card,
    funding_request, link_request, wait_for_reload_error, wait_for_revision,
};

const MERCHANTS: &str = "merchants.yaml";
const TESTS: &str = "payment_tests.yaml";
const NEXT: &str = "2026-11-22.2";

/// A server on a copy of the demo bundle.
async fn demo_on_disk() -> (BundleDir, Server) {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    (dir, server)
}

/// Drops the demo's payment tests that pinned the settings an edit
/// replaces, bumps the revision, and waits for it to serve.
async fn go_live(dir: &BundleDir, server: &Server, pinned: &[&str]) {
    if !pinned.is_empty() {
        dir.drop_tests(TESTS, pinned);
    }
    dir.set_revision(NEXT);
    wait_for_revision(server, NEXT).await;
}

#[tokio::test]
async fn raising_a_minimum_health_score_denies_a_link_without_a_restart() {
    let (dir, server) = demo_on_disk().await;
    let req = || link_request("video-stream", 42, vec![card("card-1", 0)]);
    let d = server.decide(req()).await;
    assert_link(&d, Link, &[], &["SECOND_METHOD_AVAILABLE"]);

    // 45 keeps every demo test passing (they link at 50 and 80).
    dir.edit(MERCHANTS, "min_health_score: 40", "min_health_score: 45");
    go_live(&dir, &server, &[]).await;
    let d = server.decide(req()).await;
    assert_link(&d, Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_eq!(
        d.reasons[0].message,
        "fund-management health score 42 is below the minimum of 45 for `video-stream`"
    );
    assert_eq!(d.meta.expect("meta").bundle_revision, NEXT);
}

#[tokio::test]
async fn a_merchant_left_without_a_health_threshold_is_served_and_fails_closed() {
    let (dir, server) = demo_on_disk().await;
    let req = |merchant| link_request(merchant, 100, vec![card("card-1", 0)]);
    let d = server.decide(req("meal-kit")).await;
    assert_link(&d, Link, &[], &["SECOND_METHOD_AVAILABLE"]);

    // No bundle default: meal-kit, which sets no threshold, has none. That
    // is a warning, not an error, so the revision goes live; the demo's
    // tests that link at meal-kit are dropped, as they now fail closed.
    dir.edit(
        MERCHANTS,
        "payments: { default_min_health_score: 50 }\n",
        "",
    );
    let pinned = [
        "an auto-charge threshold below the merchant's minimum asks to adjust it",
        "a suspended auto-charge source of an accepted type asks to reactivate it or adjust",
        "auto-charge meeting every part of the criterion links",
        "a merchant without a health threshold takes the bundle's default",
    ];
    go_live(&dir, &server, &pinned).await;

    // Its threshold is not taken to be 0: the rule reading it fails closed.
    let d = server.decide(req("meal-kit")).await;
    assert_link(&d, Deny, &[], &["POLICY_EVALUATION_ERROR"]);
    assert_eq!(d.reasons[0].rule_id, "health-score-too-low", "{d:#?}");
    // A merchant with its own threshold is unaffected.
    let d = server.decide(req("video-stream")).await;
    assert_link(&d, Link, &[], &["SECOND_METHOD_AVAILABLE"]);
}

#[tokio::test]
async fn allowing_a_split_and_a_fallback_at_ride_share_funds_a_short_balance() {
    let (dir, server) = demo_on_disk().await;
    let req = || {
        funding_request(
            "ride-share",
            3000,
            1200,
            vec![balance_method(), card("card-1", 1)],
        )
    };
    let d = server.decide(req()).await;
    assert_funding(
        &d,
        Decline,
        &[],
        &["INSUFFICIENT_FUNDS", "FALLBACK_METHOD_SKIPPED"],
    );

    let accepted = "accepted_methods: [CREDIT_CARD]";
    dir.edit(MERCHANTS, "accepted_methods: []", accepted);
    dir.edit(MERCHANTS, "allow_split: false", "allow_split: true");
    let pinned = [
        "a second method the merchant does not accept asks for auto-charge",
        "balance only asks for auto-charge where the merchant accepts no second method",
        "a merchant that accepts no fallback declines a short balance",
    ];
    go_live(&dir, &server, &pinned).await;

    let d = server.decide(req()).await;
    let steps = [(Balance, "wallet", 1200), (PaymentMethod, "card-1", 1800)];
    assert_funding(&d, Approve, &steps, &["FALLBACK_METHOD_USED"]);
    // And a card now links at ride-share.
    let d = server
        .decide(link_request("ride-share", 80, vec![card("card-1", 0)]))
        .await;
    assert_link(&d, Link, &[], &["SECOND_METHOD_AVAILABLE"]);
}

#[tokio::test]
async fn without_a_split_the_fallback_pays_the_whole_charge() {
    let (dir, server) = demo_on_disk().await;
    let req = || {
        funding_request(
            "video-stream",
            3000,
            1000,
            vec![balance_method(), bank("bank-1", 1)],
        )
    };
    let d = server.decide(req()).await;
    let steps = [(Balance, "wallet", 1000), (PaymentMethod, "bank-1", 2000)];
    assert_funding(&d, Approve, &steps, &["FALLBACK_METHOD_USED"]);

    // `allow_split` removed: it defaults to false.
    dir.edit(
        MERCHANTS,
        "    # A charge may be split between the balance and a fallback method.\n    allow_split: true\n",
        "",
    );
    let pinned = [
        "the lowest-ranked fallback pays the shortfall when the merchant allows a split",
        "a preset auto-charge below the shortfall is topped up once and the preset fallback pays the rest",
        "an expired auto-charge source leaves the shortfall to the preset fallback",
    ];
    go_live(&dir, &server, &pinned).await;

    let d = server.decide(req()).await;
    let steps = [(PaymentMethod, "bank-1", 3000)];
    assert_funding(&d, Approve, &steps, &["FALLBACK_METHOD_USED"]);
    assert_eq!(
        d.reasons[0].message,
        "pay the whole charge of JPY 3,000 with the preset fallback `bank-1`"
    );
}

#[tokio::test]
async fn a_default_merchant_profile_decides_for_unlisted_merchants() {
    let (dir, server) = demo_on_disk().await;
    let link = |score| link_request("bookshop", score, vec![card("card-1", 1)]);
    let charge = || funding_request("bookshop", 3000, 1000, vec![card("card-1", 1)]);
    let d = server.decide(link(80)).await;
    assert_link(&d, Deny, &[], &["UNKNOWN_MERCHANT"]);
    let d = server.decide(charge()).await;
    assert_funding(&d, Decline, &[], &["UNKNOWN_MERCHANT"]);

    let merchants = dir.read(MERCHANTS);
    dir.write(
        MERCHANTS,
        &format!(
            "{merchants}\ndefault_merchant:\n  currency: JPY\n  accepted_methods: [BANK_ACCOUNT]\n  \
             min_health_score: 70\n  auto_charge: {{ min_amount_minor: 2000 }}\n"
        ),
    );
    let pinned = [
        "link to an unknown merchant is denied",
        "a charge for an unknown merchant is declined",
    ];
    go_live(&dir, &server, &pinned).await;

    // The default profile's minimum health, under the requested id.
    let d = server.decide(link(69)).await;
    assert_link(&d, Deny, &[], &["HEALTH_SCORE_TOO_LOW"]);
    assert_eq!(
        d.reasons[0].message,
        "fund-management health score 69 is below the minimum of 70 for `bookshop`"
    );
    // It accepts bank accounts only: the card asks for one it accepts, or
    // auto-charge.
    let d = server.decide(link(70)).await;
    let asks = ["METHOD_NOT_ACCEPTED_BY_MERCHANT"];
    assert_link(
        &d,
        RequireAction,
        &[AddPaymentMethod, EnableAutoCharge],
        &asks,
    );
    assert_eq!(
        d.reasons[0].message,
        "`bookshop` accepts none of the user's other methods; add one it accepts \
         ([BANK_ACCOUNT]) or enable auto-charge of at least JPY 2,000"
    );
    // A funding decision by the profile: no fallback it accepts.
    let d = server.decide(charge()).await;
    assert_funding(
        &d,
        Decline,
        &[],
        &["INSUFFICIENT_FUNDS", "FALLBACK_METHOD_SKIPPED"],
    );
    // A bank account, without a split (the default): the whole charge.
    let mut req = charge();
    req.methods.push(bank("bank-1", 2));
    let d = server.decide(req).await;
    let used = ["FALLBACK_METHOD_USED", "FALLBACK_METHOD_SKIPPED"];
    assert_funding(&d, Approve, &[(PaymentMethod, "bank-1", 3000)], &used);
    // Listed merchants keep their own settings.
    let d = server
        .decide(link_request("video-stream", 50, vec![card("card-1", 0)]))
        .await;
    assert_link(&d, Link, &[], &["SECOND_METHOD_AVAILABLE"]);
}

#[tokio::test]
async fn a_broken_merchant_file_is_refused_and_the_last_good_settings_keep_answering() {
    let (dir, server) = demo_on_disk().await;
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
    dir.set_revision(NEXT);
    let status = wait_for_reload_error(&server, MERCHANTS).await;
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
    let serving = (&*status.revision, &*status.digest);
    assert_eq!(
        serving,
        (DEMO_REVISION, &*before.digest),
        "the last good bundle serves"
    );

    let d = server
        .decide(link_request("video-stream", 80, vec![card("card-1", 0)]))
        .await;
    assert_link(&d, Link, &[], &["SECOND_METHOD_AVAILABLE"]);
    assert_eq!(d.meta.expect("meta").bundle_revision, DEMO_REVISION);
    let d = server
        .decide(funding_request("video-stream", 3000, 5000, vec![]))
        .await;
    assert_funding(&d, Approve, &[(Balance, "", 3000)], &["BALANCE_COVERS"]);
    // ride-share still asks for 60, not 101.
    let d = server
        .decide(link_request("ride-share", 60, vec![balance_method()]))
        .await;
    assert_link(
        &d,
        RequireAction,
        &[EnableAutoCharge],
        &["SINGLE_PAYMENT_METHOD"],
    );
}
