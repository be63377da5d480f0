//! Shadow evaluation (`serve --shadow-bundle`): each sampled live decision
//! is also decided with a candidate bundle, off the response path. The
//! handler only offers a copy of the request and its answer to a bounded
//! queue (a full queue drops it and counts); one task decides them with the
//! candidate, counts the agreement, and writes every disagreement to the
//! decision log with both outcomes and both revisions. The answer given is
//! never changed.

use std::{sync::Arc, time::Instant};

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::{
    bundle::CompiledBundle,
    decision_log::{
        CallContext, Decided, DecisionLog, Logged, Record, Sample, ShadowAnswer, ShadowBundle,
    },
    domain::Answer as _,
    engine::{
        DecisionType,
        diff::{Outcome, outcome},
    },
    live::LiveBundle,
    telemetry::metrics::{Agreement, Metrics},
};

/// How shadow evaluation runs.
#[derive(Clone)]
pub struct ShadowOptions {
    /// The candidate bundle, kept current like the active one.
    pub live: Arc<dyn LiveBundle>,
    /// Fraction of decisions also decided with it, chosen by decision id.
    pub sample: f64,
    /// Decisions waiting for it before more are dropped.
    pub queue: usize,
}

impl std::fmt::Debug for ShadowOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShadowOptions")
            .field("sample", &self.sample)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// The handle the handlers offer decisions to; cheap to clone.
#[derive(Clone)]
pub struct Shadow {
    /// The candidate bundle.
    pub live: Arc<dyn LiveBundle>,
    sample: Sample,
    tx: mpsc::Sender<Box<dyn Job>>,
    metrics: Metrics,
}

/// A decision waiting to be decided again with the candidate.
trait Job: Send {
    /// Decides again with `candidate`, counts the agreement, and returns
    /// the log record of a disagreement.
    fn run(self: Box<Self>, candidate: &CompiledBundle, metrics: &Metrics) -> Option<Record>;
}

struct Pending<T: DecisionType> {
    req: T::Request,
    decision: T::Decision,
    context: CallContext,
    timestamp: Timestamp,
}

impl<T> Job for Pending<T>
where
    T: DecisionType + 'static,
    T::Request: Send,
    T::Decision: Send,
    (T::Request, T::Decision): Logged,
{
    fn run(self: Box<Self>, candidate: &CompiledBundle, metrics: &Metrics) -> Option<Record> {
        let started = Instant::now();
        let shadow = T::decide(candidate, &self.req);
        let eval = started.elapsed();
        let answered = Outcome {
            summary: T::summary(&self.decision),
            reasons: codes(self.decision.reasons()),
        };
        let (agreement, outcome_name) = match &shadow {
            Ok(d) => {
                let same =
                    T::summary(d) == answered.summary && codes(d.reasons()) == answered.reasons;
                let agreement = if same {
                    Agreement::Same
                } else {
                    Agreement::Differs
                };
                (agreement, d.outcome())
            }
            Err(_) => (Agreement::Error, ""),
        };
        metrics.shadowed(<T::Decision as crate::domain::Answer>::KIND, agreement);
        if agreement == Agreement::Same {
            return None;
        }
        // The candidate's answer as a diff shows it (computed again only
        // for a disagreement, which is rare).
        let theirs = outcome::<T>(candidate, &self.req);
        let answer = ShadowAnswer {
            outcome: outcome_name,
            decision: theirs.summary,
            reason_codes: theirs.reasons,
            bundle: ShadowBundle {
                name: candidate.name.to_string(),
                revision: candidate.revision.to_string(),
                digest: candidate.digest.to_string(),
            },
        };
        Some(Record {
            decided: Decided::new(Box::new((self.req, self.decision))).with_shadow(answer),
            timestamp: self.timestamp,
            eval,
            context: self.context,
        })
    }
}

fn codes(reasons: &[crate::domain::Reason]) -> Vec<String> {
    reasons.iter().map(|r| r.code.as_str().to_owned()).collect()
}

impl Shadow {
    /// Starts the task that decides offered decisions with the candidate;
    /// it ends when every handle is dropped. Must run inside a Tokio
    /// runtime.
    pub fn start(options: ShadowOptions, metrics: Metrics, log: DecisionLog) -> Self {
        let (tx, mut rx) = mpsc::channel::<Box<dyn Job>>(options.queue.max(1));
        metrics.shadow_on();
        let live = options.live.clone();
        let counted = metrics.clone();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                // No candidate loaded yet (or it never loads): nothing to
                // compare with; its reload error is in GetBundleStatus.
                let Some(candidate) = live.snapshot() else {
                    continue;
                };
                if let Some(record) = job.run(&candidate.bundle, &counted)
                    && log.is_on()
                {
                    log.record(record).await;
                }
            }
        });
        Self {
            live: options.live,
            sample: Sample::of(options.sample),
            tx,
            metrics,
        }
    }

    /// Offers a copy of `req` and its answer `decision` to the queue, when
    /// sampled; a full queue drops it and counts. Never waits.
    pub fn offer<T>(
        &self,
        req: &T::Request,
        decision: &T::Decision,
        context: &CallContext,
        timestamp: Timestamp,
    ) where
        T: DecisionType + 'static,
        T::Request: Clone + Send,
        T::Decision: Clone + Send,
        (T::Request, T::Decision): Logged,
    {
        if !self.sample.keeps(decision.meta().decision_id) {
            return;
        }
        match self.tx.try_reserve() {
            Ok(permit) => permit.send(Box::new(Pending::<T> {
                req: req.clone(),
                decision: decision.clone(),
                context: context.clone(),
                timestamp,
            })),
            Err(mpsc::error::TrySendError::Full(())) => self.metrics.shadow_dropped(),
            Err(mpsc::error::TrySendError::Closed(())) => {}
        }
    }

    /// Shadow decisions by agreement (same, differs, error) and dropped.
    pub fn counts(&self) -> ([u64; 3], u64) {
        self.metrics.shadow_counts()
    }
}
