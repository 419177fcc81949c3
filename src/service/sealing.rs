//! Sealing personal data inside JSON documents before they are stored, and unsealing (then
//! masking, unless the reader is the deciding unit) on the way out.
//!
//! A sealed value is the string `enc:v1:<base64url(blob)>` where blob is the AES-256-GCM output
//! of [`crate::crypto::pii`]. The associated data names the kind of field, so a sealed value
//! cannot be moved to another kind of field.

use crate::crypto::CryptoError;
use crate::crypto::pii::PiiKeyring;
use crate::domain::mask::mask_id_no;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

const PREFIX: &str = "enc:v1:";
const AAD: &[u8] = b"penex:id_no";

/// Whether a JSON string is a sealed value.
pub fn is_sealed(s: &str) -> bool {
    s.starts_with(PREFIX)
}

/// Seals one string value.
pub fn seal_str(keyring: &PiiKeyring, plaintext: &str) -> Result<String, CryptoError> {
    let blob = keyring.encrypt(plaintext, AAD)?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(blob)))
}

/// Opens one sealed value.
pub fn unseal_str(keyring: &PiiKeyring, sealed: &str) -> Result<String, CryptoError> {
    let b64 = sealed
        .strip_prefix(PREFIX)
        .ok_or(CryptoError::Malformed("not a sealed value"))?;
    let blob = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| CryptoError::Malformed("sealed value is not base64url"))?;
    keyring.decrypt(&blob, AAD)
}

/// Seals the string at each JSON Pointer that exists (numbers are sealed as their text).
pub fn seal_pointers(
    keyring: &PiiKeyring,
    doc: &mut Value,
    pointers: &[String],
) -> Result<(), CryptoError> {
    for p in pointers {
        if let Some(v) = doc.pointer_mut(p) {
            let plain = match v {
                Value::String(s) if !is_sealed(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if let Some(plain) = plain {
                *v = Value::String(seal_str(keyring, &plain)?);
            }
        }
    }
    Ok(())
}

/// How sealed values are shown to a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// In clear: only for the deciding unit.
    Clear,
    /// Masked (`3101**********123X`): everyone else.
    Masked,
}

/// Replaces every sealed string anywhere in `doc` by its clear or masked value. A value that
/// cannot be opened is shown as `***` (and logged), never as ciphertext.
pub fn reveal(keyring: &PiiKeyring, doc: &mut Value, how: Reveal) {
    match doc {
        Value::String(s) if is_sealed(s) => {
            *s = match unseal_str(keyring, s) {
                Ok(plain) if how == Reveal::Clear => plain,
                Ok(plain) => mask_id_no(&plain),
                Err(e) => {
                    tracing::error!(error = %e, "a sealed value could not be opened");
                    "***".to_owned()
                }
            };
        }
        Value::Array(items) => items.iter_mut().for_each(|v| reveal(keyring, v, how)),
        Value::Object(map) => map.values_mut().for_each(|v| reveal(keyring, v, how)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::pii::PiiCipher;

    fn ring() -> PiiKeyring {
        PiiKeyring::new(PiiCipher::new([7; 32], [9; 32], 1).unwrap())
    }

    #[test]
    fn sealed_values_hide_the_number_and_reveal_masked_or_clear() {
        let k = ring();
        let mut doc =
            serde_json::json!({"subject": {"id_no": "11010519491231002X", "name": "张三"}});
        seal_pointers(&k, &mut doc, &["/subject/id_no".into(), "/nope".into()]).unwrap();
        let stored = doc.to_string();
        assert!(!stored.contains("11010519491231002X"));
        assert!(!stored.contains("1101051949"));
        let mut masked = doc.clone();
        reveal(&k, &mut masked, Reveal::Masked);
        assert_eq!(masked["subject"]["id_no"], mask_id_no("11010519491231002X"));
        assert_ne!(masked["subject"]["id_no"], "11010519491231002X");
        let mut clear = doc;
        reveal(&k, &mut clear, Reveal::Clear);
        assert_eq!(clear["subject"]["id_no"], "11010519491231002X");
    }

    #[test]
    fn a_tampered_seal_is_never_shown_as_ciphertext() {
        let k = ring();
        let mut doc = serde_json::json!({"id": "x"});
        seal_pointers(&k, &mut doc, &["/id".into()]).unwrap();
        let s = doc["id"].as_str().unwrap().to_owned();
        let mut tampered = serde_json::json!({"id": format!("{s}A")});
        reveal(&k, &mut tampered, Reveal::Clear);
        assert_eq!(tampered["id"], "***");
    }
}
