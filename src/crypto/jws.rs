//! JWS compact serialization (RFC 7515) for the events penex pushes to the credit platform, and
//! the JWK / JWKS documents (RFC 7517) integrators fetch from `/.well-known/jwks.json`.
//!
//! Must not depend on: HTTP, SQL, the store. Only `ring`, `base64`, `serde`.
//!
//! Invariants:
//! - The algorithm sits behind [`Signer`] so that an SM2 signer can be added; Ed25519 is the
//!   only one implemented, named by the fully specified `alg` `Ed25519` (RFC 9864); keys made
//!   before 2026-12 keep the deprecated `EdDSA` (RFC 8037) they signed with.
//! - [`verify_compact`] selects the key by `kid` and accepts exactly the algorithm that key is
//!   bound to: `none` and algorithm confusion are impossible. Any `crit` header is rejected
//!   (penex understands no extensions, RFC 7515 §4.1.11).
//! - Base64url is decoded strictly (no padding, no stray trailing bits), so every distinct
//!   string maps to distinct bytes and any change of a valid JWS fails verification.
//! - No input makes verification panic.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use super::CryptoError;

/// The fully specified JWS `alg` of Ed25519 signatures (RFC 9864 §2.2): what every key made
/// since 2026-12 is bound to.
pub const ALG_ED25519: &str = "Ed25519";

/// The polymorphic JWS `alg` of RFC 8037 §3.1, deprecated by RFC 9864: keys made before
/// 2026-12 stay bound to it, so that the events they signed still verify.
pub const ALG_EDDSA: &str = "EdDSA";

/// Something that signs JWS signing inputs with one key. Implemented by [`Ed25519Signer`];
/// an SM2 signer can be added without touching callers.
pub trait Signer: Send + Sync {
    /// The JWS `alg` this signer produces (`Ed25519`, or `EdDSA` for a key made before).
    fn alg(&self) -> &'static str;
    /// The key id published in the JWKS and written into every header.
    fn kid(&self) -> &str;
    /// Signs `signing_input` (`BASE64URL(header) '.' BASE64URL(payload)`).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// The public key as a JWK, for the JWKS.
    fn public_jwk(&self) -> Jwk;
}

/// An Ed25519 signing key with its key id and the one JWS `alg` it is bound to: `Ed25519`
/// (RFC 9864), or `EdDSA` (RFC 8037) for a key made before 2026-12.
pub struct Ed25519Signer {
    kid: String,
    key: Ed25519KeyPair,
    alg: &'static str,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key", &"***")
            .finish()
    }
}

impl Ed25519Signer {
    /// Generates a fresh key. Returns the signer and its PKCS#8 (v2) document, which the
    /// caller must store as a secret.
    pub fn generate(kid: impl Into<String>) -> Result<(Self, Vec<u8>), CryptoError> {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CryptoError::Rng)?;
        let pkcs8 = doc.as_ref().to_vec();
        let signer = Self::from_pkcs8(kid, &pkcs8)?;
        Ok((signer, pkcs8))
    }

    /// Loads a key from a PKCS#8 document, v1 (private key only) or v2 (with public key),
    /// bound to `alg` `Ed25519`.
    pub fn from_pkcs8(kid: impl Into<String>, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|_| CryptoError::KeyRejected("not an Ed25519 PKCS#8 document"))?;
        Ok(Self {
            kid: kid.into(),
            key,
            alg: ALG_ED25519,
        })
    }

    /// The same key bound to the deprecated `alg` `EdDSA` instead: for a key made before
    /// 2026-12, whose published events say `EdDSA`.
    #[must_use]
    pub fn bound_to_eddsa(mut self) -> Self {
        self.alg = ALG_EDDSA;
        self
    }

    /// The raw 32-byte public key.
    pub fn public_key_bytes(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }
}

impl Signer for Ed25519Signer {
    fn alg(&self) -> &'static str {
        self.alg
    }

    fn kid(&self) -> &str {
        &self.kid
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.key.sign(signing_input).as_ref().to_vec())
    }

    fn public_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(self.public_key_bytes()),
            kid: self.kid.clone(),
            alg: self.alg.to_owned(),
            use_: "sig".to_owned(),
        }
    }
}

/// A public key as a JSON Web Key (RFC 7517; OKP keys per RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP` for Ed25519.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// Key id, matched against the JWS header's `kid`.
    pub kid: String,
    /// The one algorithm this key may be used with.
    pub alg: String,
    /// Intended use: `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JWK Set (RFC 7517 §5), as served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys; ids are unique.
    pub keys: Vec<Jwk>,
}

/// A JWS whose signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJws {
    /// The decoded protected header.
    pub header: serde_json::Value,
    /// The key id that verified it.
    pub kid: String,
    /// The decoded payload.
    pub payload: Vec<u8>,
}

/// The protected header penex writes; field order is fixed so output is reproducible.
#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// The security-relevant header fields. Deserializing into a struct makes a duplicated `alg`,
/// `kid` or `crit` an error instead of "last one wins".
#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Signs `payload` as a JWS in compact serialization with protected header
/// `{"alg":…,"kid":…,"typ":…}` (`typ` omitted when `None`).
pub fn sign_compact(
    signer: &dyn Signer,
    payload: &[u8],
    typ: Option<&str>,
) -> Result<String, CryptoError> {
    let header = HeaderOut {
        alg: signer.alg(),
        kid: signer.kid(),
        typ,
    };
    let header_json =
        serde_json::to_vec(&header).map_err(|_| CryptoError::Malformed("header not encodable"))?;
    sign_with_header(signer, &header_json, payload)
}

/// Signs with a caller-built protected header; kept private so that every penex JWS carries
/// the signer's own `alg` and `kid`.
fn sign_with_header(
    signer: &dyn Signer,
    header_json: &[u8],
    payload: &[u8],
) -> Result<String, CryptoError> {
    let mut out = URL_SAFE_NO_PAD.encode(header_json);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    let signature = signer.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut out);
    Ok(out)
}

/// The payload of a compact JWS (its second part, base64url without padding), NOT verified:
/// for reading back what penex signed and stored itself. Whoever must trust it verifies with
/// [`verify_compact`].
pub fn payload_of(compact: &str) -> Result<Vec<u8>, CryptoError> {
    let mut parts = compact.split('.');
    let (Some(_), Some(payload_b64), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::Malformed(
            "a compact JWS has exactly three parts",
        ));
    };
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| CryptoError::Malformed("payload is not base64url"))
}

/// Verifies a compact JWS against a key set: the key is selected by the header's `kid`, and the
/// header's `alg` must equal that key's `alg`. Every failure is an error; nothing panics.
pub fn verify_compact(jws: &str, jwks: &Jwks) -> Result<VerifiedJws, CryptoError> {
    let mut parts = jws.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::Malformed(
            "a compact JWS has exactly three parts",
        ));
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| CryptoError::Malformed("header is not base64url"))?;
    let header: serde_json::Value = serde_json::from_slice(&header_bytes)
        .map_err(|_| CryptoError::Malformed("header is not JSON"))?;
    if !header.is_object() {
        return Err(CryptoError::Malformed("header is not a JSON object"));
    }
    let fields: HeaderIn = serde_json::from_slice(&header_bytes)
        .map_err(|_| CryptoError::Malformed("header lacks alg or has duplicate fields"))?;
    if fields.crit.is_some() {
        return Err(CryptoError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    let kid = fields
        .kid
        .ok_or(CryptoError::Malformed("header has no kid"))?;

    let mut candidates = jwks.keys.iter().filter(|k| k.kid == kid);
    let (Some(jwk), None) = (candidates.next(), candidates.next()) else {
        return Err(CryptoError::UnknownKid);
    };
    // The key decides the algorithm; the header only has to agree with it.
    if fields.alg != jwk.alg {
        return Err(CryptoError::AlgorithmRejected);
    }
    let verifier = match (jwk.alg.as_str(), jwk.kty.as_str(), jwk.crv.as_str()) {
        (ALG_ED25519 | ALG_EDDSA, "OKP", "Ed25519") => &ED25519,
        _ => return Err(CryptoError::AlgorithmRejected),
    };
    if jwk.use_ != "sig" {
        return Err(CryptoError::KeyRejected("key is not a signing key"));
    }
    let public_key = URL_SAFE_NO_PAD
        .decode(&jwk.x)
        .map_err(|_| CryptoError::KeyRejected("x is not base64url"))?;
    if public_key.len() != 32 {
        return Err(CryptoError::KeyRejected(
            "Ed25519 public key must be 32 bytes",
        ));
    }

    let signature = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|_| CryptoError::Malformed("signature is not base64url"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| CryptoError::Malformed("payload is not base64url"))?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = jws
        .as_bytes()
        .get(..signing_input_len)
        .ok_or(CryptoError::Malformed("truncated"))?;
    UnparsedPublicKey::new(verifier, &public_key)
        .verify(signing_input, &signature)
        .map_err(|_| CryptoError::BadSignature)?;

    Ok(VerifiedJws {
        header,
        kid,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 8037 Appendix A.1.
    const RFC_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    // RFC 8037 Appendix A.4.
    const RFC_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc_signer(kid: &str) -> Ed25519Signer {
        let seed = URL_SAFE_NO_PAD.decode(RFC_D).unwrap();
        let public = URL_SAFE_NO_PAD.decode(RFC_X).unwrap();
        let key = Ed25519KeyPair::from_seed_and_public_key(&seed, &public).unwrap();
        // The RFC 8037 vector names the polymorphic `EdDSA`.
        Ed25519Signer {
            kid: kid.to_owned(),
            key,
            alg: ALG_EDDSA,
        }
    }

    fn signer() -> Ed25519Signer {
        Ed25519Signer::generate("k1").unwrap().0
    }

    fn jwks_of(signers: &[&Ed25519Signer]) -> Jwks {
        Jwks {
            keys: signers.iter().map(|s| s.public_jwk()).collect(),
        }
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn rfc8037_a4_vector_matches_byte_for_byte() {
        let s = rfc_signer("unused");
        let jws =
            sign_with_header(&s, br#"{"alg":"EdDSA"}"#, b"Example of Ed25519 signing").unwrap();
        assert_eq!(jws, RFC_JWS);
        assert_eq!(s.public_jwk().x, RFC_X);
    }

    #[test]
    fn rfc8037_vector_without_kid_is_rejected() {
        let s = rfc_signer("unused");
        assert!(matches!(
            verify_compact(RFC_JWS, &jwks_of(&[&s])),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn payload_of_reads_the_second_part_and_refuses_anything_else() {
        let s = signer();
        let payload = "{\"名称\":\"张三\",\"n\":1}".as_bytes();
        let jws = sign_compact(&s, payload, None).unwrap();
        assert_eq!(payload_of(&jws).unwrap(), payload);
        for bad in ["", "a.b", "a.b.c.d", "a.!!.c", "a.YQ=.c"] {
            assert!(
                matches!(payload_of(bad), Err(CryptoError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(payload_of("x.YWJj.y").unwrap(), b"abc");
    }

    #[test]
    fn round_trip_with_and_without_typ() {
        let s = signer();
        let jwks = jwks_of(&[&s]);
        for typ in [None, Some("penex-flag-event+jwt")] {
            let payload = br#"{"event":"flag.activated","seq":7,"name":"\u5f20"}"#;
            let jws = sign_compact(&s, payload, typ).unwrap();
            let v = verify_compact(&jws, &jwks).unwrap();
            assert_eq!(v.payload, payload);
            assert_eq!(payload_of(&jws).unwrap(), payload);
            assert_eq!(v.kid, "k1");
            assert_eq!(v.header["alg"], "Ed25519");
            assert_eq!(v.header["kid"], "k1");
            assert_eq!(v.header.get("typ").and_then(|t| t.as_str()), typ);
        }
    }

    #[test]
    fn header_is_alg_kid_typ_in_order() {
        let s = signer();
        let jws = sign_compact(&s, b"x", Some("JOSE")).unwrap();
        let header = URL_SAFE_NO_PAD
            .decode(jws.split('.').next().unwrap())
            .unwrap();
        assert_eq!(header, br#"{"alg":"Ed25519","kid":"k1","typ":"JOSE"}"#);
    }

    #[test]
    fn selects_key_by_kid_among_several() {
        let a = Ed25519Signer::generate("a").unwrap().0;
        let b = Ed25519Signer::generate("b").unwrap().0;
        let jwks = jwks_of(&[&a, &b]);
        let jws = sign_compact(&b, b"hello", None).unwrap();
        assert_eq!(verify_compact(&jws, &jwks).unwrap().kid, "b");
        // b's signature under a's kid must fail.
        let forged_header = b64(r#"{"alg":"Ed25519","kid":"a"}"#);
        let rest = jws.split_once('.').unwrap().1;
        let forged = format!("{forged_header}.{rest}");
        assert!(matches!(
            verify_compact(&forged, &jwks),
            Err(CryptoError::BadSignature)
        ));
    }

    #[test]
    fn tampering_is_rejected() {
        let s = signer();
        let jwks = jwks_of(&[&s]);
        let jws = sign_compact(&s, b"{\"fine_fen\":20000}", None).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();

        let payload = format!("{}.{}.{}", parts[0], b64("{\"fine_fen\":2000}"), parts[2]);
        assert!(matches!(
            verify_compact(&payload, &jwks),
            Err(CryptoError::BadSignature)
        ));

        let header = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"Ed25519","kid":"k1","typ":"x"}"#),
            parts[1],
            parts[2]
        );
        assert!(matches!(
            verify_compact(&header, &jwks),
            Err(CryptoError::BadSignature)
        ));

        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let signature = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
        assert!(matches!(
            verify_compact(&signature, &jwks),
            Err(CryptoError::BadSignature)
        ));
    }

    #[test]
    fn unknown_and_duplicate_kid_rejected() {
        let s = signer();
        let jws = sign_compact(&s, b"x", None).unwrap();
        let other = Ed25519Signer::generate("other").unwrap().0;
        assert!(matches!(
            verify_compact(&jws, &jwks_of(&[&other])),
            Err(CryptoError::UnknownKid)
        ));
        assert!(matches!(
            verify_compact(&jws, &Jwks::default()),
            Err(CryptoError::UnknownKid)
        ));
        let twin = Ed25519Signer::generate("k1").unwrap().0;
        assert!(matches!(
            verify_compact(&jws, &jwks_of(&[&s, &twin])),
            Err(CryptoError::UnknownKid)
        ));
    }

    #[test]
    fn alg_none_and_confusion_rejected() {
        let s = signer();
        let jwks = jwks_of(&[&s]);
        let payload = b64("x");
        for header in [
            r#"{"alg":"none","kid":"k1"}"#,
            r#"{"alg":"HS256","kid":"k1"}"#,
            r#"{"alg":"ES256","kid":"k1"}"#,
            r#"{"alg":"eddsa","kid":"k1"}"#,
        ] {
            for sig in ["", "AAAA"] {
                let jws = format!("{}.{payload}.{sig}", b64(header));
                assert!(
                    matches!(
                        verify_compact(&jws, &jwks),
                        Err(CryptoError::AlgorithmRejected)
                    ),
                    "{header}"
                );
            }
        }
        // A key whose JWK names another algorithm is not used for EdDSA.
        let mut odd = jwks.clone();
        odd.keys[0].alg = "none".to_owned();
        let jws = sign_compact(&s, b"x", None).unwrap();
        assert!(matches!(
            verify_compact(&jws, &odd),
            Err(CryptoError::AlgorithmRejected)
        ));
        let none_jws = format!("{}.{payload}.", b64(r#"{"alg":"none","kid":"k1"}"#));
        assert!(verify_compact(&none_jws, &odd).is_err());
    }

    #[test]
    fn malformed_inputs_rejected() {
        let s = signer();
        let jwks = jwks_of(&[&s]);
        let good = sign_compact(&s, b"x", None).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let cases = [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            format!("{good}."),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", b64("[1]"), parts[1], parts[2]),
            format!("{}.{}.{}", b64("not json"), parts[1], parts[2]),
            format!("{}.{}.{}", b64(r#"{"kid":"k1"}"#), parts[1], parts[2]),
            format!("{}.{}.{}", b64(r#"{"alg":"EdDSA"}"#), parts[1], parts[2]),
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"EdDSA","alg":"EdDSA","kid":"k1"}"#),
                parts[1],
                parts[2]
            ),
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"EdDSA","kid":"k1","crit":["b64"]}"#),
                parts[1],
                parts[2]
            ),
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"EdDSA","kid":7}"#),
                parts[1],
                parts[2]
            ),
            format!("{}.{}.{}", parts[0], parts[1], parts[2].get(..40).unwrap()),
            format!("{}.{}.{}", parts[0], "%%%", parts[2]),
        ];
        for case in &cases {
            assert!(verify_compact(case, &jwks).is_err(), "{case}");
        }
    }

    #[test]
    fn bad_jwk_rejected() {
        let s = signer();
        let jws = sign_compact(&s, b"x", None).unwrap();
        let mut jwks = jwks_of(&[&s]);
        jwks.keys[0].x = "short".to_owned();
        assert!(matches!(
            verify_compact(&jws, &jwks),
            Err(CryptoError::KeyRejected(_))
        ));
        let mut jwks = jwks_of(&[&s]);
        jwks.keys[0].use_ = "enc".to_owned();
        assert!(verify_compact(&jws, &jwks).is_err());
        let mut jwks = jwks_of(&[&s]);
        jwks.keys[0].crv = "X25519".to_owned();
        assert!(verify_compact(&jws, &jwks).is_err());
    }

    #[test]
    fn jwk_serializes_as_rfc8037_okp() {
        let s = rfc_signer("kid-1");
        let json = serde_json::to_string(&jwks_of(&[&s])).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{RFC_X}","kid":"kid-1","alg":"EdDSA","use":"sig"}}]}}"#
            )
        );
        let back: Jwks = serde_json::from_str(&json).unwrap();
        assert_eq!(back, jwks_of(&[&s]));
    }

    #[test]
    fn pkcs8_round_trip_and_garbage_rejected() {
        let (s, pkcs8) = Ed25519Signer::generate("k").unwrap();
        let again = Ed25519Signer::from_pkcs8("k", &pkcs8).unwrap();
        assert_eq!(s.public_key_bytes(), again.public_key_bytes());
        assert!(Ed25519Signer::from_pkcs8("k", b"garbage").is_err());
        let debug = format!("{s:?}");
        assert!(debug.contains("***") && !debug.contains(&hex::encode(&pkcs8[16..48])));
    }

    proptest! {
        #[test]
        fn verify_never_panics(input in ".{0,300}") {
            let s = rfc_signer("k1");
            let _ = verify_compact(&input, &jwks_of(&[&s]));
        }

        #[test]
        fn verify_never_panics_on_jws_shaped_input(
            a in "[A-Za-z0-9_=-]{0,60}", b in "[A-Za-z0-9_=-]{0,60}", c in "[A-Za-z0-9_=-]{0,100}"
        ) {
            let s = rfc_signer("k1");
            let input = format!("{a}.{b}.{c}");
            prop_assert!(verify_compact(&input, &jwks_of(&[&s])).is_err());
        }

        #[test]
        fn any_single_byte_change_fails(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            pos in any::<prop::sample::Index>(),
            replacement in 0x20u8..0x7f,
        ) {
            let s = rfc_signer("k1");
            let jwks = jwks_of(&[&s]);
            let jws = sign_compact(&s, &payload, Some("JOSE")).unwrap();
            prop_assert!(verify_compact(&jws, &jwks).is_ok());
            let mut bytes = jws.into_bytes();
            let i = pos.index(bytes.len());
            prop_assume!(bytes[i] != replacement);
            bytes[i] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(verify_compact(&changed, &jwks).is_err());
        }
    }
}
