//! rustls server and client configurations, always on the ring provider.
//!
//! Owns: the crypto provider choice, [`server_config`], [`client_config`], PEM loading helpers
//! and [`TlsError`].
//! Must not depend on: actix, reqwest, diesel. Callers hand the configs to their HTTP stack.
//!
//! Invariants:
//! - the provider is passed explicitly everywhere, so aws-lc can never be picked by
//!   auto-selection (rustls panics when both providers are compiled in and none is named);
//! - the server asks for a client certificate and verifies any it gets against the configured
//!   CAs, but accepts connections without one: public routes (`/healthz`) need none and the
//!   application enforces roles per route;
//! - the server config sets no ALPN (actix adds `h2`/`http/1.1` itself); the client config
//!   sets `h2`, `http/1.1` because reqwest does not when its TLS config is preconfigured.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// PEM text could not be decoded.
    #[error("bad PEM in {what}: {reason}")]
    Pem {
        /// Which input (e.g. "server certificate chain").
        what: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// A PEM input that must hold certificates holds none.
    #[error("no certificate found in {0}")]
    NoCertificate(&'static str),
    /// A CA certificate was refused by the root store.
    #[error("CA certificate refused: {0}")]
    BadCa(String),
    /// A client certificate was given without its key, or a key without its certificate.
    #[error("client certificate and client key must be given together")]
    IncompleteClientIdentity,
    /// The client verifier could not be built (e.g. no CAs).
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// rustls refused the configuration (key does not match certificate, unsupported key, …).
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The ring crypto provider, shared by every config penex builds.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Install ring as the process-wide default provider (reqwest needs one).
/// Idempotent: a provider already installed, by us or anyone, is left in place.
pub fn install_default_provider() {
    // Err only means "already installed"; both outcomes leave a usable default.
    let _already = CryptoProvider::install_default(rustls::crypto::ring::default_provider());
}

/// Every certificate in a PEM input, in order.
pub fn certs_from_pem(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(what));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, SEC1 or PKCS#1) in a PEM input.
pub fn key_from_pem(pem: &[u8], what: &'static str) -> Result<PrivateKeyDer<'static>, TlsError> {
    // The decoder's messages describe PEM structure, never key bytes.
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::Pem {
        what,
        reason: e.to_string(),
    })
}

/// A root store holding every certificate of every PEM input.
fn root_store(pems: &[Vec<u8>], what: &'static str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for pem in pems {
        for cert in certs_from_pem(pem, what)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::BadCa(e.to_string()))?;
        }
    }
    Ok(roots)
}

/// The server configuration: TLS 1.3 and 1.2, the given certificate chain and key, and optional
/// client certificates verified against `client_ca_pems` (each a PEM of one or more CA certs).
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pems: &[Vec<u8>],
) -> Result<ServerConfig, TlsError> {
    let chain = certs_from_pem(cert_chain_pem, "server certificate chain")?;
    let key = key_from_pem(key_pem, "server key")?;
    let roots = root_store(client_ca_pems, "client CA certificates")?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13, &TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(config)
}

/// A server configuration that REQUIRES a client certificate verified against
/// `client_ca_pems` (the reference connector, `penex sink`): a client without one fails the
/// handshake.
pub fn server_config_requiring_client_cert(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pems: &[Vec<u8>],
) -> Result<ServerConfig, TlsError> {
    let chain = certs_from_pem(cert_chain_pem, "server certificate chain")?;
    let key = key_from_pem(key_pem, "server key")?;
    let roots = root_store(client_ca_pems, "client CA certificates")?;
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13, &TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(config)
}

/// A client configuration trusting only `server_ca_pem`, presenting a client certificate when
/// both `client_cert_pem` (chain) and `client_key_pem` are given, with ALPN `h2`, `http/1.1`.
pub fn client_config(
    server_ca_pem: &[u8],
    client_cert_pem: Option<&[u8]>,
    client_key_pem: Option<&[u8]>,
) -> Result<ClientConfig, TlsError> {
    let roots = root_store(&[server_ca_pem.to_vec()], "server CA certificate")?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13, &TLS12])?
        .with_root_certificates(roots);
    let mut config = match (client_cert_pem, client_key_pem) {
        (Some(cert), Some(key)) => builder.with_client_auth_cert(
            certs_from_pem(cert, "client certificate")?,
            key_from_pem(key, "client key")?,
        )?,
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(TlsError::IncompleteClientIdentity),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> (String, String) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (ck.cert.pem(), ck.signing_key.serialize_pem())
    }

    #[test]
    fn provider_is_ring_and_shared() {
        let a = provider();
        let b = provider();
        assert!(Arc::ptr_eq(&a, &b));
        let ring_suites = rustls::crypto::ring::default_provider().cipher_suites;
        assert_eq!(a.cipher_suites, ring_suites);
        install_default_provider();
        install_default_provider();
        assert!(CryptoProvider::get_default().is_some());
    }

    #[test]
    fn client_config_sets_alpn_and_needs_both_halves() {
        let (cert, key) = self_signed();
        let c = client_config(cert.as_bytes(), None, None).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        let c = client_config(cert.as_bytes(), Some(cert.as_bytes()), Some(key.as_bytes()));
        assert!(c.is_ok());
        assert!(matches!(
            client_config(cert.as_bytes(), Some(cert.as_bytes()), None),
            Err(TlsError::IncompleteClientIdentity)
        ));
        assert!(matches!(
            client_config(cert.as_bytes(), None, Some(key.as_bytes())),
            Err(TlsError::IncompleteClientIdentity)
        ));
    }

    #[test]
    fn server_config_errors_are_typed() {
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let ca = vec![cert.clone().into_bytes()];
        let ok = server_config(cert.as_bytes(), key.as_bytes(), &ca).unwrap();
        assert!(ok.alpn_protocols.is_empty());
        assert!(matches!(
            server_config(b"", key.as_bytes(), &ca),
            Err(TlsError::NoCertificate(_))
        ));
        assert!(matches!(
            server_config(cert.as_bytes(), b"not a key", &ca),
            Err(TlsError::Pem { .. })
        ));
        assert!(matches!(
            server_config(cert.as_bytes(), key.as_bytes(), &[]),
            Err(TlsError::Verifier(_))
        ));
        // A key that does not belong to the certificate.
        assert!(server_config(cert.as_bytes(), other_key.as_bytes(), &ca).is_err());
    }
}
