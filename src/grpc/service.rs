//! The gRPC handlers: snapshot, convert, evaluate, convert back.

use std::sync::Arc;

use jiff::Timestamp;
use tonic::{Request, Response, Status};

use super::{convert, pb, status::RequestError};
use crate::{engine, reload::BundleStore};

/// `tollgate.v1.DecisionService`.
pub struct Decisions {
    pub store: Arc<BundleStore>,
}

#[tonic::async_trait]
impl pb::decision_service_server::DecisionService for Decisions {
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
