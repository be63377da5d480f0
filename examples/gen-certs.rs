//! Certificates for measuring TLS and mutual TLS (`TLS=1 scripts/bench.sh`,
//! and the TLS tests of `tests/loadgen.rs`), made with rcgen so that no
//! `openssl` is needed:
//!
//! ```sh
//! cargo run --release --example gen-certs -- DIR
//! ```
//!
//! writes into DIR a CA (`ca.crt`), a server certificate for `localhost`
//! and 127.0.0.1 (`server.crt`, `server.key`) and a client certificate
//! whose SAN URI is [`CLIENT_IDENTITY`] (`client.crt`, `client.key`), all
//! signed by the CA. Test material only: the CA's key is thrown away.

use std::{error::Error, path::Path};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// The client certificate's identity, for a caller policy.
pub const CLIENT_IDENTITY: &str = "spiffe://bench.example/loadgen";

/// Writes the CA, server and client files into `dir` (created if needed).
pub fn write_all(dir: &Path) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "tollgate bench ca");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    std::fs::write(dir.join("ca.crt"), ca.self_signed(&ca_key)?.pem())?;
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    write_leaf(dir, "server", server, &issuer)?;

    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client
        .subject_alt_names
        .push(SanType::URI(CLIENT_IDENTITY.try_into()?));
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    write_leaf(dir, "client", client, &issuer)
}

/// Signs `params` with a new key and writes `NAME.crt` and `NAME.key`.
fn write_leaf(
    dir: &Path,
    name: &str,
    mut params: CertificateParams,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(), Box<dyn Error>> {
    params
        .distinguished_name
        .push(DnType::CommonName, format!("tollgate bench {name}"));
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    std::fs::write(dir.join(format!("{name}.crt")), cert.pem())?;
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem())?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .ok_or("usage: cargo run --example gen-certs -- DIR")?;
    write_all(Path::new(&dir))?;
    println!("wrote ca.crt, server.crt, server.key, client.crt, client.key");
    Ok(())
}
