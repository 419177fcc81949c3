//! Personal data at rest (个人信息): AES-256-GCM encryption of values such as a natural person's
//! ID number, and keyed blind indexes so the store can find a subject by ID number without
//! holding it in clear.
//!
//! Must not depend on: HTTP, SQL, the store, logging. Only `ring`.
//!
//! Invariants:
//! - Blob layout: `VERSION (1 byte) ‖ key_id (1 byte) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16)`.
//!   The first two bytes are authenticated too (they are prepended to the caller's AAD), so a
//!   blob cannot be relabelled with another key id or version.
//! - Nonces are 96 random bits from the system RNG. Rotate the encryption key long before
//!   2^32 encryptions under one key.
//! - The blind index is HMAC-SHA256(index_key, kind ‖ 0x00 ‖ value), hex: deterministic, keyed,
//!   domain-separated by `kind`. It stays stable while encryption keys rotate only if the index
//!   key is kept; changing the index key means re-indexing (see
//!   [`PiiKeyring::blind_index_candidates`]).
//! - Errors and `Debug` output never contain keys, plaintext or ciphertext.

use std::collections::BTreeMap;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};

use super::CryptoError;

/// The blob format version written by this build.
pub const VERSION: u8 = 1;

const HEADER_LEN: usize = 2;
const TAG_LEN: usize = 16;

/// Blind-index kind of a resident ID number (居民身份证号码).
pub const KIND_RESIDENT_ID: &str = "resident_id";

/// One generation of personal-data keys: an AES-256-GCM key, an HMAC key for blind indexes,
/// and the one-byte id written into every blob it encrypts.
pub struct PiiCipher {
    key_id: u8,
    aead: LessSafeKey,
    index: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiCipher")
            .field("key_id", &self.key_id)
            .field("keys", &"***")
            .finish()
    }
}

impl PiiCipher {
    /// Builds a cipher from a 32-byte encryption key, a 32-byte index key and the key id.
    pub fn new(enc_key: [u8; 32], index_key: [u8; 32], key_id: u8) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &enc_key)
            .map_err(|_| CryptoError::KeyRejected("AES-256-GCM key"))?;
        Ok(Self {
            key_id,
            aead: LessSafeKey::new(unbound),
            index: hmac::Key::new(hmac::HMAC_SHA256, &index_key),
            rng: SystemRandom::new(),
        })
    }

    /// The id written into blobs this cipher encrypts.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// Encrypts `plaintext`, binding it to `aad` (e.g. the table, column and row id, so a blob
    /// copied to another row does not decrypt).
    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.encrypt_bytes(plaintext.as_bytes(), aad)
    }

    /// Encrypts bytes (attachments), as [`PiiCipher::encrypt`] does text.
    pub fn encrypt_bytes(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Rng)?;
        let header = [VERSION, self.key_id];
        let mut in_out = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(full_aad(header, aad)),
                &mut in_out,
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + in_out.len());
        blob.extend_from_slice(&header);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&in_out);
        Ok(blob)
    }

    /// Decrypts a blob written by [`PiiCipher::encrypt`] under this key id with the same `aad`.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt_bytes(blob, aad)?).map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts a blob written by [`PiiCipher::encrypt_bytes`] under this key id.
    pub fn decrypt_bytes(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let parsed = parse_blob(blob)?;
        if parsed.key_id != self.key_id {
            return Err(CryptoError::UnknownKeyId(parsed.key_id));
        }
        let mut in_out = parsed.sealed.to_vec();
        let plain = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(parsed.nonce),
                Aad::from(full_aad([VERSION, parsed.key_id], aad)),
                &mut in_out,
            )
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }

    /// Blind index of a normalized value: hex(HMAC-SHA256(index_key, kind ‖ 0x00 ‖ value)).
    /// `kind` (e.g. [`KIND_RESIDENT_ID`]) separates domains; it is a code constant and must not
    /// contain NUL. `normalized_value` must already be in canonical form (upper-case `X`,
    /// 18 digits), or equal values will not meet.
    pub fn blind_index(&self, kind: &str, normalized_value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.index);
        ctx.update(kind.as_bytes());
        ctx.update(&[0]);
        ctx.update(normalized_value.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }
}

/// The keys of all generations still needed: one current (encrypts, indexes) and any number of
/// retired ones (decrypt only), so encryption keys can rotate without re-encrypting at once.
#[derive(Debug)]
pub struct PiiKeyring {
    current: u8,
    ciphers: BTreeMap<u8, PiiCipher>,
}

impl PiiKeyring {
    /// A keyring whose current cipher is `current`.
    pub fn new(current: PiiCipher) -> Self {
        let id = current.key_id;
        Self {
            current: id,
            ciphers: BTreeMap::from([(id, current)]),
        }
    }

    /// Adds a retired cipher, used only to decrypt blobs that carry its key id.
    pub fn with_retired(mut self, retired: PiiCipher) -> Result<Self, CryptoError> {
        if self.ciphers.contains_key(&retired.key_id) {
            return Err(CryptoError::DuplicateKeyId(retired.key_id.to_string()));
        }
        self.ciphers.insert(retired.key_id, retired);
        Ok(self)
    }

    /// The current cipher.
    pub fn current(&self) -> Result<&PiiCipher, CryptoError> {
        self.ciphers
            .get(&self.current)
            .ok_or(CryptoError::UnknownKeyId(self.current))
    }

    /// Encrypts with the current key.
    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.current()?.encrypt(plaintext, aad)
    }

    /// Decrypts with whichever key the blob names.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt_bytes(blob, aad)?).map_err(|_| CryptoError::Decrypt)
    }

    /// Encrypts bytes with the current key.
    pub fn encrypt_bytes(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.current()?.encrypt_bytes(plaintext, aad)
    }

    /// Decrypts bytes with whichever key the blob names.
    pub fn decrypt_bytes(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let parsed = parse_blob(blob)?;
        self.ciphers
            .get(&parsed.key_id)
            .ok_or(CryptoError::UnknownKeyId(parsed.key_id))?
            .decrypt_bytes(blob, aad)
    }

    /// Whether a blob was written under an older key and should be re-encrypted. Malformed
    /// blobs count as stale.
    pub fn is_stale(&self, blob: &[u8]) -> bool {
        parse_blob(blob).map_or(true, |p| p.key_id != self.current)
    }

    /// Blind index under the current key; see [`PiiCipher::blind_index`].
    pub fn blind_index(&self, kind: &str, normalized_value: &str) -> Result<String, CryptoError> {
        Ok(self.current()?.blind_index(kind, normalized_value))
    }

    /// Blind indexes under every key of the ring, current first, without repeats; a lookup may
    /// match any of them while rows are being re-indexed after an index-key change.
    pub fn blind_index_candidates(&self, kind: &str, normalized_value: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(self.ciphers.len());
        let current = self.ciphers.get(&self.current);
        let others = self.ciphers.values().filter(|c| c.key_id != self.current);
        for cipher in current.into_iter().chain(others) {
            let idx = cipher.blind_index(kind, normalized_value);
            if !out.contains(&idx) {
                out.push(idx);
            }
        }
        out
    }
}

struct ParsedBlob<'a> {
    key_id: u8,
    nonce: [u8; NONCE_LEN],
    sealed: &'a [u8],
}

fn parse_blob(blob: &[u8]) -> Result<ParsedBlob<'_>, CryptoError> {
    let (&version, rest) = blob
        .split_first()
        .ok_or(CryptoError::Malformed("empty ciphertext"))?;
    if version != VERSION {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    let (&key_id, rest) = rest
        .split_first()
        .ok_or(CryptoError::Malformed("ciphertext too short"))?;
    let (nonce, sealed) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(CryptoError::Malformed("ciphertext too short"))?;
    if sealed.len() < TAG_LEN {
        return Err(CryptoError::Malformed("ciphertext too short"));
    }
    Ok(ParsedBlob {
        key_id,
        nonce: *nonce,
        sealed,
    })
}

/// The header is fixed-length, so `header ‖ aad` is unambiguous.
fn full_aad(header: [u8; HEADER_LEN], aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(HEADER_LEN + aad.len());
    full.extend_from_slice(&header);
    full.extend_from_slice(aad);
    full
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ring::digest;

    const ID: &str = "11010519491231002X";

    fn cipher(id: u8) -> PiiCipher {
        PiiCipher::new([id; 32], [0x42; 32], id).unwrap()
    }

    /// HMAC-SHA256 written out from RFC 2104 over plain SHA-256, independent of `ring::hmac`.
    fn reference_hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(digest::digest(&digest::SHA256, key).as_ref());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = digest::Context::new(&digest::SHA256);
        inner.update(&k.map(|b| b ^ 0x36));
        inner.update(msg);
        let mut outer = digest::Context::new(&digest::SHA256);
        outer.update(&k.map(|b| b ^ 0x5c));
        outer.update(inner.finish().as_ref());
        outer.finish().as_ref().try_into().unwrap()
    }

    #[test]
    fn reference_hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hex::encode(reference_hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn round_trip_and_layout() {
        let c = cipher(3);
        for plain in ["", ID, "张三丰", "a\u{0}b"] {
            let blob = c.encrypt(plain, b"records.id_no:42").unwrap();
            assert_eq!(blob.len(), 2 + 12 + plain.len() + 16);
            assert_eq!(blob[0], VERSION);
            assert_eq!(blob[1], 3);
            assert_eq!(c.decrypt(&blob, b"records.id_no:42").unwrap(), plain);
        }
    }

    #[test]
    fn wrong_aad_fails() {
        let c = cipher(1);
        let blob = c.encrypt(ID, b"row:1").unwrap();
        assert!(matches!(
            c.decrypt(&blob, b"row:2"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(c.decrypt(&blob, b""), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn wrong_key_fails() {
        let blob = cipher(1).encrypt(ID, b"").unwrap();
        let same_id_other_key = PiiCipher::new([9; 32], [0x42; 32], 1).unwrap();
        assert!(matches!(
            same_id_other_key.decrypt(&blob, b""),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            cipher(2).decrypt(&blob, b""),
            Err(CryptoError::UnknownKeyId(1))
        ));
    }

    #[test]
    fn two_encryptions_differ() {
        let c = cipher(1);
        let a = c.encrypt(ID, b"").unwrap();
        let b = c.encrypt(ID, b"").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[2..14], b[2..14], "nonces must differ");
    }

    #[test]
    fn ciphertext_does_not_contain_plaintext() {
        let blob = cipher(1).encrypt(ID, b"").unwrap();
        assert!(!blob.windows(ID.len()).any(|w| w == ID.as_bytes()));
    }

    #[test]
    fn short_or_unknown_blobs_are_errors() {
        let c = cipher(1);
        assert!(matches!(
            c.decrypt(&[], b""),
            Err(CryptoError::Malformed(_))
        ));
        assert!(matches!(
            c.decrypt(&[1], b""),
            Err(CryptoError::Malformed(_))
        ));
        assert!(matches!(
            c.decrypt(&[1, 1, 0, 0], b""),
            Err(CryptoError::Malformed(_))
        ));
        assert!(matches!(
            c.decrypt(&[1u8; 29], b""),
            Err(CryptoError::Malformed(_))
        ));
        let mut blob = c.encrypt(ID, b"").unwrap();
        blob[0] = 2;
        assert!(matches!(
            c.decrypt(&blob, b""),
            Err(CryptoError::UnsupportedVersion(2))
        ));
    }

    #[test]
    fn keyring_rotation() {
        let old = cipher(1);
        let old_blob = old.encrypt(ID, b"r").unwrap();
        let ring = PiiKeyring::new(cipher(2)).with_retired(old).unwrap();
        assert_eq!(ring.decrypt(&old_blob, b"r").unwrap(), ID);
        assert!(ring.is_stale(&old_blob));
        let new_blob = ring.encrypt(ID, b"r").unwrap();
        assert_eq!(new_blob[1], 2);
        assert!(!ring.is_stale(&new_blob));
        assert_eq!(ring.decrypt(&new_blob, b"r").unwrap(), ID);
        assert!(matches!(
            PiiKeyring::new(cipher(2)).decrypt(&old_blob, b"r"),
            Err(CryptoError::UnknownKeyId(1))
        ));
        assert!(PiiKeyring::new(cipher(2)).with_retired(cipher(2)).is_err());
        // Same index key in both generations: one candidate only.
        assert_eq!(ring.blind_index_candidates(KIND_RESIDENT_ID, ID).len(), 1);
        let ring = ring
            .with_retired(PiiCipher::new([7; 32], [7; 32], 7).unwrap())
            .unwrap();
        let candidates = ring.blind_index_candidates(KIND_RESIDENT_ID, ID);
        assert_eq!(candidates.len(), 2);
        assert_eq!(
            candidates[0],
            ring.blind_index(KIND_RESIDENT_ID, ID).unwrap()
        );
    }

    #[test]
    fn blind_index_matches_reference_and_is_domain_separated() {
        let c = cipher(1);
        let idx = c.blind_index(KIND_RESIDENT_ID, ID);
        assert_eq!(idx.len(), 64);
        assert_eq!(
            idx,
            hex::encode(reference_hmac(
                &[0x42; 32],
                b"resident_id\x0011010519491231002X"
            ))
        );
        assert_eq!(idx, c.blind_index(KIND_RESIDENT_ID, ID));
        assert_ne!(idx, c.blind_index("passport", ID));
        assert_ne!(c.blind_index("ab", "c"), c.blind_index("a", "bc"));
        let other_index_key = PiiCipher::new([1; 32], [0x43; 32], 1).unwrap();
        assert_ne!(idx, other_index_key.blind_index(KIND_RESIDENT_ID, ID));
        // The encryption key does not enter the index.
        assert_eq!(idx, cipher(9).blind_index(KIND_RESIDENT_ID, ID));
    }

    #[test]
    fn debug_hides_keys() {
        let c = PiiCipher::new([0xab; 32], [0xcd; 32], 5).unwrap();
        let d = format!("{c:?}");
        let d = format!("{d} {:?}", PiiKeyring::new(c));
        assert!(d.contains("***") && !d.contains("abab") && !d.contains("171"));
    }

    proptest! {
        #[test]
        fn round_trip_any(plain in ".{0,80}", aad in proptest::collection::vec(any::<u8>(), 0..40)) {
            let c = cipher(4);
            let blob = c.encrypt(&plain, &aad).unwrap();
            prop_assert_eq!(c.decrypt(&blob, &aad).unwrap(), plain);
        }

        #[test]
        fn any_bit_flip_fails(plain in ".{0,40}", pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let c = cipher(4);
            let mut blob = c.encrypt(&plain, b"aad").unwrap();
            let i = pos.index(blob.len());
            blob[i] ^= 1 << bit;
            prop_assert!(c.decrypt(&blob, b"aad").is_err());
        }

        #[test]
        fn decrypt_never_panics(blob in proptest::collection::vec(any::<u8>(), 0..64)) {
            let ring = PiiKeyring::new(cipher(1));
            let _ = ring.decrypt(&blob, b"");
            let _ = ring.is_stale(&blob);
        }

        #[test]
        fn blind_index_matches_reference(kind in "[a-z_]{1,12}", value in ".{0,30}") {
            let c = cipher(1);
            let mut msg = kind.as_bytes().to_vec();
            msg.push(0);
            msg.extend_from_slice(value.as_bytes());
            prop_assert_eq!(c.blind_index(&kind, &value), hex::encode(reference_hmac(&[0x42; 32], &msg)));
        }
    }
}
