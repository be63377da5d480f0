//! The active bundle and the reload status: the [`LiveBundle`] the servers
//! read. Requests take one snapshot (`Arc<Active>`) and never see a
//! half-loaded bundle; a reload verifies a new bundle completely before the
//! atomic swap, and keeps the last good one when anything fails.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use arc_swap::ArcSwapOption;
use jiff::Timestamp;
use tokio::sync::watch;

use super::{BundleSource, SourceError};
use crate::{
    bundle::{BundleFiles, signature::TrustedKeys},
    engine,
    live::{Active, FailureKind, LiveBundle, ReloadCounts, ReloadError, ReloadStatus},
};

/// Where the files of a reload come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The source itself: the path, the embedded bundle, a download.
    Source,
    /// The local copy of the last good download (`--bundle-cache`).
    Cache,
}

/// Holds the active bundle for every request and reloads it from its source.
pub struct BundleStore {
    source: BundleSource,
    // With keys, every bundle must carry a signature one of them verifies.
    keys: Option<Arc<TrustedKeys>>,
    active: ArcSwapOption<Active>,
    status: Mutex<ReloadStatus>,
    // Counted here, the one place every reload (watcher, poll, SIGHUP,
    // start-up) goes through; `/metrics` reads them at scrape time.
    attempts: AtomicU64,
    failures: [(FailureKind, AtomicU64); FailureKind::ALL.len()],
    // Held for the whole of a reload: at most one runs at a time.
    reloading: Mutex<()>,
    ready: watch::Sender<Option<String>>,
}

impl BundleStore {
    /// A store with no bundle yet; call [`BundleStore::reload`] to load one.
    pub fn new(source: BundleSource) -> Self {
        Self::verifying(source, None)
    }

    /// A store that activates only bundles signed by one of `keys` (any
    /// bundle when `None`).
    pub fn verifying(source: BundleSource, keys: Option<Arc<TrustedKeys>>) -> Self {
        Self {
            source,
            keys,
            active: ArcSwapOption::empty(),
            status: Mutex::new(ReloadStatus::default()),
            attempts: AtomicU64::new(0),
            failures: FailureKind::ALL.map(|kind| (kind, AtomicU64::new(0))),
            reloading: Mutex::new(()),
            ready: watch::Sender::new(None),
        }
    }

    /// Where bundles come from.
    pub fn source(&self) -> &BundleSource {
        &self.source
    }

    /// Reads, compiles and tests the bundle at the source, and swaps it in
    /// when it passes. Blocking: run it off the async runtime. Returns
    /// whether a new bundle was activated (an unchanged digest is not).
    pub fn reload(&self) -> Result<bool, ReloadError> {
        self.reload_from(Origin::Source, || self.source.read())
    }

    /// [`BundleStore::reload`] with files obtained elsewhere (a download,
    /// the cache): the same verification, swap and status. An error from
    /// `read` (a failed download) is recorded like any failed reload.
    pub fn reload_from(
        &self,
        origin: Origin,
        read: impl FnOnce() -> Result<BundleFiles, SourceError>,
    ) -> Result<bool, ReloadError> {
        let _single_flight = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let attempt_at = Timestamp::now();
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let result = read()
            .map_err(ReloadError::from)
            .and_then(|files| self.load(&files));
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.last_attempt_at = Some(attempt_at);
        match result {
            Ok(Some(active)) => {
                status.last_error = None;
                status.from_cache = origin == Origin::Cache;
                status.confirmed = (origin == Origin::Source).then(Instant::now);
                let revision = active.bundle.revision.clone();
                tracing::info!(
                    bundle = %active.bundle.name,
                    revision = %revision,
                    digest = %active.bundle.digest,
                    rules = active.bundle.rule_count(),
                    tests = active.test_count,
                    expressions = active.bundle.programs.len(),
                    expressions_reused = active.bundle.programs.reused(),
                    checks_reused = active.bundle.programs.checked_reused(),
                    files_reused = active.bundle.programs.files_reused(),
                    source = %active.source,
                    from_cache = status.from_cache,
                    "bundle activated"
                );
                for warning in &active.bundle.warnings_at(attempt_at) {
                    tracing::warn!(revision = %revision, "bundle warning: {warning}");
                }
                self.active.store(Some(Arc::new(active)));
                self.ready.send_replace(Some(revision.to_string()));
                Ok(true)
            }
            Ok(None) => {
                status.last_error = None;
                status.from_cache &= origin == Origin::Cache;
                // Re-reading the embedded bundle (SIGHUP) proves no source
                // is in touch: its age keeps counting from its load.
                if origin == Origin::Source && self.source.can_change() {
                    self.confirmed(&mut status);
                }
                tracing::debug!(source = %self.source, "bundle unchanged");
                Ok(false)
            }
            Err(e) => {
                let kind = e.kind();
                if self.active.load().is_some() {
                    tracing::error!(source = %self.source, kind = kind.as_str(), error = %e, "bundle rejected; the active bundle keeps serving");
                } else {
                    tracing::error!(source = %self.source, kind = kind.as_str(), error = %e, "bundle rejected; no bundle is active, so decisions are refused with UNAVAILABLE until one loads");
                }
                if let Some((_, failures)) = self.failures.iter().find(|(k, _)| *k == kind) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                status.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Records that the source answered "not modified" (HTTP 304): the
    /// active bundle is current, so the last error is cleared and a bundle
    /// from the cache counts as confirmed. Nothing is read or compiled.
    pub fn confirm(&self) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.last_attempt_at = Some(Timestamp::now());
        status.last_error = None;
        status.from_cache = false;
        self.confirmed(&mut status);
        tracing::debug!(source = %self.source, "bundle not modified");
    }

    /// Records that the source confirmed the active bundle current, and
    /// wakes whoever follows readiness (a stale bundle may be fresh again).
    fn confirmed(&self, status: &mut ReloadStatus) {
        status.confirmed = Some(Instant::now());
        self.ready.send_modify(|_| {});
    }

    fn load(&self, files: &BundleFiles) -> Result<Option<Active>, ReloadError> {
        // The signature first, even for unchanged files: a signature that
        // stopped verifying is reported, though the active bundle (verified
        // when it was loaded) keeps serving.
        let verified_by = match &self.keys {
            Some(keys) => Some(keys.verify(files).map_err(ReloadError::Bundle)?.key_id),
            None => None,
        };
        let current = self.active.load_full();
        if let Some(current) = &current
            && *current.bundle.digest == *files.digest()
            && current.verified_by == verified_by
        {
            return Ok(None);
        }
        let verified = match &current {
            Some(current) => engine::verify_after(files, &current.bundle),
            None => engine::verify(files),
        };
        let (bundle, report) = verified.map_err(ReloadError::Bundle)?;
        Ok(Some(Active {
            bundle,
            loaded_at: Timestamp::now(),
            loaded: Instant::now(),
            source: self.source.to_string(),
            test_count: report.outcomes.len(),
            verified_by,
        }))
    }
}

impl LiveBundle for BundleStore {
    fn snapshot(&self) -> Option<Arc<Active>> {
        self.active.load_full()
    }

    fn status(&self) -> ReloadStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn reload_counts(&self) -> ReloadCounts {
        ReloadCounts {
            attempts: self.attempts.load(Ordering::Relaxed),
            failures: self
                .failures
                .each_ref()
                .map(|(kind, n)| (*kind, n.load(Ordering::Relaxed))),
        }
    }

    fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.ready.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::FailureKind::{Compile, Fetch, Parse, Signature, Test};

    #[test]
    fn a_source_that_cannot_be_read_is_a_fetch_failure() {
        let store = BundleStore::new(BundleSource::Path("no/such/bundle".into()));
        let error = store.reload().unwrap_err();
        assert_eq!(error.kind(), Fetch);
        assert!(
            error
                .to_string()
                .starts_with("cannot read `no/such/bundle`: "),
            "{error}"
        );
        let failures = store.reload_counts().failures;
        assert_eq!(
            failures,
            [
                (Fetch, 1),
                (Parse, 0),
                (Compile, 0),
                (Test, 0),
                (Signature, 0)
            ]
        );
        let last = store.status().last_error.map(|e| e.to_string());
        assert_eq!(last, Some(error.to_string()));
    }

    /// A store on a copy of the demo bundle in a temporary directory, the
    /// demo loaded.
    fn demo_store() -> (tempfile::TempDir, BundleStore) {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in BundleSource::Embedded.read().unwrap().iter() {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let store = BundleStore::new(BundleSource::Path(dir.path().to_owned()));
        assert!(store.reload().unwrap());
        (dir, store)
    }

    #[test]
    fn a_new_revision_parses_only_the_expressions_and_files_it_changed() {
        let (dir, store) = demo_store();
        let first = store.snapshot().unwrap();
        assert_eq!(first.bundle.programs.reused(), 0);
        assert!(first.bundle.programs.len() > 20);

        // One condition rewritten (the same meaning, a new source text).
        let path = dir.path().join("plan_change.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replacen(
            "when: change.same_plan",
            "when: change.same_plan == true",
            1,
        );
        assert_ne!(changed, text);
        std::fs::write(&path, changed).unwrap();
        assert!(store.reload().unwrap());
        let second = store.snapshot().unwrap();
        let programs = &second.bundle.programs;
        assert_eq!(programs.len(), first.bundle.programs.len());
        assert_eq!(programs.reused(), programs.len() - 1);
        // Every YAML file but the edited one is the first bundle's document.
        let yaml = BundleSource::Embedded.read().unwrap();
        let yaml = yaml
            .iter()
            .filter(|(n, _)| crate::bundle::is_yaml(n))
            .count();
        assert!(yaml > 2, "{yaml}");
        assert_eq!(first.bundle.programs.files_reused(), 0);
        assert_eq!(programs.files_reused(), yaml - 1);

        // An unchanged rule holds the very program the first bundle parsed;
        // the rewritten one a new parse.
        let condition = |active: &Active, i: usize| {
            let rule = active.bundle.plan_change.rules.get(i).unwrap();
            Arc::clone(&rule.condition.as_ref().unwrap().program)
        };
        assert!(!Arc::ptr_eq(&condition(&first, 0), &condition(&second, 0)));
        assert!(Arc::ptr_eq(&condition(&first, 1), &condition(&second, 1)));

        // Nor were the unchanged expressions checked against their
        // variables again: the catalogue, and so every kind's variables,
        // is the same.
        assert_eq!(first.bundle.programs.checked_reused(), 0);
        assert!(
            programs.checked_reused() >= programs.len() - 1,
            "{} of {}",
            programs.checked_reused(),
            programs.len()
        );
    }

    #[test]
    fn an_unchanged_expression_is_checked_again_when_its_variables_changed() {
        let (dir, store) = demo_store();

        // The catalogue no longer declares the plan attribute the rules
        // read (`target.attributes.contract_only`); the rules are the same
        // text, checked against the first bundle's variables before.
        let path = dir.path().join("plans.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text
            .replacen("plan_attributes:\n", "", 1)
            .replacen("  contract_only: false\n", "", 1)
            .replacen("    attributes: { contract_only: true }\n", "", 1);
        assert_eq!(changed.matches("contract_only").count(), 0, "{changed}");
        std::fs::write(&path, changed).unwrap();

        let error = store.reload().unwrap_err();
        assert!(
            error.to_string().contains("no field `contract_only`"),
            "{error}"
        );
        // The same problems, in the same words, as compiling from nothing.
        let files = BundleSource::Path(dir.path().to_owned()).read().unwrap();
        let fresh = crate::bundle::compile(&files).err().unwrap();
        assert_eq!(error.to_string(), ReloadError::Bundle(fresh).to_string());
        // And the first bundle keeps serving.
        assert!(store.snapshot().unwrap().bundle.programs.len() > 20);
    }

    #[test]
    fn a_bad_bundle_is_a_bundle_failure_that_keeps_its_problems() {
        let (dir, store) = demo_store();
        std::fs::write(dir.path().join("plan_change.yaml"), "rules: [\n").unwrap();

        let error = store.reload().unwrap_err();
        let ReloadError::Bundle(problems) = &error else {
            panic!("not a bundle error: {error}");
        };
        assert!(!problems.is_empty());
        assert!(
            problems.iter().all(|p| p.file == "plan_change.yaml"),
            "{error}"
        );
        let counts = store.reload_counts();
        assert_eq!(
            (counts.attempts, counts.failures),
            (
                2,
                [
                    (Fetch, 0),
                    (Parse, 1),
                    (Compile, 0),
                    (Test, 0),
                    (Signature, 0)
                ]
            )
        );
        // The last good bundle keeps serving.
        assert!(store.snapshot().is_some());

        // YAML that parses but reads an undeclared fact does not compile.
        let rule = "plan_change_rules:\n  - { id: r, when: \"request.nope\", effect: deny, reason: { code: X, message: x } }\n";
        std::fs::write(dir.path().join("plan_change.yaml"), rule).unwrap();
        assert_eq!(store.reload().unwrap_err().kind(), Compile);
        // The demo declares `en` and `ja`: a message in English alone does
        // not compile, and the last good bundle keeps serving.
        let english_only =
            "plan_change_rules:\n  - { id: r, effect: deny, reason: { code: X, message: x } }\n";
        std::fs::write(dir.path().join("plan_change.yaml"), english_only).unwrap();
        let error = store.reload().unwrap_err();
        assert_eq!(error.kind(), Compile);
        assert!(
            error.to_string().contains("plan_change.yaml:2:")
                && error
                    .to_string()
                    .contains("rule `r`: reason message: no `ja` message"),
            "{error}"
        );
        // A bundle that compiles but fails its own tests.
        let deny_all = "plan_change_rules:\n  - { id: r, effect: deny, reason: { code: X, message: { en: x, ja: x } } }\n";
        std::fs::write(dir.path().join("plan_change.yaml"), deny_all).unwrap();
        assert_eq!(store.reload().unwrap_err().kind(), Test);
        let failures = store.reload_counts().failures;
        assert_eq!(
            failures,
            [
                (Fetch, 0),
                (Parse, 1),
                (Compile, 2),
                (Test, 1),
                (Signature, 0)
            ]
        );
    }
}
