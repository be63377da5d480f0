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
                    w.field("id", |w| masker.write_id(w, &self.requester.id));
                });
            });
            w.field("usage", |w| doubles(w, &self.usage));
            w.field("periodUsage", |w| doubles(w, &self.period_usage));
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
                    w.field("anchorDay", |w| w.u64(u64::from(anchor)));
                    w.field("timeZone", |w| w.str(&billing.time_zone_name));
                });
            });
            w.field("attributes", |w| strings(w, &self.attributes));
            w.field("asOf", |w| w.timestamp(self.as_of));
            w.field("explain", |w| w.bool(self.explain));
            w.field("locale", |w| w.str(locale));
        });
    }
}

impl LoggedDecision for PlanChangeDecision {
    const OUTCOME_PREFIX: &'static str = "VERDICT";

    fn detail(&self, w: &mut JsonWriter<'_>, _masker: &Masker) {
        w.field("timing", |w| match self.timing {
            Some(t) => w.enum_value("EFFECTIVE_TIMING", t.as_str()),
            None => w.null(),
        });
        w.field("effectiveAt", |w| match self.effective_at {
            Some(t) => w.timestamp(t),
            None => w.null(),
        });
        w.field("unknownMetrics", |w| {
            w.array(|w| self.unknown_metrics.iter().for_each(|m| w.str(m)));
        });
    }
}

impl LoggedRequest for PaymentLink {
    fn input(&self, w: &mut JsonWriter<'_>, masker: &Masker, locale: &str) {
        w.object(|w| {
            wallet(w, &self.wallet, masker, |w| {
                // A missing health index is not a score of 0 to every rule.
                if self.health_reported {
                    w.field("health", |w| {
                        w.object(|w| {
                            w.field("score", |w| w.u64(u64::from(self.health.score)));
                            w.field("signals", |w| doubles(w, &self.health.signals));
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
        w.field("requiredActions", |w| {
            w.array(|w| {
                for a in &self.required_actions {
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
                        w.field("amountMinor", |w| w.int64(self.amount.minor()));
                    });
                });
                w.field("balanceMinor", |w| w.int64(self.balance_minor));
            });
            w.field("locale", |w| w.str(locale));
        });
    }
}

impl LoggedDecision for ChargeFundingDecision {
    const OUTCOME_PREFIX: &'static str = "FUNDING_OUTCOME";

    fn detail(&self, w: &mut JsonWriter<'_>, masker: &Masker) {
        w.field("steps", |w| {
            w.array(|w| {
                for s in &self.steps {
                    w.object(|w| {
                        w.field("source", |w| {
                            w.enum_value("FUNDING_SOURCE", s.source.as_str())
                        });
                        w.field("methodId", |w| masker.write_id(w, &s.method_id));
                        w.field("amountMinor", |w| w.int64(s.amount_minor));
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
    w.field("methods", |w| {
        w.array(|w| {
            for m in &wallet.methods {
                w.object(|w| {
                    w.field("id", |w| masker.write_id(w, &m.id));
                    w.field("type", |w| {
                        w.enum_value("PAYMENT_METHOD_TYPE", m.kind.as_str())
                    });
                    w.field("status", |w| {
                        w.enum_value("PAYMENT_METHOD_STATUS", m.status.as_str());
                    });
                    w.field("fallbackRank", |w| {
                        w.u64(u64::from(m.fallback_rank.unwrap_or(0)));
                    });
                });
            }
        });
    });
    let ac = &wallet.auto_charge;
    w.field("autoCharge", |w| {
        w.object(|w| {
            w.field("enabled", |w| w.bool(ac.enabled));
            w.field("sourceMethodId", |w| {
                masker.write_id(w, &ac.source_method_id)
            });
            w.field("thresholdMinor", |w| w.int64(ac.threshold_minor));
            w.field("amountMinor", |w| w.int64(ac.amount_minor));
        });
    });
    w.field("attributes", |w| strings(w, &wallet.attributes));
    w.field("asOf", |w| w.timestamp(wallet.as_of));
    w.field("explain", |w| w.bool(wallet.explain));
}

fn doubles(w: &mut JsonWriter<'_>, map: &BTreeMap<String, f64>) {
    w.object(|w| {
        for (k, v) in map {
            w.entry(k, |w| w.f64(*v));
        }
    });
}

fn strings(w: &mut JsonWriter<'_>, map: &BTreeMap<String, String>) {
    w.object(|w| {
        for (k, v) in map {
            w.entry(k, |w| w.str(v));
        }
    });
}
