//! Every fact a payment rule reads, declared once: the wallet part of the
//! request, the merchant's settings and the wallet view (both payment
//! decisions), the health index (links), and the charge (funding).

use crate::{
    bundle::{
        Merchant,
        facts::{Context, Fact, List, MapRef, Table, Ty, V},
    },
    domain::{HealthIndex, PaymentMethod, Wallet},
};

pub use super::charge::Charge;
use super::wallet::WalletView;

/// What payment facts are read from.
pub struct PaymentCtx<'a> {
    /// The wallet part of the request.
    pub wallet: &'a Wallet,
    /// The merchant settings that apply.
    pub merchant: &'a Merchant,
    /// Whether those are the default profile.
    pub default_profile: bool,
    /// The wallet classified under the merchant (derived once).
    pub view: WalletView<'a>,
    /// Links: the health index, and whether the request sent one.
    pub health: Option<(&'a HealthIndex, bool)>,
    /// Funding: the charge and what it lacks.
    pub charge: Option<Charge<'a>>,
}

impl<'a> PaymentCtx<'a> {
    /// The context of `wallet` under `merchant`, with the wallet view.
    pub fn new(wallet: &'a Wallet, merchant: &'a Merchant, default_profile: bool) -> Self {
        Self {
            wallet,
            merchant,
            default_profile,
            view: WalletView::new(wallet, merchant),
            health: None,
            charge: None,
        }
    }
}

/// The context family of payment facts.
pub struct PaymentFacts;

impl Context for PaymentFacts {
    type Of<'a> = PaymentCtx<'a>;
}

type F = Fact<PaymentFacts>;

fn ids<'a>(methods: &'a [&'a PaymentMethod]) -> V<'a> {
    V::List(List::Ids(methods))
}

/// The facts of a payment-link decision.
pub const LINK: Table<PaymentFacts> = Table(&LINK_FACTS);

static LINK_FACTS: [F; WALLET.len() + HEALTH.len()] = Table::join(&[WALLET, HEALTH]);

/// The facts of a charge-funding decision.
pub const FUNDING: Table<PaymentFacts> = Table(&FUNDING_FACTS);

static FUNDING_FACTS: [F; WALLET.len() + CHARGE.len()] = Table::join(&[WALLET, CHARGE]);

/// Facts both payment decisions read.
const WALLET: &[F] = &[
    F::new("request.user_id", Ty::Str, "the wallet user", |c| {
        Some(V::str(&c.wallet.user_id))
    }),
    F::new("request.merchant_id", Ty::Str, "the merchant", |c| {
        Some(V::str(&c.wallet.merchant_id))
    }),
    F::new(
        "request.methods",
        Ty::Records,
        "the user's payment methods: `id`, `type`, `status`, `fallback_rank`",
        |c| Some(V::List(List::Methods(&c.wallet.methods))),
    ),
    F::new(
        "request.auto_charge.enabled",
        Ty::Bool,
        "auto-charge is on",
        |c| Some(V::Bool(c.wallet.auto_charge.enabled)),
    ),
    F::new(
        "request.auto_charge.source_method_id",
        Ty::Str,
        "the method auto-charge draws on",
        |c| Some(V::str(&c.wallet.auto_charge.source_method_id)),
    ),
    F::new(
        "request.auto_charge.threshold_minor",
        Ty::Int,
        "the balance below which auto-charge tops up",
        |c| Some(V::Int(c.wallet.auto_charge.threshold_minor)),
    ),
    F::new(
        "request.auto_charge.amount_minor",
        Ty::Int,
        "the amount auto-charge tops up",
        |c| Some(V::Int(c.wallet.auto_charge.amount_minor)),
    ),
    F::new(
        "request.attributes",
        Ty::Strings,
        "free-form attributes",
        |c| Some(V::Map(MapRef::Strings(&c.wallet.attributes))),
    ),
    F::new(
        "request.as_of",
        Ty::Timestamp,
        "the decision instant",
        |c| Some(V::Ts(c.wallet.as_of)),
    ),
    F::new("merchant.id", Ty::Str, "the merchant id asked for", |c| {
        Some(V::str(&c.wallet.merchant_id))
    }),
    F::new(
        "merchant.default_profile",
        Ty::Bool,
        "the settings are the default profile",
        |c| Some(V::Bool(c.default_profile)),
    ),
    F::new(
        "merchant.currency",
        Ty::Str,
        "the merchant's currency",
        |c| Some(V::str(c.merchant.currency.as_str())),
    ),
    F::new(
        "merchant.accepted_methods",
        Ty::StrList,
        "method types accepted besides the balance",
        |c| Some(V::List(List::Types(&c.merchant.accepted))),
    ),
    F::new(
        "merchant.accepts_second_methods",
        Ty::Bool,
        "the merchant accepts some method besides the balance",
        |c| Some(V::Bool(!c.merchant.accepted.is_empty())),
    ),
    F::new(
        "merchant.min_health_score",
        Ty::Int,
        "the minimum health score to link: the merchant's, else the bundle's `payments.default_min_health_score` (absent when neither is set)",
        |c| Some(V::Int(i64::from(c.merchant.min_health_score?))),
    )
    .optional(),
    F::new(
        "merchant.auto_charge.min_amount_minor",
        Ty::Int,
        "the smallest auto-charge amount the merchant accepts",
        |c| Some(V::Int(c.merchant.auto_charge.min_amount_minor)),
    ),
    F::new(
        "merchant.auto_charge.min_threshold_minor",
        Ty::Int,
        "the smallest auto-charge threshold the merchant accepts",
        |c| Some(V::Int(c.merchant.auto_charge.min_threshold_minor)),
    ),
    F::new(
        "merchant.auto_charge.source_types",
        Ty::StrList,
        "the method types auto-charge may draw on (every type but BALANCE unless the merchant lists them)",
        |c| Some(V::List(List::Types(&c.merchant.auto_charge.source_types))),
    ),
    F::new(
        "merchant.allow_split",
        Ty::Bool,
        "a charge may be split between balance and a fallback",
        |c| Some(V::Bool(c.merchant.allow_split)),
    ),
    F::new("merchant.attributes", Ty::Data, "free-form settings", |c| {
        Some(V::Map(MapRef::Json(&c.merchant.attributes)))
    }),
    F::new(
        "wallet.balance_method",
        Ty::Str,
        "the listed BALANCE method's id, or empty",
        |c| Some(V::str(c.view.balance_method.map_or("", |b| b.id.as_str()))),
    ),
    F::new("wallet.active", Ty::StrList, "active other methods", |c| {
        Some(ids(c.view.active()))
    }),
    F::new(
        "wallet.accepted",
        Ty::StrList,
        "active other methods the merchant accepts",
        |c| Some(ids(c.view.accepted())),
    ),
    F::new(
        "wallet.inactive",
        Ty::StrList,
        "suspended or expired other methods",
        |c| Some(ids(c.view.inactive())),
    ),
    F::new(
        "wallet.reactivatable",
        Ty::Records,
        "suspended or expired methods of a type the merchant accepts: `id`, `type`, `status`, `fallback_rank`",
        |c| Some(V::List(List::Records(c.view.reactivatable()))),
    ),
    F::new(
        "wallet.fallbacks",
        Ty::StrList,
        "usable preset fallbacks, lowest rank first",
        |c| Some(ids(c.view.fallbacks())),
    ),
    F::new(
        "wallet.balance_usable",
        Ty::Bool,
        "the balance can pay and be topped up (no BALANCE method listed, or it is ACTIVE)",
        |c| Some(V::Bool(c.view.balance_usable)),
    ),
    F::new(
        "wallet.balance_status",
        Ty::Str,
        "the listed BALANCE method's status, or empty",
        |c| {
            Some(V::str(
                c.view.balance_method.map_or("", |m| m.status.as_str()),
            ))
        },
    ),
    F::new(
        "wallet.auto_charge_ok",
        Ty::Bool,
        "the same as `wallet.auto_charge.meets_criterion` (its name before the criterion's parts were facts)",
        |c| Some(V::Bool(c.view.auto_charge.meets_criterion())),
    ),
    F::new(
        "wallet.auto_charge.meets_criterion",
        Ty::Bool,
        "auto-charge is on and meets every part of the merchant's criterion: amount, threshold, source type, source active",
        |c| Some(V::Bool(c.view.auto_charge.meets_criterion())),
    ),
    F::new(
        "wallet.auto_charge.amount_ok",
        Ty::Bool,
        "the auto-charge amount is > 0 and at least `merchant.auto_charge.min_amount_minor`",
        |c| Some(V::Bool(c.view.auto_charge.amount_ok)),
    ),
    F::new(
        "wallet.auto_charge.threshold_ok",
        Ty::Bool,
        "the auto-charge threshold is at least `merchant.auto_charge.min_threshold_minor`",
        |c| Some(V::Bool(c.view.auto_charge.threshold_ok)),
    ),
    F::new(
        "wallet.auto_charge.source_type_ok",
        Ty::Bool,
        "the auto-charge source is listed and of a type in `merchant.auto_charge.source_types`",
        |c| Some(V::Bool(c.view.auto_charge.source_type_ok)),
    ),
    F::new(
        "wallet.auto_charge.source_active",
        Ty::Bool,
        "the auto-charge source is listed and ACTIVE",
        |c| Some(V::Bool(c.view.auto_charge.source_active)),
    ),
    F::new(
        "wallet.auto_charge.source_type",
        Ty::Str,
        "the auto-charge source's type, or empty when it names none",
        |c| Some(V::str(c.view.auto_charge.source.map_or("", |m| m.kind.as_str()))),
    ),
    F::new(
        "wallet.auto_charge.source_status",
        Ty::Str,
        "the auto-charge source's status, or empty when it names none",
        |c| Some(V::str(c.view.auto_charge.source.map_or("", |m| m.status.as_str()))),
    ),
];

/// Facts only a link decision reads.
const HEALTH: &[F] = &[
    F::new(
        "request.health.score",
        Ty::Int,
        "the user's fund-management health (0-100)",
        |c| Some(V::Int(i64::from(c.health?.0.score))),
    ),
    F::new(
        "request.health.signals",
        Ty::Metrics,
        "the signals behind the score",
        |c| Some(V::Map(MapRef::Metrics(&c.health?.0.signals))),
    ),
    F::new(
        "request.health.reported",
        Ty::Bool,
        "whether the request sent a health index (a missing one reads as score 0)",
        |c| Some(V::Bool(c.health?.1)),
    ),
];

/// Facts only a funding decision reads.
const CHARGE: &[F] = &[
    F::new(
        "request.amount.currency",
        Ty::Str,
        "the charge's currency",
        |c| Some(V::str(c.charge.as_ref()?.req.amount.currency_code())),
    ),
    F::new(
        "request.amount.amount_minor",
        Ty::Int,
        "the charge in minor units",
        |c| Some(V::Int(c.charge.as_ref()?.req.amount.minor())),
    ),
    F::new(
        "request.balance_minor",
        Ty::Int,
        "the wallet balance in minor units",
        |c| Some(V::Int(c.charge.as_ref()?.req.balance_minor)),
    ),
    F::new(
        "charge.covered",
        Ty::Bool,
        "the balance covers the charge",
        |c| Some(V::Bool(c.charge.as_ref()?.shortfall == 0)),
    ),
    F::new(
        "charge.shortfall_minor",
        Ty::Int,
        "what the balance lacks",
        |c| Some(V::Int(c.charge.as_ref()?.shortfall)),
    ),
    F::new(
        "charge.top_up_minor",
        Ty::Int,
        "what one auto-charge of the user's preset tops up (0 when covered or frozen)",
        |c| Some(V::Int(c.charge.as_ref()?.top_up)),
    ),
    F::new(
        "charge.remaining_minor",
        Ty::Int,
        "what one preset top-up leaves of the shortfall (0 when it covers it): the part a fallback must pay",
        |c| Some(V::Int(c.charge.as_ref()?.remaining)),
    ),
];
