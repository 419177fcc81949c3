//! Everything that must add up at the end of a demo: answers for every push, every party
//! pushing, events produced = delivered = verified, no dead letter, the targeted flags
//! withdrawn, an event for every change.

use super::report::Summary;
use crate::domain::party::Party;

/// Everything that must add up.
pub fn check(s: &Summary) -> Vec<String> {
    let mut p = Vec::new();
    let answered = s.accepted + s.duplicates + s.corrected + s.rejected + s.conflict_answers;
    if answered != s.pushed {
        p.push(format!("{answered} answers for {} pushes", s.pushed));
    }
    for party in Party::ALL {
        if !s.pushes_by_party.contains_key(party.code()) {
            p.push(format!("no unit of {} pushed", party.code()));
        }
    }
    let produced = i64::try_from(s.events_produced).unwrap_or(i64::MAX);
    if s.events_delivered != produced {
        p.push(format!(
            "events delivered ({}) ≠ produced ({produced})",
            s.events_delivered
        ));
    }
    if s.events_verified != s.events_produced {
        p.push(format!(
            "events verified by the sink ({}) ≠ produced ({})",
            s.events_verified, s.events_produced
        ));
    }
    if s.signature_failures > 0 {
        p.push(format!(
            "{} event(s) in the sink's file do not verify",
            s.signature_failures
        ));
    }
    if s.body_mismatches > 0 {
        p.push(format!(
            "{} event(s) reached the sink with another body than the feed's",
            s.body_mismatches
        ));
    }
    if s.dead_letters > 0 || s.events_pending > 0 {
        p.push(format!(
            "{} dead letter(s), {} pending",
            s.dead_letters, s.events_pending
        ));
    }
    let revoked_events = s.events_by_type.get("record.revoked").copied().unwrap_or(0);
    if revoked_events != s.revocations {
        p.push(format!(
            "{} revocation(s) but {revoked_events} record.revoked event(s)",
            s.revocations
        ));
    }
    let withdrawn_events = s.events_by_type.get("flag.withdrawn").copied().unwrap_or(0);
    if withdrawn_events < s.flags_withdrawn || s.flags_withdrawn < s.flags_targeted {
        p.push(format!(
            "{} flag(s) withdrawn, {} targeted, {withdrawn_events} flag.withdrawn event(s)",
            s.flags_withdrawn, s.flags_targeted
        ));
    }
    if !s.targets_not_withdrawn.is_empty() {
        p.push(format!(
            "flags still not withdrawn after revoking their records: {}",
            s.targets_not_withdrawn.join(", ")
        ));
    }
    let activated = s.events_by_type.get("flag.activated").copied().unwrap_or(0);
    if activated < s.flags_raised {
        p.push(format!(
            "{} flag(s) raised but {activated} flag.activated event(s)",
            s.flags_raised
        ));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consistent() -> Summary {
        let mut s = Summary {
            pushed: 10,
            accepted: 7,
            duplicates: 1,
            corrected: 1,
            rejected: 1,
            events_produced: 12,
            events_delivered: 12,
            events_verified: 12,
            flags_raised: 1,
            flags_withdrawn: 1,
            flags_targeted: 1,
            revocations: 1,
            ..Summary::default()
        };
        for p in ["SH", "JS", "ZJ", "AH"] {
            s.pushes_by_party.insert(p.into(), 1);
        }
        for (t, n) in [
            ("record.published", 8),
            ("record.revoked", 1),
            ("flag.activated", 1),
            ("flag.withdrawn", 1),
        ] {
            s.events_by_type.insert(t.into(), n);
        }
        s
    }

    #[test]
    fn a_consistent_run_has_no_problems_and_each_break_is_named() {
        assert!(check(&consistent()).is_empty());
        type Break = (&'static str, fn(&mut Summary));
        let breaks: Vec<Break> = vec![
            ("delivered", |s| s.events_delivered -= 1),
            ("verified", |s| s.events_verified -= 1),
            ("do not verify", |s| s.signature_failures = 1),
            ("another body", |s| s.body_mismatches = 1),
            ("dead letter", |s| s.dead_letters = 1),
            ("answers", |s| s.accepted -= 1),
            ("no unit of AH", |s| {
                s.pushes_by_party.remove("AH");
            }),
            ("record.revoked", |s| s.revocations = 2),
            ("targeted", |s| s.flags_targeted = 2),
            ("flag.activated", |s| s.flags_raised = 2),
            ("not withdrawn", |s| {
                s.targets_not_withdrawn = vec!["flg_x is active".into()]
            }),
        ];
        for (word, f) in breaks {
            let mut s = consistent();
            f(&mut s);
            let p = check(&s);
            assert!(p.iter().any(|m| m.contains(word)), "{word}: {p:?}");
        }
    }
}
