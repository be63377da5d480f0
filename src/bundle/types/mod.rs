//! The decision types, each in its own folder: the facts its rules read
//! (declared once), how its rules and tests are parsed, and its payload.

pub mod payment;
pub mod plan_change;
