//! A signed bundle behind a URL: a replica with a verification key
//! activates the archive whose `.signatures.json` verifies, names the key in
//! its status, refuses a published archive whose files no longer match their
//! signature (keeping the active bundle), and takes the next signed one.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use rcgen::{KeyPair, PKCS_ED25519};
use tollgate::{
    app::ServeOptions,
    bundle::{
        BundleFiles,
        signature::{self, SigningKey, TrustedKeys, VerificationKey},
    },
};

use crate::{
    DEADLINE, decided_revision,
    limits::{remote, serve_with, wait_for_error},
    source::{Source, demo_files, tar_gz},
    status, wait_for_revision,
};

/// `files` with the `.signatures.json` that `key` makes of `signed`.
fn with_signature(
    mut files: BTreeMap<String, Vec<u8>>,
    signed: &BTreeMap<String, Vec<u8>>,
    key: &SigningKey,
) -> BTreeMap<String, Vec<u8>> {
    let mut bundle = BundleFiles::default();
    for (name, content) in signed {
        bundle.insert(name.clone(), content.clone());
    }
    let text = signature::sign(&bundle, key, Some("release")).expect("sign");
    files.insert(".signatures.json".to_owned(), text.into_bytes());
    files
}

#[tokio::test]
async fn a_replica_follows_signed_archives_and_refuses_a_tampered_one() {
    let pair = KeyPair::generate_for(&PKCS_ED25519).expect("key");
    let key = SigningKey::from_pem(pair.serialize_pem().as_bytes()).expect("signing key");
    let public =
        VerificationKey::from_pem("release", pair.public_key_pem().as_bytes()).expect("public key");
    let source = Source::start().await;
    let a = demo_files("rev-a");
    source.publish(tar_gz(&with_signature(a.clone(), &a, &key)));
    let options = ServeOptions {
        verification_keys: Some(Arc::new(TrustedKeys::new(vec![public]))),
        ..ServeOptions::default()
    };
    let server = serve_with(remote(&source.url()), options).await;
    wait_for_revision(&server.channel, "rev-a", &[], Instant::now() + DEADLINE).await;
    assert_eq!(status(&server.channel).await.verified_key_id, "release");

    // rev-b's files under rev-a's signature: bundle.yaml does not match.
    let b = demo_files("rev-b");
    source.publish(tar_gz(&with_signature(b.clone(), &a, &key)));
    let error = wait_for_error(&server.channel, "bundle.yaml: does not match its hash").await;
    assert!(
        error.contains("changed after the bundle was signed"),
        "{error}"
    );
    let refused = status(&server.channel).await;
    assert_eq!(refused.last_reload_failure, "signature");
    assert_eq!(refused.revision, "rev-a");
    assert_eq!(decided_revision(&server.channel).await, "rev-a");

    // Signed properly: it goes live.
    source.publish(tar_gz(&with_signature(b.clone(), &b, &key)));
    wait_for_revision(
        &server.channel,
        "rev-b",
        &["rev-a"],
        Instant::now() + DEADLINE,
    )
    .await;
    assert_eq!(status(&server.channel).await.verified_key_id, "release");
}
