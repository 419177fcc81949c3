//! Everything that must add up at the end of a demo: answers for every push, every party
//! pushing, events produced = delivered = verified, no dead letter, the targeted flags
//! withdrawn, an event for every change; and every collaboration item sent, every step
//! answered, every item ending as the simulator's truth says, the figures and the feeds agreeing.

use super::report::{CollabFigures, Summary};
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
    collaboration(&s.collaboration, &mut p);
    p
}

/// The collaboration loop against its truth (nothing to check when it did not run).
fn collaboration(c: &CollabFigures, p: &mut Vec<String>) {
    if c.scripts == 0 {
        return;
    }
    if c.items_sent != c.scripts {
        p.push(format!(
            "collaboration: {} of {} items sent",
            c.items_sent, c.scripts
        ));
    }
    if c.failed_calls > 0 || c.steps_taken != c.steps_scripted {
        p.push(format!(
            "collaboration: {} send(s) or step(s) answered other than 200/201 ({} of {} steps \
             taken): {}",
            c.failed_calls,
            c.steps_taken,
            c.steps_scripted,
            c.failures.join("; ")
        ));
    }
    if c.mismatches > 0 || c.by_status != c.expected_by_status {
        p.push(format!(
            "collaboration: {} item(s) ended unlike the truth: {}",
            c.mismatches,
            c.mismatch_examples.join("; ")
        ));
    }
    let stats: std::collections::BTreeMap<String, usize> = c
        .stats_by_status
        .iter()
        .map(|(k, n)| (k.clone(), usize::try_from(*n).unwrap_or(usize::MAX)))
        .collect();
    if c.stats_items != c.scripts as u64 || stats != c.expected_by_status {
        p.push(format!(
            "collaboration figures: {} item(s) {stats:?} in the stats, {} expected {:?}",
            c.stats_items, c.scripts, c.expected_by_status
        ));
    }
    if c.feed_events != c.feed_expected {
        p.push(format!(
            "collaboration feed: {} event(s) in the senders' feeds for {} sends and steps",
            c.feed_events, c.feed_expected
        ));
    }
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
        let c = &mut s.collaboration;
        (c.scripts, c.items_sent, c.steps_scripted, c.steps_taken) = (2, 2, 5, 5);
        c.stats_items = 2;
        (c.feed_events, c.feed_expected) = (7, 7);
        for (status, n) in [("closed", 1), ("received", 1)] {
            c.by_status.insert(status.into(), n);
            c.expected_by_status.insert(status.into(), n);
            c.stats_by_status.insert(status.into(), n as u64);
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
        // A run without collaboration has nothing of it to check.
        let mut quiet = consistent();
        quiet.collaboration = CollabFigures::default();
        assert!(check(&quiet).is_empty());
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
            ("items sent", |s| s.collaboration.items_sent = 1),
            ("other than 200/201", |s| {
                s.collaboration.failed_calls = 1;
                s.collaboration.steps_taken = 4;
            }),
            ("unlike the truth", |s| s.collaboration.mismatches = 1),
            ("unlike the truth", |s| {
                s.collaboration.by_status.insert("closed".into(), 2);
            }),
            ("collaboration figures", |s| s.collaboration.stats_items = 3),
            ("collaboration figures", |s| {
                s.collaboration.stats_by_status.insert("sent".into(), 1);
            }),
            ("collaboration feed", |s| s.collaboration.feed_events = 6),
        ];
        for (word, f) in breaks {
            let mut s = consistent();
            f(&mut s);
            let p = check(&s);
            assert!(p.iter().any(|m| m.contains(word)), "{word}: {p:?}");
        }
    }
}
