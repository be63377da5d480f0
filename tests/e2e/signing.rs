//! Signed bundles under hot reload: with verification keys set, a signed
//! bundle serves and its status names the key; an update that is unsigned,
//! signed by an unknown key, or has a file changed, added or removed since
//! it was signed is refused while the last good bundle keeps serving, each
//! refusal in the status's problems and the `signature` reload failures.

use std::{fs, sync::Arc};

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use tollgate::{
    app::ServeOptions,
    bundle::signature::{self, SigningKey, TrustedKeys, VerificationKey},
    reload::BundleSource,
};

use crate::{
    metrics::reload_failures,
    support::{
        BundleDir, DEMO_REVISION, Server, revision_of_a_decision, wait_for_reload_error,
        wait_for_revision,
    },
};

/// A fresh P-256 key pair: the signing key and its public PEM.
fn key_pair() -> (SigningKey, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate a key");
    let signing = SigningKey::from_pem(key.serialize_pem().as_bytes()).expect("signing key");
    (signing, key.public_key_pem())
}

/// Writes the directory's `.signatures.json` for its files as they are.
fn sign(dir: &BundleDir, key: &SigningKey, kid: Option<&str>) {
    let files = BundleSource::Path(dir.path().to_path_buf())
        .read()
        .expect("read the bundle");
    let text = signature::sign(&files, key, kid).expect("sign");
    // Through a rename, as `tollgate sign` writes it.
    let temp = dir.path().join("signatures.tmp");
    fs::write(&temp, text).expect("write the signatures");
    fs::rename(&temp, dir.path().join(".signatures.json")).expect("rename");
}

/// A server verifying with `release` (the public PEM), with the admin port.
async fn server(dir: &BundleDir, public: &str) -> Server {
    let keys = TrustedKeys::new(vec![
        VerificationKey::from_pem("release", public.as_bytes()).expect("public key"),
    ]);
    let options = ServeOptions {
        verification_keys: Some(Arc::new(keys)),
        ..ServeOptions::default()
    };
    Server::with_admin(BundleSource::Path(dir.path().to_path_buf()), options).await
}

/// The refusal named `needle` keeps the demo revision serving, is the
/// `signature` step, lists `file` among its problems, and counts: at least
/// `failures` signature failures so far (a burst of file events may be
/// read more than once).
async fn refused(server: &Server, needle: &str, file: &str, failures: f64) {
    let status = wait_for_reload_error(server, needle).await;
    assert_eq!(
        status.revision, DEMO_REVISION,
        "the last good bundle serves"
    );
    assert_eq!(status.verified_key_id, "release");
    assert_eq!(status.last_reload_failure, "signature");
    assert!(
        status
            .last_reload_problems
            .iter()
            .any(|p| p.file == file && needle.contains(&p.message)),
        "{status:?}"
    );
    assert_eq!(revision_of_a_decision(server).await, DEMO_REVISION);
    let text = server.scrape().await;
    let counted = reload_failures(&text, "signature").unwrap_or_default();
    assert!(counted >= failures, "{counted} < {failures}: {text}");
}

#[tokio::test]
async fn a_signed_bundle_serves_and_names_its_key() {
    let dir = BundleDir::demo();
    let (key, public) = key_pair();
    sign(&dir, &key, None);
    let server = server(&dir, &public).await;
    let status = server.status().await;
    assert_eq!(status.revision, DEMO_REVISION);
    assert_eq!(status.verified_key_id, "release");
    assert_eq!(status.last_reload_error, "");

    // A re-signed update goes live.
    dir.set_revision("2026-11-22.2");
    sign(&dir, &key, Some("release"));
    let status = wait_for_revision(&server, "2026-11-22.2").await;
    assert_eq!(status.verified_key_id, "release");
    assert_eq!(revision_of_a_decision(&server).await, "2026-11-22.2");
}

#[tokio::test]
async fn tampered_unsigned_and_foreign_updates_are_refused_while_the_last_good_bundle_serves() {
    let dir = BundleDir::demo();
    let (key, public) = key_pair();
    sign(&dir, &key, None);
    let server = server(&dir, &public).await;
    assert_eq!(server.status().await.verified_key_id, "release");

    // A file changed after signing.
    dir.set_revision("2026-11-22.2");
    refused(
        &server,
        "bundle.yaml: does not match its hash in `.signatures.json`: changed after the bundle was signed",
        "bundle.yaml",
        1.0,
    )
    .await;

    // Back to the signed content, then a file added.
    dir.set_revision(DEMO_REVISION);
    dir.write("extra.yaml", "{}\n");
    refused(
        &server,
        "extra.yaml: not listed in `.signatures.json`: added after the bundle was signed",
        "extra.yaml",
        2.0,
    )
    .await;

    // A file removed.
    fs::remove_file(dir.path().join("extra.yaml")).expect("remove");
    let tests = dir.read("payment_tests.yaml");
    fs::remove_file(dir.path().join("payment_tests.yaml")).expect("remove");
    refused(
        &server,
        ".signatures.json: lists `payment_tests.yaml`, which the bundle does not have: removed after it was signed",
        ".signatures.json",
        3.0,
    )
    .await;
    dir.write("payment_tests.yaml", &tests);

    // Signed by a key the server does not know.
    let (intruder, _) = key_pair();
    dir.set_revision("2026-11-22.3");
    sign(&dir, &intruder, Some("intruder"));
    refused(
        &server,
        ".signatures.json: signed by an unknown key `intruder`: the verification keys are `release`",
        ".signatures.json",
        4.0,
    )
    .await;

    // No signature at all.
    fs::remove_file(dir.path().join(".signatures.json")).expect("remove");
    refused(
        &server,
        "bundle: not signed: it has no `.signatures.json`, and verification keys are set",
        "",
        5.0,
    )
    .await;

    // Signed by the release key again: it goes live and clears the error.
    sign(&dir, &key, Some("release"));
    let status = wait_for_revision(&server, "2026-11-22.3").await;
    assert_eq!(status.last_reload_error, "");
    assert_eq!(status.verified_key_id, "release");
}
