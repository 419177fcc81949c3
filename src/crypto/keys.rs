//! Key material on disk: raw secrets (PII encryption and index keys) and the directory of
//! Ed25519 signing keys behind the JWKS.
//!
//! Must not depend on: HTTP, SQL, the store, logging of any key content. Only `std::fs`, `ring`
//! and the sibling `jws` module.
//!
//! Invariants:
//! - Key files are created with mode 0600 (directories 0700) and never read when group or
//!   others have any permission on them.
//! - A key file appears atomically with its full content (written to a temporary file, then
//!   hard-linked into place), so concurrent starts agree on one key and a crash never leaves a
//!   half-written key.
//! - Signing keys live in `<dir>/jws-ed25519-<kid>.pk8` (PKCS#8), bound to the JWS `alg`
//!   `Ed25519` (RFC 9864); keys made before 2026-12 live in `<dir>/ed25519-<kid>.pk8` and stay
//!   bound to `EdDSA`, so that what they signed still verifies. The file name is the binding:
//!   one file, written atomically, so a key never changes its `alg`. `<dir>/current` names the
//!   current kid. kid = the first 16 hex characters of SHA-256 of the raw public key, checked
//!   on load; two files holding one key are refused.
//! - No `Debug` output prints key bytes.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _};

use super::CryptoError;
use super::jws::{Ed25519Signer, Jwks, Signer as _};

/// Keys bound to `alg` `Ed25519` (RFC 9864), made since 2026-12.
const KEY_PREFIX: &str = "jws-ed25519-";
/// Keys made before 2026-12, bound to `alg` `EdDSA` (RFC 8037).
const EDDSA_KEY_PREFIX: &str = "ed25519-";
const KEY_SUFFIX: &str = ".pk8";
const CURRENT_FILE: &str = "current";
/// A PKCS#8 Ed25519 document is 85 bytes (v2) or 48 (v1); anything much larger is not a key.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// Loads the secret at `path`, or creates it with `len` random bytes (mode 0600, parent
/// directories 0700). Refuses a file whose mode grants anything to group or others, and one
/// whose length is not `len`.
pub fn load_or_create_secret(path: &Path, len: usize) -> Result<Vec<u8>, CryptoError> {
    match read_key_file(path) {
        Ok(bytes) => return check_len(path, bytes, len),
        Err(CryptoError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_0700(parent)?;
    }
    let mut secret = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| CryptoError::Rng)?;
    if create_key_file(path, &secret)? {
        Ok(secret)
    } else {
        // Another process won the race; its key is the key.
        check_len(path, read_key_file(path)?, len)
    }
}

fn check_len(path: &Path, bytes: Vec<u8>, len: usize) -> Result<Vec<u8>, CryptoError> {
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(CryptoError::InvalidKeyFile {
            path: path.to_owned(),
            reason: "unexpected length",
        })
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CryptoError {
    let path = path.to_owned();
    move |source| CryptoError::Io { op, path, source }
}

fn create_dir_0700(dir: &Path) -> Result<(), CryptoError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err("create dir", dir))
}

/// Reads a key file after checking, on the open handle, that its mode is 0600 or stricter.
fn read_key_file(path: &Path) -> Result<Vec<u8>, CryptoError> {
    let mut file = File::open(path).map_err(io_err("open", path))?;
    let meta = file.metadata().map_err(io_err("stat", path))?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CryptoError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    if !meta.is_file() || meta.len() > MAX_KEY_FILE_LEN {
        return Err(CryptoError::InvalidKeyFile {
            path: path.to_owned(),
            reason: "not a regular file of key size",
        });
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_err("read", path))?;
    Ok(bytes)
}

/// Creates `path` with `content` unless it already exists. Returns `false` if it existed.
fn create_key_file(path: &Path, content: &[u8]) -> Result<bool, CryptoError> {
    let tmp = temp_path(path)?;
    write_new_0600(&tmp, content)?;
    let linked = fs::hard_link(&tmp, path);
    let removed = fs::remove_file(&tmp).map_err(io_err("remove", &tmp));
    match linked {
        Ok(()) => {
            removed?;
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            removed?;
            Ok(false)
        }
        Err(e) => Err(io_err("link", path)(e)),
    }
}

/// Replaces `path` atomically with `content` (mode 0600).
fn replace_file(path: &Path, content: &[u8]) -> Result<(), CryptoError> {
    let tmp = temp_path(path)?;
    write_new_0600(&tmp, content)?;
    fs::rename(&tmp, path).map_err(io_err("rename", path))?;
    sync_parent(path)
}

fn write_new_0600(path: &Path, content: &[u8]) -> Result<(), CryptoError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("create", path))?;
    file.write_all(content).map_err(io_err("write", path))?;
    file.sync_all().map_err(io_err("sync", path))
}

fn temp_path(path: &Path) -> Result<PathBuf, CryptoError> {
    let mut nonce = [0u8; 8];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| CryptoError::Rng)?;
    let mut name = path
        .file_name()
        .ok_or(CryptoError::InvalidKeyFile {
            path: path.to_owned(),
            reason: "no file name",
        })?
        .to_os_string();
    name.push(format!(".tmp-{}", hex::encode(nonce)));
    Ok(path.with_file_name(name))
}

fn sync_parent(path: &Path) -> Result<(), CryptoError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync dir", parent))
}

/// The key id of a public key: the first 16 hex characters of its SHA-256.
pub fn kid_for(public_key: &[u8]) -> String {
    let mut hex = hex::encode(digest(&SHA256, public_key).as_ref());
    hex.truncate(16);
    hex
}

/// The signing keyring: one current Ed25519 key that signs, plus older ones kept so that
/// integrators can still verify what they signed.
pub struct SigningKeys {
    current: Ed25519Signer,
    /// Older keys, sorted by kid.
    retired: Vec<Ed25519Signer>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let retired: Vec<&str> = self.retired.iter().map(|k| k.kid()).collect();
        f.debug_struct("SigningKeys")
            .field("current", &self.current.kid())
            .field("retired", &retired)
            .field("keys", &"***")
            .finish()
    }
}

impl SigningKeys {
    /// Loads the keyring from `dir`, creating the directory and a first key if there is none.
    pub fn load_or_init(dir: &Path) -> Result<Self, CryptoError> {
        create_dir_0700(dir)?;
        let mut keys = load_keys(dir)?;
        if keys.is_empty() {
            let (signer, pkcs8) = generate()?;
            store_key(dir, &signer, &pkcs8)?;
            replace_file(&dir.join(CURRENT_FILE), signer.kid().as_bytes())?;
            // Reload: a concurrent start may have created its own first key.
            keys = load_keys(dir)?;
        }
        let current_path = dir.join(CURRENT_FILE);
        let current_kid = match (fs::read_to_string(&current_path), keys.as_slice()) {
            (Ok(kid), _) => kid.trim().to_owned(),
            // A crash between writing the first key and `current`: one key is unambiguous.
            (Err(e), [only]) if e.kind() == ErrorKind::NotFound => {
                let kid = only.kid().to_owned();
                replace_file(&current_path, kid.as_bytes())?;
                kid
            }
            (Err(e), _) => return Err(io_err("read", &current_path)(e)),
        };
        let (current, retired): (Vec<_>, Vec<_>) =
            keys.into_iter().partition(|k| k.kid() == current_kid);
        let current = current
            .into_iter()
            .next()
            .ok_or(CryptoError::InvalidKeyFile {
                path: current_path,
                reason: "names no key in the directory",
            })?;
        Ok(Self { current, retired })
    }

    /// Adds a new key to the keyring in `dir` and makes it current; older keys stay for
    /// verification. Running services pick it up when they reload. Returns the new kid.
    pub fn rotate(dir: &Path) -> Result<String, CryptoError> {
        // Validates the directory (permissions, current) before changing anything.
        Self::load_or_init(dir)?;
        let (signer, pkcs8) = generate()?;
        store_key(dir, &signer, &pkcs8)?;
        replace_file(&dir.join(CURRENT_FILE), signer.kid().as_bytes())?;
        Ok(signer.kid().to_owned())
    }

    /// The key that signs.
    pub fn current(&self) -> &Ed25519Signer {
        &self.current
    }

    /// The public keys of all signing keys, current first, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: std::iter::once(&self.current)
                .chain(&self.retired)
                .map(|k| k.public_jwk())
                .collect(),
        }
    }
}

fn generate() -> Result<(Ed25519Signer, Vec<u8>), CryptoError> {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| CryptoError::Rng)?;
    let pkcs8 = doc.as_ref().to_vec();
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| CryptoError::KeyRejected("generated key"))?;
    let signer = Ed25519Signer::from_pkcs8(kid_for(pair.public_key().as_ref()), &pkcs8)?;
    Ok((signer, pkcs8))
}

fn store_key(dir: &Path, signer: &Ed25519Signer, pkcs8: &[u8]) -> Result<(), CryptoError> {
    let path = dir.join(format!("{KEY_PREFIX}{}{KEY_SUFFIX}", signer.kid()));
    // A kid collision would mean the same public key: the file already holds this key.
    create_key_file(&path, pkcs8).map(|_| ())
}

/// Loads every `jws-ed25519-<kid>.pk8` and `ed25519-<kid>.pk8` in `dir`, sorted by kid,
/// checking each file's kid and that no key is held twice.
fn load_keys(dir: &Path) -> Result<Vec<Ed25519Signer>, CryptoError> {
    let mut keys = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let (kid, eddsa) = match (
            name.strip_prefix(KEY_PREFIX),
            name.strip_prefix(EDDSA_KEY_PREFIX),
        ) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => continue,
        };
        let Some(kid) = kid.strip_suffix(KEY_SUFFIX) else {
            continue;
        };
        let path = entry.path();
        let pkcs8 = read_key_file(&path)?;
        let signer =
            Ed25519Signer::from_pkcs8(kid, &pkcs8).map_err(|_| CryptoError::InvalidKeyFile {
                path: path.clone(),
                reason: "not an Ed25519 PKCS#8 key",
            })?;
        if kid_for(signer.public_key_bytes()) != kid {
            return Err(CryptoError::InvalidKeyFile {
                path,
                reason: "file name does not match the key's kid",
            });
        }
        if keys.iter().any(|k: &Ed25519Signer| k.kid() == kid) {
            return Err(CryptoError::InvalidKeyFile {
                path,
                reason: "another file in the directory holds the same key",
            });
        }
        keys.push(if eddsa {
            signer.bound_to_eddsa()
        } else {
            signer
        });
    }
    keys.sort_by(|a, b| a.kid().cmp(b.kid()));
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jws::{ALG_ED25519, ALG_EDDSA, sign_compact, verify_compact};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn secret_is_created_0600_and_reloaded() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/pii.key");
        let first = load_or_create_secret(&path, 32).unwrap();
        assert_eq!(first.len(), 32);
        assert_ne!(first, vec![0u8; 32]);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&tmp.path().join("a/b")), 0o700);
        assert_eq!(load_or_create_secret(&path, 32).unwrap(), first);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(tmp.path().join("a/b")).unwrap().count(), 1);
        let other = load_or_create_secret(&tmp.path().join("other.key"), 32).unwrap();
        assert_ne!(other, first);
    }

    #[test]
    fn wide_permissions_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k");
        load_or_create_secret(&path, 32).unwrap();
        for m in [0o644, 0o640, 0o604, 0o660, 0o700 | 0o007] {
            fs::set_permissions(&path, fs::Permissions::from_mode(m)).unwrap();
            let err = load_or_create_secret(&path, 32).unwrap_err();
            assert!(
                matches!(err, CryptoError::InsecurePermissions { .. }),
                "{m:o}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load_or_create_secret(&path, 32).is_ok());
    }

    #[test]
    fn wrong_length_is_refused_and_error_hides_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k");
        let secret = load_or_create_secret(&path, 32).unwrap();
        let err = load_or_create_secret(&path, 64).unwrap_err();
        assert!(matches!(err, CryptoError::InvalidKeyFile { .. }));
        let text = format!("{err} {err:?}");
        assert!(!text.contains(&hex::encode(&secret[..8])));
    }

    #[test]
    fn kid_is_sha256_prefix() {
        // SHA-256 of 32 zero bytes is 66687aad f862bd77 6c8fc18b 8e9f8e20 ...
        assert_eq!(kid_for(&[0u8; 32]), "66687aadf862bd77");
        let (signer, _) = generate().unwrap();
        let full = hex::encode(ring::digest::digest(&SHA256, signer.public_key_bytes()));
        assert!(full.starts_with(signer.kid()));
        assert_eq!(signer.kid().len(), 16);
    }

    #[test]
    fn signing_keys_init_reload_rotate() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("signing");
        let keys = SigningKeys::load_or_init(&dir).unwrap();
        let first = keys.current().kid().to_owned();
        assert_eq!(first, kid_for(keys.current().public_key_bytes()));
        assert_eq!(mode(&dir.join(format!("jws-ed25519-{first}.pk8"))), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let jws = sign_compact(keys.current(), b"event-1", None).unwrap();

        let again = SigningKeys::load_or_init(&dir).unwrap();
        assert_eq!(again.current().kid(), first);
        assert_eq!(again.jwks().keys.len(), 1);

        let second = SigningKeys::rotate(&dir).unwrap();
        assert_ne!(second, first);
        let rotated = SigningKeys::load_or_init(&dir).unwrap();
        assert_eq!(rotated.current().kid(), second);
        let jwks = rotated.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[0].kid, second);
        // Old signatures still verify; new ones carry the new kid.
        assert_eq!(verify_compact(&jws, &jwks).unwrap().kid, first);
        let jws2 = sign_compact(rotated.current(), b"event-2", None).unwrap();
        assert_eq!(verify_compact(&jws2, &jwks).unwrap().kid, second);
        let debug = format!("{rotated:?}");
        assert!(debug.contains("***") && debug.contains(&second));
    }

    #[test]
    fn missing_current_with_one_key_is_recovered_with_two_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let kid = SigningKeys::load_or_init(dir)
            .unwrap()
            .current()
            .kid()
            .to_owned();
        fs::remove_file(dir.join("current")).unwrap();
        assert_eq!(SigningKeys::load_or_init(dir).unwrap().current().kid(), kid);
        SigningKeys::rotate(dir).unwrap();
        fs::remove_file(dir.join("current")).unwrap();
        assert!(SigningKeys::load_or_init(dir).is_err());
        fs::write(dir.join("current"), "0000000000000000").unwrap();
        assert!(SigningKeys::load_or_init(dir).is_err());
    }

    #[test]
    fn tampered_key_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let kid = SigningKeys::load_or_init(dir)
            .unwrap()
            .current()
            .kid()
            .to_owned();
        let path = dir.join(format!("jws-ed25519-{kid}.pk8"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            SigningKeys::load_or_init(dir),
            Err(CryptoError::InsecurePermissions { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        // A key stored under another key's kid.
        let (other, pkcs8) = generate().unwrap();
        let fake = dir.join("jws-ed25519-0123456789abcdef.pk8");
        write_new_0600(&fake, &pkcs8).unwrap();
        assert!(matches!(
            SigningKeys::load_or_init(dir),
            Err(CryptoError::InvalidKeyFile { .. })
        ));
        fs::remove_file(&fake).unwrap();
        assert_ne!(other.kid(), kid);
        write_new_0600(&dir.join("ed25519-garbage.pk8"), b"not a key").unwrap();
        assert!(SigningKeys::load_or_init(dir).is_err());
    }

    /// A key made before 2026-12 (`ed25519-<kid>.pk8`) stays bound to `EdDSA`: what it
    /// signed verifies before and after a rotation, which makes an `Ed25519` key current; the
    /// JWKS states each key's own `alg`, and no header can borrow the other key's.
    #[test]
    fn keys_made_before_keep_eddsa_and_rotation_moves_to_ed25519() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        create_dir_0700(dir).unwrap();
        let (signer, pkcs8) = generate().unwrap();
        let old_kid = signer.kid().to_owned();
        write_new_0600(&dir.join(format!("ed25519-{old_kid}.pk8")), &pkcs8).unwrap();
        replace_file(&dir.join("current"), old_kid.as_bytes()).unwrap();

        let keys = SigningKeys::load_or_init(dir).unwrap();
        assert_eq!(keys.current().alg(), ALG_EDDSA);
        let old_event = sign_compact(keys.current(), b"event-1", None).unwrap();
        assert!(old_event.starts_with(
            &URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"EdDSA\",\"kid\":\"{old_kid}\"}}"))
        ));

        let new_kid = SigningKeys::rotate(dir).unwrap();
        assert!(dir.join(format!("jws-ed25519-{new_kid}.pk8")).exists());
        let keys = SigningKeys::load_or_init(dir).unwrap();
        assert_eq!(keys.current().alg(), ALG_ED25519);
        let jwks = keys.jwks();
        let alg_of = |kid: &str| jwks.keys.iter().find(|k| k.kid == kid).unwrap().alg.clone();
        assert_eq!(
            (alg_of(&new_kid), alg_of(&old_kid)),
            ("Ed25519".into(), "EdDSA".into())
        );
        assert_eq!(verify_compact(&old_event, &jwks).unwrap().kid, old_kid);
        let new_event = sign_compact(keys.current(), b"event-2", None).unwrap();
        assert_eq!(verify_compact(&new_event, &jwks).unwrap().kid, new_kid);

        // The old key's signature under a header that claims `Ed25519` is refused.
        let (_, rest) = old_event.split_once('.').unwrap();
        let forged = format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"Ed25519\",\"kid\":\"{old_kid}\"}}"))
        );
        assert!(matches!(
            verify_compact(&forged, &jwks),
            Err(CryptoError::AlgorithmRejected)
        ));

        // The same key in both forms is refused rather than published twice.
        write_new_0600(&dir.join(format!("jws-ed25519-{old_kid}.pk8")), &pkcs8).unwrap();
        assert!(matches!(
            SigningKeys::load_or_init(dir),
            Err(CryptoError::InvalidKeyFile { .. })
        ));
    }
}
