use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, SignatureAlgorithm};

use super::*;
use crate::bundle::signature::{KeyError, SigningKey, sign};

/// A fresh key pair: (private PEM, public PEM).
fn pair(alg: &'static SignatureAlgorithm) -> (String, String) {
    let key = KeyPair::generate_for(alg).unwrap();
    (key.serialize_pem(), key.public_key_pem())
}

fn bundle() -> BundleFiles {
    let mut files = BundleFiles::default();
    files.insert("bundle.yaml", b"name: t\n".to_vec());
    files.insert("plans.yaml", b"plans: []\n".to_vec());
    files
}

fn signed(files: &BundleFiles, private: &str, kid: Option<&str>) -> BundleFiles {
    let key = SigningKey::from_pem(private.as_bytes()).unwrap();
    let mut out = files.clone();
    out.set_signatures(sign(files, &key, kid).unwrap().into_bytes());
    out
}

fn trusted(keys: &[(&str, &str)]) -> TrustedKeys {
    TrustedKeys::new(
        keys.iter()
            .map(|(id, pem)| VerificationKey::from_pem(id, pem.as_bytes()).unwrap())
            .collect(),
    )
}

/// `files` with a `.signatures.json` holding `token` alone.
fn with_token(mut files: BundleFiles, token: String) -> BundleFiles {
    let file = SignaturesFile {
        signatures: vec![token],
    };
    files.set_signatures(serde_json::to_vec(&file).unwrap());
    files
}

/// The one JWS in `files`' `.signatures.json`.
fn token_of(files: &BundleFiles) -> String {
    let file: SignaturesFile = serde_json::from_slice(files.signatures().unwrap()).unwrap();
    file.signatures.into_iter().next().unwrap()
}

fn messages(result: Result<Verified, BundleErrors>) -> Vec<String> {
    let errors = result.unwrap_err();
    assert_eq!(errors.phase(), Phase::Signature);
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn es256_and_eddsa_signatures_verify_and_name_their_key() {
    for alg in [&PKCS_ECDSA_P256_SHA256, &PKCS_ED25519] {
        let (private, public) = pair(alg);
        let (_, other) = pair(alg);
        let keys = trusted(&[("old", &other), ("release", &public)]);
        // With a `kid`, the named key; without one, whichever verifies.
        for kid in [Some("release"), None] {
            let files = signed(&bundle(), &private, kid);
            let verified = keys.verify(&files).unwrap();
            assert_eq!(verified.key_id, "release");
        }
    }
}

#[test]
fn an_unsigned_bundle_is_refused() {
    let (_, public) = pair(&PKCS_ED25519);
    let keys = trusted(&[("k", &public)]);
    assert_eq!(
        messages(keys.verify(&bundle())),
        ["bundle: not signed: it has no `.signatures.json`, and verification keys are set"]
    );
}

#[test]
fn a_signature_by_an_unknown_key_is_refused() {
    let (private, _) = pair(&PKCS_ECDSA_P256_SHA256);
    let (_, trusted_public) = pair(&PKCS_ECDSA_P256_SHA256);
    let keys = trusted(&[("release", &trusted_public)]);
    assert_eq!(
        messages(keys.verify(&signed(&bundle(), &private, Some("intruder")))),
        [
            ".signatures.json: signed by an unknown key `intruder`: the verification keys are `release`"
        ]
    );
    assert_eq!(
        messages(keys.verify(&signed(&bundle(), &private, None))),
        [
            ".signatures.json: signed by an unknown key: it verifies with none of the verification keys (`release`)"
        ]
    );
    // The right id on the wrong key does not help.
    assert_eq!(
        messages(keys.verify(&signed(&bundle(), &private, Some("release")))),
        [
            ".signatures.json: signed as key `release`, but the signature does not verify with that key"
        ]
    );
}

#[test]
fn a_key_of_another_family_is_not_confused() {
    let (private, _) = pair(&PKCS_ED25519);
    let (_, ec_public) = pair(&PKCS_ECDSA_P256_SHA256);
    let keys = trusted(&[("release", &ec_public)]);
    assert_eq!(
        messages(keys.verify(&signed(&bundle(), &private, Some("release")))),
        [".signatures.json: signed as key `release` with `EdDSA`, which that key does not sign"]
    );
}

#[test]
fn changed_added_and_removed_files_are_each_named() {
    let (private, public) = pair(&PKCS_ED25519);
    let keys = trusted(&[("k", &public)]);
    let signed = signed(&bundle(), &private, None);
    let signatures = signed.signatures().unwrap().to_vec();
    let mut tampered = BundleFiles::default();
    tampered.insert("bundle.yaml", b"name: t2\n".to_vec());
    tampered.insert("extra.yaml", b"x: 1\n".to_vec());
    tampered.set_signatures(signatures);
    assert_eq!(
        messages(keys.verify(&tampered)),
        [
            ".signatures.json: lists `plans.yaml`, which the bundle does not have: removed after it was signed",
            "bundle.yaml: does not match its hash in `.signatures.json`: changed after the bundle was signed",
            "extra.yaml: not listed in `.signatures.json`: added after the bundle was signed",
        ]
    );
}

#[test]
fn a_damaged_signatures_file_is_refused() {
    let (_, public) = pair(&PKCS_ED25519);
    let keys = trusted(&[("k", &public)]);
    for (content, want) in [
        (
            "{",
            ".signatures.json: not a signatures file: EOF while parsing an object at line 1 column 1",
        ),
        (
            r#"{"signatures": []}"#,
            ".signatures.json: holds 0 signatures: exactly one is expected",
        ),
        (
            r#"{"signatures": ["a.b"]}"#,
            ".signatures.json: the signature is not a JWS: InvalidToken",
        ),
    ] {
        let mut files = bundle();
        files.set_signatures(content.as_bytes().to_vec());
        assert_eq!(messages(keys.verify(&files)), [want]);
    }
}

#[test]
fn a_tampered_payload_does_not_verify() {
    let (private, public) = pair(&PKCS_ECDSA_P256_SHA256);
    let keys = trusted(&[("k", &public)]);
    let token = token_of(&signed(&bundle(), &private, Some("k")));
    // The payload of a signature over a bundle with `evil.yaml`, under the
    // header and signature of the real one.
    let mut evil = bundle();
    evil.insert("evil.yaml", b"x: 1\n".to_vec());
    let evil_token = token_of(&signed(&evil, &private, Some("k")));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        evil_token.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(
        messages(keys.verify(&with_token(evil, forged))),
        [".signatures.json: signed as key `k`, but the signature does not verify with that key"]
    );
}

#[test]
fn names_with_directories_match_by_base_name_and_other_files_are_not_checked() {
    let (private, public) = pair(&PKCS_ED25519);
    let keys = trusted(&[("k", &public)]);
    let key = SigningKey::from_pem(private.as_bytes()).unwrap();
    let payload = Payload {
        files: vec![
            FileHash {
                name: "b/bundle.yaml".into(),
                hash: sha256_hex(b"name: t\n"),
                algorithm: SHA_256.into(),
            },
            FileHash {
                name: "/plans.yaml".into(),
                hash: sha256_hex(b"plans: []\n"),
                algorithm: SHA_256.into(),
            },
            FileHash {
                name: "README.md".into(),
                hash: "00".into(),
                algorithm: SHA_256.into(),
            },
        ],
        keyid: None,
        scope: None,
    };
    let files = with_token(bundle(), key.sign(&payload, None).unwrap());
    assert_eq!(keys.verify(&files).unwrap().key_id, "k");
}

#[test]
fn a_scope_is_refused_as_opa_does_without_one_configured() {
    let (private, public) = pair(&PKCS_ED25519);
    let keys = trusted(&[("k", &public)]);
    let key = SigningKey::from_pem(private.as_bytes()).unwrap();
    let payload = Payload {
        files: vec![],
        keyid: None,
        scope: Some("write".into()),
    };
    let files = with_token(bundle(), key.sign(&payload, None).unwrap());
    assert_eq!(
        messages(keys.verify(&files)),
        [
            ".signatures.json: the signature's scope `write` is not accepted: signatures are verified without a scope"
        ]
    );
}

#[test]
fn keys_of_the_wrong_kind_are_refused() {
    let (private, public) = pair(&PKCS_ED25519);
    assert!(matches!(
        SigningKey::from_pem(public.as_bytes()),
        Err(KeyError::NotAPrivateKey)
    ));
    assert!(matches!(
        SigningKey::from_pem(b"nonsense"),
        Err(KeyError::NotAPrivateKey)
    ));
    assert!(matches!(
        VerificationKey::from_pem("k", b"nonsense"),
        Err(KeyError::NotAPublicKey)
    ));
    assert!(SigningKey::from_pem(private.as_bytes()).is_ok());
}
