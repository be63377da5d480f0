//! What both payment decisions know about a wallet under a merchant's
//! settings: which methods are usable, accepted, preset as fallbacks, and
//! whether auto-charge meets the merchant's criterion. Computed natively
//! once per request and exposed to rules as the `wallet` variable.

use std::collections::BTreeMap;

use super::values::{list, map, strings, timestamp};
use crate::{
    bundle::{Merchant, Scope},
    domain::{MethodStatus, MethodType, PaymentMethod, Reason, ReasonCode, Wallet},
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
            balance_method: wallet
                .methods
                .iter()
                .find(|m| m.kind == MethodType::Balance),
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
