//! The `pg-tls` half of `tls.rs`: a rustls client (ring provider) handed to the postgres crate
//! through `tokio-postgres-rustls`, with a certificate verifier per libpq mode:
//!
//! - a CA file and `verify-full`: rustls's WebPKI verifier (chain to the CA file, and the name);
//! - a CA file otherwise (`verify-ca`, or `prefer`/`require` with a CA file): the same verifier,
//!   with "not valid for this name" forgiven (WebPKI checks the name only after the chain);
//! - no CA file (`prefer`, `require`): the certificate is not checked, as libpq does not; the
//!   handshake signatures still are, so the session is encrypted to whoever holds the key.
//!
//! `prefer` and `allow` fall back to a clear connection when the handshake fails, as libpq does.

use std::sync::Arc;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{SslMode, TlsSettings};
use crate::contract::{Error, ReasonCode, Result};

/// Why a connection failed: the server's (or the network's) error, or ours before it.
pub enum Failure {
    Postgres(postgres::Error),
    Setup(Error),
}

/// Connect with `config` (its `ssl_mode` already set from the settings) and the settings' TLS.
pub fn connect(config: &Config, settings: &TlsSettings) -> std::result::Result<Client, Failure> {
    // libpq never asks for TLS on a unix socket; neither do we (it also saves a round trip).
    let only_sockets = config.get_hosts().iter().all(|h| matches!(h, Host::Unix(_)));
    if settings.mode == SslMode::Disable || only_sockets {
        let mut clear = config.clone();
        clear.ssl_mode(postgres::config::SslMode::Disable);
        return clear.connect(NoTls).map_err(Failure::Postgres);
    }
    let tls = MakeRustlsConnect::new(client_config(settings).map_err(Failure::Setup)?);
    match config.connect(tls) {
        Err(e) if settings.mode.may_fall_back() && is_tls_failure(&e) => {
            let mut clear = config.clone();
            clear.ssl_mode(postgres::config::SslMode::Disable);
            clear.connect(NoTls).map_err(Failure::Postgres)
        }
        other => other.map_err(Failure::Postgres),
    }
}

/// A failed TLS negotiation (not a refused or broken connection).
fn is_tls_failure(err: &postgres::Error) -> bool {
    err.to_string().starts_with("error performing TLS handshake")
}

/// The error a failed TLS negotiation is reported as, or `None` when `err` is something else.
pub fn tls_error(err: &postgres::Error, settings: &TlsSettings) -> Option<Error> {
    if !is_tls_failure(err) {
        return None;
    }
    let mode = settings.mode.as_str();
    // The postgres error's own text is only "error performing TLS handshake": the why is its cause.
    let cause = std::error::Error::source(err).map(ToString::to_string).unwrap_or_default();
    let root = settings.root_cert.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let (problem, message) = match rustls_error(err) {
        Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            ("unknown_issuer", format!("the server's certificate is not signed by a CA in {root} (sslmode={mode})"))
        }
        Some(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => {
            ("name_mismatch", format!("the server's certificate does not name the host connected to (sslmode={mode})"))
        }
        Some(rustls::Error::InvalidCertificate(other)) => {
            ("bad_certificate", format!("the server's certificate is not valid: {other:?} (sslmode={mode})"))
        }
        Some(other) => ("handshake", format!("the TLS handshake failed: {other} (sslmode={mode})")),
        None if cause.contains("server does not support TLS") => {
            ("no_tls", format!("the server does not offer TLS (sslmode={mode})"))
        }
        None => ("handshake", format!("the TLS handshake failed: {cause} (sslmode={mode})")),
    };
    let mut error = Error::new(ReasonCode::UnsafeOperation, format!("PostgreSQL store: {message}"))
        .with("sslmode", mode)
        .with("tls", problem)
        .with_hint("check sslrootcert (the CA that signed the server's certificate) and the host name in the URL");
    if !root.is_empty() {
        error = error.with("sslrootcert", root);
    }
    Some(error)
}

/// The rustls error inside a postgres error, if any (tokio-rustls wraps it in an io::Error,
/// whose `source()` skips it, so each io::Error is opened with `get_ref`).
fn rustls_error(err: &postgres::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        let inner = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if let Some(found) = inner.and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

fn client_config(settings: &TlsSettings) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match &settings.root_cert {
        None => Arc::new(Unchecked { algorithms: provider.signature_verification_algorithms }),
        Some(path) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(path)?), provider.clone())
                .build()
                .map_err(|e| Error::invalid_input(format!("sslrootcert {}: {e}", path.display())))?;
            if settings.mode == SslMode::VerifyFull { webpki } else { Arc::new(AnyName(webpki)) }
        }
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::generic(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The CA certificates of a PEM file (a file without one is an error, not "trust nothing").
fn roots(path: &std::path::Path) -> Result<RootCertStore> {
    let bad = |why: String| {
        Error::invalid_input(format!("sslrootcert {}: {why}", path.display()))
            .with("sslrootcert", path.display().to_string())
            .with_hint("a PEM file of the CA certificates that sign the server's certificate")
    };
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        store.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(store)
}

/// `verify-ca` (and a CA file in `prefer`/`require`): the chain is checked, the name is not.
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
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // WebPKI reports a wrong name only once the chain has verified.
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

/// `prefer`/`require` without a CA file: libpq checks no certificate; the handshake's own
/// signatures are still verified.
#[derive(Debug)]
struct Unchecked {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
