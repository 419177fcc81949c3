//! Who a client certificate says it is: the issuing CA, the one principal it names, and whether
//! that CA may speak for that principal.
//!
//! Owns: [`CaBinding`], [`ClientCaSet`], [`PeerClaim`], the `urn:penex:<role>:<code>` principal
//! URI format, and [`IdentityError`].
//! Must not depend on: actix, diesel, the registry. Whether a unit code belongs to its CA's party
//! and is enabled is the caller's check against the registry; this module only says what the
//! certificate claims and which CA vouches for it.
//!
//! Invariants:
//! - a claim is only produced for a certificate whose issuer name equals a trusted CA's subject
//!   AND whose signature verifies with that CA's key (X-Road: identity only from a certificate
//!   bound to an approved CA);
//! - a party CA (`SH`, `JS`, `ZJ`, `AH`) speaks only for `unit` principals, the exchange CA only
//!   for `integrator`, `analyst` and `operator` — anything else is refused;
//! - the principal comes only from exactly one `urn:penex:` SAN URI; the CN is informative;
//! - error messages name certificates by issuer and fingerprint, never carry key material.

use std::fmt;
use std::str::FromStr;

use ring::digest;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::time::ASN1Time;

use crate::domain::party::{Party, Role};

/// The scheme prefix of a principal SAN URI.
pub const PRINCIPAL_URI_PREFIX: &str = "urn:penex:";

/// Longest principal code accepted (unit code or a name like `analyst-1`).
pub const MAX_CODE_LEN: usize = 64;

/// The longest excerpt of certificate-supplied text echoed into an error (log-line hygiene).
const MAX_ECHO_CHARS: usize = 96;

/// What a CA is bound to speak for (签发机构绑定).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaBinding {
    /// A party's CA: issues certificates for that party's member units only.
    Party(Party),
    /// The exchange CA: the server certificate, integrators, analysts and operators.
    Exchange,
}

impl CaBinding {
    /// Every binding, parties in GB/T 2260 order, then the exchange.
    pub const ALL: [CaBinding; 5] = [
        CaBinding::Party(Party::Shanghai),
        CaBinding::Party(Party::Jiangsu),
        CaBinding::Party(Party::Zhejiang),
        CaBinding::Party(Party::Anhui),
        CaBinding::Exchange,
    ];

    /// The code used in files, config and logs: `SH`, `JS`, `ZJ`, `AH` or `exchange`.
    pub fn code(self) -> &'static str {
        match self {
            CaBinding::Party(p) => p.code(),
            CaBinding::Exchange => "exchange",
        }
    }

    /// Whether this CA may issue certificates for `role`.
    pub fn may_speak_for(self, role: Role) -> bool {
        matches!(
            (self, role),
            (CaBinding::Party(_), Role::Unit)
                | (
                    CaBinding::Exchange,
                    Role::Integrator | Role::Analyst | Role::Operator
                )
        )
    }
}

impl fmt::Display for CaBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for CaBinding {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "exchange" {
            return Ok(CaBinding::Exchange);
        }
        // Exact codes only: config is machine-written and case slips should surface.
        Party::ALL
            .into_iter()
            .find(|p| p.code() == s)
            .map(CaBinding::Party)
            .ok_or_else(|| IdentityError::UnknownBinding(echo(s)))
    }
}

impl Serialize for CaBinding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for CaBinding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a verified client certificate claims, and which CA vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerClaim {
    /// The role named in the principal URI.
    pub role: Role,
    /// The unit code or principal name named in the principal URI.
    pub code: String,
    /// The trusted CA that issued the certificate.
    pub ca: CaBinding,
    /// Lower-case hex SHA-256 of the certificate DER, for logs and audit.
    pub fingerprint: String,
}

/// Why a certificate (or a CA) was not accepted. Messages are fit for a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A configured CA certificate could not be read.
    #[error("CA certificate for {binding} is unusable: {reason}")]
    InvalidCa {
        /// The binding it was configured for.
        binding: CaBinding,
        /// What is wrong with it.
        reason: String,
    },
    /// The same CA was configured under two different bindings.
    #[error("one CA certificate is configured for both {first} and {second}")]
    CaBoundTwice {
        /// The first binding.
        first: CaBinding,
        /// The conflicting binding.
        second: CaBinding,
    },
    /// Text that should be a CA binding is not one.
    #[error("unknown CA binding {0:?}: expected SH, JS, ZJ, AH or exchange")]
    UnknownBinding(String),
    /// The client certificate is not parseable DER X.509.
    #[error("client certificate is malformed: {0}")]
    Malformed(String),
    /// The current time is before the certificate's notBefore.
    #[error("client certificate {fingerprint} is not valid before {not_before}")]
    NotYetValid {
        /// Certificate fingerprint.
        fingerprint: String,
        /// notBefore, RFC 2822-ish as x509-parser prints it.
        not_before: String,
    },
    /// The current time is after the certificate's notAfter.
    #[error("client certificate {fingerprint} expired at {not_after}")]
    Expired {
        /// Certificate fingerprint.
        fingerprint: String,
        /// notAfter.
        not_after: String,
    },
    /// No trusted CA both carries the issuer name and verifies the signature.
    #[error("client certificate {fingerprint} was not issued by any trusted CA (issuer {issuer})")]
    UnknownIssuer {
        /// Certificate fingerprint.
        fingerprint: String,
        /// The issuer name the certificate carries.
        issuer: String,
    },
    /// Two CAs of different bindings verify the same certificate (a shared CA key).
    #[error("client certificate {fingerprint} verifies under both {first} and {second}")]
    AmbiguousIssuer {
        /// Certificate fingerprint.
        fingerprint: String,
        /// One binding.
        first: CaBinding,
        /// The other binding.
        second: CaBinding,
    },
    /// The certificate is a CA certificate, not an end entity.
    #[error("client certificate {fingerprint} is a CA certificate")]
    IsCa {
        /// Certificate fingerprint.
        fingerprint: String,
    },
    /// The certificate lacks the clientAuth extended key usage.
    #[error("client certificate {fingerprint} is not valid for client authentication")]
    NotClientAuth {
        /// Certificate fingerprint.
        fingerprint: String,
    },
    /// No `urn:penex:` SAN URI.
    #[error("client certificate {fingerprint} names no urn:penex: principal")]
    NoPrincipal {
        /// Certificate fingerprint.
        fingerprint: String,
    },
    /// More than one `urn:penex:` SAN URI: a certificate names exactly one principal.
    #[error("client certificate {fingerprint} names {count} urn:penex: principals, expected one")]
    MultiplePrincipals {
        /// Certificate fingerprint.
        fingerprint: String,
        /// How many it names.
        count: usize,
    },
    /// The principal URI does not have the form `urn:penex:<role>:<code>`.
    #[error("bad principal {uri:?}: {reason}")]
    BadPrincipal {
        /// The URI (truncated).
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The issuing CA is not bound to the claimed role.
    #[error("CA {ca} may not speak for role {role} (certificate {fingerprint})", role = role.as_str())]
    BindingViolation {
        /// Certificate fingerprint.
        fingerprint: String,
        /// The issuing CA.
        ca: CaBinding,
        /// The role claimed.
        role: Role,
    },
}

/// Truncate attacker-supplied text before it goes into an error, a log line, or both.
fn echo(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_ECHO_CHARS).collect();
    if s.chars().nth(MAX_ECHO_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Whether `code` is a valid principal code: `[A-Za-z0-9._-]{1,64}`.
pub fn is_valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The SAN URI naming a principal: `urn:penex:<role>:<code>`.
pub fn principal_uri(role: Role, code: &str) -> Result<String, IdentityError> {
    if !is_valid_code(code) {
        return Err(IdentityError::BadPrincipal {
            uri: echo(&format!("{PRINCIPAL_URI_PREFIX}{}:{code}", role.as_str())),
            reason: "code must match [A-Za-z0-9._-]{1,64}".to_owned(),
        });
    }
    Ok(format!("{PRINCIPAL_URI_PREFIX}{}:{code}", role.as_str()))
}

/// Parse `urn:penex:<role>:<code>` into its role and code. Exact and case-sensitive: the URI is
/// machine-issued, so any variation means a certificate penex did not mean to accept.
pub fn parse_principal_uri(uri: &str) -> Result<(Role, String), IdentityError> {
    let bad = |reason: &str| IdentityError::BadPrincipal {
        uri: echo(uri),
        reason: reason.to_owned(),
    };
    let rest = uri
        .strip_prefix(PRINCIPAL_URI_PREFIX)
        .ok_or_else(|| bad("missing urn:penex: prefix"))?;
    let (role, code) = rest
        .split_once(':')
        .ok_or_else(|| bad("expected urn:penex:<role>:<code>"))?;
    let role: Role = role.parse().map_err(|_| bad("unknown role"))?;
    if !is_valid_code(code) {
        return Err(bad("code must match [A-Za-z0-9._-]{1,64}"));
    }
    Ok((role, code.to_owned()))
}

/// Lower-case hex SHA-256 of a certificate's DER.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, der))
}

/// One trusted CA: its binding and its certificate DER (re-parsed on use; there are a handful).
#[derive(Debug, Clone)]
struct TrustedCa {
    binding: CaBinding,
    der: Vec<u8>,
    pem: Vec<u8>,
}

/// The client CAs the server trusts, each bound to what it may speak for.
#[derive(Debug, Clone)]
pub struct ClientCaSet {
    cas: Vec<TrustedCa>,
}

impl ClientCaSet {
    /// Build the set from `(binding, CA certificate PEM)` pairs. Each PEM must hold exactly one
    /// CA certificate (basicConstraints CA). A binding may appear more than once (rotation);
    /// one certificate under two bindings is refused.
    pub fn new(cas: Vec<(CaBinding, Vec<u8>)>) -> Result<Self, IdentityError> {
        let mut trusted: Vec<TrustedCa> = Vec::with_capacity(cas.len());
        for (binding, pem) in cas {
            let invalid = |reason: String| IdentityError::InvalidCa { binding, reason };
            let mut certs = CertificateDer::pem_slice_iter(&pem);
            let der = match certs.next() {
                Some(Ok(der)) => der.as_ref().to_vec(),
                Some(Err(e)) => return Err(invalid(format!("bad PEM: {e}"))),
                None => return Err(invalid("no certificate in PEM".to_owned())),
            };
            if certs.next().is_some() {
                return Err(invalid("PEM holds more than one certificate".to_owned()));
            }
            let (rest, cert) = X509Certificate::from_der(&der)
                .map_err(|e| invalid(format!("bad certificate: {e}")))?;
            if !rest.is_empty() {
                return Err(invalid("trailing bytes after certificate".to_owned()));
            }
            let is_ca = cert
                .basic_constraints()
                .map_err(|e| invalid(format!("bad basicConstraints: {e}")))?
                .is_some_and(|bc| bc.value.ca);
            if !is_ca {
                return Err(invalid("not a CA certificate".to_owned()));
            }
            if let Some(other) = trusted
                .iter()
                .find(|t| t.der == der && t.binding != binding)
            {
                return Err(IdentityError::CaBoundTwice {
                    first: other.binding,
                    second: binding,
                });
            }
            trusted.push(TrustedCa { binding, der, pem });
        }
        Ok(Self { cas: trusted })
    }

    /// The CA certificates as given (PEM), for the TLS layer's root store.
    pub fn pems(&self) -> Vec<Vec<u8>> {
        self.cas.iter().map(|c| c.pem.clone()).collect()
    }

    /// The bindings configured, in the order given.
    pub fn bindings(&self) -> Vec<CaBinding> {
        self.cas.iter().map(|c| c.binding).collect()
    }

    /// Identify the end-entity certificate the TLS layer accepted, at the current time.
    pub fn identify(&self, end_entity_der: &[u8]) -> Result<PeerClaim, IdentityError> {
        self.identify_at(end_entity_der, ASN1Time::now())
    }

    /// Identify the end-entity certificate as of `now` (separate so expiry is testable).
    pub fn identify_at(
        &self,
        end_entity_der: &[u8],
        now: ASN1Time,
    ) -> Result<PeerClaim, IdentityError> {
        let fp = fingerprint(end_entity_der);
        let (rest, cert) = X509Certificate::from_der(end_entity_der)
            .map_err(|e| IdentityError::Malformed(echo(&e.to_string())))?;
        if !rest.is_empty() {
            return Err(IdentityError::Malformed(
                "trailing bytes after certificate".to_owned(),
            ));
        }

        let validity = cert.validity();
        if now < validity.not_before {
            return Err(IdentityError::NotYetValid {
                fingerprint: fp,
                not_before: validity.not_before.to_string(),
            });
        }
        if now > validity.not_after {
            return Err(IdentityError::Expired {
                fingerprint: fp,
                not_after: validity.not_after.to_string(),
            });
        }

        let ca = self.issuing_ca(&cert, &fp)?;

        let is_ca = cert
            .basic_constraints()
            .map_err(|e| IdentityError::Malformed(echo(&e.to_string())))?
            .is_some_and(|bc| bc.value.ca);
        if is_ca {
            return Err(IdentityError::IsCa { fingerprint: fp });
        }
        // The TLS verifier already demands clientAuth; checked again so `identify` is safe to
        // call on certificates that reached it some other way.
        let client_auth = cert
            .extended_key_usage()
            .map_err(|e| IdentityError::Malformed(echo(&e.to_string())))?
            .is_some_and(|eku| eku.value.client_auth);
        if !client_auth {
            return Err(IdentityError::NotClientAuth { fingerprint: fp });
        }

        let uris: Vec<&str> = cert
            .subject_alternative_name()
            .map_err(|e| IdentityError::Malformed(echo(&e.to_string())))?
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        GeneralName::URI(u) => Some(*u),
                        _ => None,
                    })
                    .filter(|u| u.starts_with(PRINCIPAL_URI_PREFIX))
                    .collect()
            })
            .unwrap_or_default();
        let uri = match uris.as_slice() {
            [] => return Err(IdentityError::NoPrincipal { fingerprint: fp }),
            [one] => *one,
            many => {
                return Err(IdentityError::MultiplePrincipals {
                    fingerprint: fp,
                    count: many.len(),
                });
            }
        };
        let (role, code) = parse_principal_uri(uri)?;

        if !ca.may_speak_for(role) {
            return Err(IdentityError::BindingViolation {
                fingerprint: fp,
                ca,
                role,
            });
        }
        Ok(PeerClaim {
            role,
            code,
            ca,
            fingerprint: fp,
        })
    }

    /// The binding of the CA whose subject is the certificate's issuer and whose key verifies
    /// its signature. Name alone is not enough: anyone can mint a CA with a copied name.
    fn issuing_ca(&self, cert: &X509Certificate<'_>, fp: &str) -> Result<CaBinding, IdentityError> {
        let mut found: Option<CaBinding> = None;
        for ca in &self.cas {
            let Ok((_, ca_cert)) = X509Certificate::from_der(&ca.der) else {
                continue; // validated in `new`; unreachable in practice
            };
            if ca_cert.subject().as_raw() != cert.issuer().as_raw() {
                continue;
            }
            if cert.verify_signature(Some(ca_cert.public_key())).is_err() {
                continue;
            }
            match found {
                None => found = Some(ca.binding),
                Some(first) if first != ca.binding => {
                    return Err(IdentityError::AmbiguousIssuer {
                        fingerprint: fp.to_owned(),
                        first,
                        second: ca.binding,
                    });
                }
                Some(_) => {}
            }
        }
        found.ok_or_else(|| IdentityError::UnknownIssuer {
            fingerprint: fp.to_owned(),
            issuer: echo(&cert.issuer().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn principal_uri_table() {
        let cases: &[(&str, Option<(Role, &str)>)] = &[
            ("urn:penex:unit:JS-320100", Some((Role::Unit, "JS-320100"))),
            (
                "urn:penex:analyst:analyst-1",
                Some((Role::Analyst, "analyst-1")),
            ),
            (
                "urn:penex:integrator:a.b_c-9",
                Some((Role::Integrator, "a.b_c-9")),
            ),
            (
                "urn:penex:operator:operator-1",
                Some((Role::Operator, "operator-1")),
            ),
            ("urn:penex:unit:", None),
            ("urn:penex:unit", None),
            ("urn:penex:admin:x", None),
            ("urn:penex:Unit:x", None),
            ("URN:PENEX:unit:x", None),
            ("urn:other:unit:x", None),
            ("urn:penex:unit:a:b", None),
            ("urn:penex:unit:a b", None),
            ("urn:penex:unit:江苏", None),
            ("urn:penex:unit:a/b", None),
        ];
        for (uri, want) in cases {
            let got = parse_principal_uri(uri).ok();
            let want = want.map(|(r, c)| (r, c.to_owned()));
            assert_eq!(got, want, "{uri}");
        }
        let long = "a".repeat(65);
        assert!(parse_principal_uri(&format!("urn:penex:unit:{long}")).is_err());
        assert!(parse_principal_uri(&format!("urn:penex:unit:{}", "a".repeat(64))).is_ok());
    }

    #[test]
    fn bindings_table() {
        let all_roles = [Role::Unit, Role::Integrator, Role::Analyst, Role::Operator];
        for b in CaBinding::ALL {
            for r in all_roles {
                let want = match b {
                    CaBinding::Party(_) => r == Role::Unit,
                    CaBinding::Exchange => r != Role::Unit,
                };
                assert_eq!(b.may_speak_for(r), want, "{b} {r:?}");
            }
            assert_eq!(b.code().parse::<CaBinding>().unwrap(), b);
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(json, format!("\"{}\"", b.code()));
            assert_eq!(serde_json::from_str::<CaBinding>(&json).unwrap(), b);
        }
        assert!("sh".parse::<CaBinding>().is_err());
        assert!("Exchange".parse::<CaBinding>().is_err());
    }

    #[test]
    fn ca_set_refuses_non_ca_and_empty_pem() {
        let err = ClientCaSet::new(vec![(CaBinding::Exchange, b"nothing".to_vec())]).unwrap_err();
        assert!(matches!(err, IdentityError::InvalidCa { .. }), "{err}");
        let leaf = rcgen::generate_simple_self_signed(vec!["x".to_owned()]).unwrap();
        let err = ClientCaSet::new(vec![(CaBinding::Exchange, leaf.cert.pem().into_bytes())])
            .unwrap_err();
        assert!(err.to_string().contains("not a CA"), "{err}");
    }

    #[test]
    fn identify_rejects_garbage() {
        let set = ClientCaSet::new(vec![]).unwrap();
        assert!(matches!(
            set.identify(b"\x30\x03\x02\x01\x00"),
            Err(IdentityError::Malformed(_))
        ));
        assert!(matches!(
            set.identify(b""),
            Err(IdentityError::Malformed(_))
        ));
    }

    #[test]
    fn echo_truncates_by_chars() {
        let s = "江".repeat(200);
        let e = echo(&s);
        assert_eq!(e.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(echo("short"), "short");
    }

    fn role_strategy() -> impl Strategy<Value = Role> {
        prop_oneof![
            Just(Role::Unit),
            Just(Role::Integrator),
            Just(Role::Analyst),
            Just(Role::Operator),
        ]
    }

    proptest! {
        #[test]
        fn principal_uri_round_trips(role in role_strategy(), code in "[A-Za-z0-9._-]{1,64}") {
            let uri = principal_uri(role, &code).unwrap();
            prop_assert_eq!(parse_principal_uri(&uri).unwrap(), (role, code));
        }

        #[test]
        fn codes_outside_the_alphabet_are_refused(
            role in role_strategy(),
            pre in "[A-Za-z0-9]{0,5}",
            bad in "[^A-Za-z0-9._-]",
            post in "[A-Za-z0-9]{0,5}",
        ) {
            let code = format!("{pre}{bad}{post}");
            prop_assert!(principal_uri(role, &code).is_err());
            let uri = format!("urn:penex:{}:{code}", role.as_str());
            prop_assert!(parse_principal_uri(&uri).is_err());
        }

        #[test]
        fn parse_never_panics_and_validates(s in "\\PC{0,100}") {
            if let Ok((role, code)) = parse_principal_uri(&s) {
                prop_assert!(is_valid_code(&code));
                prop_assert_eq!(principal_uri(role, &code).unwrap(), s);
            }
        }
    }
}
