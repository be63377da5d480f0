//! `tollgate check --against ADDR` and `--cache DIR`: whether the checked
//! bundle reuses a revision that already names other content, on a running
//! server or in a server's bundle cache. Two digests under one revision
//! blind the "replicas disagree" alert, which groups by revision.

use std::{path::Path, time::Duration};

use anyhow::Context as _;

use crate::{
    bundle::CompiledBundle,
    grpc::pb::{GetBundleStatusRequest, bundle_service_client::BundleServiceClient},
    reload::{BundleSource, cached_archive},
};

/// A bound against a server that does not answer, not a speed requirement.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What is known elsewhere: where, and the revision and digest of the
/// bundle there, if it has one.
#[derive(Debug)]
pub(super) struct Known {
    /// `server ADDR` or `the cache DIR`, for the message.
    place: String,
    /// Its bundle's revision and content digest; `None` when it has none.
    bundle: Option<(String, String)>,
}

impl Known {
    /// How `bundle` compares with it: a warning when the revision is the
    /// same and the content is not, else a note.
    pub(super) fn compare(&self, bundle: &CompiledBundle) -> Comparison {
        let place = &self.place;
        let Some((revision, digest)) = &self.bundle else {
            return Comparison::Note(format!("{place} has no bundle to compare with"));
        };
        if **revision != *bundle.revision {
            Comparison::Note(format!(
                "{place} has revision `{revision}`; this bundle is `{}`",
                bundle.revision
            ))
        } else if **digest == *bundle.digest {
            Comparison::Note(format!(
                "{place} has this bundle (revision `{revision}`, same digest)"
            ))
        } else {
            Comparison::Warning(format!(
                "{place} has revision `{revision}` with digest `{digest}`, but this bundle's \
                 content differs (digest `{}`): give it a new revision, or replicas \
                 serving either look alike",
                bundle.digest
            ))
        }
    }
}

/// What a comparison found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Comparison {
    /// Nothing wrong.
    Note(String),
    /// The same revision names other content.
    Warning(String),
}

/// The active bundle of the server at `addr` (`host:port`, or a URL with
/// `http://`).
pub(super) fn on_server(addr: &str) -> anyhow::Result<Known> {
    let url = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let status = runtime.block_on(async {
        let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
            .with_context(|| format!("--against `{addr}`: not an address"))?
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT);
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("--against `{addr}`: cannot connect"))?;
        BundleServiceClient::new(channel)
            .get_bundle_status(GetBundleStatusRequest {})
            .await
            .with_context(|| format!("--against `{addr}`: GetBundleStatus failed"))
    })?;
    let status = status.into_inner();
    Ok(Known {
        place: format!("server `{addr}`"),
        bundle: (!status.revision.is_empty()).then_some((status.revision, status.digest)),
    })
}

/// The bundle kept in a `--bundle-cache` `dir`.
pub(super) fn in_cache(dir: &Path) -> anyhow::Result<Known> {
    let place = format!("the cache `{}`", dir.display());
    let archive = cached_archive(dir);
    if !archive.exists() {
        return Ok(Known {
            place,
            bundle: None,
        });
    }
    let files = BundleSource::Path(archive.clone())
        .read()
        .with_context(|| format!("--cache: cannot read `{}`", archive.display()))?;
    let cached = crate::bundle::compile(&files).map_err(|errors| {
        anyhow::anyhow!(
            "--cache: the cached bundle `{}` does not compile ({} problem(s))",
            archive.display(),
            errors.len()
        )
    })?;
    Ok(Known {
        place,
        bundle: Some((cached.revision.to_string(), cached.digest.to_string())),
    })
}
