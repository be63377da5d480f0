//! Bounds on the maps and lists of a request, checked before conversion so
//! an oversized request costs a count, not a parse.

use super::pb;
use crate::domain::Violations;

/// How many entries a request's maps and lists may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries of each map: `usage`, `period_usage`, `attributes`,
    /// `health.signals`.
    pub max_map_entries: usize,
    /// Payment methods of a payment request.
    pub max_methods: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_map_entries: 256,
            max_methods: 32,
        }
    }
}

impl Limits {
    fn map(&self, bad: &mut Violations, field: &str, len: usize) {
        if len > self.max_map_entries {
            bad.push(
                field,
                format!("{len} entries, at most {}", self.max_map_entries),
            );
        }
    }

    fn methods(&self, bad: &mut Violations, len: usize) {
        if len > self.max_methods {
            bad.push(
                "methods",
                format!("{len} payment methods, at most {}", self.max_methods),
            );
        }
    }
}

/// A request whose sizes [`Limits`] bound.
pub trait Bounded {
    /// Every map or list of `self` that is over its limit.
    fn check(&self, limits: &Limits) -> Result<(), Violations>;
}

impl Bounded for pb::PlanChangeRequest {
    fn check(&self, limits: &Limits) -> Result<(), Violations> {
        let mut bad = Violations::default();
        limits.map(&mut bad, "usage", self.usage.len());
        limits.map(&mut bad, "period_usage", self.period_usage.len());
        limits.map(&mut bad, "attributes", self.attributes.len());
        bad.into_result(())
    }
}

impl Bounded for pb::PaymentLinkRequest {
    fn check(&self, limits: &Limits) -> Result<(), Violations> {
        let mut bad = Violations::default();
        limits.methods(&mut bad, self.methods.len());
        limits.map(&mut bad, "attributes", self.attributes.len());
        if let Some(health) = &self.health {
            limits.map(&mut bad, "health.signals", health.signals.len());
        }
        bad.into_result(())
    }
}

impl Bounded for pb::ChargeFundingRequest {
    fn check(&self, limits: &Limits) -> Result<(), Violations> {
        let mut bad = Violations::default();
        limits.methods(&mut bad, self.methods.len());
        limits.map(&mut bad, "attributes", self.attributes.len());
        bad.into_result(())
    }
}
