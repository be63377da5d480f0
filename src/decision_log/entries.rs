//! What the decision log writes of each decision type: the request the
//! rules saw ([`LoggedRequest`], as the proto3 JSON of its request message,
//! so `tollgate eval` reads it back) and the decision's own fields
//! ([`LoggedDecision`], named as its decision message names them), one
//! implementation each per type. Kind, outcome, reasons and provenance come
//! from the decision's [`Answer`], once.

use std::{collections::BTreeMap, fmt};

use super::{event::Logged, json::JsonWriter, mask::Masker};
use crate::domain::{
    Answer, ChargeFunding, ChargeFundingDecision, DecisionKind, DecisionMeta, PaymentLink,
    PaymentLinkDecision, PlanChange, PlanChangeDecision, Reason, Wallet,
};

/// What the log keeps of a request.
pub trait LoggedRequest {
    /// Writes the request as the proto3 JSON of `tollgate.v1.<Type>Request`,
    /// ids masked, with `locale` (the bundle locale that answered) as its
    /// `locale`, so a replay renders the same messages.
    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker, locale: &str);
}

/// What the log keeps of a decision beyond its [`Answer`].
pub trait LoggedDecision: Answer {
    /// The prefix of the outcome's proto enum values (`VERDICT`).
    const OUTCOME_PREFIX: &'static str;
    /// Writes the decision's own fields (timing, actions, steps) as members
    /// of the line's object, ids masked.
    fn detail(&self, w: &mut JsonWriter<'_>, masker: &Masker);
}

impl<R, D> Logged for (R, D)
where
    R: LoggedRequest + fmt::Debug + Send,
    D: LoggedDecision + fmt::Debug + Send,
{
    fn kind(&self) -> DecisionKind {
        D::KIND
    }

    fn meta(&self) -> &DecisionMeta {
        self.1.meta()
    }

    fn outcome(&self) -> &'static str {
        self.1.outcome()
    }

    fn outcome_prefix(&self) -> &'static str {
        D::OUTCOME_PREFIX
    }

    fn reasons(&self) -> &[Reason] {
        self.1.reasons()
    }

    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker) {
        self.0.input(w, masker, &self.1.meta().locale);
    }

    fn detail(&self, w: &mut JsonWriter<'_>, masker: &Masker) {
        self.1.detail(w, masker);
    }
}

impl LoggedRequest for PlanChange {
    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker, locale: &str) {
        let billing = &self.billing;
        w.object(|w| {
            w.field("tenantId", |w| masker.write_id(w, &self.tenant_id));
            w.field("fromPlan", |w| w.str(&self.from_plan));
            w.field("toPlan", |w| w.str(&self.to_plan));
            w.field("requester", |w| {
                w.object(|w| {
                    let role = self.requester.role.as_str();
                    w.field("role", |w| w.enum_value("REQUESTER_ROLE", role));
                    id(w, "id", masker, &self.requester.id);
                });
            });
            doubles(w, "usage", &self.usage);
            doubles(w, "periodUsage", &self.period_usage);
            w.field("billing", |w| {
                w.object(|w| {
                    let instants = [
                        ("currentPeriodStart", billing.current_period_start),
                        ("currentPeriodEnd", billing.current_period_end),
                        ("commitmentEnd", billing.commitment_end),
                    ];
                    for (name, at) in instants {
                        if let Some(at) = at {
                            w.field(name, |w| w.timestamp(at));
                        }
                    }
                    let anchor = billing.anchor_day.map_or(0, |a| a.get().unsigned_abs());
                    w.field_if(anchor != 0, "anchorDay", |w| w.u64(u64::from(anchor)));
                    let zone = &billing.time_zone_name;
                    w.field_if(!zone.is_empty(), "timeZone", |w| w.str(zone));
                });
            });
            strings(w, "attributes", &self.attributes);
            w.field("asOf", |w| w.timestamp(self.as_of));
            w.field_if(self.explain, "explain", |w| w.bool(true));
            w.field("locale", |w| w.str(locale));
        });
    }
}

impl LoggedDecision for PlanChangeDecision {
    const OUTCOME_PREFIX: &'static str = "VERDICT";

    fn detail(&self, w: &mut JsonWriter<'_>, _masker: &Masker) {
        if let Some(t) = self.timing {
            w.field("timing", |w| w.enum_value("EFFECTIVE_TIMING", t.as_str()));
        }
        if let Some(t) = self.effective_at {
            w.field("effectiveAt", |w| w.timestamp(t));
        }
        let unknown = &self.unknown_metrics;
        w.field_if(!unknown.is_empty(), "unknownMetrics", |w| {
            w.array(|w| unknown.iter().for_each(|m| w.str(m)));
        });
    }
}

impl LoggedRequest for PaymentLink {
    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker, locale: &str) {
        w.object(|w| {
            wallet(w, &self.wallet, masker, |w| {
                // A missing health index is not a score of 0 to every rule:
                // a reported one is written even when all its fields are 0.
                if self.health_reported {
                    let health = &self.health;
                    w.field("health", |w| {
                        w.object(|w| {
                            let score = health.score;
                            w.field_if(score != 0, "score", |w| w.u64(u64::from(score)));
                            doubles(w, "signals", &health.signals);
                        });
                    });
                }
            });
            w.field("locale", |w| w.str(locale));
        });
    }
}

impl LoggedDecision for PaymentLinkDecision {
    const OUTCOME_PREFIX: &'static str = "LINK_OUTCOME";

    fn detail(&self, w: &mut JsonWriter<'_>, _masker: &Masker) {
        let actions = &self.required_actions;
        w.field_if(!actions.is_empty(), "requiredActions", |w| {
            w.array(|w| {
                for a in actions {
                    w.enum_value("REQUIRED_ACTION", a.as_str());
                }
            });
        });
    }
}

impl LoggedRequest for ChargeFunding {
    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker, locale: &str) {
        w.object(|w| {
            wallet(w, &self.wallet, masker, |w| {
                w.field("amount", |w| {
                    w.object(|w| {
                        w.field("currency", |w| w.str(self.amount.currency_code()));
                        int64(w, "amountMinor", self.amount.minor());
                    });
                });
                int64(w, "balanceMinor", self.balance_minor);
            });
            w.field("locale", |w| w.str(locale));
        });
    }
}

impl LoggedDecision for ChargeFundingDecision {
    const OUTCOME_PREFIX: &'static str = "FUNDING_OUTCOME";

    fn detail(&self, w: &mut JsonWriter<'_>, masker: &Masker) {
        w.field_if(!self.steps.is_empty(), "steps", |w| {
            w.array(|w| {
                for s in &self.steps {
                    w.object(|w| {
                        w.field("source", |w| {
                            w.enum_value("FUNDING_SOURCE", s.source.as_str())
                        });
                        id(w, "methodId", masker, &s.method_id);
                        int64(w, "amountMinor", s.amount_minor);
                    });
                }
            });
        });
        w.field("currency", |w| w.str(self.currency.as_str()));
    }
}

/// The members both payment requests share; `middle` writes the request's
/// own (the health index, or the charge and balance).
fn wallet(
    w: &mut JsonWriter<'_>,
    wallet: &Wallet,
    masker: &Masker,
    middle: impl FnOnce(&mut JsonWriter<'_>),
) {
    w.field("userId", |w| masker.write_id(w, &wallet.user_id));
    w.field("merchantId", |w| w.str(&wallet.merchant_id));
    middle(w);
    w.field_if(!wallet.methods.is_empty(), "methods", |w| {
        w.array(|w| {
            for m in &wallet.methods {
                w.object(|w| {
                    id(w, "id", masker, &m.id);
                    w.field("type", |w| {
                        w.enum_value("PAYMENT_METHOD_TYPE", m.kind.as_str())
                    });
                    w.field("status", |w| {
                        w.enum_value("PAYMENT_METHOD_STATUS", m.status.as_str());
                    });
                    let rank = m.fallback_rank.unwrap_or(0);
                    w.field_if(rank != 0, "fallbackRank", |w| w.u64(u64::from(rank)));
                });
            }
        });
    });
    let ac = &wallet.auto_charge;
    // Written even when disabled and empty (`{}`): a request without one
    // decides the same as one with every field at its default.
    w.field("autoCharge", |w| {
        w.object(|w| {
            w.field_if(ac.enabled, "enabled", |w| w.bool(true));
            id(w, "sourceMethodId", masker, &ac.source_method_id);
            int64(w, "thresholdMinor", ac.threshold_minor);
            int64(w, "amountMinor", ac.amount_minor);
        });
    });
    strings(w, "attributes", &wallet.attributes);
    w.field("asOf", |w| w.timestamp(wallet.as_of));
    w.field_if(wallet.explain, "explain", |w| w.bool(true));
}

/// A personal or payment id, masked; left out when empty.
fn id(w: &mut JsonWriter<'_>, name: &'static str, masker: &Masker, value: &str) {
    w.field_if(!value.is_empty(), name, |w| masker.write_id(w, value));
}

/// A proto `int64`; left out when 0.
fn int64(w: &mut JsonWriter<'_>, name: &'static str, n: i64) {
    w.field_if(n != 0, name, |w| w.int64(n));
}

/// A map of doubles; left out when empty.
fn doubles(w: &mut JsonWriter<'_>, name: &'static str, map: &BTreeMap<String, f64>) {
    w.field_if(!map.is_empty(), name, |w| {
        w.object(|w| {
            for (k, v) in map {
                w.entry(k, |w| w.f64(*v));
            }
        });
    });
}

/// A map of strings; left out when empty.
fn strings(w: &mut JsonWriter<'_>, name: &'static str, map: &BTreeMap<String, String>) {
    w.field_if(!map.is_empty(), name, |w| {
        w.object(|w| {
            for (k, v) in map {
                w.entry(k, |w| w.str(v));
            }
        });
    });
}
