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
    /// The lists of [`Self::active`], [`Self::accepted`], [`Self::inactive`],
    /// [`Self::reactivatable`] and [`Self::fallbacks`], one after another
    /// in one allocation (five `Vec`s were five allocations per decision);
    /// `ends` says where each stops.
    lists: Vec<&'a PaymentMethod>,
    ends: [usize; 5],
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
        // The first active BALANCE method, else the first listed one.
        let balance_method = wallet
            .methods
            .iter()
            .filter(|m| m.kind == MethodType::Balance)
            .min_by_key(|m| m.status != MethodStatus::Active);
        let others = || {
            wallet
                .methods
                .iter()
                .filter(|m| m.kind != MethodType::Balance)
        };
        let active = |m: &PaymentMethod| m.status == MethodStatus::Active;
        let accepted = |m: &PaymentMethod| merchant.accepted.contains(&m.kind);
        // Each method is active or inactive, at most once accepted or
        // reactivatable, at most once a fallback: three places each (none
        // allocated for a wallet of the balance alone).
        let mut lists = Vec::with_capacity(3 * others().count());
        let mut ends = [0; 5];
        let mut skipped = Vec::new();
        lists.extend(others().filter(|m| active(m)));
        ends[0] = lists.len();
        lists.extend(others().filter(|m| active(m) && accepted(m)));
        ends[1] = lists.len();
        lists.extend(others().filter(|m| !active(m)));
        ends[2] = lists.len();
        lists.extend(others().filter(|m| !active(m) && accepted(m)));
        ends[3] = lists.len();
        for m in others() {
            let why = if !accepted(m) {
                Some(Skip::Unaccepted)
            } else if !active(m) {
                Some(Skip::Inactive)
            } else if m.fallback_rank.is_none() {
                Some(Skip::Unpreset)
            } else {
                None
            };
            match why {
                Some(why) => skipped.push((m, why)),
                None => lists.push(m),
            }
        }
        ends[4] = lists.len();
        // Stable: equal ranks keep the order the user listed them in.
        if let Some(fallbacks) = lists.get_mut(ends[3]..) {
            fallbacks.sort_by_key(|m| m.fallback_rank);
        }
        Self {
            balance_method,
            lists,
            ends,
            skipped,
            auto_charge: AutoChargeCheck::new(wallet, merchant),
            balance_usable: balance_method.is_none_or(|m| m.status == MethodStatus::Active),
        }
    }

    /// Active non-balance methods.
    pub fn active(&self) -> &[&'a PaymentMethod] {
        self.list(0)
    }

    /// Active non-balance methods the merchant accepts.
    pub fn accepted(&self) -> &[&'a PaymentMethod] {
        self.list(1)
    }

    /// Suspended or expired non-balance methods.
    pub fn inactive(&self) -> &[&'a PaymentMethod] {
        self.list(2)
    }

    /// Suspended or expired methods of a type the merchant accepts: the
    /// ones worth asking the user to reactivate.
    pub fn reactivatable(&self) -> &[&'a PaymentMethod] {
        self.list(3)
    }

    /// Usable fallbacks: preset, active, accepted; lowest rank first.
    pub fn fallbacks(&self) -> &[&'a PaymentMethod] {
        self.list(4)
    }

    /// The `i`th list of `lists`: from where the one before it ends.
    fn list(&self, i: usize) -> &[&'a PaymentMethod] {
        let start = i.checked_sub(1).and_then(|p| self.ends.get(p)).copied();
        let end = self.ends.get(i).copied().unwrap_or(0);
        self.lists.get(start.unwrap_or(0)..end).unwrap_or(&[])
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
