//! Cryptography of penex, built on `ring`: JWS signing and JWKS for events pushed to the credit
//! platform (`jws`), encryption and blind indexes for personal data at rest (`pii`), the audit
//! hash chain (`audit`) and key material on disk (`keys`).
//!
//! Must not depend on: actix, diesel, HTTP, SQL, the store. Pure functions over bytes, plus the
//! file system for `keys`.
//!
//! Invariants: no error, `Debug` output or log line ever carries key bytes or plaintext; no
//! function panics on any input; verification fails closed (unknown key, unknown algorithm,
//! malformed input are errors, never a pass).

pub mod audit;
pub mod jws;
pub mod keys;
pub mod pii;

use std::path::PathBuf;

/// Errors of the crypto layer. Messages name what went wrong and, for files, the path — never
/// key bytes, plaintext or ciphertext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A JWS, JWK or encrypted blob is not well formed.
    #[error("malformed input: {0}")]
    Malformed(&'static str),
    /// The JWS names a key id that the key set does not hold (or holds more than once).
    #[error("unknown or ambiguous key id")]
    UnknownKid,
    /// The JWS header names an algorithm other than the selected key's (including `none`).
    #[error("algorithm not accepted for this key")]
    AlgorithmRejected,
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// Key material could not be parsed or is unusable.
    #[error("key rejected: {0}")]
    KeyRejected(&'static str),
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
    /// Encryption failed.
    #[error("encryption failed")]
    Encrypt,
    /// Decryption failed: wrong key, wrong associated data, or tampered ciphertext.
    #[error("decryption failed")]
    Decrypt,
    /// An encrypted blob names a format version this build does not know.
    #[error("unsupported ciphertext version {0}")]
    UnsupportedVersion(u8),
    /// An encrypted blob names a key id the keyring does not hold.
    #[error("unknown encryption key id {0}")]
    UnknownKeyId(u8),
    /// A keyring was given two keys with the same id.
    #[error("duplicate key id {0}")]
    DuplicateKeyId(String),
    /// A key file is readable or writable by group or others.
    #[error("key file {path} has mode {mode:o}; expected 0600 or stricter")]
    InsecurePermissions {
        /// The offending file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file has the wrong length or content.
    #[error("key file {path} is invalid: {reason}")]
    InvalidKeyFile {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file-system operation on key material failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `create dir` ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
