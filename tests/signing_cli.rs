//! Signed bundles through the command line, run as a process: `tollgate
//! sign` writes `.signatures.json`, and `check` and `test` with
//! `--verification-key` accept the signed bundle and refuse an unsigned one,
//! one signed by an unknown key, and one with a file changed, added or
//! removed since it was signed. Keys are made in the test (rcgen for EC and
//! Ed25519, the `openssl` command for RSA).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, SignatureAlgorithm};
use support::{Run, copy_demo, edit, tollgate};
use tempfile::TempDir;

/// A key pair written as `NAME.key.pem` and `NAME.pub.pem` in `dir`: the
/// paths of the private and the public key.
fn key_pair(dir: &Path, name: &str, alg: &'static SignatureAlgorithm) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate_for(alg).expect("generate a key");
    let private = dir.join(format!("{name}.key.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    fs::write(&private, key.serialize_pem()).expect("write the private key");
    fs::write(&public, key.public_key_pem()).expect("write the public key");
    (private, public)
}

/// A scratch directory with a copy of the demo bundle in `bundle/` and a
/// release key pair.
struct Setup {
    dir: TempDir,
    private: PathBuf,
    public: PathBuf,
}

impl Setup {
    fn new(alg: &'static SignatureAlgorithm) -> Self {
        let dir = TempDir::new().expect("temp dir");
        copy_demo(&dir.path().join("bundle"));
        let (private, public) = key_pair(dir.path(), "release", alg);
        Self {
            dir,
            private,
            public,
        }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    fn sign(&self, key: &Path, key_id: Option<&str>) -> Run {
        let mut cmd = tollgate();
        cmd.arg("sign").arg("--signing-key").arg(key);
        if let Some(id) = key_id {
            cmd.args(["--key-id", id]);
        }
        Run::of(cmd.arg(self.bundle()))
    }

    /// `tollgate SUBCOMMAND --verification-key PUB PATH`.
    fn verify(&self, subcommand: &str, path: &Path) -> Run {
        Run::of(
            tollgate()
                .arg(subcommand)
                .arg("--verification-key")
                .arg(&self.public)
                .arg(path),
        )
    }
}

/// `check` refuses the bundle: exit 1, `want` among its problems.
fn refused(run: &Run, want: &str) {
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains(want), "no `{want}` in:\n{run}");
    assert!(!run.stdout.contains("ok:"), "{run}");
}

#[test]
fn a_signed_bundle_passes_check_and_test_and_names_its_key() {
    for alg in [&PKCS_ECDSA_P256_SHA256, &PKCS_ED25519] {
        let s = Setup::new(alg);
        let signed = s.sign(&s.private, Some("release"));
        assert_eq!(signed.code, Some(0), "{signed}");
        assert!(signed.stdout.starts_with("signed: "), "{signed}");
        assert!(s.bundle().join(".signatures.json").is_file());

        let check = s.verify("check", &s.bundle());
        assert_eq!(check.code, Some(0), "{check}");
        assert!(
            check.stdout.ends_with("; signed by key `release`\n"),
            "{check}"
        );
        let test = s.verify("test", &s.bundle());
        assert_eq!(test.code, Some(0), "{test}");
        assert!(test.stdout.contains(" passed, 0 failed"), "{test}");
    }
}

#[test]
fn an_unsigned_bundle_is_refused() {
    let s = Setup::new(&PKCS_ED25519);
    refused(
        &s.verify("check", &s.bundle()),
        "bundle: not signed: it has no `.signatures.json`, and verification keys are set",
    );
    // `test` exits 2, as for any bundle that does not validate.
    let test = s.verify("test", &s.bundle());
    assert_eq!(test.code, Some(2), "{test}");
    assert!(
        test.stdout
            .contains("0 passed, 0 failed: the bundle does not verify or compile"),
        "{test}"
    );
    // Without keys the same bundle is fine: signing is opt-in.
    let plain = Run::of(tollgate().arg("check").arg(s.bundle()));
    assert_eq!(plain.code, Some(0), "{plain}");
}

#[test]
fn a_bundle_signed_by_an_unknown_key_is_refused() {
    let s = Setup::new(&PKCS_ECDSA_P256_SHA256);
    let (intruder, _) = key_pair(s.dir.path(), "intruder", &PKCS_ECDSA_P256_SHA256);
    assert_eq!(s.sign(&intruder, None).code, Some(0));
    refused(
        &s.verify("check", &s.bundle()),
        ".signatures.json: signed by an unknown key: it verifies with none of the verification keys (`release`)",
    );
    assert_eq!(s.sign(&intruder, Some("intruder")).code, Some(0));
    refused(
        &s.verify("check", &s.bundle()),
        ".signatures.json: signed by an unknown key `intruder`: the verification keys are `release`",
    );
}

#[test]
fn a_changed_file_is_refused_by_check_and_test() {
    let s = Setup::new(&PKCS_ED25519);
    assert_eq!(s.sign(&s.private, None).code, Some(0));
    edit(
        &s.bundle().join("bundle.yaml"),
        "revision: \"2026-11-22.1\"",
        "revision: \"2026-11-22.9\"",
    );
    let want = "bundle.yaml: does not match its hash in `.signatures.json`: changed after the bundle was signed";
    refused(&s.verify("check", &s.bundle()), want);
    let test = s.verify("test", &s.bundle());
    assert_eq!(test.code, Some(2), "{test}");
    assert!(test.stderr.contains(want), "{test}");
}

#[test]
fn an_added_file_is_refused() {
    let s = Setup::new(&PKCS_ED25519);
    assert_eq!(s.sign(&s.private, None).code, Some(0));
    fs::copy(
        s.bundle().join("plan_change_tests.yaml"),
        s.bundle().join("more_tests.yaml"),
    )
    .expect("add a file");
    refused(
        &s.verify("check", &s.bundle()),
        "more_tests.yaml: not listed in `.signatures.json`: added after the bundle was signed",
    );
}

#[test]
fn a_removed_file_is_refused() {
    let s = Setup::new(&PKCS_ED25519);
    assert_eq!(s.sign(&s.private, None).code, Some(0));
    fs::remove_file(s.bundle().join("payment_tests.yaml")).expect("remove a file");
    refused(
        &s.verify("check", &s.bundle()),
        ".signatures.json: lists `payment_tests.yaml`, which the bundle does not have: removed after it was signed",
    );
}

#[test]
fn a_signed_directory_packed_with_tar_verifies_and_an_archive_is_not_signed_in_place() {
    let s = Setup::new(&PKCS_ECDSA_P256_SHA256);
    assert_eq!(s.sign(&s.private, Some("release")).code, Some(0));
    let archive = s.dir.path().join("bundle.tar.gz");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(s.bundle())
        .arg("-czf")
        .arg(&archive)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(tar.success());
    let check = s.verify("check", &archive);
    assert_eq!(check.code, Some(0), "{check}");
    assert!(check.stdout.contains("signed by key `release`"), "{check}");

    let sign_archive = Run::of(
        tollgate()
            .arg("sign")
            .arg("--signing-key")
            .arg(&s.private)
            .arg(&archive),
    );
    assert_eq!(sign_archive.code, Some(64), "{sign_archive}");
    assert!(
        sign_archive
            .stderr
            .contains("is not a bundle directory: sign the directory a bundle is packed from"),
        "{sign_archive}"
    );
}

#[test]
fn an_rsa_key_from_openssl_signs_rs256() {
    let s = Setup::new(&PKCS_ED25519);
    let private = s.dir.path().join("rsa.key.pem");
    let public = s.dir.path().join("rsa.pub.pem");
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .status()
            .expect("the `openssl` command is needed for the RSA case");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&["genrsa", "-out", &private.display().to_string(), "2048"]);
    openssl(&[
        "rsa",
        "-in",
        &private.display().to_string(),
        "-pubout",
        "-out",
        &public.display().to_string(),
    ]);
    let signed = s.sign(&private, Some("ops"));
    assert!(
        signed.stdout.contains("with RS256 as key `ops`"),
        "{signed}"
    );
    let check = Run::of(
        tollgate()
            .arg("check")
            .arg("--verification-key")
            .arg(format!("ops={}", public.display()))
            .arg(s.bundle()),
    );
    assert_eq!(check.code, Some(0), "{check}");
    assert!(check.stdout.contains("signed by key `ops`"), "{check}");
}

#[test]
fn bad_keys_and_the_embedded_demo_are_bad_configuration() {
    let s = Setup::new(&PKCS_ED25519);
    // The embedded demo is not signed: keys without a path are refused.
    let embedded = Run::of(
        tollgate()
            .arg("check")
            .arg("--verification-key")
            .arg(&s.public),
    );
    assert_eq!(embedded.code, Some(64), "{embedded}");
    assert!(
        embedded
            .stderr
            .contains("the embedded demo bundle is not signed"),
        "{embedded}"
    );
    let serve = Run::of(
        tollgate()
            .args(["serve", "--listen", "127.0.0.1:0", "--verification-key"])
            .arg(&s.public),
    );
    assert_eq!(serve.code, Some(64), "{serve}");
    assert!(
        serve
            .stderr
            .contains("the embedded demo bundle is not signed"),
        "{serve}"
    );
    // The config file sets the keys as the flag does.
    let config = s.dir.path().join("tollgate.yaml");
    fs::write(
        &config,
        format!("verification-key: [\"release={}\"]\n", s.public.display()),
    )
    .expect("write the config file");
    let shown = Run::of(
        tollgate()
            .args(["serve", "--check-config", "--config"])
            .arg(&config),
    );
    assert!(
        shown.stdout.contains(&format!(
            "verification-key: [\"release={}\"]  # config file",
            s.public.display()
        )),
        "{shown}"
    );
    let from_file = Run::of(
        tollgate()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config),
    );
    assert_eq!(from_file.code, Some(64), "{from_file}");
    assert!(
        from_file
            .stderr
            .contains("the embedded demo bundle is not signed"),
        "{from_file}"
    );
    // A private key where a public one belongs, and the other way round.
    let swapped = Run::of(
        tollgate()
            .arg("check")
            .arg("--verification-key")
            .arg(&s.private)
            .arg(s.bundle()),
    );
    assert_eq!(swapped.code, Some(64), "{swapped}");
    assert!(swapped.stderr.contains("not a PEM public key"), "{swapped}");
    let sign = s.sign(&s.public, None);
    assert_eq!(sign.code, Some(64), "{sign}");
    assert!(sign.stderr.contains("not a PEM private key"), "{sign}");
    // Two keys under one id.
    let twice = Run::of(
        tollgate()
            .arg("check")
            .arg("--verification-key")
            .arg(format!("a={}", s.public.display()))
            .arg("--verification-key")
            .arg(format!("a={}", s.public.display()))
            .arg(s.bundle()),
    );
    assert_eq!(twice.code, Some(64), "{twice}");
    assert!(twice.stderr.contains("a second key with id `a`"), "{twice}");
}
