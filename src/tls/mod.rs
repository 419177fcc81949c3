//! TLS for penex: rustls configs on the ring provider, the dev PKI, and the identity a client
//! certificate carries.
//!
//! Owns: [`config`] (server/client configs, provider), [`pki`] (dev PKI on disk, issuance),
//! [`identity`] (CA bindings, principal URIs, [`identity::ClientCaSet::identify`]).
//! Must not depend on: actix, reqwest, diesel, the registry. The API layer extracts the peer
//! certificate from the connection and calls `identify`; it then checks the claim against the
//! registry (a unit's code belongs to its CA's party and is enabled).
//!
//! Invariants: ring is the only crypto provider; the TLS layer verifies chains against the union
//! of the bound CAs and lets anonymous clients through; `identify` decides which CA issued a
//! certificate and refuses any claim that CA is not bound to.

pub mod config;
pub mod identity;
pub mod pki;

pub use config::{TlsError, client_config, install_default_provider, provider, server_config};
pub use identity::{CaBinding, ClientCaSet, IdentityError, PeerClaim};
pub use pki::{DevPki, PkiError, ensure_dev_pki, issue_client_cert};

#[cfg(test)]
mod tests {
    //! Real handshakes over loopback between the configs built from a generated dev PKI.

    use super::*;
    use crate::domain::party::{Party, Role};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, SanType,
    };
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use rustls::{ClientConnection, ServerConnection, StreamOwned};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::Duration;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn leads() -> Vec<(String, Party)> {
        vec![
            ("SH-310000".to_owned(), Party::Shanghai),
            ("JS-320000".to_owned(), Party::Jiangsu),
            ("ZJ-330000".to_owned(), Party::Zhejiang),
            ("AH-340000".to_owned(), Party::Anhui),
        ]
    }

    fn read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    /// What the server saw: the peer's certificate chain (None when anonymous), or the error.
    type ServerOutcome = Result<Option<Vec<CertificateDer<'static>>>, String>;

    /// Accept one connection, complete the handshake, answer "ping" with "pong".
    fn serve_once(config: Arc<rustls::ServerConfig>) -> (u16, JoinHandle<ServerOutcome>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || -> ServerOutcome {
            let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            tcp.set_read_timeout(Some(TIMEOUT))
                .map_err(|e| e.to_string())?;
            let conn = ServerConnection::new(config).map_err(|e| e.to_string())?;
            let mut tls = StreamOwned::new(conn, tcp);
            while tls.conn.is_handshaking() {
                tls.conn
                    .complete_io(&mut tls.sock)
                    .map_err(|e| e.to_string())?;
            }
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
            let peer = tls.conn.peer_certificates().map(|c| c.to_vec());
            tls.write_all(b"pong").map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
            Ok(peer)
        });
        (port, handle)
    }

    /// Connect, send "ping", expect "pong".
    fn talk(port: u16, config: rustls::ClientConfig) -> Result<(), String> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        let mut tls = StreamOwned::new(conn, tcp);
        tls.write_all(b"ping").map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
        if &buf != b"pong" {
            return Err(format!("unexpected reply {buf:?}"));
        }
        Ok(())
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        pki: DevPki,
        server: Arc<rustls::ServerConfig>,
        cas: ClientCaSet,
        exchange_ca_pem: Vec<u8>,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let pki = ensure_dev_pki(&tmp.path().join("pki"), &leads()).unwrap();
        let ca_list = pki.load_client_cas().unwrap();
        let cas = ClientCaSet::new(ca_list).unwrap();
        let server =
            server_config(&read(&pki.server.cert), &read(&pki.server.key), &cas.pems()).unwrap();
        let exchange_ca_pem = read(&pki.exchange_ca.cert);
        Fixture {
            _tmp: tmp,
            pki,
            server: Arc::new(server),
            cas,
            exchange_ca_pem,
        }
    }

    impl Fixture {
        fn client_for(&self, code: &str) -> rustls::ClientConfig {
            let c = &self.pki.clients.get(code).unwrap().files;
            client_config(
                &self.exchange_ca_pem,
                Some(&read(&c.cert)),
                Some(&read(&c.key)),
            )
            .unwrap()
        }

        /// Handshake with `client`, return the server's view of the peer's end-entity cert.
        fn handshake(&self, client: rustls::ClientConfig) -> (Result<(), String>, ServerOutcome) {
            let (port, server) = serve_once(self.server.clone());
            let client_result = talk(port, client);
            (client_result, server.join().unwrap())
        }

        fn peer_of(&self, client: rustls::ClientConfig) -> Vec<u8> {
            let (c, s) = self.handshake(client);
            c.unwrap();
            let chain = s.unwrap().unwrap();
            chain.first().unwrap().as_ref().to_vec()
        }
    }

    fn params_for(role: Role, code: &str) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, code);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.is_ca = IsCa::ExplicitNoCa;
        p.subject_alt_names = vec![SanType::URI(
            format!("urn:penex:{}:{code}", role.as_str())
                .try_into()
                .unwrap(),
        )];
        p
    }

    /// Sign `params` with the CA stored under `stem` in the PKI dir, bypassing `issue_client_cert`
    /// (which would refuse), to see what `identify` makes of a misissued certificate.
    fn misissue(dir: &Path, stem: &str, params: &CertificateParams) -> (String, String) {
        let ca_pem = std::fs::read_to_string(dir.join(format!("{stem}.crt"))).unwrap();
        let ca_key =
            KeyPair::from_pem(&std::fs::read_to_string(dir.join(format!("{stem}.key"))).unwrap())
                .unwrap();
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn lead_certificate_identifies_its_unit_and_party() {
        let f = fixture();
        for (code, party) in leads() {
            let der = f.peer_of(f.client_for(&code));
            let claim = f.cas.identify(&der).unwrap();
            assert_eq!(claim.role, Role::Unit);
            assert_eq!(claim.code, code);
            assert_eq!(claim.ca, CaBinding::Party(party));
            assert_eq!(claim.fingerprint, identity::fingerprint(&der));
            assert_eq!(claim.fingerprint.len(), 64);
        }
    }

    #[test]
    fn service_principals_identify_under_the_exchange_ca() {
        let f = fixture();
        for (code, role) in [
            ("integrator-1", Role::Integrator),
            ("analyst-1", Role::Analyst),
            ("operator-1", Role::Operator),
        ] {
            let der = f.peer_of(f.client_for(code));
            let claim = f.cas.identify(&der).unwrap();
            assert_eq!(
                (claim.role, claim.code.as_str(), claim.ca),
                (role, code, CaBinding::Exchange)
            );
        }
    }

    #[test]
    fn anonymous_client_is_let_through_without_a_peer_cert() {
        let f = fixture();
        let client = client_config(&f.exchange_ca_pem, None, None).unwrap();
        let (c, s) = f.handshake(client);
        c.unwrap();
        assert_eq!(s.unwrap(), None);
    }

    #[test]
    fn certificate_from_an_unrelated_ca_is_refused_at_the_handshake() {
        let f = fixture();
        // A rogue CA that copies a party CA's exact subject name.
        let mut rogue_params = CertificateParams::default();
        rogue_params.distinguished_name = rcgen::DistinguishedName::new();
        rogue_params.distinguished_name.push(
            DnType::OrganizationName,
            "penex Yangtze River Delta penalty exchange",
        );
        rogue_params
            .distinguished_name
            .push(DnType::CommonName, "penex SH party CA");
        rogue_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let rogue_key = KeyPair::generate().unwrap();
        let rogue_cert = rogue_params.self_signed(&rogue_key).unwrap();
        {
            use x509_parser::prelude::FromDer;
            let real_pem = read(&f.pki.party_cas.get(&Party::Shanghai).unwrap().cert);
            let real = CertificateDer::from_pem_slice(&real_pem).unwrap();
            let (_, real) = x509_parser::certificate::X509Certificate::from_der(&real).unwrap();
            let (_, rogue) =
                x509_parser::certificate::X509Certificate::from_der(rogue_cert.der()).unwrap();
            assert_eq!(
                real.subject().as_raw(),
                rogue.subject().as_raw(),
                "name must be copied"
            );
        }
        let issuer = Issuer::new(rogue_params, rogue_key);
        let key = KeyPair::generate().unwrap();
        let cert = params_for(Role::Unit, "SH-310000")
            .signed_by(&key, &issuer)
            .unwrap();
        let client = client_config(
            &f.exchange_ca_pem,
            Some(cert.pem().as_bytes()),
            Some(key.serialize_pem().as_bytes()),
        )
        .unwrap();
        let (c, s) = f.handshake(client);
        let server_err = s.unwrap_err();
        assert!(server_err.contains("certificate"), "{server_err}");
        assert!(c.is_err(), "client should see the rejection");
        // identify, reached some other way, also refuses it: same name, wrong key.
        let err = f.cas.identify(cert.der()).unwrap_err();
        assert!(matches!(err, IdentityError::UnknownIssuer { .. }), "{err}");
        // And the rogue CA itself is not an acceptable client certificate.
        assert!(f.cas.identify(rogue_cert.der()).is_err());
    }

    #[test]
    fn cross_party_claim_reports_the_issuing_party() {
        let f = fixture();
        // JS CA issues a unit certificate claiming a Shanghai unit code: TLS accepts it, identify
        // reports the JS CA so the caller can refuse the SH code.
        let (cert, key) = misissue(&f.pki.dir, "ca-JS", &params_for(Role::Unit, "SH-310000"));
        let client = client_config(
            &f.exchange_ca_pem,
            Some(cert.as_bytes()),
            Some(key.as_bytes()),
        )
        .unwrap();
        let der = f.peer_of(client);
        let claim = f.cas.identify(&der).unwrap();
        assert_eq!(claim.code, "SH-310000");
        assert_eq!(claim.ca, CaBinding::Party(Party::Jiangsu));
    }

    #[test]
    fn analyst_from_a_party_ca_is_a_binding_violation() {
        let f = fixture();
        let (cert, key) = misissue(&f.pki.dir, "ca-ZJ", &params_for(Role::Analyst, "analyst-9"));
        let client = client_config(
            &f.exchange_ca_pem,
            Some(cert.as_bytes()),
            Some(key.as_bytes()),
        )
        .unwrap();
        let der = f.peer_of(client);
        let err = f.cas.identify(&der).unwrap_err();
        assert_eq!(
            err,
            IdentityError::BindingViolation {
                fingerprint: identity::fingerprint(&der),
                ca: CaBinding::Party(Party::Zhejiang),
                role: Role::Analyst,
            }
        );
        // And the converse: a unit from the exchange CA.
        let (cert, _) = misissue(
            &f.pki.dir,
            "exchange-ca",
            &params_for(Role::Unit, "SH-310000"),
        );
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert!(matches!(
            f.cas.identify(&der),
            Err(IdentityError::BindingViolation {
                ca: CaBinding::Exchange,
                role: Role::Unit,
                ..
            })
        ));
    }

    #[test]
    fn principal_count_eku_and_validity_are_enforced() {
        let f = fixture();
        let dir = &f.pki.dir;
        let der_of = |p: &CertificateParams| {
            let (pem, _) = misissue(dir, "ca-AH", p);
            CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
        };

        let mut two = params_for(Role::Unit, "AH-340000");
        two.subject_alt_names
            .push(SanType::URI("urn:penex:unit:AH-340100".try_into().unwrap()));
        assert!(matches!(
            f.cas.identify(&der_of(&two)),
            Err(IdentityError::MultiplePrincipals { count: 2, .. })
        ));

        let mut none = params_for(Role::Unit, "AH-340000");
        none.subject_alt_names = vec![SanType::URI("https://example.test/".try_into().unwrap())];
        assert!(matches!(
            f.cas.identify(&der_of(&none)),
            Err(IdentityError::NoPrincipal { .. })
        ));

        let mut bad = params_for(Role::Unit, "AH-340000");
        bad.subject_alt_names = vec![SanType::URI("urn:penex:root:AH-340000".try_into().unwrap())];
        assert!(matches!(
            f.cas.identify(&der_of(&bad)),
            Err(IdentityError::BadPrincipal { .. })
        ));

        let mut server_only = params_for(Role::Unit, "AH-340000");
        server_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        assert!(matches!(
            f.cas.identify(&der_of(&server_only)),
            Err(IdentityError::NotClientAuth { .. })
        ));

        let mut expired = params_for(Role::Unit, "AH-340000");
        expired.not_before = rcgen::date_time_ymd(2020, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2021, 1, 1);
        assert!(matches!(
            f.cas.identify(&der_of(&expired)),
            Err(IdentityError::Expired { .. })
        ));

        let mut future = params_for(Role::Unit, "AH-340000");
        future.not_before = time::OffsetDateTime::now_utc() + time::Duration::days(30);
        future.not_after = future.not_before + time::Duration::days(30);
        assert!(matches!(
            f.cas.identify(&der_of(&future)),
            Err(IdentityError::NotYetValid { .. })
        ));

        // The dev lead certificate is valid now and would be expired three years from now.
        let lead = read(&f.pki.clients.get("AH-340000").unwrap().files.cert);
        let der = CertificateDer::from_pem_slice(&lead).unwrap();
        let later = x509_parser::time::ASN1Time::from_timestamp(
            time::OffsetDateTime::now_utc().unix_timestamp() + 3 * 366 * 86_400,
        )
        .unwrap();
        assert!(f.cas.identify(&der).is_ok());
        assert!(matches!(
            f.cas.identify_at(&der, later),
            Err(IdentityError::Expired { .. })
        ));
    }

    #[test]
    fn issued_certificate_passes_a_real_handshake() {
        let f = fixture();
        let out = f.pki.dir.join("issued");
        let (crt, key) = issue_client_cert(
            &f.pki.dir,
            CaBinding::Party(Party::Anhui),
            Role::Unit,
            "AH-340100",
            &out,
        )
        .unwrap();
        let client =
            client_config(&f.exchange_ca_pem, Some(&read(&crt)), Some(&read(&key))).unwrap();
        let claim = f.cas.identify(&f.peer_of(client)).unwrap();
        assert_eq!(
            (claim.role, claim.code.as_str(), claim.ca),
            (Role::Unit, "AH-340100", CaBinding::Party(Party::Anhui))
        );
    }

    #[test]
    fn openssl_can_read_the_files() {
        let has_openssl = std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_openssl {
            eprintln!("openssl not on PATH; skipping");
            return;
        }
        let f = fixture();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let server_crt = f.pki.server.cert.to_str().unwrap();
        let text = run(&["x509", "-in", server_crt, "-noout", "-text"]);
        assert!(text.contains("DNS:localhost"), "{text}");
        assert!(text.contains("IP Address:127.0.0.1"), "{text}");
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        let analyst = f.pki.clients.get("analyst-1").unwrap();
        run(&["pkey", "-in", analyst.files.key.to_str().unwrap(), "-noout"]);
        let text = run(&[
            "x509",
            "-in",
            analyst.files.cert.to_str().unwrap(),
            "-noout",
            "-text",
        ]);
        assert!(text.contains("URI:urn:penex:analyst:analyst-1"), "{text}");
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
        // The chain verifies with OpenSSL too, not just webpki.
        let ca = f.pki.exchange_ca.cert.to_str().unwrap();
        run(&["verify", "-CAfile", ca, "-purpose", "sslserver", server_crt]);
        let js_ca = f
            .pki
            .party_cas
            .get(&Party::Jiangsu)
            .unwrap()
            .cert
            .to_str()
            .unwrap();
        let js = f
            .pki
            .clients
            .get("JS-320000")
            .unwrap()
            .files
            .cert
            .to_str()
            .unwrap();
        run(&["verify", "-CAfile", js_ca, "-purpose", "sslclient", js]);
    }
}
