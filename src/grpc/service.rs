//! The gRPC handlers: snapshot, convert, evaluate, convert back.

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument as _;

use super::{
    convert::{self, Bounded, Wire},
    pb,
    shadow::Shadow,
    status::RequestError,
    tls::Peer,
};
use crate::{
    bundle::CompiledBundle,
    decision_log::{CallContext, Decided, DecisionLog, Logged, Record, event},
    domain::{Languages, Violations},
    engine::{ChargeFundingType, DecideError, DecisionType as _, PaymentLinkType, PlanChangeType},
    live::LiveBundle,
    telemetry::{
        metrics::{Answer, Metrics},
        trace,
    },
};

/// `tollgate.v1.DecisionService`.
#[derive(Clone)]
pub struct Decisions {
    /// The bundle to decide with.
    pub live: Arc<dyn LiveBundle>,
    /// Where decisions are logged.
    pub log: DecisionLog,
    /// Bounds on the requests' maps and lists.
    pub limits: convert::Limits,
    /// Where every decision is counted, in [`Decisions::evaluate`].
    pub metrics: Metrics,
    /// The candidate bundle every sampled decision is also decided with
    /// (`--shadow-bundle`), off the response path.
    pub shadow: Option<Shadow>,
}

/// The results of a `DecidePlanChanges` stream.
pub type PlanChangeResults =
    Pin<Box<dyn Stream<Item = Result<pb::PlanChangeResult, Status>> + Send>>;

impl Decisions {
    /// Snapshot, convert, evaluate (timed), log, convert back.
    async fn answer<T>(
        &self,
        request: Request<T::PbRequest>,
    ) -> Result<Response<T::PbDecision>, Status>
    where
        T: Wire + 'static,
        T::Request: Clone + Send,
        T::Decision: Clone + Send,
        (T::Request, T::Decision): Logged + 'static,
    {
        let context = self.context(&request);
        let accept = accept_language(request.metadata());
        let now = Timestamp::now();
        let (decided, eval) =
            self.evaluate(request.into_inner(), now, &accept, T::convert, T::decide)?;
        let (req, decision) = &*decided;
        let reply = T::PbDecision::from(decision);
        if let Some(shadow) = &self.shadow {
            shadow.offer::<T>(req, decision, &context, now);
        }
        self.record(context, now, eval, || T::logged(decided)).await;
        Ok(Response::new(reply))
    }

    /// Snapshot, limits, convert, decide, count: the part every request
    /// shares, unary or streamed, and so the one place decisions (and
    /// requests that lack a fact to decide on) are counted in the metrics.
    ///
    /// The request and its decision are boxed together once, here: the
    /// handler's future and the decision log then move a pointer, not the
    /// two values (hundreds of bytes, copied at each move).
    fn evaluate<P, Req, Dec>(
        &self,
        message: P,
        now: Timestamp,
        accept: &Languages,
        parse: fn(P, Timestamp, &Languages) -> Result<Req, Violations>,
        decide: fn(&CompiledBundle, &Req) -> Result<Dec, DecideError>,
    ) -> Result<(Box<(Req, Dec)>, Duration), RequestError>
    where
        P: Bounded,
        Dec: Answer,
    {
        let active = self.live.snapshot().ok_or(RequestError::NoBundle)?;
        message.check(&self.limits)?;
        let req = parse(message, now, accept)?;
        let started = Instant::now();
        let decided = decide(&active.bundle, &req);
        let eval = started.elapsed();
        match decided {
            Ok(decision) => {
                self.metrics.decided(&decision, eval);
                Ok((Box::new((req, decision)), eval))
            }
            // No decision: counted apart, never as a deny, and not logged.
            Err(e) => {
                if let Some(subject) = e.subject() {
                    self.metrics.precondition_failed(Dec::KIND, subject);
                }
                Err(e.into())
            }
        }
    }

    /// One request of a batch: its decision, or its own error.
    async fn decide_one(
        &self,
        index: u64,
        context: &CallContext,
        accept: &Languages,
        request: pb::PlanChangeRequest,
    ) -> pb::PlanChangeResult {
        let now = Timestamp::now();
        let decided = self.evaluate(
            request,
            now,
            accept,
            PlanChangeType::convert,
            PlanChangeType::decide,
        );
        let result = match decided {
            Ok((decided, eval)) => {
                let (req, decision) = &*decided;
                let reply = pb::PlanChangeDecision::from(decision);
                if let Some(shadow) = &self.shadow {
                    shadow.offer::<PlanChangeType>(req, decision, context, now);
                }
                let logged = || Decided::batch(index, decided);
                self.record(context.clone(), now, eval, logged).await;
                pb::plan_change_result::Result::Decision(reply)
            }
            Err(e) => pb::plan_change_result::Result::Error(convert::request_error(&e)),
        };
        pb::PlanChangeResult {
            index,
            result: Some(result),
        }
    }

    /// The call's trace id and caller, read only when decisions are logged.
    fn context<T>(&self, request: &Request<T>) -> CallContext {
        if !self.log.is_on() {
            return CallContext::default();
        }
        CallContext {
            trace_id: request
                .metadata()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(event::trace_id),
            // The client certificate's identity under mutual TLS.
            caller: request
                .extensions()
                .get::<Peer>()
                .and_then(|p| p.caller.as_ref()?.identity().map(str::to_owned)),
        }
    }

    /// Hands the decision to the call's span and the decision log, when
    /// either consumes it (its log entry is only made then).
    async fn record(
        &self,
        context: CallContext,
        timestamp: Timestamp,
        eval: std::time::Duration,
        decided: impl FnOnce() -> Decided,
    ) {
        let span = trace::traced();
        if span.is_none() && !self.log.is_on() {
            return;
        }
        let decided = decided();
        if let Some(span) = &span {
            trace::record_decision(span, &decided);
        }
        if self.log.is_on() {
            let record = Record {
                decided,
                timestamp,
                eval,
                context,
            };
            self.log.record(record).await;
        }
    }
}

/// The call's `accept-language` metadata as languages by preference. A
/// malformed value (not ASCII, or not RFC 9110's list of language ranges
/// with weights) is ignored, as if absent: the bundle's default locale
/// answers, and a caller's decision does not fail over a header a proxy
/// may have added.
fn accept_language(metadata: &tonic::metadata::MetadataMap) -> Languages {
    // Looked up by the standard header's name, which needs no parsing.
    let mut values = Vec::new();
    for value in metadata.as_ref().get_all(http::header::ACCEPT_LANGUAGE) {
        match value.to_str() {
            Ok(v) => values.push(v),
            Err(_) => return Languages::default(),
        }
    }
    // Most calls send none: nothing to join or parse.
    if values.is_empty() {
        return Languages::default();
    }
    Languages::accept_language(&values.join(",")).unwrap_or_default()
}

#[tonic::async_trait]
impl pb::decision_service_server::DecisionService for Decisions {
    type DecidePlanChangesStream = PlanChangeResults;

    async fn decide_plan_changes(
        &self,
        request: Request<Streaming<pb::PlanChangeRequest>>,
    ) -> Result<Response<Self::DecidePlanChangesStream>, Status> {
        let this = self.clone();
        let context = Arc::new(self.context(&request));
        let accept = Arc::new(accept_language(request.metadata()));
        // The stream is polled inside the call's span, so the span lasts
        // until the last response; each item gets a child span with its own
        // decision.
        let call = tracing::Span::current();
        let parent = call.clone();
        let mut index = 0u64;
        let results = request.into_inner().then(move |message| {
            let (this, context, accept, at) =
                (this.clone(), context.clone(), accept.clone(), index);
            let span = trace::decision_span(&parent, at);
            index += 1;
            async move {
                // A transport error ends the stream; a bad request does not.
                let request = message?;
                Ok(this.decide_one(at, &context, &accept, request).await)
            }
            .instrument(span)
        });
        Ok(Response::new(Box::pin(trace::InCallSpan::new(
            results, call,
        ))))
    }

    async fn decide_plan_change(
        &self,
        request: Request<pb::PlanChangeRequest>,
    ) -> Result<Response<pb::PlanChangeDecision>, Status> {
        self.answer::<PlanChangeType>(request).await
    }

    async fn decide_payment_link(
        &self,
        request: Request<pb::PaymentLinkRequest>,
    ) -> Result<Response<pb::PaymentLinkDecision>, Status> {
        self.answer::<PaymentLinkType>(request).await
    }

    async fn decide_charge_funding(
        &self,
        request: Request<pb::ChargeFundingRequest>,
    ) -> Result<Response<pb::ChargeFundingDecision>, Status> {
        self.answer::<ChargeFundingType>(request).await
    }
}

/// `tollgate.v1.BundleService`.
pub struct Bundles {
    /// The bundle and reload status reported.
    pub live: Arc<dyn LiveBundle>,
    /// The shadow bundle and its counts, when there is one.
    pub shadow: Option<Shadow>,
}

#[tonic::async_trait]
impl pb::bundle_service_server::BundleService for Bundles {
    async fn get_bundle_status(
        &self,
        _request: Request<pb::GetBundleStatusRequest>,
    ) -> Result<Response<pb::BundleStatus>, Status> {
        let active = self.live.snapshot();
        let mut status = convert::bundle_status(active.as_deref(), &self.live.status());
        if let Some(shadow) = &self.shadow {
            let candidate = shadow.live.snapshot();
            let ([same, differs, errors], dropped) = shadow.counts();
            let of = convert::bundle_status(candidate.as_deref(), &shadow.live.status());
            status.shadow = Some(pb::ShadowStatus {
                name: of.name,
                revision: of.revision,
                digest: of.digest,
                source: of.source,
                last_reload_error: of.last_reload_error,
                same,
                differs,
                errors,
                dropped,
            });
        }
        Ok(Response::new(status))
    }
}
