//! A wallet classified under a merchant's settings: which methods are
//! usable, accepted, preset as fallbacks, and whether auto-charge meets the
//! merchant's criterion. Derived once per payment decision; both payment
//! decision types read it as `wallet`, and funding plans are built from it.

use crate::{
    bundle::Merchant,
    domain::{MethodStatus, MethodType, PaymentMethod, Wallet},
};

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
    /// The `why` detail of a skipped method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unaccepted => "NOT_ACCEPTED_BY_MERCHANT",
            Self::Inactive => "NOT_ACTIVE",
            Self::Unpreset => "NOT_PRESET",
        }
    }

    /// Why, for people.
    pub fn message(self) -> &'static str {
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
    /// Suspended or expired methods of a type the merchant accepts: the
    /// ones worth asking the user to reactivate.
    pub reactivatable: Vec<&'a PaymentMethod>,
    /// Usable fallbacks: preset, active, accepted; lowest rank first.
    pub fallbacks: Vec<&'a PaymentMethod>,
    /// Non-balance methods that are not usable fallbacks, and why.
    pub skipped: Vec<(&'a PaymentMethod, Skip)>,
    /// The auto-charge setting judged part by part against the merchant's
    /// criterion.
    pub auto_charge: AutoChargeCheck<'a>,
    /// The balance can pay and be topped up: no BALANCE method is listed
    /// (the balance is implied), or the listed one is ACTIVE. A suspended or
    /// expired balance is never drawn from nor topped up.
    pub balance_usable: bool,
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
            reactivatable: Vec::new(),
            fallbacks: Vec::new(),
            skipped: Vec::new(),
            auto_charge: AutoChargeCheck::new(wallet, merchant),
            balance_usable: true,
        };
        view.balance_usable = view
            .balance_method
            .is_none_or(|m| m.status == MethodStatus::Active);
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
                if accepted {
                    view.reactivatable.push(m);
                }
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
        view
    }
}

/// A user's auto-charge setting against the merchant's criterion (seed 004
/// §0006), each part on its own so that rules can say which one failed.
pub struct AutoChargeCheck<'a> {
    /// The user switched auto-charge on.
    pub enabled: bool,
    /// The listed method auto-charge draws on, if the setting names one.
    pub source: Option<&'a PaymentMethod>,
    /// The amount is positive and at least the merchant's minimum.
    pub amount_ok: bool,
    /// The threshold is at least the merchant's minimum.
    pub threshold_ok: bool,
    /// The source is listed and of a type the merchant accepts as a source.
    pub source_type_ok: bool,
    /// The source is listed and ACTIVE.
    pub source_active: bool,
}

impl<'a> AutoChargeCheck<'a> {
    /// Judges `wallet`'s auto-charge setting under `merchant`.
    pub fn new(wallet: &'a Wallet, merchant: &Merchant) -> Self {
        let ac = &wallet.auto_charge;
        let criterion = &merchant.auto_charge;
        let source = wallet
            .methods
            .iter()
            .find(|m| !ac.source_method_id.is_empty() && m.id == ac.source_method_id);
        Self {
            enabled: ac.enabled,
            source,
            amount_ok: ac.amount_minor > 0 && ac.amount_minor >= criterion.min_amount_minor,
            threshold_ok: ac.threshold_minor >= criterion.min_threshold_minor,
            // Never BALANCE: the bundle refuses it in `source_types`.
            source_type_ok: source.is_some_and(|m| criterion.source_types.contains(&m.kind)),
            source_active: source.is_some_and(|m| m.status == MethodStatus::Active),
        }
    }

    /// On, and every part of the criterion met.
    pub fn meets_criterion(&self) -> bool {
        self.enabled
            && self.amount_ok
            && self.threshold_ok
            && self.source_type_ok
            && self.source_active
    }

    /// Why a top-up cannot draw on the source, for people: `None` when
    /// it can.
    pub fn source_problem(&self, merchant: &Merchant) -> Option<String> {
        let Some(m) = self.source else {
            return Some("auto-charge names no source method".to_owned());
        };
        if !self.source_type_ok {
            let types: Vec<_> = merchant
                .auto_charge
                .source_types
                .iter()
                .map(|t| t.as_str())
                .collect();
            return Some(format!(
                "the auto-charge source `{}` is a {}, not one of the types the merchant accepts as a source ({})",
                m.id,
                m.kind.as_str(),
                types.join(", ")
            ));
        }
        if !self.source_active {
            return Some(format!(
                "the auto-charge source `{}` is {}",
                m.id,
                m.status.as_str()
            ));
        }
        None
    }
}
