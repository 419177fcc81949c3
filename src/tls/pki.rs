//! The dev PKI: five bound CAs, the server certificate and the client certificates of the lead
//! units, an integrator, an analyst and an operator — generated once, loaded afterwards.
//!
//! Owns: the on-disk layout of a PKI directory, certificate issuance ([`issue_client_cert`]),
//! [`DevPki`] and [`PkiError`].
//! Must not depend on: actix, diesel, the registry (leads are handed in).
//!
//! Layout (`dir`, mode 0700 when created):
//! `exchange-ca.{crt,key}`, `ca-{SH,JS,ZJ,AH}.{crt,key}`, `server.{crt,key}`, and `clients/`
//! with `<unit code>.{crt,key}` per lead, `integrator`, `analyst`, `operator`, and `publisher`
//! (the exchange's own client certificate towards the credit platform's connector; its SAN
//! `urn:penex:exchange:publisher` names no penex role, so it grants nothing on penex itself).
//!
//! Invariants:
//! - every key is ECDSA P-256 PKCS#8 PEM (OpenSSL 3.0, and so curl, cannot read rcgen's Ed25519 keys),
//!   written with mode 0600 through a temporary file and a rename, so a crash never leaves a
//!   half-written or world-readable key;
//! - a CA issues only for the roles its binding allows (party CA ⇒ `unit`, exchange CA ⇒
//!   `integrator`/`analyst`/`operator`), checked before anything is signed;
//! - existing files are never silently replaced, except the leaves of a CA that this very call
//!   had to create (they could no longer chain to anything);
//! - CAs are valid 10 years, leaves 2 years, never beyond their CA.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::identity::{CaBinding, IdentityError, principal_uri};
use crate::domain::party::{Party, Role};

/// CA validity: ten years.
const CA_VALIDITY: Duration = Duration::days(3653);
/// Leaf validity: two years.
const LEAF_VALIDITY: Duration = Duration::days(731);
/// Backdating of notBefore, to tolerate clocks a little behind ours.
const CLOCK_SKEW: Duration = Duration::hours(1);
/// The organisation named in every subject.
const ORGANIZATION: &str = "penex Yangtze River Delta penalty exchange";

/// The dev principals other than lead units: (role, code, file stem).
const SERVICE_PRINCIPALS: [(Role, &str, &str); 3] = [
    (Role::Integrator, "integrator-1", "integrator"),
    (Role::Analyst, "analyst-1", "analyst"),
    (Role::Operator, "operator-1", "operator"),
];

/// The SAN URI of the dev publisher certificate.
pub const PUBLISHER_URI: &str = "urn:penex:exchange:publisher";

/// Why the PKI could not be generated, loaded or extended.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// rcgen refused to generate a key or sign a certificate.
    #[error("certificate generation failed for {what}: {source}")]
    Generate {
        /// What was being generated.
        what: String,
        /// rcgen's error.
        source: rcgen::Error,
    },
    /// A stored certificate or key could not be read back.
    #[error("{path}: unusable: {reason}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Only one half of a certificate/key pair exists: refuse to guess which one to trust.
    #[error("{present} exists but {missing} does not; remove both or restore the missing one")]
    HalfPair {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// [`issue_client_cert`] would overwrite an existing certificate or key.
    #[error("{0} already exists; remove it first to reissue")]
    Exists(PathBuf),
    /// The CA is not bound to the requested role.
    #[error("CA {ca} may not issue {role} certificates", role = role.as_str())]
    WrongCa {
        /// The CA asked to issue.
        ca: CaBinding,
        /// The role requested.
        role: Role,
    },
    /// The principal code is not valid.
    #[error(transparent)]
    Principal(#[from] IdentityError),
    /// A lead code appears twice, or clashes with a service principal's name or file.
    #[error("principal code {0:?} is given twice or clashes with a built-in principal")]
    DuplicateCode(String),
    /// The system random generator failed.
    #[error("system random generator failed")]
    Random,
}

/// A certificate file and its private key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKeyPaths {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM PKCS#8 private key (mode 0600).
    pub key: PathBuf,
}

/// A client certificate of the dev PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPaths {
    /// The role the certificate names.
    pub role: Role,
    /// The CA that issued it.
    pub ca: CaBinding,
    /// Its files.
    pub files: CertKeyPaths,
}

/// The paths of a dev PKI directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The PKI directory.
    pub dir: PathBuf,
    /// Server certificate and key (issued by the exchange CA).
    pub server: CertKeyPaths,
    /// The publisher's client certificate towards the connector (issued by the exchange CA).
    pub publisher: CertKeyPaths,
    /// The exchange CA.
    pub exchange_ca: CertKeyPaths,
    /// The four party CAs.
    pub party_cas: BTreeMap<Party, CertKeyPaths>,
    /// Client certificates by principal code (`JS-320100`, `analyst-1`, …).
    pub clients: BTreeMap<String, ClientPaths>,
}

impl DevPki {
    /// Every CA certificate path with its binding: parties first, then the exchange.
    pub fn ca_cert_paths(&self) -> Vec<(CaBinding, PathBuf)> {
        self.party_cas
            .iter()
            .map(|(p, f)| (CaBinding::Party(*p), f.cert.clone()))
            .chain(std::iter::once((
                CaBinding::Exchange,
                self.exchange_ca.cert.clone(),
            )))
            .collect()
    }

    /// Every CA certificate PEM with its binding, ready for `ClientCaSet::new` and
    /// `server_config`.
    pub fn load_client_cas(&self) -> Result<Vec<(CaBinding, Vec<u8>)>, PkiError> {
        self.ca_cert_paths()
            .into_iter()
            .map(|(b, p)| read(&p).map(|pem| (b, pem)))
            .collect()
    }
}

/// File stem of a CA: `exchange-ca` or `ca-SH` etc.
fn ca_stem(ca: CaBinding) -> String {
    match ca {
        CaBinding::Exchange => "exchange-ca".to_owned(),
        CaBinding::Party(p) => format!("ca-{}", p.code()),
    }
}

fn pair(dir: &Path, stem: &str) -> CertKeyPaths {
    CertKeyPaths {
        cert: dir.join(format!("{stem}.crt")),
        key: dir.join(format!("{stem}.key")),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(io_err(path))
}

fn read_string(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(io_err(path))
}

fn make_dir(dir: &Path) -> Result<(), PkiError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir))
}

/// Write through `<path>.tmp` (created 0600 for keys) and rename, so readers never see a
/// partial file and a key is never readable by others, not even for an instant.
fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&tmp)(e)),
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    file.write_all(contents).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

fn write_pair(files: &CertKeyPaths, cert_pem: &str, key: &KeyPair) -> Result<(), PkiError> {
    // Key first: a certificate on disk without its key would look like a half pair.
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert_pem.as_bytes(), 0o644)
}

/// Whether both files of a pair exist; an error when only one does.
fn pair_exists(files: &CertKeyPaths) -> Result<bool, PkiError> {
    match (files.cert.exists(), files.key.exists()) {
        (true, true) => Ok(true),
        (false, false) => Ok(false),
        (true, false) => Err(PkiError::HalfPair {
            present: files.cert.clone(),
            missing: files.key.clone(),
        }),
        (false, true) => Err(PkiError::HalfPair {
            present: files.key.clone(),
            missing: files.cert.clone(),
        }),
    }
}

/// A random positive 128-bit serial (RFC 5280 wants unpredictable, positive, ≤ 20 bytes).
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Random)?;
    if let Some(first) = bytes.first_mut() {
        *first &= 0x7f;
        // A leading zero byte would be stripped by DER; keep the serial a stable 16 bytes.
        *first |= 0x01;
    }
    Ok(SerialNumber::from_slice(&bytes))
}

fn gen_key(what: &str) -> Result<KeyPair, PkiError> {
    // P-256 (rcgen's default): readable by OpenSSL 3.0, curl and Python, unlike Ed25519.
    KeyPair::generate().map_err(|source| PkiError::Generate {
        what: what.to_owned(),
        source,
    })
}

fn subject(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_common_name(ca: CaBinding) -> String {
    match ca {
        CaBinding::Exchange => "penex exchange CA".to_owned(),
        CaBinding::Party(p) => format!("penex {} party CA", p.code()),
    }
}

/// A CA loaded from disk: the rcgen issuer and the CA's notAfter (leaves must not outlive it).
struct LoadedCa {
    issuer: Issuer<'static, KeyPair>,
    not_after: OffsetDateTime,
}

fn generate_ca(ca: CaBinding, files: &CertKeyPaths) -> Result<(), PkiError> {
    let what = ca_stem(ca);
    let key = gen_key(&what)?;
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(&ca_common_name(ca));
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + CA_VALIDITY;
    params.serial_number = Some(random_serial()?);
    // Path length 0: a party CA can issue leaves but never mint a sub-CA that escapes review.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params
        .self_signed(&key)
        .map_err(|source| PkiError::Generate { what, source })?;
    write_pair(files, &cert.pem(), &key)
}

fn load_ca(files: &CertKeyPaths) -> Result<LoadedCa, PkiError> {
    let cert_pem = read_string(&files.cert)?;
    let key_pem = read_string(&files.key)?;
    let unusable = |path: &Path, reason: String| PkiError::Unusable {
        path: path.to_owned(),
        reason,
    };
    let key = KeyPair::from_pem(&key_pem).map_err(|e| unusable(&files.key, e.to_string()))?;
    let der = pem_cert_der(&cert_pem).map_err(|r| unusable(&files.cert, r))?;
    let (_, x509) =
        X509Certificate::from_der(&der).map_err(|e| unusable(&files.cert, e.to_string()))?;
    // A mismatched key would sign leaves that never verify; catch it here, by name.
    if x509.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(unusable(
            &files.key,
            format!("key does not belong to {}", files.cert.display()),
        ));
    }
    let not_after = x509.validity().not_after.to_datetime();
    let issuer = Issuer::from_ca_cert_der(&der.into(), key)
        .map_err(|e| unusable(&files.cert, e.to_string()))?;
    Ok(LoadedCa { issuer, not_after })
}

/// The DER of the single certificate in a PEM text.
fn pem_cert_der(pem: &str) -> Result<Vec<u8>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|d| d.as_ref().to_vec())
        .map_err(|e| e.to_string())
}

/// What a leaf certificate is for.
enum Leaf<'a> {
    Server,
    Publisher,
    Client { role: Role, code: &'a str },
}

fn issue_leaf(ca: &LoadedCa, leaf: &Leaf<'_>, files: &CertKeyPaths) -> Result<(), PkiError> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = (now + LEAF_VALIDITY).min(ca.not_after);
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let what = match leaf {
        Leaf::Server => {
            params.distinguished_name = subject("localhost");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.subject_alt_names =
                vec![
                    SanType::DnsName("localhost".try_into().map_err(|source| {
                        PkiError::Generate {
                            what: "server".to_owned(),
                            source,
                        }
                    })?),
                    SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                ];
            "server".to_owned()
        }
        Leaf::Publisher => {
            let uri = PUBLISHER_URI.to_owned();
            params.distinguished_name = subject("penex-publisher");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params.subject_alt_names =
                vec![SanType::URI(uri.as_str().try_into().map_err(|source| {
                    PkiError::Generate {
                        what: uri.clone(),
                        source,
                    }
                })?)];
            uri
        }
        Leaf::Client { role, code } => {
            let uri = principal_uri(*role, code)?;
            params.distinguished_name = subject(code);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params.subject_alt_names =
                vec![SanType::URI(uri.as_str().try_into().map_err(|source| {
                    PkiError::Generate {
                        what: uri.clone(),
                        source,
                    }
                })?)];
            uri
        }
    };
    let key = gen_key(&what)?;
    let cert = params
        .signed_by(&key, &ca.issuer)
        .map_err(|source| PkiError::Generate { what, source })?;
    write_pair(files, &cert.pem(), &key)
}

/// Create the dev PKI in `dir`, or load it if it is already there. Idempotent: existing pairs are
/// kept; missing ones are created (a new lead unit gets its certificate on the next start). If a
/// CA had to be created, its leaves are reissued, since old ones could not chain to it.
pub fn ensure_dev_pki(dir: &Path, leads: &[(String, Party)]) -> Result<DevPki, PkiError> {
    let mut seen = std::collections::BTreeSet::new();
    for (code, _) in leads {
        principal_uri(Role::Unit, code)?;
        // Lead files share `clients/` with the service principals; a clash would hand one
        // principal's key to another.
        let clashes = SERVICE_PRINCIPALS
            .iter()
            .any(|(_, c, stem)| code == c || code == stem)
            || code == "publisher";
        if clashes || !seen.insert(code.as_str()) {
            return Err(PkiError::DuplicateCode(code.clone()));
        }
    }
    make_dir(dir)?;
    let clients_dir = dir.join("clients");
    make_dir(&clients_dir)?;

    let mut fresh: BTreeMap<CaBinding, bool> = BTreeMap::new();
    let mut loaded: BTreeMap<CaBinding, LoadedCa> = BTreeMap::new();
    for ca in CaBinding::ALL {
        let files = pair(dir, &ca_stem(ca));
        let exists = pair_exists(&files)?;
        if !exists {
            generate_ca(ca, &files)?;
        }
        fresh.insert(ca, !exists);
        loaded.insert(ca, load_ca(&files)?);
    }
    let ca_of = |b: CaBinding| {
        loaded.get(&b).ok_or_else(|| PkiError::Unusable {
            path: dir.join(format!("{}.crt", ca_stem(b))),
            reason: "CA not loaded".to_owned(),
        })
    };
    let needs_issue = |files: &CertKeyPaths, ca: CaBinding| -> Result<bool, PkiError> {
        Ok(fresh.get(&ca).copied().unwrap_or(true) || !pair_exists(files)?)
    };

    let server = pair(dir, "server");
    if needs_issue(&server, CaBinding::Exchange)? {
        issue_leaf(ca_of(CaBinding::Exchange)?, &Leaf::Server, &server)?;
    }

    let publisher = pair(&clients_dir, "publisher");
    if needs_issue(&publisher, CaBinding::Exchange)? {
        issue_leaf(ca_of(CaBinding::Exchange)?, &Leaf::Publisher, &publisher)?;
    }

    let mut clients = BTreeMap::new();
    let lead_principals = leads.iter().map(|(code, party)| {
        (
            Role::Unit,
            code.as_str(),
            code.as_str(),
            CaBinding::Party(*party),
        )
    });
    let service_principals = SERVICE_PRINCIPALS
        .iter()
        .map(|(role, code, stem)| (*role, *code, *stem, CaBinding::Exchange));
    for (role, code, stem, ca) in lead_principals.chain(service_principals) {
        let files = pair(&clients_dir, stem);
        if needs_issue(&files, ca)? {
            issue_leaf(ca_of(ca)?, &Leaf::Client { role, code }, &files)?;
        }
        clients.insert(code.to_owned(), ClientPaths { role, ca, files });
    }

    Ok(DevPki {
        dir: dir.to_owned(),
        server,
        publisher,
        exchange_ca: pair(dir, &ca_stem(CaBinding::Exchange)),
        party_cas: Party::ALL
            .into_iter()
            .map(|p| (p, pair(dir, &ca_stem(CaBinding::Party(p)))))
            .collect(),
        clients,
    })
}

/// Issue a client certificate for `role`/`code` from the CA `ca` stored in `dir`, writing
/// `out_dir/<code>.crt` and `out_dir/<code>.key` (never overwriting). Refuses a role the CA is
/// not bound to. Whether a unit code belongs to the CA's party is the registry's business.
pub fn issue_client_cert(
    dir: &Path,
    ca: CaBinding,
    role: Role,
    code: &str,
    out_dir: &Path,
) -> Result<(PathBuf, PathBuf), PkiError> {
    if !ca.may_speak_for(role) {
        return Err(PkiError::WrongCa { ca, role });
    }
    principal_uri(role, code)?;
    let ca_files = pair(dir, &ca_stem(ca));
    let loaded = load_ca(&ca_files)?;
    make_dir(out_dir)?;
    let files = pair(out_dir, code);
    for path in [&files.cert, &files.key] {
        if path.exists() {
            return Err(PkiError::Exists(path.clone()));
        }
    }
    issue_leaf(&loaded, &Leaf::Client { role, code }, &files)?;
    Ok((files.cert, files.key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn leads() -> Vec<(String, Party)> {
        vec![
            ("SH-310000".to_owned(), Party::Shanghai),
            ("JS-320000".to_owned(), Party::Jiangsu),
            ("ZJ-330000".to_owned(), Party::Zhejiang),
            ("AH-340000".to_owned(), Party::Anhui),
        ]
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn fp(p: &Path) -> String {
        let der = pem_cert_der(&fs::read_to_string(p).unwrap()).unwrap();
        crate::tls::identity::fingerprint(&der)
    }

    #[test]
    fn layout_modes_and_idempotence() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let pki = ensure_dev_pki(&dir, &leads()).unwrap();
        let expected = [
            "exchange-ca.crt",
            "exchange-ca.key",
            "ca-SH.crt",
            "ca-SH.key",
            "ca-JS.crt",
            "ca-JS.key",
            "ca-ZJ.crt",
            "ca-ZJ.key",
            "ca-AH.crt",
            "ca-AH.key",
            "server.crt",
            "server.key",
            "clients/SH-310000.crt",
            "clients/JS-320000.key",
            "clients/integrator.crt",
            "clients/integrator.key",
            "clients/analyst.crt",
            "clients/analyst.key",
            "clients/operator.crt",
            "clients/operator.key",
            "clients/publisher.crt",
            "clients/publisher.key",
        ];
        for f in expected {
            assert!(dir.join(f).is_file(), "{f}");
        }
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("clients")), 0o700);
        let mut keys = vec![pki.server.key.clone(), pki.exchange_ca.key.clone()];
        keys.extend(pki.party_cas.values().map(|f| f.key.clone()));
        keys.extend(pki.clients.values().map(|c| c.files.key.clone()));
        keys.push(pki.publisher.key.clone());
        assert_eq!(keys.len(), 2 + 4 + 4 + 3 + 1);
        for k in &keys {
            assert_eq!(mode(k), 0o600, "{}", k.display());
        }
        assert_eq!(pki.clients.len(), 7);
        let analyst = pki.clients.get("analyst-1").unwrap();
        assert_eq!(
            (analyst.role, analyst.ca),
            (Role::Analyst, CaBinding::Exchange)
        );
        let js = pki.clients.get("JS-320000").unwrap();
        assert_eq!(
            (js.role, js.ca),
            (Role::Unit, CaBinding::Party(Party::Jiangsu))
        );
        assert!(
            fs::read_dir(&dir)
                .unwrap()
                .all(|e| { !e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
        );

        let all_certs: Vec<PathBuf> = std::iter::once(pki.server.cert.clone())
            .chain(pki.ca_cert_paths().into_iter().map(|(_, p)| p))
            .chain(pki.clients.values().map(|c| c.files.cert.clone()))
            .collect();
        let before: Vec<String> = all_certs.iter().map(|p| fp(p)).collect();
        let key_before = fs::read(&pki.exchange_ca.key).unwrap();
        let again = ensure_dev_pki(&dir, &leads()).unwrap();
        assert_eq!(again, pki);
        let after: Vec<String> = all_certs.iter().map(|p| fp(p)).collect();
        assert_eq!(before, after);
        assert_eq!(fs::read(&pki.exchange_ca.key).unwrap(), key_before);

        // A new lead gets a certificate; the others stay as they were.
        let mut more = leads();
        more.push(("JS-320100".to_owned(), Party::Jiangsu));
        let third = ensure_dev_pki(&dir, &more).unwrap();
        assert!(third.clients.contains_key("JS-320100"));
        let after: Vec<String> = all_certs.iter().map(|p| fp(p)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn half_pairs_and_bad_codes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        ensure_dev_pki(dir, &[]).unwrap();
        fs::remove_file(dir.join("ca-ZJ.key")).unwrap();
        assert!(matches!(
            ensure_dev_pki(dir, &[]),
            Err(PkiError::HalfPair { .. })
        ));

        let tmp = tempfile::tempdir().unwrap();
        let bad = vec![("JS 320000".to_owned(), Party::Jiangsu)];
        assert!(matches!(
            ensure_dev_pki(tmp.path(), &bad),
            Err(PkiError::Principal(_))
        ));
        // Nothing was written for a refused request.
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
        for clash in [
            vec![("analyst".to_owned(), Party::Anhui)],
            vec![("integrator-1".to_owned(), Party::Anhui)],
            vec![
                ("AH-340000".to_owned(), Party::Anhui),
                ("AH-340000".to_owned(), Party::Anhui),
            ],
        ] {
            assert!(matches!(
                ensure_dev_pki(tmp.path(), &clash),
                Err(PkiError::DuplicateCode(_))
            ));
        }
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn regenerated_ca_reissues_its_leaves() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let pki = ensure_dev_pki(dir, &leads()).unwrap();
        let sh = pki.clients.get("SH-310000").unwrap().files.cert.clone();
        let js = pki.clients.get("JS-320000").unwrap().files.cert.clone();
        let (sh0, js0) = (fp(&sh), fp(&js));
        fs::remove_file(dir.join("ca-SH.crt")).unwrap();
        fs::remove_file(dir.join("ca-SH.key")).unwrap();
        ensure_dev_pki(dir, &leads()).unwrap();
        assert_ne!(fp(&sh), sh0);
        assert_eq!(fp(&js), js0);
    }

    #[test]
    fn mismatched_ca_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        ensure_dev_pki(dir, &[]).unwrap();
        fs::copy(dir.join("ca-AH.key"), dir.join("ca-SH.key")).unwrap();
        let err = issue_client_cert(
            dir,
            CaBinding::Party(Party::Shanghai),
            Role::Unit,
            "SH-310101",
            &dir.join("out"),
        )
        .unwrap_err();
        assert!(matches!(err, PkiError::Unusable { .. }), "{err}");
    }

    #[test]
    fn issue_client_cert_enforces_bindings() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        ensure_dev_pki(dir, &[]).unwrap();
        let out = dir.join("issued");
        let table: &[(CaBinding, Role, bool)] = &[
            (CaBinding::Party(Party::Jiangsu), Role::Unit, true),
            (CaBinding::Party(Party::Anhui), Role::Unit, true),
            (CaBinding::Exchange, Role::Unit, false),
            (CaBinding::Party(Party::Jiangsu), Role::Analyst, false),
            (CaBinding::Party(Party::Shanghai), Role::Integrator, false),
            (CaBinding::Party(Party::Zhejiang), Role::Operator, false),
            (CaBinding::Exchange, Role::Analyst, true),
            (CaBinding::Exchange, Role::Integrator, true),
            (CaBinding::Exchange, Role::Operator, true),
        ];
        for (i, (ca, role, ok)) in table.iter().enumerate() {
            let code = format!("p-{i}");
            let got = issue_client_cert(dir, *ca, *role, &code, &out);
            assert_eq!(got.is_ok(), *ok, "{ca} {role:?}");
            if !ok {
                assert!(matches!(got, Err(PkiError::WrongCa { .. })));
                assert!(!out.join(format!("{code}.key")).exists());
            } else {
                let (crt, key) = got.unwrap();
                assert_eq!(mode(&key), 0o600);
                assert!(crt.is_file());
            }
        }
        // Never overwrites.
        assert!(matches!(
            issue_client_cert(dir, CaBinding::Exchange, Role::Analyst, "p-6", &out),
            Err(PkiError::Exists(_))
        ));
        assert!(matches!(
            issue_client_cert(dir, CaBinding::Exchange, Role::Analyst, "../x", &out),
            Err(PkiError::Principal(_))
        ));
    }
}
