//! The gRPC handlers: snapshot, convert, evaluate, convert back.

use std::sync::Arc;

use std::pin::Pin;

use jiff::Timestamp;
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};

use super::{convert, pb, status::RequestError};
use crate::{engine, reload::BundleStore};

/// `tollgate.v1.DecisionService`.
pub struct Decisions {
    pub store: Arc<BundleStore>,
}

/// The results of a `DecidePlanChanges` stream.
pub type PlanChangeResults =
    Pin<Box<dyn Stream<Item = Result<pb::PlanChangeResult, Status>> + Send>>;

impl Decisions {
    /// One request of a batch: its decision, or its own error.
    fn decide_one(&self, index: u64, request: pb::PlanChangeRequest) -> pb::PlanChangeResult {
        let result = self
            .store
            .snapshot()
            .ok_or(RequestError::NoBundle)
            .and_then(|active| {
                let req = convert::plan_change(request, Timestamp::now())?;
                Ok(pb::PlanChangeDecision::from(&engine::decide_plan_change(
                    &active.bundle,
                    &req,
                )))
            });
        pb::PlanChangeResult {
            index,
            result: Some(match result {
                Ok(decision) => pb::plan_change_result::Result::Decision(decision),
                Err(e) => pb::plan_change_result::Result::Error(convert::request_error(&e)),
            }),
        }
    }
}

#[tonic::async_trait]
impl pb::decision_service_server::DecisionService for Decisions {
    type DecidePlanChangesStream = PlanChangeResults;

    async fn decide_plan_changes(
        &self,
        request: Request<Streaming<pb::PlanChangeRequest>>,
    ) -> Result<Response<Self::DecidePlanChangesStream>, Status> {
        let this = Decisions {
            store: self.store.clone(),
        };
        let mut index = 0u64;
        let results = request.into_inner().map(move |message| {
            // A transport error ends the stream; a bad request does not.
            let request = message?;
            let result = this.decide_one(index, request);
            index += 1;
            Ok(result)
        });
        Ok(Response::new(Box::pin(results)))
    }

    async fn decide_plan_change(
        &self,
        request: Request<pb::PlanChangeRequest>,
    ) -> Result<Response<pb::PlanChangeDecision>, Status> {
        let active = self.store.snapshot().ok_or(RequestError::NoBundle)?;
        let req = convert::plan_change(request.into_inner(), Timestamp::now())
            .map_err(RequestError::from)?;
        let decision = engine::decide_plan_change(&active.bundle, &req);
        Ok(Response::new((&decision).into()))
    }

    async fn decide_payment_link(
        &self,
        request: Request<pb::PaymentLinkRequest>,
    ) -> Result<Response<pb::PaymentLinkDecision>, Status> {
        let active = self.store.snapshot().ok_or(RequestError::NoBundle)?;
        let req = convert::payment_link(request.into_inner(), Timestamp::now())
            .map_err(RequestError::from)?;
        let decision = engine::decide_payment_link(&active.bundle, &req);
        Ok(Response::new((&decision).into()))
    }

    async fn decide_charge_funding(
        &self,
        request: Request<pb::ChargeFundingRequest>,
    ) -> Result<Response<pb::ChargeFundingDecision>, Status> {
        let active = self.store.snapshot().ok_or(RequestError::NoBundle)?;
        let req = convert::charge_funding(request.into_inner(), Timestamp::now())
            .map_err(RequestError::from)?;
        let decision = engine::decide_charge_funding(&active.bundle, &req);
        Ok(Response::new((&decision).into()))
    }
}

/// `tollgate.v1.BundleService`.
pub struct Bundles {
    pub store: Arc<BundleStore>,
}

#[tonic::async_trait]
impl pb::bundle_service_server::BundleService for Bundles {
    async fn get_bundle_status(
        &self,
        _request: Request<pb::GetBundleStatusRequest>,
    ) -> Result<Response<pb::BundleStatus>, Status> {
        let active = self.store.snapshot();
        Ok(Response::new(convert::bundle_status(
            active.as_deref(),
            &self.store.status(),
        )))
    }
}
