//! The charge of a funding decision and the amounts derived from it once
//! per decision (`charge.*` facts), in checked integer minor units.

use crate::domain::ChargeFunding;

/// The charge of a funding decision, with its derived amounts. None of them
/// can overflow: the charge is > 0 and the balance >= 0 (the request's
/// validation), so the shortfall is a difference of the two in range, and
/// the top-up and what it leaves are at most the preset and the shortfall.
pub struct Charge<'a> {
    /// The request.
    pub req: &'a ChargeFunding,
    /// What the balance can pay: the balance, or 0 when it is not usable.
    pub usable_balance: i64,
    /// What the usable balance lacks (0 when it covers the charge).
    pub shortfall: i64,
    /// What one auto-charge of the user's preset tops up when the balance
    /// is short (0 when it covers the charge, or when the balance is not
    /// usable: nothing is topped up into a frozen balance).
    pub top_up: i64,
    /// What that one top-up leaves of the shortfall (0 when it covers it).
    pub remaining: i64,
}

impl<'a> Charge<'a> {
    /// The charge of `req`, with what its balance can pay given whether
    /// the balance is usable.
    pub fn new(req: &'a ChargeFunding, balance_usable: bool) -> Self {
        let usable_balance = if balance_usable { req.balance_minor } else { 0 };
        // Both operands are >= 0, so the difference cannot overflow; the
        // fallback of 0 is never taken.
        let shortfall = req
            .amount
            .minor()
            .checked_sub(usable_balance)
            .map_or(0, |s| s.max(0));
        let top_up = match shortfall {
            0 => 0,
            _ if !balance_usable => 0,
            _ => req.wallet.auto_charge.amount_minor,
        };
        let remaining = shortfall.checked_sub(top_up).map_or(0, |r| r.max(0));
        Self {
            req,
            usable_balance,
            shortfall,
            top_up,
            remaining,
        }
    }
}
