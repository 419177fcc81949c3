//! Case collaboration (案件查处协作): the four kinds of items units send each other, their
//! states, and the one table that says which step may follow which state and who takes it.
//!
//! - `clue` (线索通报): sent → received → `filed` | `not_filed` → closed;
//! - `transfer` (案件移送): sent → received → `accepted` (立案) | `returned` → progress reports
//!   → `decided` | `not_penalized` → closed (结案, by the receiver); a returned transfer is closed
//!   by the sender, who may send it again (a new item naming the old one);
//! - `assistance` (协助调查取证): sent → received → `partially_replied` … → `replied` |
//!   `declined` → closed by the sender; extension requests (the receiver asks, the sender
//!   grants or refuses) while the reply is open;
//! - `service` (委托送达): sent → received → `served` | `failed` → closed by the sender.
//!
//! A cross-level item starts `awaiting_approval` with the sender's superior, who approves it
//! (→ sent) or refuses it (→ refused, final). Anyone who may see an item may comment at any
//! time before it ends; the sweeper's `overdue` step changes no state.
//!
//! Pure: the service checks rights and fields, this module only the order of steps.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The snake_case name used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!(
                        "{s:?}: expected one of {}",
                        $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    ))
            }
        }
    };
}

names! {
    /// The kind of a collaboration item.
    Kind {
        /// 线索通报: a clue found in joint work, for the competent unit to verify.
        Clue = "clue",
        /// 案件移送: a case outside the sender's jurisdiction, for the receiver to file.
        Transfer = "transfer",
        /// 协助调查取证: evidence the sender needs from the receiver's region.
        Assistance = "assistance",
        /// 委托送达: documents for the receiver to serve.
        Service = "service",
    }
}

names! {
    /// Where an item stands.
    Status {
        /// Cross-level: waiting for the sender's superior.
        AwaitingApproval = "awaiting_approval",
        /// The superior refused to forward it (final).
        Refused = "refused",
        /// Sent, not yet acknowledged.
        Sent = "sent",
        /// The receiver acknowledged it.
        Received = "received",
        /// Clue: verified and a case filed.
        Filed = "filed",
        /// Clue: verified, no case filed (reason given).
        NotFiled = "not_filed",
        /// Transfer: accepted and filed (立案).
        Accepted = "accepted",
        /// Transfer: sent back (reason given).
        Returned = "returned",
        /// Transfer: a penalty decided.
        Decided = "decided",
        /// Transfer: no penalty (reason given, e.g. a first-violation exemption).
        NotPenalized = "not_penalized",
        /// Assistance: part of the reply given.
        PartiallyReplied = "partially_replied",
        /// Assistance: the written reply given.
        Replied = "replied",
        /// Assistance: declined (reason given).
        Declined = "declined",
        /// Service: served.
        Served = "served",
        /// Service: could not be served (attempts and reason given).
        Failed = "failed",
        /// Closed (final).
        Closed = "closed",
    }
}

names! {
    /// A step of an item's timeline.
    Step {
        /// Created by the sender (the first step of every item).
        Send = "send",
        /// The superior forwards a cross-level item.
        Approve = "approve",
        /// The superior refuses to forward it.
        Refuse = "refuse",
        /// The receiver acknowledges receipt.
        Receive = "receive",
        /// Clue: a case was filed.
        File = "file",
        /// Clue: no case was filed.
        NotFile = "not_file",
        /// Transfer: accepted and filed.
        Accept = "accept",
        /// Transfer: sent back.
        Return = "return",
        /// Transfer: a progress report (调查, 告知, 决定).
        Progress = "progress",
        /// Transfer: a penalty decided (names the decision or the record).
        Decide = "decide",
        /// Transfer: no penalty.
        NotPenalize = "not_penalize",
        /// Assistance: a written reply (`partial` or final).
        Reply = "reply",
        /// Assistance: declined.
        Decline = "decline",
        /// Assistance: the receiver asks for more time.
        RequestExtension = "request_extension",
        /// Assistance: the sender grants the extension.
        GrantExtension = "grant_extension",
        /// Assistance: the sender refuses it.
        RefuseExtension = "refuse_extension",
        /// Service: served.
        Serve = "serve",
        /// Service: failed.
        Fail = "fail",
        /// Closed.
        Close = "close",
        /// A remark by anyone who may see the item (leads coordinate this way).
        Comment = "comment",
        /// An attachment added (by the attachments route, never as a step).
        Attach = "attach",
        /// Written by the sweeper when a deadline has passed.
        Overdue = "overdue",
    }
}

names! {
    /// Who takes a step.
    Side {
        /// The sending unit.
        Sender = "sender",
        /// The receiving unit.
        Receiver = "receiver",
        /// The sender's superior (cross-level items).
        Approver = "approver",
        /// Anyone who may see the item.
        Viewer = "viewer",
        /// penex itself (the sweeper).
        System = "system",
    }
}

/// The state the table works on: the status and whether an extension request waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    /// The status.
    pub status: Status,
    /// An extension request waits for the sender (assistance only).
    pub extension_pending: bool,
}

impl State {
    /// A status without a pending request.
    pub fn at(status: Status) -> State {
        State {
            status,
            extension_pending: false,
        }
    }
}

impl Status {
    /// Final: nothing but reading follows.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Refused)
    }

    /// The statuses an item of `kind` can be in.
    pub fn of_kind(kind: Kind) -> &'static [Status] {
        use Status::*;
        match kind {
            Kind::Clue => &[
                AwaitingApproval,
                Refused,
                Sent,
                Received,
                Filed,
                NotFiled,
                Closed,
            ],
            Kind::Transfer => &[
                AwaitingApproval,
                Refused,
                Sent,
                Received,
                Accepted,
                Returned,
                Decided,
                NotPenalized,
                Closed,
            ],
            Kind::Assistance => &[
                AwaitingApproval,
                Refused,
                Sent,
                Received,
                PartiallyReplied,
                Replied,
                Declined,
                Closed,
            ],
            Kind::Service => &[
                AwaitingApproval,
                Refused,
                Sent,
                Received,
                Served,
                Failed,
                Closed,
            ],
        }
    }
}

/// What a step does, when it is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Who takes it.
    pub side: Side,
    /// The state after it.
    pub to: State,
}

/// The table: whether `step` may follow `state` in an item of `kind`, who takes it and what
/// state follows. `final_reply` tells a final reply from a partial one (assistance).
/// `None`: the step is impossible here.
pub fn transition(kind: Kind, state: State, step: Step, final_reply: bool) -> Option<Transition> {
    use Side::*;
    use Status as S;
    let status = state.status;
    let go = |side, status| {
        Some(Transition {
            side,
            to: State {
                status,
                extension_pending: false,
            },
        })
    };
    let stay = |side, extension_pending| {
        Some(Transition {
            side,
            to: State {
                status,
                extension_pending,
            },
        })
    };
    if status.is_final() {
        return None;
    }
    match (step, kind, status) {
        (Step::Comment | Step::Attach, _, _) => stay(Viewer, state.extension_pending),
        (Step::Overdue, _, _) => stay(System, state.extension_pending),
        (Step::Approve, _, S::AwaitingApproval) => go(Approver, S::Sent),
        (Step::Refuse, _, S::AwaitingApproval) => go(Approver, S::Refused),
        (Step::Receive, _, S::Sent) => go(Receiver, S::Received),
        // 线索通报
        (Step::File, Kind::Clue, S::Received) => go(Receiver, S::Filed),
        (Step::NotFile, Kind::Clue, S::Received) => go(Receiver, S::NotFiled),
        (Step::Close, Kind::Clue, S::Filed | S::NotFiled) => go(Sender, S::Closed),
        // 案件移送
        (Step::Accept, Kind::Transfer, S::Received) => go(Receiver, S::Accepted),
        (Step::Return, Kind::Transfer, S::Received) => go(Receiver, S::Returned),
        (Step::Progress, Kind::Transfer, S::Accepted) => go(Receiver, S::Accepted),
        (Step::Decide, Kind::Transfer, S::Accepted) => go(Receiver, S::Decided),
        (Step::NotPenalize, Kind::Transfer, S::Accepted) => go(Receiver, S::NotPenalized),
        (Step::Close, Kind::Transfer, S::Decided | S::NotPenalized) => go(Receiver, S::Closed),
        (Step::Close, Kind::Transfer, S::Returned) => go(Sender, S::Closed),
        // 协助调查取证
        (Step::Reply, Kind::Assistance, S::Received | S::PartiallyReplied) => go(
            Receiver,
            if final_reply {
                S::Replied
            } else {
                S::PartiallyReplied
            },
        ),
        (Step::Decline, Kind::Assistance, S::Received | S::PartiallyReplied) => {
            go(Receiver, S::Declined)
        }
        (Step::RequestExtension, Kind::Assistance, S::Received | S::PartiallyReplied)
            if !state.extension_pending =>
        {
            stay(Receiver, true)
        }
        (
            Step::GrantExtension | Step::RefuseExtension,
            Kind::Assistance,
            S::Received | S::PartiallyReplied,
        ) if state.extension_pending => stay(Sender, false),
        (Step::Close, Kind::Assistance, S::Replied | S::Declined) => go(Sender, S::Closed),
        // 委托送达
        (Step::Serve, Kind::Service, S::Received) => go(Receiver, S::Served),
        (Step::Fail, Kind::Service, S::Received) => go(Receiver, S::Failed),
        (Step::Close, Kind::Service, S::Served | S::Failed) => go(Sender, S::Closed),
        _ => None,
    }
}

/// The steps a person may send next (the sweeper's and the first `send` excluded), with who
/// takes each: what a 409 lists, and what the workbench offers.
pub fn allowed(kind: Kind, state: State) -> Vec<(Step, Side)> {
    Step::ALL
        .iter()
        .copied()
        .filter(|s| !matches!(s, Step::Overdue | Step::Send | Step::Attach))
        .filter_map(|s| transition(kind, state, s, true).map(|t| (s, t.side)))
        .collect()
}

/// The step whose deadline runs in a state, if one does: who must act, and what the
/// deadline is called in `config/collaboration.toml`.
pub fn deadline_of(kind: Kind, status: Status) -> Option<(Side, &'static str)> {
    use Status as S;
    match (kind, status) {
        (_, S::AwaitingApproval) => Some((Side::Approver, "approval")),
        (_, S::Sent) => Some((Side::Receiver, "receipt")),
        (Kind::Clue, S::Received) => Some((Side::Receiver, "verification")),
        (Kind::Transfer, S::Received) => Some((Side::Receiver, "filing")),
        (Kind::Transfer, S::Accepted) => Some((Side::Receiver, "decision")),
        (Kind::Assistance, S::Received | S::PartiallyReplied) => Some((Side::Receiver, "reply")),
        (Kind::Service, S::Received) => Some((Side::Receiver, "service")),
        _ => None,
    }
}

/// Whether reaching `status` is the receiver's answer (the step the on-time rate judges):
/// filed or not, accepted or returned, replied or declined, served or failed.
pub fn is_answer(status: Status) -> bool {
    matches!(
        status,
        Status::Filed
            | Status::NotFiled
            | Status::Accepted
            | Status::Returned
            | Status::Replied
            | Status::Declined
            | Status::Served
            | Status::Failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn start(cross_level: bool) -> State {
        State::at(if cross_level {
            Status::AwaitingApproval
        } else {
            Status::Sent
        })
    }

    #[test]
    fn each_kind_runs_its_happy_path() {
        let paths: &[(Kind, &[Step], Status)] = &[
            (
                Kind::Clue,
                &[Step::Receive, Step::File, Step::Close],
                Status::Closed,
            ),
            (
                Kind::Transfer,
                &[
                    Step::Receive,
                    Step::Accept,
                    Step::Progress,
                    Step::Decide,
                    Step::Close,
                ],
                Status::Closed,
            ),
            (
                Kind::Assistance,
                &[
                    Step::Receive,
                    Step::RequestExtension,
                    Step::GrantExtension,
                    Step::Reply,
                    Step::Close,
                ],
                Status::Closed,
            ),
            (
                Kind::Service,
                &[Step::Receive, Step::Serve, Step::Close],
                Status::Closed,
            ),
        ];
        for (kind, steps, end) in paths {
            let mut s = start(false);
            for step in *steps {
                s = transition(*kind, s, *step, true)
                    .unwrap_or_else(|| panic!("{kind} {step} from {s:?}"))
                    .to;
            }
            assert_eq!(s.status, *end);
        }
    }

    #[test]
    fn impossible_steps_are_refused_and_the_allowed_ones_listed() {
        let s = State::at(Status::Sent);
        assert!(transition(Kind::Transfer, s, Step::Accept, true).is_none());
        let allowed: Vec<Step> = allowed(Kind::Transfer, s)
            .into_iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(allowed, vec![Step::Receive, Step::Comment]);
        // A second extension request waits for the first to be answered.
        let pending = State {
            status: Status::Received,
            extension_pending: true,
        };
        assert!(transition(Kind::Assistance, pending, Step::RequestExtension, true).is_none());
        assert!(transition(Kind::Assistance, pending, Step::GrantExtension, true).is_some());
        // A returned transfer is closed by its sender, a decided one by the receiver.
        let r = transition(
            Kind::Transfer,
            State::at(Status::Returned),
            Step::Close,
            true,
        );
        assert_eq!(r.unwrap().side, Side::Sender);
        let d = transition(
            Kind::Transfer,
            State::at(Status::Decided),
            Step::Close,
            true,
        );
        assert_eq!(d.unwrap().side, Side::Receiver);
        // A partial reply keeps the reply open.
        let p = transition(
            Kind::Assistance,
            State::at(Status::Received),
            Step::Reply,
            false,
        );
        assert_eq!(p.unwrap().to.status, Status::PartiallyReplied);
    }

    #[test]
    fn names_round_trip() {
        for s in Step::ALL {
            assert_eq!(s.as_str().parse::<Step>().unwrap(), *s);
        }
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), *s);
        }
        assert!(
            "sideways"
                .parse::<Step>()
                .unwrap_err()
                .contains("expected one of")
        );
    }

    fn any_kind() -> impl Strategy<Value = Kind> {
        proptest::sample::select(Kind::ALL.to_vec())
    }

    fn any_step() -> impl Strategy<Value = (Step, bool)> {
        (proptest::sample::select(Step::ALL.to_vec()), any::<bool>())
    }

    proptest! {
        /// No sequence of steps reaches a state the kind does not have, leaves a final state,
        /// or lets anyone but the receiver answer.
        #[test]
        fn no_sequence_reaches_a_forbidden_state(
            kind in any_kind(),
            cross in any::<bool>(),
            steps in proptest::collection::vec(any_step(), 0..40),
        ) {
            let mut s = start(cross);
            for (step, final_reply) in steps {
                let before = s;
                match transition(kind, s, step, final_reply) {
                    None => {
                        // What the table refuses, `allowed` never offers.
                        prop_assert!(!allowed(kind, s).iter().any(|(a, _)| *a == step));
                    }
                    Some(t) => {
                        prop_assert!(!before.status.is_final());
                        prop_assert!(Status::of_kind(kind).contains(&t.to.status),
                            "{kind}: {step} led to {}", t.to.status);
                        if is_answer(t.to.status) && t.to.status != before.status {
                            prop_assert_eq!(t.side, Side::Receiver);
                        }
                        if t.to.extension_pending {
                            prop_assert_eq!(kind, Kind::Assistance);
                        }
                        if matches!(step, Step::Comment | Step::Overdue | Step::Attach) {
                            prop_assert_eq!(t.to, before);
                        }
                        s = t.to;
                    }
                }
            }
        }

        /// Every state reached by any sequence can still end: a path to `closed` or `refused`
        /// exists from it (no item is stuck).
        #[test]
        fn every_reachable_state_can_end(
            kind in any_kind(),
            cross in any::<bool>(),
            steps in proptest::collection::vec(any_step(), 0..30),
        ) {
            let mut s = start(cross);
            for (step, final_reply) in steps {
                if let Some(t) = transition(kind, s, step, final_reply) {
                    s = t.to;
                }
            }
            // Breadth-first over the table.
            let mut seen = vec![s];
            let mut i = 0;
            let mut ends = s.status.is_final();
            while i < seen.len() && !ends {
                let here = seen[i];
                i += 1;
                for step in Step::ALL {
                    for fr in [true, false] {
                        if let Some(t) = transition(kind, here, *step, fr) {
                            ends |= t.to.status.is_final();
                            if !seen.contains(&t.to) {
                                seen.push(t.to);
                            }
                        }
                    }
                }
            }
            prop_assert!(ends, "{kind}: stuck at {s:?}");
        }
    }
}
