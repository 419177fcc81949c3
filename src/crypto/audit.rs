//! The audit log's hash chain (审计日志): every entry's hash covers the previous entry's hash
//! and every field of the entry, so any change, deletion, insertion or reordering of stored
//! entries is detected by re-walking the chain.
//!
//! Must not depend on: HTTP, SQL, the store. Pure functions over values; the store streams its
//! rows into [`ChainVerifier`].
//!
//! Invariants:
//! - `hash_n = SHA-256("penex-audit-v1" ‖ hash_{n-1} ‖ seq (i64 BE) ‖ for each of at, actor,
//!   action, target, detail: len (u64 BE) ‖ UTF-8 bytes)`, with `hash_0` = [`GENESIS`] and `at`
//!   formatted as `%Y-%m-%dT%H:%M:%S%.6f` (UTC). Timestamps must therefore be stored with
//!   microsecond precision: sub-microsecond digits are not covered.
//! - `seq` increases by exactly one from the first entry; a gap is a broken link.
//! - Cutting entries off the end leaves a valid shorter chain: detect that by comparing
//!   [`ChainVerifier::last_hash`] and the count with an anchor kept elsewhere.
//! - `detail` is JSON text already free of personal data; this module does not look inside.

use chrono::NaiveDateTime;
use ring::digest::{Context, SHA256};

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

const DOMAIN: &[u8] = b"penex-audit-v1";

/// One audit log entry (审计记录).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain; consecutive.
    pub seq: i64,
    /// When it happened, UTC, microsecond precision.
    pub at: NaiveDateTime,
    /// Who acted (unit code, operator, `system`).
    pub actor: String,
    /// What was done (`record.push`, `flag.withdraw` ...).
    pub action: String,
    /// What it was done to (record id, flag id ...).
    pub target: String,
    /// JSON text with details, already free of personal data.
    pub detail: String,
}

/// Where and why a chain stopped verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct BrokenLink {
    /// The seq of the first entry that does not verify (as stored).
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// The hash of `e` chained onto `prev_hash`.
pub fn entry_hash(prev_hash: &[u8; 32], e: &AuditEntry) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(DOMAIN);
    ctx.update(prev_hash);
    ctx.update(&e.seq.to_be_bytes());
    let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    for field in [at.as_str(), &e.actor, &e.action, &e.target, &e.detail] {
        // usize → u64 is lossless on every supported target.
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Verifies a whole chain from [`GENESIS`]: each stored hash, and consecutive `seq`. Returns
/// the number of entries, or the first broken link.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = (&'a AuditEntry, &'a [u8; 32])>,
) -> Result<u64, BrokenLink> {
    let mut verifier = ChainVerifier::new();
    for (entry, stored) in entries {
        verifier.push(entry, stored)?;
    }
    Ok(verifier.count())
}

/// Verifies a chain one entry at a time, so a store can stream rows. After the first broken
/// link every further push returns that same link.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev: [u8; 32],
    next_seq: NextSeq,
    count: u64,
    broken: Option<BrokenLink>,
}

/// What the next entry's `seq` must be.
#[derive(Debug, Clone, Copy)]
enum NextSeq {
    /// The first entry of a chain from genesis.
    Any,
    /// Exactly this value.
    Exactly(i64),
    /// The previous entry had `i64::MAX`; nothing may follow.
    Exhausted,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier for a chain starting at [`GENESIS`]; the first entry's `seq` may be any value.
    pub fn new() -> Self {
        Self {
            prev: GENESIS,
            next_seq: NextSeq::Any,
            count: 0,
            broken: None,
        }
    }

    /// A verifier that resumes after a trusted checkpoint: the hash of entry `next_seq - 1`.
    pub fn resume(prev_hash: [u8; 32], next_seq: i64) -> Self {
        Self {
            prev: prev_hash,
            next_seq: NextSeq::Exactly(next_seq),
            count: 0,
            broken: None,
        }
    }

    /// Checks the next entry and its stored hash.
    pub fn push(&mut self, entry: &AuditEntry, stored_hash: &[u8; 32]) -> Result<(), BrokenLink> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        let result = self.check(entry, stored_hash);
        match result {
            Ok(()) => {
                self.prev = *stored_hash;
                self.next_seq = entry
                    .seq
                    .checked_add(1)
                    .map_or(NextSeq::Exhausted, NextSeq::Exactly);
                self.count += 1;
                Ok(())
            }
            Err(broken) => {
                self.broken = Some(broken.clone());
                Err(broken)
            }
        }
    }

    fn check(&self, entry: &AuditEntry, stored_hash: &[u8; 32]) -> Result<(), BrokenLink> {
        let broken = |reason: String| BrokenLink {
            seq: entry.seq,
            reason,
        };
        match self.next_seq {
            NextSeq::Any => {}
            NextSeq::Exactly(expected) if expected == entry.seq => {}
            NextSeq::Exactly(expected) => {
                return Err(broken(format!(
                    "expected seq {expected}, found {}",
                    entry.seq
                )));
            }
            NextSeq::Exhausted => return Err(broken("entry after seq i64::MAX".to_owned())),
        }
        if entry_hash(&self.prev, entry) != *stored_hash {
            return Err(broken(
                "hash does not match entry and previous hash".to_owned(),
            ));
        }
        Ok(())
    }

    /// Entries verified so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The hash of the last verified entry ([`GENESIS`] or the resume point if none): compare
    /// it with an external anchor to detect a truncated tail.
    pub fn last_hash(&self) -> [u8; 32] {
        self.prev
    }

    /// The first broken link seen, if any.
    pub fn broken(&self) -> Option<&BrokenLink> {
        self.broken.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta};
    use proptest::prelude::*;

    fn at(micros: i64) -> NaiveDateTime {
        DateTime::from_timestamp_micros(micros).unwrap().naive_utc()
    }

    fn entry(seq: i64, actor: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            seq,
            at: at(1_700_000_000_000_000 + seq * 1_000_001),
            actor: actor.to_owned(),
            action: "record.push".to_owned(),
            target: format!("rec-{seq}"),
            detail: detail.to_owned(),
        }
    }

    fn chain(entries: Vec<AuditEntry>) -> Vec<(AuditEntry, [u8; 32])> {
        let mut prev = GENESIS;
        entries
            .into_iter()
            .map(|e| {
                prev = entry_hash(&prev, &e);
                (e, prev)
            })
            .collect()
    }

    fn verify(c: &[(AuditEntry, [u8; 32])]) -> Result<u64, BrokenLink> {
        verify_chain(c.iter().map(|(e, h)| (e, h)))
    }

    /// Independent reference of the documented encoding.
    fn reference_hash(prev: &[u8; 32], e: &AuditEntry) -> [u8; 32] {
        let mut buf = b"penex-audit-v1".to_vec();
        buf.extend_from_slice(prev);
        buf.extend_from_slice(&e.seq.to_be_bytes());
        let at =
            e.at.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let at = at.trim_end_matches('Z').to_owned();
        for f in [&at, &e.actor, &e.action, &e.target, &e.detail] {
            buf.extend_from_slice(&(f.len() as u64).to_be_bytes());
            buf.extend_from_slice(f.as_bytes());
        }
        ring::digest::digest(&SHA256, &buf)
            .as_ref()
            .try_into()
            .unwrap()
    }

    #[test]
    fn hash_matches_reference_encoding() {
        let e = entry(1, "SH-310106", r#"{"k":"v"}"#);
        assert_eq!(entry_hash(&GENESIS, &e), reference_hash(&GENESIS, &e));
        let whole_second = AuditEntry {
            at: at(1_700_000_000_000_000),
            ..e.clone()
        };
        assert_eq!(
            entry_hash(&[7; 32], &whole_second),
            reference_hash(&[7; 32], &whole_second)
        );
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = AuditEntry {
            actor: "ab".into(),
            action: "c".into(),
            ..entry(1, "", "")
        };
        let b = AuditEntry {
            actor: "a".into(),
            action: "bc".into(),
            ..entry(1, "", "")
        };
        assert_ne!(entry_hash(&GENESIS, &a), entry_hash(&GENESIS, &b));
    }

    #[test]
    fn valid_chains_verify() {
        assert_eq!(verify(&[]), Ok(0));
        let c = chain((5..15).map(|s| entry(s, "op", "{}")).collect());
        assert_eq!(verify(&c), Ok(10));
    }

    #[test]
    fn table_of_breaks() {
        let c = chain((1..=5).map(|s| entry(s, "op", "{}")).collect());
        let mut gap = c.clone();
        gap.remove(2);
        assert_eq!(verify(&gap).unwrap_err().seq, 4);
        let mut first_gone = c.clone();
        first_gone.remove(0);
        assert_eq!(verify(&first_gone).unwrap_err().seq, 2);
        let mut hash = c.clone();
        hash[4].1[0] ^= 1;
        assert_eq!(verify(&hash).unwrap_err().seq, 5);
        let mut detail = c.clone();
        detail[1].0.detail = r#"{"x":1}"#.into();
        let err = verify(&detail).unwrap_err();
        assert_eq!(err.seq, 2);
        assert!(err.reason.contains("hash"));
        let mut nanos = c.clone();
        nanos[0].0.at += TimeDelta::microseconds(1);
        assert_eq!(verify(&nanos).unwrap_err().seq, 1);
    }

    #[test]
    fn truncated_tail_is_caught_by_anchor() {
        let c = chain((1..=4).map(|s| entry(s, "op", "{}")).collect());
        let anchor = c[3].1;
        let mut v = ChainVerifier::new();
        for (e, h) in &c[..3] {
            v.push(e, h).unwrap();
        }
        assert_ne!(v.last_hash(), anchor);
        v.push(&c[3].0, &c[3].1).unwrap();
        assert_eq!((v.last_hash(), v.count()), (anchor, 4));
    }

    #[test]
    fn resume_from_checkpoint_and_sticky_failure() {
        let c = chain((1..=6).map(|s| entry(s, "op", "{}")).collect());
        let mut v = ChainVerifier::resume(c[2].1, 4);
        for (e, h) in &c[3..] {
            v.push(e, h).unwrap();
        }
        assert_eq!(v.count(), 3);
        let mut wrong_start = ChainVerifier::resume(c[2].1, 5);
        assert_eq!(wrong_start.push(&c[3].0, &c[3].1).unwrap_err().seq, 4);
        // After a failure, later valid-looking pushes still report the first break.
        assert_eq!(wrong_start.push(&c[4].0, &c[4].1).unwrap_err().seq, 4);
        assert_eq!(wrong_start.broken().unwrap().seq, 4);
    }

    #[test]
    fn seq_overflow_is_an_error_not_a_panic() {
        let last = AuditEntry {
            seq: i64::MAX,
            ..entry(1, "op", "{}")
        };
        let after = AuditEntry {
            seq: i64::MIN,
            ..entry(1, "op", "{}")
        };
        assert_eq!(verify(&chain(vec![last.clone()])), Ok(1));
        let err = verify(&chain(vec![last, after])).unwrap_err();
        assert_eq!(err.seq, i64::MIN);
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Field { i: usize, field: u8, text: String },
        Delete(usize),
        Swap(usize, usize),
        Hash { i: usize, byte: usize, bit: u8 },
    }

    fn arb_entry_fields() -> impl Strategy<Value = (String, String, String, String, i64)> {
        (
            "[a-z0-9-]{0,8}",
            "[a-z.]{0,8}",
            ".{0,8}",
            ".{0,12}",
            0i64..1_000_000_000,
        )
    }

    fn arb_mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), 0u8..6, ".{0,6}").prop_map(|(i, field, text)| Mutation::Field {
                i,
                field,
                text
            }),
            any::<usize>().prop_map(Mutation::Delete),
            (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
            (any::<usize>(), 0usize..32, 0u8..8).prop_map(|(i, byte, bit)| Mutation::Hash {
                i,
                byte,
                bit
            }),
        ]
    }

    /// Applies the mutation; `None` when it would change nothing or is undetectable by design
    /// (deleting the last entry).
    fn apply(c: &[(AuditEntry, [u8; 32])], m: &Mutation) -> Option<Vec<(AuditEntry, [u8; 32])>> {
        let n = c.len();
        let mut out = c.to_vec();
        match m {
            Mutation::Field { i, field, text } => {
                let e = &mut out[i % n].0;
                match field {
                    0 => e.seq = e.seq.wrapping_add(text.len() as i64 + 1),
                    1 => e.at += TimeDelta::microseconds(text.len() as i64 + 1),
                    2 => e.actor.push_str(&format!("{text}x")),
                    3 => e.action = text.clone(),
                    4 => e.target = text.clone(),
                    _ => e.detail.insert_str(0, &format!("{text}!")),
                }
            }
            Mutation::Delete(i) => {
                if i % n == n - 1 {
                    return None;
                }
                out.remove(i % n);
            }
            Mutation::Swap(i, j) => out.swap(i % n, j % n),
            Mutation::Hash { i, byte, bit } => out[i % n].1[*byte] ^= 1 << bit,
        }
        (out != c).then_some(out)
    }

    proptest! {
        #[test]
        fn any_single_change_is_caught_at_the_first_broken_seq(
            start in -5i64..1_000,
            fields in proptest::collection::vec(arb_entry_fields(), 1..8),
            m in arb_mutation(),
        ) {
            let entries = fields.into_iter().enumerate().map(|(k, (actor, action, target, detail, us))| {
                AuditEntry {
                    seq: start + k as i64,
                    at: at(1_600_000_000_000_000 + us),
                    actor, action, target, detail,
                }
            }).collect();
            let c = chain(entries);
            prop_assert_eq!(verify(&c), Ok(c.len() as u64));
            let Some(mutated) = apply(&c, &m) else { return Ok(()) };
            let first_diff = mutated.iter().zip(&c).position(|(a, b)| a != b);
            let Some(p) = first_diff else { return Ok(()) };
            let err = verify(&mutated).unwrap_err();
            prop_assert_eq!(err.seq, mutated[p].0.seq, "{:?}", m);
        }
    }
}
