//! `tollgate check --against ADDR --cache DIR` against a real replica of a
//! real source and the cache it wrote: a bundle whose revision the replica
//! already serves with other content is a warning (exit 0), or a failure
//! with `--strict`; the same content, or a new revision, is not.

use std::{collections::BTreeMap, fs, path::Path, process::Command, time::Instant};

use crate::{
    DEADLINE, eventually,
    replicas::Replica,
    source::{Source, demo, demo_files},
    support::Run,
    wait_for_revision,
};

/// Writes `files` as a bundle directory at `dir`.
fn write_bundle(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    fs::create_dir_all(dir).expect("bundle dir");
    for (name, content) in files {
        fs::write(dir.join(name), content).expect("write a bundle file");
    }
}

/// The demo at `revision`, with one reason's wording changed: other content.
fn edited_demo(revision: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = demo_files(revision);
    let rules = files.get_mut("plan_change.yaml").expect("plan_change.yaml");
    let text = String::from_utf8(rules.clone()).expect("UTF-8");
    let old = "the tenant is already on";
    assert_eq!(text.matches(old).count(), 1);
    *rules = text.replace(old, "this tenant is already on").into_bytes();
    files
}

fn check(args: &[&str]) -> Run {
    Run::of(
        Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .arg("check")
            .args(args),
    )
}

/// The `warning:` lines about revisions, without the bundle's own
/// warnings (the demo's schedule already past).
fn revision_warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: ") && !l.contains(": schedule: "))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_warns_when_the_replica_or_its_cache_has_the_revision_with_other_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("token"), "unused\n").expect("token file");
    let source = Source::start().await;
    source.publish(demo("rev-a"));
    let replica = Replica::start(&source.url(), dir.path(), "r0").await;
    wait_for_revision(&replica.channel, "rev-a", &[], Instant::now() + DEADLINE).await;
    let cache = dir.path().join("r0-cache");
    eventually("the replica saved its cache", || async {
        cache.join("bundle.tar.gz").exists() && cache.join("bundle.json").exists()
    })
    .await;
    let cache = cache.to_str().expect("UTF-8 path");
    let addr = replica.addr.clone();
    let addr = addr.as_str();

    // Same revision, other content: a warning from both, exit 0.
    let reused = dir.path().join("reused");
    write_bundle(&reused, &edited_demo("rev-a"));
    let reused = reused.to_str().expect("UTF-8 path");
    let out = check(&[reused, "--against", addr, "--cache", cache]);
    assert_eq!(out.code, Some(0), "{out}");
    let warnings = revision_warnings(&out.stderr);
    assert_eq!(warnings.len(), 2, "{out}");
    assert!(
        warnings[0].starts_with(&format!(
            "warning: server `{addr}` has revision `rev-a` with digest `"
        )),
        "{out}"
    );
    assert!(
        warnings[1].starts_with(&format!(
            "warning: the cache `{cache}` has revision `rev-a` with digest `"
        )),
        "{out}"
    );
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("give it a new revision")),
        "{out}"
    );
    // With --strict, a failure.
    let out = check(&[reused, "--against", addr, "--strict"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("warning: server"), "{out}");

    // The same content under the same revision: no warning.
    let same = dir.path().join("same");
    write_bundle(&same, &demo_files("rev-a"));
    let out = check(&[
        same.to_str().expect("UTF-8 path"),
        "--against",
        addr,
        "--cache",
        cache,
        "--strict",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(revision_warnings(&out.stderr).is_empty(), "{out}");
    assert!(
        out.stdout.contains(&format!(
            "server `{addr}` has this bundle (revision `rev-a`, same digest)"
        )),
        "{out}"
    );

    // New content under a new revision: no warning either.
    let next = dir.path().join("next");
    write_bundle(&next, &edited_demo("rev-b"));
    let out = check(&[
        next.to_str().expect("UTF-8 path"),
        "--against",
        addr,
        "--strict",
    ]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout.contains(&format!(
            "server `{addr}` has revision `rev-a`; this bundle is `rev-b`"
        )),
        "{out}"
    );

    // A server that is not there is a failure, not a silent pass.
    drop(replica);
    let out = check(&[reused, "--against", addr]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr
            .contains(&format!("tollgate: --against `{addr}`: cannot connect")),
        "{out}"
    );
}
