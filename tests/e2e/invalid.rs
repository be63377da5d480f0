//! Malformed requests: `INVALID_ARGUMENT` with a `google.rpc.BadRequest`
//! naming every bad field in proto field names, and a message repeating
//! each violation, for every RPC. An unknown merchant or plan is not
//! malformed: it gets a decision (see `payment_link.rs`, `tests/cases/`).

use tollgate::grpc::pb::{
    self,
    FundingOutcome::Approve,
    FundingSource::{AutoCharge, Balance},
    PaymentMethodStatus::{Active, Suspended},
    PaymentMethodType::{BankAccount, CreditCard},
    RequesterRole,
};

use crate::support::{
    AS_OF, Server, Unary, assert_funding, auto_charge, bad_fields, balance_method, bank, card,
    funding_like, funding_request, link_request, method, metrics, money, request, requester, ts,
};

/// One malformed request: what is wrong with it, the request, the fields
/// the refusal must name (sorted), and a text its message must contain.
struct Row<R> {
    what: &'static str,
    request: R,
    fields: Vec<&'static str>,
    says: &'static str,
}

/// A row breaking `base` with `edit`.
fn row<R: Clone>(
    what: &'static str,
    base: &R,
    edit: impl FnOnce(&mut R),
    fields: &[&'static str],
) -> Row<R> {
    let mut request = base.clone();
    edit(&mut request);
    Row {
        what,
        request,
        fields: fields.to_vec(),
        says: "",
    }
}

impl<R> Row<R> {
    /// The message must also contain `text`.
    fn saying(self, text: &'static str) -> Self {
        Self { says: text, ..self }
    }
}

/// Sends every row's request to `server` and checks its refusal.
async fn assert_refused<R: Unary>(server: &Server, rows: Vec<Row<R>>) {
    for row in rows {
        let status = server.decide_err(row.request).await;
        let mut fields = bad_fields(&status);
        fields.sort();
        assert_eq!(fields, row.fields, "{}: {status:?}", row.what);
        assert!(
            status.message().contains(row.says),
            "{}: {status:?}",
            row.what
        );
    }
}

/// [`AS_OF`] with these `nanos`, out of range outside 0..1e9.
fn bad_nanos(nanos: i32) -> Option<prost_types::Timestamp> {
    let seconds = ts(AS_OF).seconds;
    Some(prost_types::Timestamp { seconds, nanos })
}

#[tokio::test]
async fn instants_at_both_ends_of_the_protobuf_range_are_accepted() {
    let server = Server::embedded().await;
    let mut req = request("premium", "enterprise");
    req.requester = requester(RequesterRole::Provider);
    req.billing = Some(pb::Billing {
        // 0001-01-01T00:00:00Z, protobuf's first instant, and jiff's last,
        // 9999-12-30T22:00:00.999999999Z: protobuf's last 26 hours are past
        // what the calendar arithmetic can represent, and refused by name.
        current_period_start: Some(prost_types::Timestamp {
            seconds: -62_135_596_800,
            nanos: 0,
        }),
        commitment_end: Some(prost_types::Timestamp {
            seconds: jiff::Timestamp::MAX.as_second(),
            nanos: 999_999_999,
        }),
        ..Default::default()
    });
    let d = server.decide(req).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
}

#[tokio::test]
async fn a_malformed_plan_change_is_refused_naming_every_bad_field() {
    let server = Server::embedded().await;
    let base = request("free", "standard");
    let billing = |b: pb::Billing| move |r: &mut pb::PlanChangeRequest| r.billing = Some(b);
    let rows = vec![
        row("no tenant", &base, |r| r.tenant_id.clear(), &["tenant_id"]),
        row(
            "blank tenant",
            &base,
            |r| r.tenant_id = "  ".into(),
            &["tenant_id"],
        ),
        row(
            "no source plan",
            &base,
            |r| r.from_plan.clear(),
            &["from_plan"],
        ),
        row("no target plan", &base, |r| r.to_plan.clear(), &["to_plan"]),
        row(
            "no requester",
            &base,
            |r| r.requester = None,
            &["requester.role"],
        ),
        row(
            "no role",
            &base,
            |r| r.requester = requester(RequesterRole::Unspecified),
            &["requester.role"],
        ),
        row(
            "a role outside the enum",
            &base,
            |r| {
                r.requester = Some(pb::Requester {
                    role: 99,
                    id: String::new(),
                })
            },
            &["requester.role"],
        )
        // A number with no name in this build is quoted as the proto would
        // name it.
        .saying("requester.role: `REQUESTER_ROLE_99` is not a requester role"),
        row(
            "negative usage",
            &base,
            |r| r.usage = metrics(&[("users", -1.0)]),
            &[r#"usage["users"]"#],
        ),
        row(
            "negative period usage",
            &base,
            |r| r.period_usage = metrics(&[("api_calls", -0.5)]),
            &[r#"period_usage["api_calls"]"#],
        ),
        row(
            "NaN and infinite usage",
            &base,
            |r| {
                r.usage = metrics(&[("users", f64::NAN), ("storage_gb", f64::INFINITY)]);
                r.period_usage = metrics(&[("api_calls", f64::NEG_INFINITY), ("prints", f64::NAN)]);
            },
            &[
                r#"period_usage["api_calls"]"#,
                r#"period_usage["prints"]"#,
                r#"usage["storage_gb"]"#,
                r#"usage["users"]"#,
            ],
        ),
        row(
            "an empty metric name",
            &base,
            |r| r.usage = metrics(&[("", 1.0)]),
            &["usage"],
        ),
        row(
            "an unknown time zone",
            &base,
            billing(pb::Billing {
                time_zone: "Mars/Olympus_Mons".to_owned(),
                ..Default::default()
            }),
            &["billing.time_zone"],
        ),
        row(
            "anchor day 32",
            &base,
            billing(pb::Billing {
                anchor_day: 32,
                ..Default::default()
            }),
            &["billing.anchor_day"],
        ),
        row(
            "a period ending as it starts",
            &base,
            billing(pb::Billing {
                current_period_start: Some(ts("2026-03-01T00:00:00Z")),
                current_period_end: Some(ts("2026-03-01T00:00:00Z")),
                ..Default::default()
            }),
            &["billing.current_period_end"],
        ),
        row(
            "a period starting after as_of",
            &base,
            billing(pb::Billing {
                current_period_start: Some(ts("2026-03-10T09:00:01Z")),
                ..Default::default()
            }),
            &["billing.current_period_start"],
        )
        .saying(
            "billing.current_period_start: `2026-03-10T09:00:01Z` is after `as_of` \
             (`2026-03-10T09:00:00Z`): the current period has not begun",
        ),
        row(
            "a period starting after it ends",
            &base,
            billing(pb::Billing {
                current_period_start: Some(ts("2026-03-01T00:00:00Z")),
                current_period_end: Some(ts("2026-02-01T00:00:00Z")),
                ..Default::default()
            }),
            &["billing.current_period_start"],
        )
        .saying(
            "billing.current_period_start: `2026-03-01T00:00:00Z` is after \
             `billing.current_period_end` (`2026-02-01T00:00:00Z`)",
        ),
        row(
            "a period starting after as_of and after it ends",
            &base,
            billing(pb::Billing {
                current_period_start: Some(ts("2026-04-01T00:00:00Z")),
                current_period_end: Some(ts("2026-03-01T00:00:00Z")),
                ..Default::default()
            }),
            &[
                "billing.current_period_start",
                "billing.current_period_start",
            ],
        ),
        row(
            "out-of-range timestamps",
            &base,
            |r| {
                r.as_of = bad_nanos(2_000_000_000);
                let far = prost_types::Timestamp {
                    seconds: i64::MAX,
                    nanos: 0,
                };
                r.billing = Some(pb::Billing {
                    commitment_end: Some(far),
                    ..Default::default()
                });
            },
            &["as_of", "billing.commitment_end"],
        ),
        row(
            "protobuf's last instant, past jiff's",
            &base,
            |r| {
                r.as_of = Some(prost_types::Timestamp {
                    seconds: 253_402_300_799,
                    nanos: 999_999_999,
                });
            },
            &["as_of"],
        ),
        row(
            "one second outside the protobuf range at either end",
            &base,
            |r| {
                // 0000-12-31T23:59:59Z and 10000-01-01T00:00:00Z.
                r.as_of = Some(prost_types::Timestamp {
                    seconds: -62_135_596_801,
                    nanos: 0,
                });
                r.billing = Some(pb::Billing {
                    commitment_end: Some(prost_types::Timestamp {
                        seconds: 253_402_300_800,
                        nanos: 0,
                    }),
                    ..Default::default()
                });
            },
            &["as_of", "billing.commitment_end"],
        ),
        row(
            "several bad fields",
            &base,
            |r| {
                *r = request("", "");
                r.tenant_id.clear();
                r.requester = None;
                r.usage = metrics(&[("users", -3.0)]);
                r.billing = Some(pb::Billing {
                    anchor_day: 32,
                    time_zone: "Nowhere/Special".to_owned(),
                    ..Default::default()
                });
            },
            &[
                "billing.anchor_day",
                "billing.time_zone",
                "from_plan",
                "requester.role",
                "tenant_id",
                "to_plan",
                r#"usage["users"]"#,
            ],
        ),
    ];
    assert_refused(&server, rows).await;
}

/// A method numbered `m` with these raw enum numbers.
fn raw_method(r#type: i32, status: i32) -> pb::PaymentMethod {
    pb::PaymentMethod {
        id: "m".to_owned(),
        r#type,
        status,
        fallback_rank: 0,
    }
}

/// What both payment requests share, broken one way at a time: each row is
/// sent as a link request, and as a charge with the same wallet.
fn wallet_rows() -> Vec<Row<pb::PaymentLinkRequest>> {
    let base = link_request(
        "video-stream",
        80,
        vec![balance_method(), card("card-1", 1)],
    );
    let (credit, active) = (CreditCard as i32, Active as i32);
    let mut rows = Vec::new();
    for (user, merchant, fields) in [
        ("", "video-stream", &["user_id"][..]),
        (" ", "video-stream", &["user_id"]),
        ("u1", "", &["merchant_id"]),
        ("u1", "\t", &["merchant_id"]),
        ("", "", &["merchant_id", "user_id"]),
    ] {
        let ids = |r: &mut pb::PaymentLinkRequest| {
            r.user_id = user.to_owned();
            r.merchant_id = merchant.to_owned();
        };
        rows.push(row("a blank user or merchant", &base, ids, fields));
    }
    rows.extend([
        row(
            "a method id listed twice",
            &base,
            |r| r.methods = vec![card("card-1", 1), method("card-1", BankAccount, Active, 2)],
            &["methods[1].id"],
        )
        .saying("`card-1` is listed twice"),
        row(
            "a method without an id",
            &base,
            |r| r.methods.push(method("", BankAccount, Active, 0)),
            &["methods[2].id"],
        ),
        row(
            "a method of no type or status",
            &base,
            |r| r.methods.push(raw_method(0, 0)),
            &["methods[2].status", "methods[2].type"],
        ),
        row(
            "a method of no type",
            &base,
            |r| r.methods = vec![raw_method(0, active)],
            &["methods[0].type"],
        )
        .saying("methods[0].type: is required"),
        row(
            "a method of no status",
            &base,
            |r| r.methods = vec![raw_method(credit, 0)],
            &["methods[0].status"],
        )
        .saying("methods[0].status: is required"),
        row(
            "a method type outside the enum",
            &base,
            |r| r.methods = vec![raw_method(99, active)],
            &["methods[0].type"],
        )
        .saying("methods[0].type: `99` is not a payment method type"),
        row(
            "a method status outside the enum",
            &base,
            |r| r.methods = vec![raw_method(credit, 99)],
            &["methods[0].status"],
        )
        .saying("methods[0].status: `99` is not a payment method status"),
        row(
            "an auto-charge source that is not listed",
            &base,
            |r| r.auto_charge = auto_charge("bank-9", 1000),
            &["auto_charge.source_method_id"],
        )
        .saying("`bank-9` names no listed method"),
        row(
            "an auto-charge source that is not listed, switched off",
            &base,
            |r| {
                r.auto_charge = Some(pb::AutoCharge {
                    enabled: false,
                    ..auto_charge("bank-9", 0).expect("auto-charge")
                });
            },
            &["auto_charge.source_method_id"],
        ),
        row(
            "auto-charge on without a source",
            &base,
            |r| r.auto_charge = auto_charge("", 1000),
            &["auto_charge.source_method_id"],
        ),
        row(
            "negative auto-charge amounts",
            &base,
            |r| {
                r.auto_charge = Some(pb::AutoCharge {
                    threshold_minor: -1,
                    ..auto_charge("card-1", -1000).expect("auto-charge")
                });
            },
            &["auto_charge.amount_minor", "auto_charge.threshold_minor"],
        ),
        row(
            "an out-of-range as_of",
            &base,
            |r| r.as_of = bad_nanos(-1),
            &["as_of"],
        ),
    ]);
    rows
}

#[tokio::test]
async fn a_malformed_wallet_is_refused_by_both_payment_rpcs() {
    let server = Server::embedded().await;
    let charges = wallet_rows()
        .into_iter()
        .map(|r| Row {
            what: r.what,
            request: funding_like(&r.request),
            fields: r.fields,
            says: r.says,
        })
        .collect();
    assert_refused(&server, wallet_rows()).await;
    assert_refused(&server, charges).await;
}

#[tokio::test]
async fn a_malformed_link_request_is_refused_naming_every_bad_field() {
    let server = Server::embedded().await;
    let base = link_request(
        "video-stream",
        80,
        vec![balance_method(), card("card-1", 1)],
    );
    let health = |score, signals| {
        move |r: &mut pb::PaymentLinkRequest| r.health = Some(pb::HealthIndex { score, signals })
    };
    let rows = vec![
        row(
            "health 101",
            &base,
            health(101, metrics(&[])),
            &["health.score"],
        ),
        row(
            "health u32::MAX",
            &base,
            health(u32::MAX, metrics(&[])),
            &["health.score"],
        ),
        row(
            "non-finite health signals",
            &base,
            health(
                80,
                metrics(&[
                    ("shortfalls_90d", f64::NAN),
                    ("days_negative", f64::INFINITY),
                    ("overdrafts", f64::NEG_INFINITY),
                    ("fine", 1.5),
                ]),
            ),
            &[
                r#"health.signals["days_negative"]"#,
                r#"health.signals["overdrafts"]"#,
                r#"health.signals["shortfalls_90d"]"#,
            ],
        ),
        row(
            "several bad fields",
            &base,
            |r| {
                r.user_id.clear();
                r.methods = vec![
                    card("card-1", 1),
                    method("card-1", CreditCard, Suspended, 0),
                    raw_method(0, 0),
                ];
                r.auto_charge = Some(pb::AutoCharge {
                    threshold_minor: -5,
                    ..auto_charge("nowhere", 1000).expect("auto-charge")
                });
                health(150, metrics(&[("x", f64::NAN)]))(r);
            },
            &[
                "auto_charge.source_method_id",
                "auto_charge.threshold_minor",
                "health.score",
                r#"health.signals["x"]"#,
                "methods[1].id",
                "methods[2].status",
                "methods[2].type",
                "user_id",
            ],
        ),
    ];
    assert_refused(&server, rows).await;
}

#[tokio::test]
async fn a_malformed_charge_is_refused_naming_every_bad_field() {
    let server = Server::embedded().await;
    let base = funding_like(&link_request(
        "video-stream",
        80,
        vec![balance_method(), card("card-1", 1)],
    ));
    let amount =
        |currency, minor| move |r: &mut pb::ChargeFundingRequest| r.amount = money(currency, minor);
    let mut rows = Vec::new();
    for minor in [0, -1, i64::MIN] {
        rows.push(row(
            "a charge of zero or less",
            &base,
            amount("JPY", minor),
            &["amount.amount_minor"],
        ));
    }
    // ABC and XYZ are three upper-case letters but no ISO 4217 currency.
    for currency in [
        "jpy", "Jpy", "JP", "JPYY", "JP1", " JP", "ÉUR", "円", "ABC", "XYZ",
    ] {
        let bad = row(
            "not an ISO 4217 code",
            &base,
            amount(currency, 3000),
            &["amount.currency"],
        );
        rows.push(bad.saying("is not an ISO 4217 code"));
    }
    rows.extend([
        row("no currency", &base, amount("", 3000), &["amount.currency"]),
        // No amount at all: neither part is there.
        row(
            "no amount",
            &base,
            |r| r.amount = None,
            &["amount.amount_minor", "amount.currency"],
        ),
        row(
            "a negative balance",
            &base,
            |r| r.balance_minor = -1,
            &["balance_minor"],
        ),
        row(
            "several bad fields",
            &base,
            |r| {
                r.merchant_id.clear();
                r.amount = money("yen", -3000);
                r.balance_minor = -1;
                r.methods.push(bank("wallet", 0));
                r.auto_charge = auto_charge("", -1);
            },
            &[
                "amount.amount_minor",
                "amount.currency",
                "auto_charge.amount_minor",
                "auto_charge.source_method_id",
                "balance_minor",
                "merchant_id",
                "methods[2].id",
            ],
        ),
    ]);
    assert_refused(&server, rows).await;
}

#[tokio::test]
async fn a_top_up_that_takes_the_balance_past_int64_is_refused_naming_both_fields() {
    let server = Server::embedded().await;
    let max = i64::MAX;
    let mut rows = Vec::new();
    for (amount, balance, preset) in [
        (3000, max, 1),
        (max, 1, max),
        (max, max, max),
        (max, max - 999, 1000),
    ] {
        let mut base = funding_request("ride-share", amount, balance, vec![bank("bank-1", 0)]);
        base.auto_charge = auto_charge("bank-1", preset);
        let bad = row(
            "balance + preset past int64",
            &base,
            |_| {},
            &["auto_charge.amount_minor", "balance_minor"],
        );
        rows.push(
            bad.saying("overflows int64: the balance after one top-up cannot be represented"),
        );
    }
    // Named beside the other bad fields of the same request.
    let mut base = funding_request("ride-share", -5, max, vec![bank("bank-1", 0)]);
    base.auto_charge = auto_charge("bank-1", max);
    rows.push(row(
        "an overflow and a negative charge",
        &base,
        |_| {},
        &[
            "amount.amount_minor",
            "auto_charge.amount_minor",
            "balance_minor",
        ],
    ));
    assert_refused(&server, rows).await;

    // One unit less fits: decided, and the amounts arrive intact.
    let mut req = funding_request("ride-share", max, 1, vec![bank("bank-1", 0)]);
    req.auto_charge = auto_charge("bank-1", max - 1);
    let d = server.decide(req).await;
    let steps = [(AutoCharge, "bank-1", max - 1), (Balance, "", max)];
    assert_funding(&d, Approve, &steps, &["AUTO_CHARGE_TOP_UP"]);
    // Auto-charge switched off never tops up: nothing to overflow.
    let mut req = funding_request("ride-share", max, max, vec![bank("bank-1", 0)]);
    req.auto_charge = auto_charge("bank-1", max);
    if let Some(ac) = req.auto_charge.as_mut() {
        ac.enabled = false;
    }
    let d = server.decide(req).await;
    assert_funding(&d, Approve, &[(Balance, "", max)], &["BALANCE_COVERS"]);
}

/// The `grpc-status` and `grpc-message` Tollgate answers a DecidePlanChange
/// whose one gRPC frame carries `message`, sent as raw HTTP/2.
async fn answer_to_raw_bytes(server: &Server, message: &[u8]) -> (String, String) {
    let answer = answer_to_raw_body(server, "application/grpc", &framed(0, message)).await;
    (answer.grpc_status, answer.grpc_message)
}

/// `message` behind a gRPC prefix with this compressed-flag.
fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut frame = vec![flag];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

/// What Tollgate answered a raw HTTP/2 request.
struct RawAnswer {
    http_status: u16,
    grpc_status: String,
    grpc_message: String,
}

/// Tollgate's answer to a DecidePlanChange with this content type whose
/// request body is exactly `body` (empty: no DATA frame at all).
async fn answer_to_raw_body(server: &Server, content_type: &str, body: &[u8]) -> RawAnswer {
    let tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let driver = tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = http::Request::post(format!(
        "http://{}/tollgate.v1.DecisionService/DecidePlanChange",
        server.addr()
    ))
    .header("content-type", content_type)
    .header("te", "trailers")
    .body(())
    .expect("request");
    let (response, mut stream) = client.send_request(request, body.is_empty()).expect("send");
    if !body.is_empty() {
        stream
            .send_data(bytes::Bytes::copy_from_slice(body), true)
            .expect("send the body");
    }
    let response = tokio::time::timeout(crate::support::DEADLINE, response)
        .await
        .expect("answered before the test's bound")
        .expect("response");
    let field = |headers: &http::HeaderMap, name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let http_status = response.status().as_u16();
    // Trailers-only (status in the headers), or headers then trailers.
    let (status, message) = match field(response.headers(), "grpc-status") {
        Some(status) => (status, field(response.headers(), "grpc-message")),
        None => {
            let mut body = response.into_body();
            let trailers = tokio::time::timeout(crate::support::DEADLINE, async {
                // The response message, if any, comes before the trailers.
                while let Some(data) = body.data().await {
                    data.expect("response data");
                }
                body.trailers().await
            })
            .await
            .expect("trailers before the test's bound")
            .expect("trailers")
            .expect("a trailer block");
            (
                field(&trailers, "grpc-status").expect("grpc-status"),
                field(&trailers, "grpc-message"),
            )
        }
    };
    driver.abort();
    RawAnswer {
        http_status,
        grpc_status: status,
        grpc_message: percent_decoded(&message.unwrap_or_default()),
    }
}

/// `grpc-message` is percent-encoded on the wire.
fn percent_decoded(text: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).expect("percent escape"));
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).expect("UTF-8 message")
}

/// Framing a gRPC server must refuse, each with the status that says what
/// to fix: never INTERNAL (kept for our own bugs), never a silent OK.
#[tokio::test]
async fn broken_grpc_framing_is_the_callers_error() {
    let server = Server::with_admin(
        tollgate::reload::BundleSource::Embedded,
        tollgate::app::ServeOptions::default(),
    )
    .await;
    let one = encoded(&request("free", "standard"));
    let two = [framed(0, &one), framed(0, &one)].concat();
    let mut truncated = framed(0, &one);
    truncated.truncate(truncated.len() - 3);
    let cases: [(&str, &[u8], &str, &str); 5] = [
        (
            "a compressed message",
            &framed(1, &one),
            "12",
            "Tollgate accepts no compression",
        ),
        (
            "compressed-flag 2",
            &framed(2, &one),
            "3",
            "compressed-flag is 2",
        ),
        (
            "two messages on a unary call",
            &two,
            "3",
            "a second one arrived",
        ),
        ("no message at all", &[], "3", "carries no request message"),
        (
            "a message cut short",
            &truncated,
            "3",
            "ends inside a message",
        ),
    ];
    for (what, body, status, says) in cases {
        let answer = answer_to_raw_body(&server, "application/grpc", body).await;
        assert_eq!(
            (answer.grpc_status.as_str(), answer.http_status),
            (status, 200),
            "{what}: {}",
            answer.grpc_message
        );
        assert!(
            answer.grpc_message.contains(says),
            "{what}: {}",
            answer.grpc_message
        );
    }
    // Not gRPC at all: HTTP 415, as the gRPC protocol asks, and a status
    // for gRPC clients that read it.
    let answer = answer_to_raw_body(&server, "text/plain", &framed(0, &one)).await;
    assert_eq!(answer.http_status, 415, "{}", answer.grpc_message);
    assert_eq!(answer.grpc_status, "3");
    assert!(
        answer
            .grpc_message
            .contains("content-type `text/plain` is not gRPC"),
        "{}",
        answer.grpc_message
    );
    // The same message, framed once, is decided.
    let answer = answer_to_raw_body(&server, "application/grpc", &framed(0, &one)).await;
    assert_eq!(answer.grpc_status, "0", "{}", answer.grpc_message);
    // None of it was counted as Tollgate's own error.
    let scrape = server.get("/metrics").await.body;
    let internal = crate::http::value(&scrape, "tollgate_internal_errors_total", &[]);
    assert_eq!(internal, Some(0.0), "{scrape}");
}

/// A message's protobuf encoding.
fn encoded(message: &impl prost::Message) -> Vec<u8> {
    message.encode_to_vec()
}

/// Bytes that are not a protobuf message are the caller's error: every
/// such request is INVALID_ARGUMENT saying so, never INTERNAL (which stays
/// for Tollgate's own bugs).
#[tokio::test]
async fn bytes_that_are_not_protobuf_are_invalid_argument() {
    let server = Server::embedded().await;
    let cases: [(&str, &[u8]); 4] = [
        // Field 1 (tenant_id) says 127 bytes follow; two do.
        ("a truncated field", &[0x0a, 0x7f, b'a', b'b']),
        // Field 1 as a string that is not UTF-8.
        ("a string that is not UTF-8", &[0x0a, 0x02, 0xff, 0xfe]),
        // Field 1 with wire type 7, which does not exist.
        ("an unknown wire type", &[0x0f, 0x00]),
        // A varint that never ends.
        ("an endless varint", &[0x08, 0xff, 0xff, 0xff]),
    ];
    for (what, bytes) in cases {
        let (status, message) = answer_to_raw_bytes(&server, bytes).await;
        assert_eq!(status, "3", "{what}: {message}");
        assert!(
            message.contains("not%20valid%20protobuf") || message.contains("not valid protobuf"),
            "{what}: {message}"
        );
    }
}
