//! The payment questions: may a wallet link to a merchant, and how is a
//! charge funded when the balance is short.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;

use super::{Currency, EnumInput, Languages, Money, Violations};

/// The kind of a payment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodType {
    /// The wallet's charged balance.
    Balance,
    /// A credit card.
    CreditCard,
    /// A debit card.
    DebitCard,
    /// A bank account.
    BankAccount,
    /// Postpaid (pay later).
    Postpaid,
    /// Loyalty points.
    Points,
}

impl MethodType {
    /// Every type, in the proto's order.
    pub const ALL: [Self; 6] = [
        Self::Balance,
        Self::CreditCard,
        Self::DebitCard,
        Self::BankAccount,
        Self::Postpaid,
        Self::Points,
    ];

    /// The short upper-case name (`CREDIT_CARD`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Balance => "BALANCE",
            Self::CreditCard => "CREDIT_CARD",
            Self::DebitCard => "DEBIT_CARD",
            Self::BankAccount => "BANK_ACCOUNT",
            Self::Postpaid => "POSTPAID",
            Self::Points => "POINTS",
        }
    }

    /// Parses `CREDIT_CARD` or `PAYMENT_METHOD_TYPE_CREDIT_CARD`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("PAYMENT_METHOD_TYPE_").unwrap_or(s) {
            "BALANCE" => Some(Self::Balance),
            "CREDIT_CARD" => Some(Self::CreditCard),
            "DEBIT_CARD" => Some(Self::DebitCard),
            "BANK_ACCOUNT" => Some(Self::BankAccount),
            "POSTPAID" => Some(Self::Postpaid),
            "POINTS" => Some(Self::Points),
            _ => None,
        }
    }
}

/// Whether a payment method can be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodStatus {
    /// Usable.
    Active,
    /// Suspended by the issuer or the user.
    Suspended,
    /// Past its expiry.
    Expired,
}

impl MethodStatus {
    /// The short upper-case name (`ACTIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Expired => "EXPIRED",
        }
    }

    /// Parses `ACTIVE` or `PAYMENT_METHOD_STATUS_ACTIVE`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("PAYMENT_METHOD_STATUS_").unwrap_or(s) {
            "ACTIVE" => Some(Self::Active),
            "SUSPENDED" => Some(Self::Suspended),
            "EXPIRED" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// A payment method the user has set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    /// Unique within the request.
    pub id: String,
    /// Its kind.
    pub kind: MethodType,
    /// Whether it is usable.
    pub status: MethodStatus,
    /// Preset order for paying when the balance is short; `None` = not a fallback.
    pub fallback_rank: Option<u32>,
}

/// Automatic top-up of the balance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoCharge {
    /// Switched on by the user.
    pub enabled: bool,
    /// The listed method the top-up is drawn from; may be empty when disabled.
    pub source_method_id: String,
    /// Top up below this balance, minor units, >= 0.
    pub threshold_minor: i64,
    /// Top-up amount, minor units, >= 0.
    pub amount_minor: i64,
}

/// The user's fund-management health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthIndex {
    /// 0 to 100.
    pub score: u32,
    /// Inputs behind the score.
    pub signals: BTreeMap<String, f64>,
}

/// A payment method as sent, before validation.
#[derive(Debug, Clone, Default)]
pub struct MethodInput {
    /// Method id.
    pub id: String,
    /// Type: typed, or the short or long name; unset when not given.
    pub kind: EnumInput<MethodType>,
    /// Status: typed, or the short or long name; unset when not given.
    pub status: EnumInput<MethodStatus>,
    /// 0 = not a fallback.
    pub fallback_rank: u32,
}

/// The parts both payment requests share, as sent.
#[derive(Debug, Clone, Default)]
pub struct WalletInput {
    /// User id.
    pub user_id: String,
    /// Merchant id.
    pub merchant_id: String,
    /// Payment methods.
    pub methods: Vec<MethodInput>,
    /// Auto-charge settings, when sent.
    pub auto_charge: Option<AutoCharge>,
    /// Free-form facts.
    pub attributes: BTreeMap<String, String>,
    /// Evaluation instant.
    pub as_of: Option<Timestamp>,
    /// Whether to trace every rule.
    pub explain: bool,
    /// The request's `locale` field: a BCP 47 tag, or empty.
    pub locale: String,
    /// The call's `accept-language`, used when `locale` is empty.
    pub accept_language: Languages,
}

/// The validated parts both payment requests share.
#[derive(Debug, Clone)]
pub struct Wallet {
    /// User id, non-empty.
    pub user_id: String,
    /// Merchant id, non-empty (it may still be unknown to the bundle).
    pub merchant_id: String,
    /// Payment methods, ids unique.
    pub methods: Vec<PaymentMethod>,
    /// Auto-charge; disabled when not sent.
    pub auto_charge: AutoCharge,
    /// Free-form facts.
    pub attributes: BTreeMap<String, String>,
    /// The evaluation instant.
    pub as_of: Timestamp,
    /// Whether to trace every rule.
    pub explain: bool,
    /// The caller's languages, for reason messages.
    pub languages: Languages,
}

impl Wallet {
    /// Validates the shared parts, recording every bad field in `bad`.
    pub fn parse(bad: &mut Violations, input: WalletInput, now: Timestamp) -> Option<Self> {
        for (field, value) in [
            ("user_id", &input.user_id),
            ("merchant_id", &input.merchant_id),
        ] {
            if value.trim().is_empty() {
                bad.push(field, "is required");
            }
        }
        let mut seen = HashSet::new();
        let mut methods = Vec::new();
        for (i, m) in input.methods.into_iter().enumerate() {
            let at = |f: &str| format!("methods[{i}].{f}");
            if m.id.trim().is_empty() {
                bad.push(at("id"), "is required");
            } else if !seen.insert(m.id.clone()) {
                bad.push(at("id"), format!("`{}` is listed twice", m.id));
            }
            let kind = m
                .kind
                .resolve(bad, at("type"), "payment method type", MethodType::parse);
            let status = m.status.resolve(
                bad,
                at("status"),
                "payment method status",
                MethodStatus::parse,
            );
            if let (Some(kind), Some(status)) = (kind, status) {
                methods.push(PaymentMethod {
                    id: m.id,
                    kind,
                    status,
                    fallback_rank: (m.fallback_rank > 0).then_some(m.fallback_rank),
                });
            }
        }
        let auto_charge = input.auto_charge.unwrap_or_default();
        if auto_charge.threshold_minor < 0 {
            bad.push(
                "auto_charge.threshold_minor",
                format!("`{}` is negative", auto_charge.threshold_minor),
            );
        }
        if auto_charge.amount_minor < 0 {
            bad.push(
                "auto_charge.amount_minor",
                format!("`{}` is negative", auto_charge.amount_minor),
            );
        }
        let source = &auto_charge.source_method_id;
        if auto_charge.enabled && source.is_empty() {
            bad.push(
                "auto_charge.source_method_id",
                "is required when auto-charge is enabled",
            );
        } else if !source.is_empty() && !seen.contains(source) {
            bad.push(
                "auto_charge.source_method_id",
                format!("`{source}` names no listed method"),
            );
        }
        let languages = Languages::field(bad, "locale", &input.locale).or(&input.accept_language);
        bad.is_empty().then(|| Self {
            user_id: input.user_id,
            merchant_id: input.merchant_id,
            methods,
            auto_charge,
            attributes: input.attributes,
            as_of: input.as_of.unwrap_or(now),
            explain: input.explain,
            languages,
        })
    }
}

/// A link request as sent.
#[derive(Debug, Clone, Default)]
pub struct PaymentLinkInput {
    /// The shared parts.
    pub wallet: WalletInput,
    /// The health index, when sent.
    pub health: Option<HealthIndex>,
}

/// A valid link request: may this wallet link to this merchant?
#[derive(Debug, Clone)]
pub struct PaymentLink {
    /// The wallet and its methods.
    pub wallet: Wallet,
    /// Health; score 0 when not sent (see `health_reported`).
    pub health: HealthIndex,
    /// Whether the request sent a health index at all: a missing one is
    /// not a score of 0, and rules can tell.
    pub health_reported: bool,
}

impl PaymentLink {
    /// Validates a link request, naming every bad field.
    pub fn parse(input: PaymentLinkInput, now: Timestamp) -> Result<Self, Violations> {
        let mut bad = Violations::default();
        let health_reported = input.health.is_some();
        let health = input.health.unwrap_or_default();
        if health.score > 100 {
            bad.push(
                "health.score",
                format!("`{}` is outside 0-100", health.score),
            );
        }
        for (name, value) in &health.signals {
            if name.is_empty() {
                bad.push("health.signals", "signal name is empty");
            } else if !value.is_finite() {
                bad.push(
                    format!("health.signals[\"{name}\"]"),
                    format!("`{value}` is not a finite number"),
                );
            }
        }
        let wallet = Wallet::parse(&mut bad, input.wallet, now);
        match wallet {
            Some(wallet) if bad.is_empty() => Ok(Self {
                wallet,
                health,
                health_reported,
            }),
            _ => Err(bad),
        }
    }
}

/// A funding request as sent.
#[derive(Debug, Clone, Default)]
pub struct ChargeFundingInput {
    /// The shared parts.
    pub wallet: WalletInput,
    /// Currency code; `None` when `amount` was not sent.
    pub currency: Option<String>,
    /// Charge amount in minor units.
    pub amount_minor: i64,
    /// Wallet balance in minor units.
    pub balance_minor: i64,
}

/// A valid funding request: how is this charge paid?
#[derive(Debug, Clone)]
pub struct ChargeFunding {
    /// The wallet and its methods.
    pub wallet: Wallet,
    /// The charge, > 0.
    pub amount: Money,
    /// The balance in the charge's currency, >= 0.
    pub balance_minor: i64,
}

impl ChargeFunding {
    /// Validates a funding request, naming every bad field.
    pub fn parse(input: ChargeFundingInput, now: Timestamp) -> Result<Self, Violations> {
        let mut bad = Violations::default();
        let currency = match input.currency.as_deref() {
            None | Some("") => {
                bad.push("amount.currency", "is required");
                None
            }
            Some(c) => Currency::parse(c).or_else(|| {
                bad.push("amount.currency", format!("`{c}` is not an ISO 4217 code"));
                None
            }),
        };
        let amount = currency.and_then(|c| Money::new(c, input.amount_minor));
        if input.amount_minor <= 0 {
            bad.push(
                "amount.amount_minor",
                format!("`{}` must be greater than 0", input.amount_minor),
            );
        }
        if input.balance_minor < 0 {
            bad.push(
                "balance_minor",
                format!("`{}` is negative", input.balance_minor),
            );
        }
        if let Some(ac) = &input.wallet.auto_charge {
            top_up_fits(&mut bad, input.balance_minor, ac);
        }
        let wallet = Wallet::parse(&mut bad, input.wallet, now);
        match (wallet, amount) {
            (Some(wallet), Some(amount)) if bad.is_empty() => Ok(Self {
                wallet,
                amount,
                balance_minor: input.balance_minor,
            }),
            _ => Err(bad),
        }
    }
}

/// A balance that one auto-charge top-up would take past `i64::MAX` cannot
/// be represented, so the request is refused naming both fields rather than
/// planned with a wrapped amount. Only when auto-charge is on: a setting
/// that is off never tops up. (Top-ups of several presets are kept within
/// the same range by the engine.)
fn top_up_fits(bad: &mut Violations, balance_minor: i64, ac: &AutoCharge) {
    if !ac.enabled || balance_minor < 0 || ac.amount_minor < 0 {
        return;
    }
    if balance_minor.checked_add(ac.amount_minor).is_none() {
        let why = format!(
            "balance_minor `{balance_minor}` + auto_charge.amount_minor `{}` overflows int64: \
             the balance after one top-up cannot be represented",
            ac.amount_minor
        );
        bad.push("balance_minor", why.clone());
        bad.push("auto_charge.amount_minor", why);
    }
}
