//! What both payment decisions know about a wallet under a merchant's
//! settings: which methods are usable, accepted, preset as fallbacks, and
//! whether auto-charge meets the merchant's criterion. Computed natively
//! once per request and exposed to rules as the `wallet` variable.

use std::collections::BTreeMap;

use std::{cell::OnceCell, collections::HashMap};

use super::{
    combine::{Facts, Items},
    native::Lookup,
    value::{MapRef, V},
    values::{list, map, metrics, strings, timestamp},
};
use crate::{
    bundle::{CompiledBundle, Field, ForEach, Merchant, Scope},
    domain::{
        ChargeFunding, HealthIndex, MethodStatus, MethodType, PaymentMethod, Reason, ReasonCode,
        Wallet,
    },
};

/// Reason code for a fallback candidate that could not be used.
pub const FALLBACK_METHOD_SKIPPED: &str = "FALLBACK_METHOD_SKIPPED";
/// Reason code for a merchant the bundle does not know (and no default profile).
pub const UNKNOWN_MERCHANT: &str = "UNKNOWN_MERCHANT";

/// Why a method is not a usable fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The merchant does not accept its type.
    Unaccepted,
    /// It is suspended or expired.
    Inactive,
    /// The user did not preset it (`fallback_rank` 0).
    Unpreset,
}

impl Skip {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unaccepted => "NOT_ACCEPTED_BY_MERCHANT",
            Self::Inactive => "NOT_ACTIVE",
            Self::Unpreset => "NOT_PRESET",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Unaccepted => "the merchant does not accept this method type",
            Self::Inactive => "the method is not active",
            Self::Unpreset => "the user did not preset it as a fallback",
        }
    }
}

/// A wallet classified under a merchant's settings.
pub struct WalletView<'a> {
    /// The listed BALANCE method, if any.
    pub balance_method: Option<&'a PaymentMethod>,
    /// Active non-balance methods.
    pub active: Vec<&'a PaymentMethod>,
    /// Active non-balance methods the merchant accepts.
    pub accepted: Vec<&'a PaymentMethod>,
    /// Suspended or expired non-balance methods.
    pub inactive: Vec<&'a PaymentMethod>,
    /// Usable fallbacks: preset, active, accepted; lowest rank first.
    pub fallbacks: Vec<&'a PaymentMethod>,
    /// Non-balance methods that are not usable fallbacks, and why.
    pub skipped: Vec<(&'a PaymentMethod, Skip)>,
    /// Auto-charge is on, draws on an active listed method, and meets the
    /// merchant's minimum amount and threshold.
    pub auto_charge_ok: bool,
}

impl<'a> WalletView<'a> {
    /// Classifies `wallet`'s methods under `merchant`.
    pub fn new(wallet: &'a Wallet, merchant: &Merchant) -> Self {
        let mut view = Self {
            // The first active BALANCE method, else the first listed one.
            balance_method: wallet
                .methods
                .iter()
                .filter(|m| m.kind == MethodType::Balance)
                .min_by_key(|m| m.status != MethodStatus::Active),
            active: Vec::new(),
            accepted: Vec::new(),
            inactive: Vec::new(),
            fallbacks: Vec::new(),
            skipped: Vec::new(),
            auto_charge_ok: false,
        };
        for m in wallet
            .methods
            .iter()
            .filter(|m| m.kind != MethodType::Balance)
        {
            let active = m.status == MethodStatus::Active;
            let accepted = merchant.accepted.contains(&m.kind);
            if active {
                view.active.push(m);
                if accepted {
                    view.accepted.push(m);
                }
            } else {
                view.inactive.push(m);
            }
            let why = if !accepted {
                Some(Skip::Unaccepted)
            } else if !active {
                Some(Skip::Inactive)
            } else if m.fallback_rank.is_none() {
                Some(Skip::Unpreset)
            } else {
                None
            };
            match why {
                Some(why) => view.skipped.push((m, why)),
                None => view.fallbacks.push(m),
            }
        }
        // Stable: equal ranks keep the order the user listed them in.
        view.fallbacks.sort_by_key(|m| m.fallback_rank);
        let ac = &wallet.auto_charge;
        let source_ok = wallet.methods.iter().any(|m| {
            m.id == ac.source_method_id
                && m.kind != MethodType::Balance
                && m.status == MethodStatus::Active
        });
        view.auto_charge_ok = ac.enabled
            && source_ok
            && ac.amount_minor > 0
            && ac.amount_minor >= merchant.auto_charge.min_amount_minor
            && ac.threshold_minor >= merchant.auto_charge.min_threshold_minor;
        view
    }

    /// The `wallet` variable of payment rules.
    pub fn value(&self) -> cel::Value {
        let ids = |ms: &[&PaymentMethod]| list(ms.iter().map(|m| m.id.as_str()));
        map([
            (
                "balance_method",
                cel::Value::from(self.balance_method.map_or("", |m| m.id.as_str())),
            ),
            ("active", ids(&self.active)),
            ("accepted", ids(&self.accepted)),
            ("inactive", ids(&self.inactive)),
            ("fallbacks", ids(&self.fallbacks)),
            ("auto_charge_ok", cel::Value::Bool(self.auto_charge_ok)),
        ])
    }

    /// One reason per fallback candidate that could not be used.
    pub fn skipped_reasons(&self) -> Vec<Reason> {
        self.skipped
            .iter()
            .map(|(m, why)| Reason {
                code: ReasonCode::engine(FALLBACK_METHOD_SKIPPED),
                message: format!(
                    "`{}` ({}) was not used as a fallback: {}",
                    m.id,
                    m.kind.as_str(),
                    why.message()
                ),
                rule_id: None,
                details: BTreeMap::from([
                    ("method_id".to_owned(), m.id.clone()),
                    ("type".to_owned(), m.kind.as_str().to_owned()),
                    ("why".to_owned(), why.as_str().to_owned()),
                ]),
            })
            .collect()
    }
}

/// Whether a payment rule's scope covers `merchant_id`.
pub fn in_scope(scope: &Scope, merchant_id: &str) -> bool {
    scope.from_plans.is_empty()
        && scope.to_plans.is_empty()
        && scope.requesters.is_empty()
        && (scope.merchants.is_empty() || scope.merchants.iter().any(|m| m == merchant_id))
}

/// The `merchant` variable of payment rules.
pub fn merchant_value(merchant: &Merchant, id: &str, default_profile: bool) -> cel::Value {
    let attributes = merchant
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), crate::bundle::json_to_cel(v)))
        .collect::<std::collections::HashMap<_, _>>();
    map([
        ("id", cel::Value::from(id.to_owned())),
        ("default_profile", cel::Value::Bool(default_profile)),
        (
            "currency",
            cel::Value::from(merchant.currency.as_str().to_owned()),
        ),
        (
            "accepted_methods",
            list(merchant.accepted.iter().map(|t| t.as_str())),
        ),
        (
            "accepts_second_methods",
            cel::Value::Bool(!merchant.accepted.is_empty()),
        ),
        (
            "min_health_score",
            cel::Value::Int(i64::from(merchant.min_health_score)),
        ),
        (
            "auto_charge",
            map([
                (
                    "min_amount_minor",
                    cel::Value::Int(merchant.auto_charge.min_amount_minor),
                ),
                (
                    "min_threshold_minor",
                    cel::Value::Int(merchant.auto_charge.min_threshold_minor),
                ),
            ]),
        ),
        ("allow_split", cel::Value::Bool(merchant.allow_split)),
        ("attributes", cel::Value::from(attributes)),
    ])
}

/// The fields both payment requests share, as CEL entries of `request`.
pub fn wallet_request_entries(wallet: &Wallet) -> Vec<(String, cel::Value)> {
    let methods = cel::Value::List(std::sync::Arc::new(
        wallet
            .methods
            .iter()
            .map(|m| {
                map([
                    ("id", cel::Value::from(m.id.clone())),
                    ("type", cel::Value::from(m.kind.as_str())),
                    ("status", cel::Value::from(m.status.as_str())),
                    (
                        "fallback_rank",
                        cel::Value::Int(i64::from(m.fallback_rank.unwrap_or(0))),
                    ),
                ])
            })
            .collect(),
    ));
    let ac = &wallet.auto_charge;
    vec![
        (
            "user_id".to_owned(),
            cel::Value::from(wallet.user_id.clone()),
        ),
        (
            "merchant_id".to_owned(),
            cel::Value::from(wallet.merchant_id.clone()),
        ),
        ("methods".to_owned(), methods),
        (
            "auto_charge".to_owned(),
            map([
                ("enabled", cel::Value::Bool(ac.enabled)),
                (
                    "source_method_id",
                    cel::Value::from(ac.source_method_id.clone()),
                ),
                ("threshold_minor", cel::Value::Int(ac.threshold_minor)),
                ("amount_minor", cel::Value::Int(ac.amount_minor)),
            ]),
        ),
        ("attributes".to_owned(), strings(&wallet.attributes)),
        ("as_of".to_owned(), timestamp(wallet.as_of)),
    ]
}

/// What a funding decision adds to the payment facts.
pub struct ChargeFacts<'a> {
    /// The request.
    pub req: &'a ChargeFunding,
    /// What the balance lacks (0 when it covers the charge).
    pub shortfall: i64,
    /// What an auto-charge would top up.
    pub top_up: i64,
}

/// The facts payment rules read: request, merchant settings, wallet view,
/// and for funding the charge.
pub struct PaymentFacts<'a> {
    /// The bundle deciding.
    pub bundle: &'a CompiledBundle,
    /// The wallet part of the request.
    pub wallet: &'a Wallet,
    /// The settings that apply.
    pub merchant: &'a Merchant,
    /// Whether those are the default profile.
    pub default_profile: bool,
    /// The wallet classified under the merchant.
    pub view: WalletView<'a>,
    /// Links: the health index.
    pub health: Option<&'a HealthIndex>,
    /// Funding: the charge.
    pub charge: Option<ChargeFacts<'a>>,
    ctx: OnceCell<cel::Context<'static, 'static>>,
}

impl<'a> PaymentFacts<'a> {
    /// Facts for `wallet` under `merchant`.
    pub fn new(
        bundle: &'a CompiledBundle,
        wallet: &'a Wallet,
        merchant: &'a Merchant,
        default_profile: bool,
    ) -> Self {
        Self {
            bundle,
            wallet,
            merchant,
            default_profile,
            view: WalletView::new(wallet, merchant),
            health: None,
            charge: None,
            ctx: OnceCell::new(),
        }
    }

    fn ids(methods: &[&'a PaymentMethod]) -> V<'a> {
        V::List(methods.iter().map(|m| V::str(m.id.as_str())).collect())
    }

    /// The CEL variables, for expressions the native evaluator does not cover.
    fn cel_context(&self) -> cel::Context<'static, 'static> {
        let mut ctx = cel::Context::with_env(self.bundle.env.clone());
        let mut request: HashMap<String, cel::Value> =
            wallet_request_entries(self.wallet).into_iter().collect();
        if let Some(h) = self.health {
            request.insert(
                "health".to_owned(),
                map([
                    ("score", cel::Value::Int(i64::from(h.score))),
                    ("signals", metrics(&h.signals)),
                ]),
            );
        }
        if let Some(c) = &self.charge {
            request.insert(
                "amount".to_owned(),
                map([
                    (
                        "currency",
                        cel::Value::from(c.req.amount.currency().as_str().to_owned()),
                    ),
                    ("amount_minor", cel::Value::Int(c.req.amount.minor())),
                ]),
            );
            request.insert(
                "balance_minor".to_owned(),
                cel::Value::Int(c.req.balance_minor),
            );
            ctx.add_variable_from_value(
                "charge",
                map([
                    ("covered", cel::Value::Bool(c.shortfall == 0)),
                    ("shortfall_minor", cel::Value::Int(c.shortfall)),
                    ("top_up_minor", cel::Value::Int(c.top_up)),
                ]),
            );
        }
        ctx.add_variable_from_value("request", cel::Value::from(request));
        ctx.add_variable_from_value(
            "merchant",
            merchant_value(
                self.merchant,
                &self.wallet.merchant_id,
                self.default_profile,
            ),
        );
        ctx.add_variable_from_value("wallet", self.view.value());
        ctx
    }
}

impl Lookup for PaymentFacts<'_> {
    fn field(&self, field: Field) -> Option<V<'_>> {
        let w = self.wallet;
        let m = self.merchant;
        let ac = &w.auto_charge;
        Some(match field {
            Field::Attributes => V::Map(MapRef::Strings(&w.attributes)),
            Field::AsOf => V::Ts(w.as_of),
            Field::UserId => V::str(&w.user_id),
            Field::MerchantId | Field::MerchantProfileId => V::str(&w.merchant_id),
            Field::Methods => V::List(
                w.methods
                    .iter()
                    .map(|m| V::Map(MapRef::Method(m)))
                    .collect(),
            ),
            Field::AutoChargeEnabled => V::Bool(ac.enabled),
            Field::AutoChargeSource => V::str(&ac.source_method_id),
            Field::AutoChargeThreshold => V::Int(ac.threshold_minor),
            Field::AutoChargeAmount => V::Int(ac.amount_minor),
            Field::HealthScore => V::Int(i64::from(self.health?.score)),
            Field::HealthSignals => V::Map(MapRef::Metrics(&self.health?.signals)),
            Field::AmountCurrency => V::str(self.charge.as_ref()?.req.amount.currency_code()),
            Field::AmountMinor => V::Int(self.charge.as_ref()?.req.amount.minor()),
            Field::BalanceMinor => V::Int(self.charge.as_ref()?.req.balance_minor),
            Field::DefaultProfile => V::Bool(self.default_profile),
            Field::MerchantCurrency => V::str(m.currency.as_str()),
            Field::AcceptedTypes => {
                V::List(m.accepted.iter().map(|t| V::str(t.as_str())).collect())
            }
            Field::AcceptsSecondMethods => V::Bool(!m.accepted.is_empty()),
            Field::MinHealthScore => V::Int(i64::from(m.min_health_score)),
            Field::MinAutoChargeAmount => V::Int(m.auto_charge.min_amount_minor),
            Field::MinAutoChargeThreshold => V::Int(m.auto_charge.min_threshold_minor),
            Field::AllowSplit => V::Bool(m.allow_split),
            Field::MerchantAttributes => V::Map(MapRef::Json(&m.attributes)),
            Field::BalanceMethod => V::str(self.view.balance_method.map_or("", |b| b.id.as_str())),
            Field::ActiveMethods => Self::ids(&self.view.active),
            Field::AcceptedMethods => Self::ids(&self.view.accepted),
            Field::InactiveMethods => Self::ids(&self.view.inactive),
            Field::Fallbacks => Self::ids(&self.view.fallbacks),
            Field::AutoChargeOk => V::Bool(self.view.auto_charge_ok),
            Field::Covered => V::Bool(self.charge.as_ref()?.shortfall == 0),
            Field::Shortfall => V::Int(self.charge.as_ref()?.shortfall),
            Field::TopUp => V::Int(self.charge.as_ref()?.top_up),
            _ => return None,
        })
    }
}

impl Facts for PaymentFacts<'_> {
    fn in_scope(&self, scope: &Scope) -> bool {
        in_scope(scope, &self.wallet.merchant_id)
    }

    fn items(&self, _for_each: ForEach) -> Items<'_> {
        // The bundle rejects `for_each` on payment rules.
        Items::none()
    }

    fn context(&self) -> &cel::Context<'static, 'static> {
        self.ctx.get_or_init(|| self.cel_context())
    }
}
