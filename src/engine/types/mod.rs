//! The decision types, each one implementation of
//! [`DecisionType`](super::DecisionType) in its own file.

pub mod charge_funding;
pub mod payment;
pub mod payment_link;
pub mod plan_change;
