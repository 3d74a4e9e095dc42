//! TLS for the PostgreSQL adapter, by libpq's `sslmode` (as dbt-postgres
//! passes it to psycopg2): rustls with the ring provider ureq already
//! uses, through `tokio-postgres-rustls`.
//!
//! - `disable`: no TLS.
//! - `allow`, `prefer`: TLS when the server offers it, the certificate not
//!   checked (as libpq), else plain.
//! - `require`: TLS or no connection, the certificate not checked (libpq's
//!   meaning), unless `sslrootcert` is set, which makes it `verify-ca`.
//! - `verify-ca`: the chain must end at `sslrootcert`'s authorities (or the
//!   public web roots without it); any host name.
//! - `verify-full`: and the certificate must name the host.

use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, ErrorKind, Result};
use crate::project::PostgresProfile;

/// How much of the server's certificate a connection checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Nothing: the connection is encrypted, not authenticated.
    Nothing,
    /// The chain, not the name.
    Chain,
    /// The chain and the host name.
    Full,
}

/// The `postgres` crate's mode and the TLS connector for `profile`, or
/// `None` for `sslmode: disable`.
///
/// Errors: [`ErrorKind::Profile`] when `sslrootcert` cannot be read or holds
/// no certificate.
pub(super) fn connector(profile: &PostgresProfile) -> Result<Option<(SslMode, MakeRustlsConnect)>> {
    let rootcert = !profile.sslrootcert.is_empty();
    let (mode, check) = match profile.sslmode.as_str() {
        "disable" => return Ok(None),
        "require" if rootcert => (SslMode::Require, Check::Chain),
        "require" => (SslMode::Require, Check::Nothing),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::Full),
        // `allow`, `prefer` and (checked when the profile was read) nothing else.
        _ => (SslMode::Prefer, Check::Nothing),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Profile, format!("TLS setup failed: {e}")))?;
    let config = match check {
        Check::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))),
        Check::Chain | Check::Full => {
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(profile)?), provider)
                    .build()
                    .map_err(|e| {
                        Error::new(ErrorKind::Profile, format!("TLS setup failed: {e}"))
                    })?;
            let verifier: Arc<dyn ServerCertVerifier> = if check == Check::Full {
                verifier
            } else {
                Arc::new(AnyName(verifier))
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
        }
    }
    .with_no_client_auth();
    Ok(Some((mode, MakeRustlsConnect::new(config))))
}

/// The authorities to trust: `sslrootcert`'s, or the public web roots.
fn roots(profile: &PostgresProfile) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    if profile.sslrootcert.is_empty() {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(store);
    }
    let path = &profile.sslrootcert;
    let unreadable = |detail: String| {
        let err = Error::new(
            ErrorKind::Profile,
            format!("`sslrootcert` `{path}` cannot be used: {detail}"),
        )
        .with_hint("point `sslrootcert` at a PEM file of the server's certificate authority");
        match &profile.location {
            Some(loc) => err.with_location(loc.clone()),
            None => err,
        }
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| unreadable(e.to_string()))?;
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(unreadable("it holds no certificate".into()));
    }
    Ok(store)
}

/// Accepts any certificate, still checking the handshake's signatures:
/// libpq's `require` (and `prefer`) without a root certificate.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the chain but not the name: libpq's `verify-ca`.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
