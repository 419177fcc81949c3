//! Synthetic regional penalty data with ground truth: `penex simulate`, benchmarks and tests.
//!
//! Owns [`generate`] and its types: [`SimOptions`] (size, seed, reference date and the
//! [`Mix`] of injected cases), [`SimSet`] (the pushes in order, the [`Truth`] and the
//! [`Summary`]). The generator produces what member units really send: records of all four
//! parties in the three key styles, with width/bracket/whitespace variants, relayed
//! duplicates, corrections, the same act penalized on both sides of a border, two penalties of
//! one subject on one day, and a few invalid records; the truth says what penex must make of
//! each push. With [`SimOptions::collaboration`], [`collab`] adds scripts of collaboration
//! items (clue notices, transfers, assistance, service) between units, each step with the unit
//! that takes it, and the status each item must end in.
//!
//! Pure and deterministic: no clock (the reference date is an option), no I/O except
//! [`SimSet::write_to`], its own seeded generator ([`rng::Rng`], never ring's or the OS's);
//! the same options and units give byte-identical output. Pushing a set into a running penex
//! (HTTP) and reading back what it stored (the store) are the demo's: `demo::replay`,
//! `demo::observe`; [`score`] takes what they collected. Depends on `domain` and on
//! `normalize` only for the identifier check characters and the `Field` key table — never on
//! the normalizer's parsing, which the truth is meant to test.
//!
//! Invariants: every push truth calls valid normalizes without error under
//! `NormalizeContext { today: options.today, publicity: PublicityConfig::default() }` and
//! names a registered deciding authority the pushing unit may act for; every invalid push has
//! exactly one defect; cosmetic variants never change the canonical record; identities
//! (deciding unit, folded decision number) are unique except where truth says they are shared.

pub mod collab;
pub mod data;
mod generator;
pub mod numerals;
mod render;
pub mod rng;
pub mod score;

use crate::domain::party::Party;
use crate::domain::unit::{Unit, UnitCode};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use numerals::capital_yuan;

/// The default reference date ("today" of a simulation), so that output does not depend on
/// the day it is generated.
pub fn default_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default()
}

/// Shares of each injected case. Shares "of pushes" are turned into exact counts (rounded);
/// the others are per-draw probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    /// Of pushes: the same record pushed again by the provincial lead (or, when the lead
    /// pushed first, by the deciding unit), with cosmetic variations only → `duplicate`.
    pub relayed_duplicate: f64,
    /// Of pushes: the same identity pushed later with a changed amount or changed facts →
    /// `corrected`.
    pub correction: f64,
    /// Of pushes: records in pairs of the same act penalized by two authorities of different
    /// parties (same subject, same violation type, close dates, different filing dates).
    pub cross_border: f64,
    /// Of pushes: records in pairs of one subject penalized twice on one day by one authority
    /// for different violations (two penalties, not a duplicate).
    pub same_day: f64,
    /// Of pushes: invalid records (bad checksum, missing required field, future date) →
    /// `rejected`.
    pub invalid: f64,
    /// Of first pushes: pushed by the provincial lead relaying its member's record.
    pub lead_relay: f64,
    /// Of new subjects: at home in another party than the deciding authority.
    pub other_party_subject: f64,
    /// Of records: naming a subject already penalized before (repeat offenders).
    pub repeat_subject: f64,
    /// Of natural persons' records (born before 2000): the resident ID in its 15-digit form.
    pub legacy_id: f64,
    /// Of new Shanghai subjects: an identifier carrying a retired division (310108 闸北 …).
    pub retired_division: f64,
    /// Of repeat legal-person records: the name written differently (有限公司 ↔ 有限责任公司, …).
    pub name_variant: f64,
    /// Of each optional identifier (组织机构代码, the representative's ID, a legal person's
    /// USCC, an individual business's USCC): left out.
    pub missing_optional: f64,
    /// Of first pushes: width, bracket and whitespace variants (duplicates always have them).
    pub cosmetic: f64,
}

impl Default for Mix {
    /// The default mix: roughly what real feeds of the region look like.
    fn default() -> Self {
        Mix {
            relayed_duplicate: 0.06,
            correction: 0.04,
            cross_border: 0.04,
            same_day: 0.03,
            invalid: 0.03,
            lead_relay: 0.05,
            other_party_subject: 0.15,
            repeat_subject: 0.2,
            legacy_id: 0.1,
            retired_division: 0.08,
            name_variant: 0.3,
            missing_optional: 0.25,
            cosmetic: 0.3,
        }
    }
}

impl Mix {
    /// The mix with every share clamped to `[0, 1]` (NaN → 0) and the shares of pushes scaled
    /// down so that they leave room for ordinary records.
    pub fn sanitized(&self) -> Mix {
        let c = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        let mut m = Mix {
            relayed_duplicate: c(self.relayed_duplicate),
            correction: c(self.correction),
            cross_border: c(self.cross_border),
            same_day: c(self.same_day),
            invalid: c(self.invalid),
            lead_relay: c(self.lead_relay),
            other_party_subject: c(self.other_party_subject),
            repeat_subject: c(self.repeat_subject),
            legacy_id: c(self.legacy_id),
            retired_division: c(self.retired_division),
            name_variant: c(self.name_variant),
            missing_optional: c(self.missing_optional),
            cosmetic: c(self.cosmetic),
        };
        let of_pushes =
            m.relayed_duplicate + m.correction + m.cross_border + m.same_day + m.invalid;
        // Duplicates and corrections need originals: keep at least a third ordinary.
        let room = 2.0 / 3.0;
        if of_pushes > room {
            let k = room / of_pushes;
            m.relayed_duplicate *= k;
            m.correction *= k;
            m.cross_border *= k;
            m.same_day *= k;
            m.invalid *= k;
        }
        m
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Number of pushes (lines of `records.jsonl`).
    pub records: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// The reference date: decisions lie within the three years before it; "future" means
    /// after it.
    pub today: NaiveDate,
    /// Shares of the injected cases.
    pub mix: Mix,
    /// Collaboration items to script (lines of `collaboration.jsonl`; 0: none, and no file).
    pub collaboration: usize,
}

impl SimOptions {
    /// `records` pushes from `seed`, the default reference date and the default mix.
    pub fn new(records: usize, seed: u64) -> SimOptions {
        SimOptions {
            records,
            seed,
            today: default_today(),
            mix: Mix::default(),
            collaboration: 0,
        }
    }
}

/// One push: a raw record as the unit `unit` sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimPush {
    /// Position in push order, from 1.
    pub seq: u64,
    /// The pushing unit (the deciding unit, or its provincial lead relaying it).
    pub unit: UnitCode,
    /// The raw record.
    pub record: serde_json::Value,
}

/// What penex must answer for a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// A new record.
    Accepted,
    /// Same identity and same content as what is stored.
    Duplicate,
    /// Same identity, new content: a new version.
    Corrected,
    /// Invalid: not stored.
    Rejected,
    /// The later-filed side of a cross-border pair, pushed after the winner: stored, linked,
    /// never counted. (Pushed before the winner, it is `accepted` and becomes the loser when
    /// the winner arrives.)
    Conflict,
}

impl Expected {
    /// The status name penex answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Accepted => "accepted",
            Expected::Duplicate => "duplicate",
            Expected::Corrected => "corrected",
            Expected::Rejected => "rejected",
            Expected::Conflict => "conflict",
        }
    }
}

/// Why a push was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// An ordinary record, pushed for the first time.
    Original,
    /// The same record pushed again (relayed), cosmetic variants only.
    RelayedDuplicate,
    /// The same identity with changed content.
    Correction,
    /// One side of a cross-border pair (see [`Truth::conflicts`]).
    CrossBorder,
    /// One of two penalties of one subject on one day (see [`Truth::same_day_pairs`]).
    SameDay,
    /// An invalid record.
    Invalid,
}

/// The one defect of an invalid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// A USCC or resident ID whose check character is wrong.
    BadChecksum,
    /// A required field left out.
    MissingField,
    /// A decision dated after the reference date.
    FutureDate,
}

/// The truth about one push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthPush {
    /// The push's `seq`.
    pub seq: u64,
    /// The pushing unit.
    pub unit: UnitCode,
    /// The deciding authority's unit.
    pub authority: UnitCode,
    /// Penalty identity cluster (`P000001`): pushes of one decision share it.
    pub identity: String,
    /// The folded decision number (`fold_decision_no` of what was written).
    pub decision_no: String,
    /// Content version within the identity (0 first, +1 per correction).
    pub version: u32,
    /// Why it was generated.
    pub kind: PushKind,
    /// What penex must answer.
    pub expected: Expected,
    /// Subject cluster (`S000001`, see [`Truth::subjects`]).
    pub subject: String,
    /// Pushed by someone other than the deciding unit (its provincial lead).
    pub relayed: bool,
    /// For invalid pushes: the defect.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub defect: Option<Defect>,
    /// For invalid pushes: the field concerned, by our English dotted name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub defect_field: Option<String>,
}

/// The truth about one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthSubject {
    /// `legal_person`, `natural_person` or `individual_business`.
    pub kind: String,
    /// The name as registered (records may write variants).
    pub name: String,
    /// 统一社会信用代码, when the subject has one (records may leave it out).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uscc: Option<String>,
    /// 工商注册号 of an individual business (the only key of some of them).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub business_reg_no: Option<String>,
    /// 18-digit resident ID of a natural person.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id_no: Option<String>,
    /// The party the subject is at home in.
    pub home_party: Party,
    /// The division embedded in its identifier (possibly retired).
    pub home_division: String,
}

/// One side of a cross-border conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictSide {
    /// Identity cluster.
    pub identity: String,
    /// The push.
    pub seq: u64,
    /// The deciding authority.
    pub authority: UnitCode,
    /// 立案日期.
    pub filed_date: NaiveDate,
    /// 处罚决定日期.
    pub decision_date: NaiveDate,
}

/// The same act penalized by two authorities of different parties (一事不二罚, art. 29).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthConflict {
    /// Subject cluster.
    pub subject: String,
    /// 违法行为类型 of both records.
    pub violation_type: String,
    /// The two records, in push order.
    pub records: [ConflictSide; 2],
    /// The identity that keeps jurisdiction: the one filed first (谁先予立案, art. 25).
    pub winner: String,
    /// Its push.
    pub winner_seq: u64,
}

/// Two penalties of one subject by one authority on one day: not duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SameDayPair {
    /// Subject cluster.
    pub subject: String,
    /// The deciding authority.
    pub authority: UnitCode,
    /// The shared decision date.
    pub decision_date: NaiveDate,
    /// The two identities.
    pub identities: [String; 2],
    /// Their pushes.
    pub seqs: [u64; 2],
}

/// The ground truth of a simulated set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Format version of this file.
    pub format: u32,
    /// Pushes generated.
    pub records: usize,
    /// Seed used.
    pub seed: u64,
    /// Reference date used.
    pub today: NaiveDate,
    /// One entry per push, in push order.
    pub pushes: Vec<TruthPush>,
    /// Every subject cluster.
    pub subjects: BTreeMap<String, TruthSubject>,
    /// True cross-border conflict pairs with the expected winner.
    pub conflicts: Vec<TruthConflict>,
    /// Same-day different-violation pairs.
    pub same_day_pairs: Vec<SameDayPair>,
}

/// Counts of expected statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// `accepted`.
    pub accepted: usize,
    /// `duplicate`.
    pub duplicate: usize,
    /// `corrected`.
    pub corrected: usize,
    /// `rejected`.
    pub rejected: usize,
    /// `conflict`.
    #[serde(default)]
    pub conflict: usize,
}

/// Counts per injected kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injected {
    /// First pushes made by the provincial lead.
    pub lead_relays: usize,
    /// Relayed duplicates.
    pub relayed_duplicates: usize,
    /// Corrections.
    pub corrections: usize,
    /// Cross-border pairs (two pushes each).
    pub cross_border_pairs: usize,
    /// Same-day pairs (two pushes each).
    pub same_day_pairs: usize,
    /// Invalid: bad checksum.
    pub invalid_bad_checksum: usize,
    /// Invalid: a required field missing.
    pub invalid_missing_field: usize,
    /// Invalid: decision date in the future.
    pub invalid_future_date: usize,
    /// New subjects.
    pub new_subjects: usize,
    /// New subjects at home in another party than their first deciding authority.
    pub other_party_subjects: usize,
    /// Decisions naming a subject penalized before.
    pub repeat_subject_records: usize,
    /// Records writing a 15-digit resident ID.
    pub legacy_15_digit_ids: usize,
    /// Subjects whose identifier carries a retired division.
    pub retired_division_subjects: usize,
    /// Records writing a known company's name differently.
    pub name_variants: usize,
    /// Records leaving out an identifier the subject has (USCC, 组织机构代码, representative ID).
    pub missing_optional_ids: usize,
    /// Pushes with width, bracket or whitespace variants.
    pub cosmetic_variants: usize,
}

/// Pushes per key style.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStyles {
    /// 双公示 column codes.
    pub column: usize,
    /// Chinese item names.
    pub chinese: usize,
    /// English names, nested.
    pub english_nested: usize,
    /// English names, dotted.
    pub english_dotted: usize,
}

/// Pushes per subject kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectKinds {
    /// 法人及非法人组织.
    pub legal_person: usize,
    /// 个体工商户.
    pub individual_business: usize,
    /// 自然人.
    pub natural_person: usize,
}

/// What a simulated set holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Pushes.
    pub pushes: usize,
    /// Seed.
    pub seed: u64,
    /// Reference date.
    pub today: NaiveDate,
    /// The mix used (after [`Mix::sanitized`]).
    pub mix: Mix,
    /// Expected statuses.
    pub expected: StatusCounts,
    /// Injected cases.
    pub injected: Injected,
    /// Key styles.
    pub key_styles: KeyStyles,
    /// Subject kinds.
    pub subject_kinds: SubjectKinds,
    /// Pushes per deciding party.
    pub deciding_parties: BTreeMap<Party, usize>,
    /// The collaboration scripts' expected counts (absent when none were asked for).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub collaboration: Option<collab::CollabSummary>,
}

/// A simulated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSet {
    /// The pushes, in push order.
    pub pushes: Vec<SimPush>,
    /// Ground truth.
    pub truth: Truth,
    /// Counts.
    pub summary: Summary,
    /// Collaboration scripts with their ground truth (empty unless asked for).
    pub collaboration: Vec<collab::CollabScript>,
}

/// The file names written by [`SimSet::write_to`].
pub const FILES: [&str; 3] = ["records.jsonl", "truth.json", "summary.json"];

/// The file of collaboration scripts, written by [`SimSet::write_to`] when there are any.
pub const COLLABORATION_FILE: &str = "collaboration.jsonl";

impl SimSet {
    /// `records.jsonl`: one line per push, `{"seq", "unit", "record"}`.
    pub fn records_jsonl(&self) -> String {
        let mut out = String::new();
        for p in &self.pushes {
            out.push_str(&serde_json::to_string(p).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// `truth.json`.
    pub fn truth_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.truth).unwrap_or_default();
        s.push('\n');
        s
    }

    /// `summary.json`.
    pub fn summary_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.summary).unwrap_or_default();
        s.push('\n');
        s
    }

    /// `collaboration.jsonl`: one [`collab::CollabScript`] per line.
    pub fn collaboration_jsonl(&self) -> String {
        let mut out = String::new();
        for s in &self.collaboration {
            out.push_str(&serde_json::to_string(s).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// Writes the three files into `dir` (created when absent), and `collaboration.jsonl`
    /// when the set has collaboration scripts (an earlier run's is removed otherwise, so that
    /// the folder never pairs it with a summary that does not count it).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let [records, truth, summary] = FILES;
        std::fs::write(dir.join(records), self.records_jsonl())?;
        std::fs::write(dir.join(truth), self.truth_json())?;
        std::fs::write(dir.join(summary), self.summary_json())?;
        let collaboration = dir.join(COLLABORATION_FILE);
        if !self.collaboration.is_empty() {
            std::fs::write(collaboration, self.collaboration_jsonl())?;
        } else if collaboration.exists() {
            std::fs::remove_file(collaboration)?;
        }
        Ok(())
    }
}

/// Generates a simulated set: `opts.records` pushes by the enabled units among `units`
/// (normally the parsed `config/units.toml`). Deterministic in `opts` and `units`. With no
/// enabled unit there is no one to push: the set is empty.
pub fn generate(opts: &SimOptions, units: &[Unit]) -> SimSet {
    let mut set = generator::Generator::new(opts, units).run();
    if opts.collaboration > 0 {
        set.collaboration = collab::generate(units, opts.collaboration, opts.seed, opts.today);
        set.summary.collaboration = Some(collab::summarize(&set.collaboration));
    }
    set
}

#[cfg(test)]
mod tests;
