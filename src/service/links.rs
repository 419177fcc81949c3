//! Links by name: which unidentified (weak) subject is shown with which identified one.
//!
//! A weak subject's link is a function of what is stored, never of the order it arrived in:
//! it is linked to the one identified subject of its kind whose names its name fits
//! ([`crate::dedup::subject::link_target`]), and to none when none or several do. Every write
//! that can change that answer — a subject gaining a name (a new record, a correction) or an
//! identifier, a new weak subject, a weak subject's name keys changing (`penex subjects
//! relink`) — recomputes the links of the weak subjects its names can reach, in the same
//! transaction ([`relink`]). A link that no longer holds (a second identified namesake came)
//! is removed. An operator's unlink (`unlinked_at`) is final: that subject is never linked by
//! name again.
//!
//! Runs inside the caller's write transaction; reads and writes through `store::subjects`.

use crate::dedup::subject::link_target;
use crate::domain::party::Party;
use crate::domain::record::SubjectKind;
use crate::normalize::names::{NameKeys, weak_core};
use crate::store::subjects::{self as stored, NameMatch};
use crate::store::{self, Conn, StoreError};
use chrono::NaiveDateTime;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What a batch of writes can have changed: the names written and the subjects they went to.
#[derive(Debug, Default, Clone)]
pub struct Probe {
    keys: BTreeSet<String>,
    cores: BTreeSet<String>,
    subjects: BTreeSet<String>,
}

impl Probe {
    /// A name (with its keys) was written for `subject_id`, a subject of `kind`. A name of a
    /// kind never linked by name (a person's: [`crate::dedup::subject::may_link_by_name`])
    /// changes no link and is left out, so that a common name (张伟) takes no lock every push
    /// in the region would wait on.
    pub fn name(&mut self, subject_id: &str, kind: SubjectKind, keys: &NameKeys) {
        if !crate::dedup::subject::may_link_by_name(kind, kind) {
            return;
        }
        self.subjects.insert(subject_id.to_owned());
        self.keys.insert(keys.key.clone());
        if let Some(core) = &keys.core {
            self.cores.insert(core.clone());
            // A weak name without divisions is looked up by `<party>|<its key>`: reach it by
            // its key (the party is checked when its link is decided).
            if let Some((_, rest)) = core.split_once('|') {
                self.keys.insert(rest.to_owned());
            }
        }
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }
}

/// A link made, moved or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkChange {
    /// The weak subject.
    pub subject: String,
    /// What it was linked to before.
    pub from: Option<String>,
    /// What it is linked to now.
    pub to: Option<String>,
}

fn kind_of(text: &str) -> Option<SubjectKind> {
    [
        SubjectKind::LegalPerson,
        SubjectKind::IndividualBusiness,
        SubjectKind::NaturalPerson,
    ]
    .into_iter()
    .find(|k| k.as_str() == text)
}

fn party_of(code: &str) -> Option<Party> {
    Party::ALL.into_iter().find(|p| p.code() == code)
}

fn keys_of(n: &NameMatch) -> NameKeys {
    NameKeys {
        key: n.match_key.clone(),
        core: n.match_core.clone(),
        chain: n.match_chain.clone(),
    }
}

/// Recomputes the links of every weak subject the probe's names can reach (and of the probe's
/// own weak subjects) and writes those that changed. `cause` goes into the link reason.
pub fn relink(
    conn: &mut Conn,
    probe: &Probe,
    cause: &str,
    now: NaiveDateTime,
) -> Result<Vec<LinkChange>, StoreError> {
    if probe.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = probe.keys.iter().cloned().collect();
    let cores: Vec<String> = probe.cores.iter().cloned().collect();
    let locks: Vec<String> = keys.iter().chain(&cores).cloned().collect();
    stored::lock_names(conn, &locks)?;
    let mut weak = stored::names_matching(conn, false, &keys, &cores)?;
    let own: Vec<String> = probe.subjects.iter().cloned().collect();
    weak.extend(stored::weak_names_of(conn, &own)?);
    decide(conn, weak, cause, now)
}

/// Recomputes the links of all weak subjects, a page at a time (`penex subjects relink`).
pub fn relink_all(
    conn: &mut Conn,
    cause: &str,
    now: NaiveDateTime,
) -> Result<Vec<LinkChange>, StoreError> {
    const PAGE: i64 = 2_000;
    let mut after = String::new();
    let mut changes = Vec::new();
    loop {
        let page = stored::weak_names_page(conn, &after, PAGE)?;
        let Some(last) = page.iter().map(|n| n.subject_id.clone()).max() else {
            break;
        };
        changes.extend(decide(conn, page, cause, now)?);
        after = last;
    }
    Ok(changes)
}

/// Decides the links of the weak subjects whose names are `weak` and writes the changes.
fn decide(
    conn: &mut Conn,
    weak: Vec<NameMatch>,
    cause: &str,
    now: NaiveDateTime,
) -> Result<Vec<LinkChange>, StoreError> {
    let mut by_subject: BTreeMap<String, Vec<NameMatch>> = BTreeMap::new();
    for n in weak {
        // A strong row cannot come through the weak lookups; kept out all the same, and an
        // operator's unlink is final.
        if n.strong || n.unlinked_at.is_some() {
            continue;
        }
        by_subject.entry(n.subject_id.clone()).or_default().push(n);
    }
    let mut keys = BTreeSet::new();
    let mut cores = BTreeSet::new();
    for names in by_subject.values() {
        for n in names {
            let Some(party) = party_of(&n.party) else {
                continue;
            };
            let k = keys_of(n);
            cores.insert(weak_core(&k, party));
            // A name without its division is ambiguous when another party has an enterprise
            // of that name: those are looked up too (link_target).
            if k.core.is_none() {
                for p in Party::ALL {
                    cores.insert(weak_core(&k, p));
                }
            }
            keys.insert(k.key);
        }
    }
    let keys: Vec<String> = keys.into_iter().collect();
    let cores: Vec<String> = cores.into_iter().collect();
    let strong = stored::names_matching(conn, true, &keys, &cores)?;
    let candidates: Vec<(String, Option<SubjectKind>, NameKeys, String)> = strong
        .iter()
        .map(|n| {
            (
                n.subject_id.clone(),
                kind_of(&n.kind),
                keys_of(n),
                n.key_kind.clone(),
            )
        })
        .collect();
    // Weak subjects written with their divisions that the names could also mean (see
    // link_target); the weak subjects decided here are among them when they qualify.
    let rival_rows = stored::names_matching(conn, false, &[], &cores)?;
    let rivals: Vec<(String, Option<SubjectKind>, Option<Party>, NameKeys)> = rival_rows
        .iter()
        .map(|n| {
            (
                n.subject_id.clone(),
                kind_of(&n.kind),
                party_of(&n.party),
                keys_of(n),
            )
        })
        .collect();
    let mut changes = Vec::new();
    for (id, names) in by_subject {
        let Some(first) = names.first() else {
            continue;
        };
        let (Some(kind), Some(party)) = (kind_of(&first.kind), party_of(&first.party)) else {
            continue;
        };
        let current = first.linked_to.clone();
        let weak_keys: Vec<NameKeys> = names.iter().map(keys_of).collect();
        let target = link_target(
            kind,
            party,
            &weak_keys,
            candidates
                .iter()
                .filter_map(|(sid, k, nk, _)| k.map(|k| (sid.as_str(), k, nk))),
            rivals
                .iter()
                .filter(|(rid, ..)| *rid != id)
                .filter_map(|(rid, k, p, nk)| Some((rid.as_str(), (*k)?, (*p)?, nk))),
        );
        if target == current {
            continue;
        }
        let reason = target.as_ref().map(|t| {
            let by = candidates
                .iter()
                .find(|(sid, ..)| sid == t)
                .map_or("identifier", |(.., key_kind)| key_kind.as_str());
            format!(
                "{cause}: its name fits the only subject of this kind identified (by {by}) \
                 under that name"
            )
        });
        stored::set_link(conn, &id, target.as_deref(), reason.as_deref(), now)?;
        changes.push(LinkChange {
            subject: id,
            from: current,
            to: target,
        });
    }
    Ok(changes)
}

/// What `penex subjects relink` changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RelinkReport {
    /// Names whose stored matching keys the current folding changed.
    pub names_rekeyed: usize,
    /// Links made, moved or removed.
    pub links: Vec<LinkChange>,
}

impl RelinkReport {
    /// Whether the run changed nothing.
    pub fn is_empty(&self) -> bool {
        self.names_rekeyed == 0 && self.links.is_empty()
    }
}

/// Applies the current name folding (`divisions` from the registry in force) to everything
/// stored: recomputes every name's matching keys, then every weak subject's link, and appends
/// one audit entry (`subject.relink`) when anything changed. Idempotent: a second run finds
/// nothing to change and writes nothing. Call inside a write transaction.
pub fn relink_stored(
    conn: &mut Conn,
    divisions: &crate::normalize::names::Divisions,
    actor: &str,
    now: NaiveDateTime,
) -> Result<RelinkReport, StoreError> {
    const PAGE: i64 = 5_000;
    let mut report = RelinkReport::default();
    let mut after = (String::new(), String::new());
    loop {
        let page = stored::names_page(conn, (&after.0, &after.1), PAGE)?;
        let Some(last) = page.last() else {
            break;
        };
        let next = (last.0.clone(), last.1.clone());
        for (subject, name, key, core, chain) in &page {
            let k = crate::normalize::names::match_name(name, divisions);
            if k.key != *key || k.core != *core || k.chain != *chain {
                stored::set_name_keys(conn, subject, name, &k.key, k.core.as_deref(), &k.chain)?;
                report.names_rekeyed += 1;
            }
        }
        after = next;
    }
    report.links = relink_all(conn, "relink", now)?;
    if !report.is_empty() {
        let detail =
            serde_json::to_string(&report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        crate::store::audit::append(
            conn,
            &crate::store::audit::NewAudit {
                actor,
                action: "subject.relink",
                target: "subjects",
                detail: &detail,
            },
        )?;
    }
    Ok(report)
}

/// Undoes the link of a weak subject (an operator's decision): it stands alone again and is
/// marked so that no later record or relink links it by name again. Audited. A subject that
/// is not linked is refused (`not_linked`).
pub fn unlink(conn: &mut Conn, id: &str, actor: &str) -> crate::service::Result<()> {
    store::conn::write_tx(conn, |c| -> crate::service::Result<()> {
        let row = store::subjects::find(c, id)?.ok_or(crate::service::Error::NotFound)?;
        let Some(to) = row.linked_to else {
            return Err(crate::service::Error::refused(
                "not_linked",
                "the subject is not linked to another",
            ));
        };
        let now = store::now_utc();
        store::subjects::set_link(c, id, None, None, now)?;
        store::subjects::mark_unlinked(c, id, now)?;
        store::audit::append(
            c,
            &store::audit::NewAudit {
                actor,
                action: "subject.unlink",
                target: id,
                detail: &serde_json::json!({ "was_linked_to": to }).to_string(),
            },
        )?;
        Ok(())
    })
}
