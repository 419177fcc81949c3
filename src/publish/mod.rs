//! Publishing to the credit platform: the signing keys of events (written in the same
//! transaction as the change they describe, by `service::events`), the event log as the
//! outbox, delivered along a cursor per connector by the publisher over mutual TLS
//! ([`publisher`]), and a reference receiver for
//! integrators and tests ([`sink`]).
//!
//! Must not depend on: actix routes (the feed and operator routes live in `api`). SQL lives in
//! `store::events` and `store::outbox`.
//!
//! Invariants: an event is signed once, when it is created, and every delivery re-sends exactly
//! the stored bytes under the event id as idempotency key; the feed never skips an event (see
//! `store::events`).

pub mod publisher;
pub mod sink;

use crate::crypto::CryptoError;
use crate::crypto::jws::Signer as _;
use crate::crypto::keys::SigningKeys;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The signing keyring of a running instance, reloadable so that `penex keys rotate` takes
/// effect without a restart.
#[derive(Debug)]
pub struct EventKeys {
    dir: PathBuf,
    keys: RwLock<Arc<SigningKeys>>,
}

impl EventKeys {
    /// Loads (creating on first use) the keyring in `dir` (files 0600, directory 0700).
    pub fn load(dir: &Path) -> Result<Self, CryptoError> {
        let keys = SigningKeys::load_or_init(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            keys: RwLock::new(Arc::new(keys)),
        })
    }

    /// The keyring in force.
    pub fn get(&self) -> Arc<SigningKeys> {
        match self.keys.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the directory; returns the new current kid when it changed.
    pub fn reload(&self) -> Result<Option<String>, CryptoError> {
        let fresh = SigningKeys::load_or_init(&self.dir)?;
        let before = self.get();
        if fresh.current().kid() == before.current().kid()
            && fresh.jwks().keys.len() == before.jwks().keys.len()
        {
            return Ok(None);
        }
        let kid = fresh.current().kid().to_owned();
        match self.keys.write() {
            Ok(mut g) => *g = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(Some(kid))
    }
}

/// The folder of the event signing keys.
pub fn signing_dir(settings: &crate::config::Settings) -> PathBuf {
    settings.keys_dir().join("signing")
}
