//! Attachments of collaboration items (送达回证, replies, evidence): content-addressed by the
//! SHA-256 of their bytes, encrypted at rest with the personal-data key (AES-256-GCM, the
//! digest bound as associated data), stored under `<data_dir>/attachments/`. Only the units of
//! the item (sender, receiver, approver) and their superiors up to the leads may read them;
//! only the sender, the receiver and the approver may add them.

use super::{Actor, Deps, feed};
use crate::crypto::pii::PiiKeyring;
use crate::domain::collab::Step;
use crate::service::error::{Error, Result};
use crate::store::collab::{AttachmentRow, StepRow};
use crate::store::{self, Conn};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an upload's bytes were refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than `max_bytes` (413).
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// Not an accepted type, or content that is not what the type says (415).
    Unsupported(String),
}

/// Checks declared type and content; returns the media type.
pub fn check(
    rules: &super::config::AttachmentRules,
    declared: &str,
    bytes: &[u8],
) -> std::result::Result<&'static str, Refusal> {
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > rules.max_bytes {
        return Err(Refusal::TooLarge {
            max: rules.max_bytes,
        });
    }
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !rules.media_types.contains(&declared) {
        return Err(Refusal::Unsupported(format!(
            "{declared:?} is not accepted; expected one of {}",
            rules.media_types.join(", ")
        )));
    }
    match super::config::sniff(bytes) {
        Some(t) if t == declared => Ok(t),
        Some(t) => Err(Refusal::Unsupported(format!(
            "the content is {t}, not {declared}"
        ))),
        None => Err(Refusal::Unsupported(format!(
            "the content is not {declared} (its first bytes do not match the format)"
        ))),
    }
}

/// Where encrypted attachment blobs live.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

fn aad(sha: &str) -> Vec<u8> {
    format!("penex:attachment:{sha}").into_bytes()
}

impl BlobStore {
    /// The store under `data_dir`.
    pub fn under(data_dir: &Path) -> BlobStore {
        BlobStore {
            dir: data_dir.join("attachments"),
        }
    }

    fn path(&self, sha: &str) -> Option<PathBuf> {
        if sha.len() != 64
            || !sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        Some(self.dir.join(sha.get(..2)?).join(sha))
    }

    /// Stores `bytes` under their digest unless present (written to a temporary file, synced,
    /// then renamed: a crash leaves no half blob).
    pub fn put(&self, pii: &PiiKeyring, sha: &str, bytes: &[u8]) -> Result<()> {
        let path = self
            .path(sha)
            .ok_or_else(|| Error::Internal(format!("bad digest {sha}")))?;
        if path.exists() {
            return Ok(());
        }
        let io = |e: std::io::Error| Error::Unavailable {
            what: "the attachment store",
            cause: e.to_string(),
        };
        let parent = path
            .parent()
            .ok_or_else(|| Error::Internal("attachment path without parent".into()))?;
        std::fs::create_dir_all(parent).map_err(io)?;
        let blob = pii
            .encrypt_bytes(bytes, &aad(sha))
            .map_err(|e| Error::Internal(format!("attachment encryption: {e}")))?;
        let tmp = parent.join(format!(".{sha}.{}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&blob).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// The plain bytes of `sha`, checked against their digest.
    pub fn get(&self, pii: &PiiKeyring, sha: &str) -> Result<Vec<u8>> {
        let path = self.path(sha).ok_or(Error::NotFound)?;
        let blob = std::fs::read(&path).map_err(|e| Error::Unavailable {
            what: "the attachment store",
            cause: format!("{}: {e}", path.display()),
        })?;
        let bytes = pii
            .decrypt_bytes(&blob, &aad(sha))
            .map_err(|e| Error::Internal(format!("attachment {sha} cannot be decrypted: {e}")))?;
        if hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes)) != sha {
            return Err(Error::Internal(format!(
                "attachment {sha} does not match its digest"
            )));
        }
        Ok(bytes)
    }
}

/// A file name as given, checked: 1–200 characters, no path, no control characters.
fn clean_name(name: &str) -> Result<String> {
    let n = name.trim();
    let bad = n.is_empty()
        || n.chars().count() > 200
        || n.contains(['/', '\\'])
        || n == "."
        || n == ".."
        || n.chars().any(char::is_control);
    if bad {
        return Err(Error::invalid_field(
            "invalid_request",
            "/name",
            format!(
                "{:?}: expected a file name of 1–200 characters without a path or control characters",
                crate::normalize::issue::excerpt(name)
            ),
        ));
    }
    Ok(n.to_owned())
}

fn ended(item: &crate::store::collab::ItemRow) -> Error {
    Error::refused(
        "item_ended",
        format!("{} is {}: nothing more is added", item.id, item.status),
    )
}

/// Adds checked bytes (see [`check`]) to item `id`: stored (once per content), then recorded
/// with an `attach` step, audited and announced in one transaction. `false` when the item
/// already had this content.
pub fn add(
    conn: &mut Conn,
    deps: Deps<'_>,
    blobs: &BlobStore,
    by: Actor<'_>,
    id: &str,
    (name, media_type, bytes): (&str, &str, &[u8]),
) -> Result<(bool, AttachmentRow)> {
    let name = clean_name(name)?;
    // Rights before anything is written, the blob before the row that names it.
    let (item, access) = super::find_for(conn, deps.registry, by.unit, id)?;
    if !(access.sender || access.receiver || access.approver) {
        return Err(Error::forbidden(format!(
            "only the sender, the receiver or the approver adds attachments to {}",
            item.id
        )));
    }
    if !super::sweep::is_open(&item) {
        return Err(ended(&item));
    }
    let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes));
    blobs.put(deps.pii, &sha, bytes)?;
    let size = i64::try_from(bytes.len()).map_err(|_| Error::Internal("size".into()))?;
    store::conn::write_tx(conn, |c| -> Result<(bool, AttachmentRow)> {
        let Some(mut item) = store::collab::find(c, id)? else {
            return Err(Error::NotFound);
        };
        if !super::sweep::is_open(&item) {
            return Err(ended(&item));
        }
        if let Some(existing) = store::collab::find_attachment(c, id, &sha)? {
            return Ok((false, existing));
        }
        let now = store::now_utc();
        let row = AttachmentRow {
            item_id: item.id.clone(),
            sha256: sha.clone(),
            name: name.clone(),
            media_type: media_type.to_owned(),
            size,
            uploaded_by: by.unit.to_string(),
            created_at: now,
        };
        store::collab::insert_attachment(c, &row)?;
        item.steps += 1;
        item.updated_at = now;
        let step = StepRow {
            item_id: item.id.clone(),
            n: item.steps,
            step: Step::Attach.as_str().to_owned(),
            actor_unit: Some(by.unit.to_string()),
            actor: by.actor.to_owned(),
            status_after: item.status.clone(),
            detail_json:
                json!({"sha256": sha, "name": name, "media_type": media_type, "size": size})
                    .to_string(),
            on_day: by.today,
            at: now,
        };
        store::collab::update(c, &item)?;
        store::collab::insert_step(c, &step)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor: by.actor,
                action: "collab.attach",
                target: &item.id,
                detail: &json!({"sha256": sha, "size": size}).to_string(),
            },
        )?;
        feed::emit(c, deps, &item, &step)?;
        Ok((true, row))
    })
}

/// The bytes of an attachment of item `id`, for a unit that may see the item.
pub fn read(
    conn: &mut Conn,
    deps: Deps<'_>,
    blobs: &BlobStore,
    by: Actor<'_>,
    id: &str,
    sha: &str,
) -> Result<(AttachmentRow, Vec<u8>)> {
    let _ = super::find_for(conn, deps.registry, by.unit, id)?;
    let row = store::collab::find_attachment(conn, id, sha)?.ok_or(Error::NotFound)?;
    let bytes = blobs.get(deps.pii, &row.sha256)?;
    Ok((row, bytes))
}
