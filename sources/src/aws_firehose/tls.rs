//! HTTPS for the Firehose endpoint: a rustls acceptor from PEM files.

use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::TlsConfig;

/// The certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The config key naming the file (`tls.crt_file`, `tls.key_file`).
        key: &'static str,
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the pair.
    #[error("certificate and key do not form a usable TLS configuration: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
}

impl TlsError {
    /// The config key at fault.
    pub fn key(&self) -> &'static str {
        match self {
            TlsError::Pem { key, .. } => key,
            TlsError::Config(_) => "tls",
        }
    }
}

/// A TLS acceptor for the configured certificate chain and key.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    let crt_error = |reason: String| TlsError::Pem {
        key: "tls.crt_file",
        path: config.crt_file.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.crt_file)
        .map_err(|e| crt_error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| crt_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(crt_error("no certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key_file).map_err(|e| TlsError::Pem {
        key: "tls.key_file",
        path: config.key_file.display().to_string(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}
