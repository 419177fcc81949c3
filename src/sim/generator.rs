//! The generator behind [`super::generate`]: draws subjects, decisions and injected cases,
//! orders the pushes in time, and derives the truth by replaying them against a model of the
//! store (identity → current content version).
//!
//! Pure. All randomness comes from one [`Rng`] seeded with the options' seed; per-unit
//! decision-number styles come from a hash of the unit code, so a unit writes its numbers the
//! same way whatever the seed.

use super::data::{self, Division, Violation};
use super::render::{self, AmountText, DecisionNo, Facts, KeyStyle, Penalty, Style, SubjectText};
use super::rng::Rng;
use super::{
    ConflictSide, Defect, Expected, Injected, KeyStyles, PushKind, SameDayPair, SimOptions,
    SimPush, SimSet, StatusCounts, SubjectKinds, Summary, Truth, TruthConflict, TruthPush,
    TruthSubject,
};
use crate::domain::party::{Level, Party};
use crate::domain::record::{PenaltyCategory, SubjectKind};
use crate::domain::unit::Unit;
use crate::normalize::Field;
use crate::normalize::ids::{
    USCC_ALPHABET, org_code_check_char, resident_id_check_char, uscc_check_char,
};
use chrono::{Datelike, Days, Months, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};

/// Used only if the division table were empty.
static FALLBACK_DIVISION: Division = Division {
    code: "310101",
    name: "黄浦区",
    city: "上海市",
};

/// Format version of `truth.json`.
const TRUTH_FORMAT: u32 = 1;

/// Decisions lie within this many days before the reference date (three years).
const WINDOW_DAYS: i64 = 3 * 365;

/// A subject of the simulated region.
#[derive(Debug, Clone)]
struct SubjectRec {
    kind: SubjectKind,
    name: String,
    uscc: Option<String>,
    business_reg_no: Option<String>,
    /// Representative (legal persons) or operator (individual businesses), with an 18-digit ID.
    rep: Option<(String, String)>,
    /// 18-digit resident ID of a natural person.
    id_no: Option<String>,
    /// Its 15-digit legacy form, for people born before 2000.
    legacy_id: Option<String>,
    home_party: Party,
    home_division: String,
}

/// The identity of a decision: (deciding unit, folded decision number).
#[derive(Debug, Clone)]
struct Identity {
    authority: usize,
    decision_no: String,
    subject: usize,
}

/// A push before it is put in order.
#[derive(Debug, Clone)]
struct Planned {
    day: NaiveDate,
    order: u64,
    pusher: usize,
    identity: usize,
    version: u32,
    kind: PushKind,
    defect: Option<(Defect, Field)>,
    subject_kind: SubjectKind,
    record: serde_json::Value,
}

/// A first push that may later be duplicated or corrected.
#[derive(Debug, Clone)]
struct Original {
    identity: usize,
    pusher: usize,
    day: NaiveDate,
    penalty: Penalty,
}

/// How a unit writes its decision numbers.
#[derive(Debug, Clone)]
enum NumberStyle {
    /// Shanghai: a bare ten-digit number, `yy` + three digits of the district + five digits.
    Bare { district: String },
    /// Zhejiang's `秀综执罚决字[2018]第1-001号` (team-sequence) style.
    ZjTeam { prefix: String },
    /// Any other `<prefix><bracket>year<bracket>[第]<seq>号` style.
    Bracketed {
        prefix: String,
        open: &'static str,
        close: &'static str,
        di: bool,
        width: usize,
    },
}

/// Dates of one decision.
#[derive(Debug, Clone, Copy)]
struct Dates {
    act: NaiveDate,
    filed: NaiveDate,
    decision: NaiveDate,
}

/// What a new decision should look like; `None` fields are drawn.
#[derive(Debug, Clone, Default)]
struct Spec {
    authority: Option<usize>,
    violation: Option<usize>,
    subject: Option<usize>,
    kind: Option<SubjectKind>,
    dates: Option<Dates>,
    quantity: Option<u32>,
    plate: Option<String>,
    relayed: bool,
    /// Always write the subject's USCC / 18-digit ID (records whose checksum is corrupted).
    full_ids: bool,
}

pub(super) struct Generator<'a> {
    opts: &'a SimOptions,
    mix: super::Mix,
    rng: Rng,
    units: Vec<&'a Unit>,
    weights: Vec<(usize, u32)>,
    leads: BTreeMap<Party, usize>,
    styles: Vec<NumberStyle>,
    seqs: BTreeMap<(usize, i32), u32>,
    subjects: Vec<SubjectRec>,
    /// Subjects of each kind, for drawing repeat offenders.
    by_kind: BTreeMap<SubjectKind, Vec<usize>>,
    /// Filing and decision dates of each identity's first version.
    first_dates: BTreeMap<usize, (NaiveDate, NaiveDate)>,
    issued: BTreeSet<String>,
    identities: Vec<Identity>,
    identity_keys: BTreeSet<(usize, String)>,
    planned: Vec<Planned>,
    originals: Vec<Original>,
    conflicts: Vec<(usize, usize, usize, &'static str)>,
    same_day: Vec<(usize, usize)>,
    injected: Injected,
    key_styles: KeyStyles,
    order: u64,
}

fn days(n: i64) -> Days {
    Days::new(u64::try_from(n.max(0)).unwrap_or(0))
}

fn plus(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_add_days(days(n)).unwrap_or(d)
}

fn minus(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_sub_days(days(n)).unwrap_or(d)
}

fn plus_months(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_add_months(Months::new(m)).unwrap_or(d)
}

/// FNV-1a: a stable hash of a unit code (for its number style).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The short form units put in front of their decision numbers (`秀`, `宁`, `台`).
pub(super) fn abbreviation(unit: &Unit) -> String {
    let mut name = unit.name.as_str();
    for p in ["上海市", "江苏省", "浙江省", "安徽省"] {
        if let Some(rest) = name.strip_prefix(p) {
            name = rest;
        }
    }
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    if let Some((city, rest)) = name.split_once('市')
        && !city.is_empty()
        && city.chars().count() <= 3
    {
        let head: String = rest.chars().take(4).collect();
        let district = (head.contains('区') || head.contains('县'))
            && !rest.starts_with("城市")
            && !rest.starts_with("综合");
        if district {
            return first(rest);
        }
        return match city {
            "南京" => "宁".to_owned(),
            "南通" => "通".to_owned(),
            "宁波" => "甬".to_owned(),
            "马鞍山" => "马".to_owned(),
            "连云港" => "连".to_owned(),
            other => first(other),
        };
    }
    first(name)
}

fn number_style(unit: &Unit) -> NumberStyle {
    let mut r = Rng::new(fnv(unit.code.as_str()));
    if unit.party == Party::Shanghai {
        let district: String = unit.division.chars().skip(3).take(3).collect();
        return NumberStyle::Bare { district };
    }
    let abbr = abbreviation(unit);
    let lead_prefix = match unit.party {
        Party::Jiangsu => "苏建罚字",
        Party::Zhejiang => "浙建罚字",
        _ => "皖建罚字",
    };
    let prefix = if unit.level == Level::Province {
        lead_prefix.to_owned()
    } else {
        let forms: &[&str] = match unit.party {
            Party::Zhejiang => &["综执罚决字", "城执罚决字", "综执罚字"],
            Party::Jiangsu => &["城管罚字", "城管罚决字", "城执罚字"],
            _ => &["城管罚", "城管罚字", "城执罚决字"],
        };
        format!("{abbr}{}", r.pick(forms).copied().unwrap_or("罚字"))
    };
    if unit.party == Party::Zhejiang && unit.level != Level::Province && r.chance(0.4) {
        return NumberStyle::ZjTeam { prefix };
    }
    let brackets: &[(&'static str, &'static str)] = match unit.party {
        Party::Zhejiang => &[("[", "]"), ("[ ", " ]"), ("〔", "〕")],
        Party::Jiangsu => &[("〔", "〕"), ("（", "）"), ("(", ")"), ("【", "】")],
        _ => &[("【", "】"), ("〔", "〕"), ("（", "）"), ("[", "]")],
    };
    let (open, close) = r.pick(brackets).copied().unwrap_or(("〔", "〕"));
    NumberStyle::Bracketed {
        prefix,
        open,
        close,
        di: r.chance(0.6),
        width: *r.pick(&[0usize, 0, 3, 4, 5]).unwrap_or(&0),
    }
}

/// The GB 12114 / ISO 7064 MOD 11,10 check digit of a 15-digit 工商注册号.
fn mod11_10_check(digits14: &str) -> char {
    let mut p = 10u32;
    for c in digits14.chars() {
        let d = c.to_digit(10).unwrap_or(0);
        let mut s = (p + d) % 10;
        if s == 0 {
            s = 10;
        }
        p = (s * 2) % 11;
    }
    char::from_digit((11 - p) % 10, 10).unwrap_or('0')
}

/// A different character of `alphabet` in place of the last one (a checksum error).
fn corrupt_last(code: &str, alphabet: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let Some(last) = chars.pop() else {
        return code.to_owned();
    };
    let others: Vec<char> = alphabet.chars().filter(|c| *c != last).collect();
    chars.push(rng.pick(&others).copied().unwrap_or('0'));
    chars.into_iter().collect()
}

fn short_city(city: &str) -> &str {
    city.strip_suffix('市').unwrap_or(city)
}

impl<'a> Generator<'a> {
    pub(super) fn new(opts: &'a SimOptions, units: &'a [Unit]) -> Generator<'a> {
        let units: Vec<&Unit> = units.iter().filter(|u| !u.disabled).collect();
        let weights = units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let w = match u.level {
                    Level::Province => 1,
                    Level::City => 4,
                    Level::County => 6,
                    Level::Street => 5,
                };
                (i, w)
            })
            .collect();
        let mut leads = BTreeMap::new();
        for (i, u) in units.iter().enumerate() {
            if u.level == Level::Province && u.parent.is_none() {
                leads.entry(u.party).or_insert(i);
            }
        }
        let styles = units.iter().map(|u| number_style(u)).collect();
        Generator {
            opts,
            mix: opts.mix.sanitized(),
            rng: Rng::new(opts.seed),
            units,
            weights,
            leads,
            styles,
            seqs: BTreeMap::new(),
            subjects: Vec::new(),
            by_kind: BTreeMap::new(),
            first_dates: BTreeMap::new(),
            issued: BTreeSet::new(),
            identities: Vec::new(),
            identity_keys: BTreeSet::new(),
            planned: Vec::new(),
            originals: Vec::new(),
            conflicts: Vec::new(),
            same_day: Vec::new(),
            injected: Injected::default(),
            key_styles: KeyStyles::default(),
            order: 0,
        }
    }

    fn unit(&self, i: usize) -> Option<&'a Unit> {
        self.units.get(i).copied()
    }

    fn party_of(&self, i: usize) -> Party {
        self.unit(i).map_or(Party::Shanghai, |u| u.party)
    }

    /// The provincial lead of a unit's party (the unit itself when there is none).
    fn lead_for(&self, i: usize) -> usize {
        self.leads.get(&self.party_of(i)).copied().unwrap_or(i)
    }

    fn today(&self) -> NaiveDate {
        self.opts.today
    }

    // ---- Planning --------------------------------------------------------------------------

    pub(super) fn run(mut self) -> SimSet {
        let n = if self.units.is_empty() {
            0
        } else {
            self.opts.records
        };
        let round = |share: f64| ((n as f64) * share).round() as usize;
        let mut n_dup = round(self.mix.relayed_duplicate);
        let mut n_corr = round(self.mix.correction);
        let border_pairs = self.border_candidates();
        let mut n_cross = if border_pairs.is_empty() {
            0
        } else {
            round(self.mix.cross_border / 2.0)
        };
        let mut n_same = round(self.mix.same_day / 2.0);
        let mut n_invalid = round(self.mix.invalid);
        // Shrink the injected counts until they fit and leave originals for every duplicate
        // and correction.
        loop {
            let injected = n_dup + n_corr + 2 * n_cross + 2 * n_same + n_invalid;
            let singles = n.saturating_sub(injected);
            let fits = injected <= n && n_dup + n_corr <= singles + 2 * n_cross + 2 * n_same;
            if fits {
                break;
            }
            if n_dup > 0 && n_dup >= n_corr {
                n_dup -= 1;
            } else if n_corr > 0 {
                n_corr -= 1;
            } else if n_invalid > 0 {
                n_invalid -= 1;
            } else if n_cross > 0 {
                n_cross -= 1;
            } else if n_same > 0 {
                n_same -= 1;
            } else {
                break;
            }
        }
        let n_single = n.saturating_sub(n_dup + n_corr + 2 * n_cross + 2 * n_same + n_invalid);

        for _ in 0..n_single {
            self.original(PushKind::Original, Spec::default());
        }
        for _ in 0..n_cross {
            self.cross_border_pair(&border_pairs);
        }
        for _ in 0..n_same {
            self.same_day_pair();
        }
        for _ in 0..n_invalid {
            self.invalid();
        }
        // Distinct originals for duplicates and corrections, so that each follow-up meets the
        // content it expects.
        let mut pool: Vec<usize> = (0..self.originals.len()).collect();
        for i in (1..pool.len()).rev() {
            let j = self.rng.index(i + 1);
            pool.swap(i, j);
        }
        let mut pool = pool.into_iter();
        for _ in 0..n_dup {
            if let Some(o) = pool.next() {
                self.duplicate(o);
            }
        }
        for _ in 0..n_corr {
            if let Some(o) = pool.next() {
                self.correction(o);
            }
        }
        self.finish()
    }

    fn finish(mut self) -> SimSet {
        let mut planned = std::mem::take(&mut self.planned);
        planned.sort_by_key(|p| (p.day, p.order));
        // Clusters are numbered in order of first appearance, so the files read naturally.
        let mut id_label: BTreeMap<usize, String> = BTreeMap::new();
        let mut subject_label: BTreeMap<usize, String> = BTreeMap::new();
        let subject_order = planned
            .iter()
            .filter_map(|p| {
                self.identities
                    .get(p.identity)
                    .map(|i| (p.identity, i.subject))
            })
            .chain((0..self.subjects.len()).map(|s| (usize::MAX, s)));
        for (identity, subject) in subject_order {
            if identity != usize::MAX && !id_label.contains_key(&identity) {
                let label = format!("P{:06}", id_label.len() + 1);
                id_label.insert(identity, label);
            }
            if !subject_label.contains_key(&subject) {
                let label = format!("S{:06}", subject_label.len() + 1);
                subject_label.insert(subject, label);
            }
        }
        let id_of = |i: usize| id_label.get(&i).cloned().unwrap_or_default();
        let subject_of = |s: usize| subject_label.get(&s).cloned().unwrap_or_default();
        let mut current: BTreeMap<usize, u32> = BTreeMap::new();
        let mut first_seq: BTreeMap<usize, u64> = BTreeMap::new();
        let mut pushes = Vec::with_capacity(planned.len());
        let mut truth_pushes = Vec::with_capacity(planned.len());
        let mut expected_counts = StatusCounts::default();
        let mut kinds = SubjectKinds::default();
        let mut parties: BTreeMap<Party, usize> = BTreeMap::new();
        for (i, p) in planned.into_iter().enumerate() {
            let seq = i as u64 + 1;
            let Some(identity) = self.identities.get(p.identity) else {
                continue;
            };
            let (Some(pusher), Some(authority)) =
                (self.unit(p.pusher), self.unit(identity.authority))
            else {
                continue;
            };
            let expected = if p.defect.is_some() {
                Expected::Rejected
            } else {
                let e = match current.get(&p.identity) {
                    None => Expected::Accepted,
                    Some(v) if *v == p.version => Expected::Duplicate,
                    Some(_) => Expected::Corrected,
                };
                current.insert(p.identity, p.version);
                e
            };
            first_seq.entry(p.identity).or_insert(seq);
            match expected {
                Expected::Accepted => expected_counts.accepted += 1,
                Expected::Duplicate => expected_counts.duplicate += 1,
                Expected::Corrected => expected_counts.corrected += 1,
                Expected::Rejected => expected_counts.rejected += 1,
                Expected::Conflict => expected_counts.conflict += 1,
            }
            match p.subject_kind {
                SubjectKind::LegalPerson => kinds.legal_person += 1,
                SubjectKind::IndividualBusiness => kinds.individual_business += 1,
                SubjectKind::NaturalPerson => kinds.natural_person += 1,
            }
            *parties.entry(authority.party).or_insert(0) += 1;
            truth_pushes.push(TruthPush {
                seq,
                unit: pusher.code.clone(),
                authority: authority.code.clone(),
                identity: id_of(p.identity),
                decision_no: identity.decision_no.clone(),
                version: p.version,
                kind: p.kind,
                expected,
                subject: subject_of(identity.subject),
                relayed: p.pusher != identity.authority,
                defect: p.defect.map(|(d, _)| d),
                defect_field: p.defect.map(|(_, f)| f.name().to_owned()),
            });
            pushes.push(SimPush {
                seq,
                unit: pusher.code.clone(),
                record: p.record,
            });
        }
        let side = |g: &Self, id: usize, dates: Option<(NaiveDate, NaiveDate)>| {
            let identity = g.identities.get(id)?;
            let authority = g.unit(identity.authority)?;
            let (filed, decision) = dates?;
            Some(ConflictSide {
                identity: id_of(id),
                seq: first_seq.get(&id).copied().unwrap_or(0),
                authority: authority.code.clone(),
                filed_date: filed,
                decision_date: decision,
            })
        };
        let mut conflicts = Vec::new();
        for (a, b, subject, violation) in &self.conflicts {
            let (Some(sa), Some(sb)) = (
                side(&self, *a, self.dates_of(*a)),
                side(&self, *b, self.dates_of(*b)),
            ) else {
                continue;
            };
            let winner = if sa.filed_date <= sb.filed_date {
                &sa
            } else {
                &sb
            };
            let (winner, winner_seq) = (winner.identity.clone(), winner.seq);
            let mut records = [sa, sb];
            records.sort_by_key(|s| s.seq);
            conflicts.push(TruthConflict {
                subject: subject_of(*subject),
                violation_type: (*violation).to_owned(),
                records,
                winner,
                winner_seq,
            });
        }
        conflicts.sort_by_key(|c| c.records[0].seq);
        // The later push of a pair is answered `conflict` when it is the later filing.
        for c in &conflicts {
            let later = &c.records[1];
            if later.identity == c.winner {
                continue;
            }
            let at = usize::try_from(later.seq.saturating_sub(1)).unwrap_or(usize::MAX);
            if let Some(tp) = truth_pushes.get_mut(at)
                && tp.expected == Expected::Accepted
            {
                tp.expected = Expected::Conflict;
                expected_counts.accepted -= 1;
                expected_counts.conflict += 1;
            }
        }
        let mut same_day_pairs = Vec::new();
        for (a, b) in &self.same_day {
            let (Some(ia), Some(_)) = (self.identities.get(*a), self.identities.get(*b)) else {
                continue;
            };
            let (Some(authority), Some((_, decision))) =
                (self.unit(ia.authority), self.dates_of(*a))
            else {
                continue;
            };
            let mut pair = [
                (first_seq.get(a).copied().unwrap_or(0), *a),
                (first_seq.get(b).copied().unwrap_or(0), *b),
            ];
            pair.sort();
            same_day_pairs.push(SameDayPair {
                subject: subject_of(ia.subject),
                authority: authority.code.clone(),
                decision_date: decision,
                identities: pair.map(|(_, id)| id_of(id)),
                seqs: pair.map(|(s, _)| s),
            });
        }
        same_day_pairs.sort_by_key(|p| p.seqs[0]);
        let subjects = self
            .subjects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    subject_of(i),
                    TruthSubject {
                        kind: s.kind.as_str().to_owned(),
                        name: s.name.clone(),
                        uscc: s.uscc.clone(),
                        business_reg_no: s.business_reg_no.clone(),
                        id_no: s.id_no.clone(),
                        home_party: s.home_party,
                        home_division: s.home_division.clone(),
                    },
                )
            })
            .collect();
        let truth = Truth {
            format: TRUTH_FORMAT,
            records: pushes.len(),
            seed: self.opts.seed,
            today: self.opts.today,
            pushes: truth_pushes,
            subjects,
            conflicts,
            same_day_pairs,
        };
        let summary = Summary {
            pushes: pushes.len(),
            seed: self.opts.seed,
            today: self.opts.today,
            mix: self.mix.clone(),
            expected: expected_counts,
            injected: self.injected.clone(),
            key_styles: self.key_styles.clone(),
            subject_kinds: kinds,
            deciding_parties: parties,
            collaboration: None,
        };
        SimSet {
            pushes,
            truth,
            summary,
            collaboration: Vec::new(),
        }
    }

    /// Filing and decision dates of an identity's first version.
    fn dates_of(&self, identity: usize) -> Option<(NaiveDate, NaiveDate)> {
        self.first_dates.get(&identity).copied()
    }
}

/// A decision drawn by [`Generator::build`].
struct Built {
    penalty: Penalty,
    authority: usize,
    subject: usize,
}

const MISSABLE: [Field; 7] = [
    Field::DecisionNo,
    Field::Facts,
    Field::LegalBasis,
    Field::Content,
    Field::DecisionDate,
    Field::ViolationType,
    Field::SubjectName,
];

const REMARKS: [&str; 3] = ["当事人已履行处罚决定", "已缴纳罚款", "当事人已改正违法行为"];

impl<'a> Generator<'a> {
    // ---- Units -----------------------------------------------------------------------------

    fn pick_authority(&mut self) -> usize {
        self.rng.weighted(&self.weights).copied().unwrap_or(0)
    }

    /// Pairs of units on two sides of a provincial border; any two units of different parties
    /// when the registry has none of the known border areas.
    fn border_candidates(&self) -> Vec<(usize, usize)> {
        let in_area =
            |u: &Unit, prefix: &str| u.level != Level::Province && u.division.starts_with(prefix);
        let mut out = Vec::new();
        for (pa, pb) in data::BORDERS {
            for (i, ua) in self.units.iter().enumerate() {
                if !in_area(ua, pa) {
                    continue;
                }
                for (j, ub) in self.units.iter().enumerate() {
                    if in_area(ub, pb) && ua.party != ub.party {
                        out.push((i, j));
                    }
                }
            }
        }
        if out.is_empty() {
            for (i, ua) in self.units.iter().enumerate() {
                for (j, ub) in self.units.iter().enumerate().skip(i + 1) {
                    if ua.party != ub.party {
                        out.push((i, j));
                    }
                }
            }
        }
        out
    }

    // ---- Subjects --------------------------------------------------------------------------

    fn person_name(&mut self) -> String {
        let surname = self.rng.pick(data::SURNAMES).copied().unwrap_or("王");
        let given = self.rng.pick(data::GIVEN).copied().unwrap_or("伟");
        let second = if given.chars().count() == 1 && self.rng.chance(0.5) {
            self.rng.pick(data::GIVEN).copied().unwrap_or_default()
        } else {
            ""
        };
        let second: String = second.chars().take(1).collect();
        format!("{surname}{given}{second}")
    }

    fn plate(&mut self, party: Party) -> String {
        let letters = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K'];
        let letter = self.rng.pick(&letters).copied().unwrap_or('A');
        format!(
            "{}{letter}{:05}",
            data::plate_prefix(party),
            self.rng.range(0, 99_999)
        )
    }

    fn new_uscc(&mut self, prefix: &str, division: &str) -> String {
        let alphabet: Vec<char> = USCC_ALPHABET.chars().collect();
        let mut last = String::new();
        for _ in 0..50 {
            let body: String = if self.rng.chance(0.7) {
                let tail: String = (0..6)
                    .map(|_| self.rng.pick(&alphabet).copied().unwrap_or('0'))
                    .collect();
                format!("MA{tail}")
            } else {
                format!("{:08}", self.rng.range(0, 99_999_999))
            };
            let Some(org_check) = org_code_check_char(&body) else {
                continue;
            };
            let first17 = format!("{prefix}{division}{body}{org_check}");
            let Some(check) = uscc_check_char(&first17) else {
                continue;
            };
            last = format!("{first17}{check}");
            if self.issued.insert(last.clone()) {
                break;
            }
        }
        last
    }

    /// An 18-digit resident ID and, for people born before 2000, its 15-digit legacy form.
    fn new_resident_id(&mut self, division: &str) -> (String, Option<String>) {
        let base = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default();
        let mut last = (String::new(), None);
        for _ in 0..50 {
            let birth = plus(base, self.rng.range(0, 19_700));
            let seq = self.rng.range(0, 999);
            let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
            let Some(check) = resident_id_check_char(&first17) else {
                continue;
            };
            let legacy = (birth.year() < 2000)
                .then(|| format!("{division}{}{seq:03}", birth.format("%y%m%d")));
            last = (format!("{first17}{check}"), legacy);
            if self.issued.insert(last.0.clone()) {
                break;
            }
        }
        last
    }

    fn home_division(&mut self, party: Party, near: Option<&str>) -> &'static Division {
        let all = data::divisions_of(party);
        let close: Vec<&'static Division> = match near {
            Some(prefix) => all
                .iter()
                .copied()
                .filter(|d| d.code.starts_with(prefix))
                .collect(),
            None => Vec::new(),
        };
        let pool = if !close.is_empty() && self.rng.chance(0.6) {
            close
        } else {
            all
        };
        self.rng
            .pick(&pool)
            .copied()
            .or_else(|| data::DIVISIONS.first())
            .unwrap_or(&FALLBACK_DIVISION)
    }

    fn new_subject(&mut self, kind: SubjectKind, authority: usize) -> usize {
        let party = self.party_of(authority);
        let other = self.rng.chance(self.mix.other_party_subject);
        let home_party = if other {
            let others: Vec<Party> = Party::ALL.into_iter().filter(|p| *p != party).collect();
            self.rng.pick(&others).copied().unwrap_or(party)
        } else {
            party
        };
        self.injected.new_subjects += 1;
        if home_party != party {
            self.injected.other_party_subjects += 1;
        }
        let near: Option<String> = (home_party == party && party != Party::Shanghai)
            .then(|| {
                self.unit(authority)
                    .map(|u| u.division.chars().take(4).collect())
            })
            .flatten();
        let mut division = self.home_division(home_party, near.as_deref());
        if home_party == Party::Shanghai
            && self.rng.chance(self.mix.retired_division)
            && let Some(d) = self.rng.pick(data::RETIRED_DIVISIONS)
        {
            division = d;
            self.injected.retired_division_subjects += 1;
        }
        let mut subject = SubjectRec {
            kind,
            name: String::new(),
            uscc: None,
            business_reg_no: None,
            rep: None,
            id_no: None,
            legacy_id: None,
            home_party,
            home_division: division.code.to_owned(),
        };
        match kind {
            SubjectKind::LegalPerson => {
                let trade = self.rng.pick(data::TRADE_NAMES).copied().unwrap_or("恒达");
                let business = self
                    .rng
                    .pick(data::BUSINESSES)
                    .copied()
                    .unwrap_or("建筑工程");
                let suffix = self
                    .rng
                    .weighted(&[
                        ("有限公司", 55),
                        ("有限责任公司", 25),
                        ("股份有限公司", 5),
                        ("（集团）有限公司", 10),
                    ])
                    .copied()
                    .unwrap_or("有限公司");
                subject.name = format!("{}{trade}{business}{suffix}", short_city(division.city));
                subject.uscc = Some(self.new_uscc("91", division.code));
                let rep = self.person_name();
                let (rep_id, _) = self.new_resident_id(division.code);
                subject.rep = Some((rep, rep_id));
            }
            SubjectKind::IndividualBusiness => {
                let shop = self.rng.pick(data::SHOPS).copied().unwrap_or("小吃店");
                let operator = self.person_name();
                subject.name = if self.rng.chance(0.5) {
                    let surname: String = operator.chars().take(1).collect();
                    format!("{}{surname}记{shop}", division.name)
                } else {
                    format!("{}{operator}{shop}", division.name)
                };
                let has_uscc = self.rng.chance(0.7);
                if has_uscc {
                    subject.uscc = Some(self.new_uscc("92", division.code));
                }
                if !has_uscc || self.rng.chance(0.3) {
                    let body = format!("{}60{:06}", division.code, self.rng.range(0, 999_999));
                    subject.business_reg_no = Some(format!("{body}{}", mod11_10_check(&body)));
                }
                let (operator_id, _) = self.new_resident_id(division.code);
                subject.rep = Some((operator, operator_id));
            }
            SubjectKind::NaturalPerson => {
                subject.name = self.person_name();
                let (id, legacy) = self.new_resident_id(division.code);
                subject.id_no = Some(id);
                subject.legacy_id = legacy;
            }
        }
        self.subjects.push(subject);
        let index = self.subjects.len() - 1;
        self.by_kind.entry(kind).or_default().push(index);
        index
    }

    /// A subject of `kind` for a decision of `authority`: someone penalized before (repeat
    /// offenders), or a new one.
    fn subject_for(&mut self, kind: SubjectKind, authority: usize) -> usize {
        if self.rng.chance(self.mix.repeat_subject) {
            let known = self.by_kind.get(&kind).map_or(&[][..], Vec::as_slice);
            if let Some(s) = self.rng.pick(known).copied() {
                self.injected.repeat_subject_records += 1;
                return s;
            }
        }
        self.new_subject(kind, authority)
    }

    /// The subject as one decision writes it; `repeat`: the subject was penalized before.
    fn subject_text(&mut self, subject: usize, repeat: bool, full_ids: bool) -> SubjectText {
        let s = self.subjects.get(subject).cloned();
        let Some(s) = s else {
            return SubjectText {
                kind: SubjectKind::NaturalPerson,
                name: String::new(),
                uscc: None,
                org_code: None,
                business_reg_no: None,
                rep: None,
                id_no: None,
            };
        };
        let mut missing = false;
        let mut text = SubjectText {
            kind: s.kind,
            name: s.name.clone(),
            uscc: None,
            org_code: None,
            business_reg_no: None,
            rep: None,
            id_no: None,
        };
        match s.kind {
            SubjectKind::LegalPerson => {
                if repeat
                    && self.rng.chance(self.mix.name_variant)
                    && let Some(v) = name_variant(&s.name)
                {
                    text.name = v;
                    self.injected.name_variants += 1;
                }
                let drop_uscc = !full_ids && self.rng.chance(self.mix.missing_optional * 0.2);
                if drop_uscc {
                    missing = true;
                } else {
                    text.uscc = s.uscc.clone();
                }
                // Positions 9-17 of a USCC are the organization code with its own check.
                let org: Option<String> =
                    s.uscc.as_ref().map(|u| u.chars().skip(8).take(9).collect());
                if drop_uscc || self.rng.chance(0.3) {
                    text.org_code = org;
                }
                if !self.rng.chance(self.mix.missing_optional * 0.4)
                    && let Some((name, id)) = &s.rep
                {
                    let with_id = !self.rng.chance(self.mix.missing_optional);
                    missing |= !with_id;
                    text.rep = Some((name.clone(), with_id.then(|| id.clone())));
                }
            }
            SubjectKind::IndividualBusiness => {
                if s.uscc.is_some() {
                    if !full_ids && self.rng.chance(self.mix.missing_optional) {
                        missing = true;
                    } else {
                        text.uscc = s.uscc.clone();
                    }
                }
                text.business_reg_no = s.business_reg_no.clone();
                if self.rng.chance(0.5)
                    && let Some((name, _)) = &s.rep
                {
                    text.rep = Some((name.clone(), None));
                }
            }
            SubjectKind::NaturalPerson => {
                text.id_no = match &s.legacy_id {
                    Some(legacy) if !full_ids && self.rng.chance(self.mix.legacy_id) => {
                        self.injected.legacy_15_digit_ids += 1;
                        Some(legacy.clone())
                    }
                    _ => s.id_no.clone(),
                };
            }
        }
        if missing {
            self.injected.missing_optional_ids += 1;
        }
        text
    }

    // ---- Decisions -------------------------------------------------------------------------

    fn decision_no(&mut self, unit: usize, year: i32) -> DecisionNo {
        let start = u32::try_from(self.rng.range(1, 300)).unwrap_or(1);
        let step = u32::try_from(self.rng.range(1, 4)).unwrap_or(1);
        let team = self.rng.range(1, 5);
        let seq = match self.seqs.get(&(unit, year)) {
            Some(prev) => prev + step,
            None => start,
        };
        self.seqs.insert((unit, year), seq);
        let style = self
            .styles
            .get(unit)
            .cloned()
            .unwrap_or(NumberStyle::Bracketed {
                prefix: "罚字".to_owned(),
                open: "〔",
                close: "〕",
                di: true,
                width: 0,
            });
        match style {
            NumberStyle::Bare { district } => DecisionNo {
                prefix: format!("{:02}{district}{seq:05}", year.rem_euclid(100)),
                year: None,
                after: String::new(),
                open: "",
                close: "",
            },
            NumberStyle::ZjTeam { prefix } => DecisionNo {
                prefix,
                year: Some(year),
                after: format!("第{team}-{seq:03}号"),
                open: "[",
                close: "]",
            },
            NumberStyle::Bracketed {
                prefix,
                open,
                close,
                di,
                width,
            } => DecisionNo {
                prefix,
                year: Some(year),
                after: format!("{}{seq:0width$}号", if di { "第" } else { "" }),
                open,
                close,
            },
        }
    }

    /// A decision number not used before by this unit.
    fn unique_decision_no(&mut self, unit: usize, year: i32) -> DecisionNo {
        let mut d = self.decision_no(unit, year);
        for _ in 0..100 {
            if self.identity_keys.insert((unit, d.canonical())) {
                break;
            }
            d = self.decision_no(unit, year);
        }
        d
    }

    fn draw_dates(&mut self) -> Dates {
        let decision = minus(self.today(), self.rng.range(0, WINDOW_DAYS - 1));
        let filed = minus(decision, self.rng.range(1, 45));
        let act = minus(filed, self.rng.range(0, 10));
        Dates {
            act,
            filed,
            decision,
        }
    }

    /// The division where a unit's case happened, and its name for the facts.
    fn place(&mut self, unit: usize) -> (String, String) {
        let Some(u) = self.unit(unit) else {
            return ("310101".to_owned(), String::new());
        };
        if let Some(d) = data::division(&u.division) {
            return (d.code.to_owned(), d.name.to_owned());
        }
        let prefix: String = if u.division.ends_with("0000") {
            u.division.chars().take(2).collect()
        } else if u.division.ends_with("00") {
            u.division.chars().take(4).collect()
        } else {
            String::new()
        };
        let candidates: Vec<&Division> = data::DIVISIONS
            .iter()
            .filter(|d| !prefix.is_empty() && d.code.starts_with(&prefix))
            .collect();
        match self.rng.pick(&candidates) {
            Some(d) => (d.code.to_owned(), d.name.to_owned()),
            None => {
                let area: String = match u.name.split_once('区') {
                    Some((head, _)) => format!("{head}区"),
                    None => String::new(),
                };
                (u.division.clone(), area)
            }
        }
    }

    fn pick_violation(
        &mut self,
        kind: Option<SubjectKind>,
        except: Option<usize>,
    ) -> Option<usize> {
        let choices: Vec<(usize, u32)> = data::VIOLATIONS
            .iter()
            .enumerate()
            .filter(|(i, v)| {
                Some(*i) != except && kind.is_none_or(|k| v.kinds.iter().any(|(vk, _)| *vk == k))
            })
            .map(|(i, v)| (i, v.weight))
            .collect();
        self.rng.weighted(&choices).copied()
    }

    fn fine_fen(&mut self, v: &Violation, kind: SubjectKind) -> u64 {
        let (lo, hi) = v
            .fines
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map_or((200, 2_000), |(_, lo, hi)| (*lo, *hi));
        let raw = self.rng.range(lo, hi);
        let step = if hi >= 10_000 {
            100
        } else if hi >= 1_000 {
            50
        } else {
            10
        };
        let yuan = if self.rng.chance(0.1) {
            raw
        } else {
            (raw / step * step).max(lo)
        };
        u64::try_from(yuan).unwrap_or(0) * 100
    }

    fn build(&mut self, spec: &Spec) -> Option<Built> {
        let authority = spec.authority.unwrap_or_else(|| self.pick_authority());
        let unit = self.unit(authority)?;
        let kind_hint = spec
            .subject
            .and_then(|s| self.subjects.get(s).map(|s| s.kind))
            .or(spec.kind);
        let violation = match spec.violation {
            Some(v) => v,
            None => self.pick_violation(kind_hint, None)?,
        };
        let v = data::VIOLATIONS.get(violation)?;
        let kind = match kind_hint {
            Some(k) => k,
            None => self.rng.weighted(v.kinds).copied()?,
        };
        let (subject, repeat) = match spec.subject {
            Some(s) => (s, true),
            None => {
                let before = self.subjects.len();
                let s = self.subject_for(kind, authority);
                (s, s < before)
            }
        };
        let home_party = self
            .subjects
            .get(subject)
            .map_or(unit.party, |s| s.home_party);
        let dates = match spec.dates {
            Some(d) => d,
            None => self.draw_dates(),
        };
        let (place_division, place_name) = self.place(authority);
        let road = self.rng.pick(data::ROADS).copied().unwrap_or("人民路");
        let number = self.rng.range(1, 999);
        let plate = match &spec.plate {
            Some(p) => p.clone(),
            None => self.plate(home_party),
        };
        let facts = Facts {
            template: v.facts,
            act_date: dates.act,
            place: format!("{place_name}{road}{number}号附近"),
            quantity: spec
                .quantity
                .unwrap_or_else(|| u32::try_from(self.rng.range(2, 80)).unwrap_or(2)),
            plate,
            goods: self.rng.pick(data::GOODS).copied().unwrap_or("水果"),
            addendum: None,
        };

        let mut categories = Vec::new();
        if v.warning_alone && self.rng.chance(0.2) {
            categories.push(PenaltyCategory::Warning);
        } else {
            categories.push(PenaltyCategory::Fine);
            if v.warning_alone && self.rng.chance(0.3) {
                categories.push(PenaltyCategory::Warning);
            }
            if v.suspends_licence && kind == SubjectKind::LegalPerson && self.rng.chance(0.35) {
                categories.push(PenaltyCategory::SuspendLicence);
            }
            if v.confiscates && self.rng.chance(0.25) {
                categories.push(PenaltyCategory::ConfiscateIllegalProperty);
            }
        }
        categories.sort();
        categories.dedup();
        let fine_fen = categories
            .contains(&PenaltyCategory::Fine)
            .then(|| self.fine_fen(v, kind));
        let amount_text = self
            .rng
            .weighted(&[
                (AmountText::CapitalRmb, 45),
                (AmountText::Capital, 10),
                (AmountText::Grouped, 15),
                (AmountText::Arabic, 10),
                (AmountText::Absent, 20),
            ])
            .copied()
            .unwrap_or(AmountText::CapitalRmb);
        let license = categories
            .contains(&PenaltyCategory::SuspendLicence)
            .then(|| {
                format!(
                    "建筑垃圾运输证（{}渣运字第{:05}号）",
                    data::plate_prefix(unit.party),
                    self.rng.range(1, 99_999)
                )
            });
        let valid_until = match self
            .rng
            .weighted(&[(6u32, 25), (12, 40), (36, 15), (0, 20)])
        {
            Some(0) | None => None,
            Some(m) => Some(plus_months(dates.decision, *m)),
        };
        let publicity_until = self
            .rng
            .chance(0.15)
            .then(|| plus_months(dates.decision, if self.rng.chance(0.5) { 12 } else { 24 }));
        let remarks = if self.rng.chance(0.1) {
            let pool: &[&'static str] = if fine_fen.is_some() {
                &REMARKS
            } else {
                &["当事人已改正违法行为"]
            };
            self.rng.pick(pool).copied()
        } else {
            None
        };
        let legal_basis = match (unit.party, v.basis_sh) {
            (Party::Shanghai, Some(b)) => b,
            _ => v.basis,
        };
        let source_name = if spec.relayed && self.rng.chance(0.5) {
            let lead = self.lead_for(authority);
            self.unit(lead)
                .map_or_else(|| unit.name.clone(), |l| l.name.clone())
        } else {
            unit.name.clone()
        };
        let authority_uscc = unit.uscc.clone().filter(|_| self.rng.chance(0.5));
        let subject_text = self.subject_text(subject, repeat, spec.full_ids);
        let decision_no = self.unique_decision_no(authority, dates.decision.year());
        let content_lead = self.rng.chance(0.4);
        Some(Built {
            penalty: Penalty {
                subject: subject_text,
                decision_no,
                violation_type: v.name,
                facts,
                legal_basis,
                categories,
                fine_fen,
                amount_text,
                content_lead,
                license,
                decision_date: dates.decision,
                filed_date: dates.filed,
                valid_until,
                publicity_until,
                authority_name: unit.name.clone(),
                authority_uscc,
                source_name,
                remarks,
                place_division,
            },
            authority,
            subject,
        })
    }

    // ---- Pushes ----------------------------------------------------------------------------

    fn new_identity(&mut self, authority: usize, decision_no: String, subject: usize) -> usize {
        self.identities.push(Identity {
            authority,
            decision_no,
            subject,
        });
        self.identities.len() - 1
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one push is described by all of these"
    )]
    fn plan(
        &mut self,
        penalty: &Penalty,
        identity: usize,
        version: u32,
        kind: PushKind,
        pusher: usize,
        day: NaiveDate,
        noisy: bool,
        defect: Option<(Defect, Field)>,
    ) {
        // A record missing its content must still carry the fine, so that it has one defect.
        let content_dropped = matches!(defect, Some((Defect::MissingField, Field::Content)));
        let omittable = penalty.content_states_fine() && !content_dropped;
        let style = Style::draw(&mut self.rng, noisy, omittable);
        let mut fields = render::fields(penalty, &style, &mut self.rng);
        if let Some((Defect::MissingField, f)) = defect {
            render::remove_field(&mut fields, f);
        }
        let record = render::assemble(fields, &style);
        match style.keys {
            KeyStyle::Column => self.key_styles.column += 1,
            KeyStyle::Chinese => self.key_styles.chinese += 1,
            KeyStyle::EnglishNested => self.key_styles.english_nested += 1,
            KeyStyle::EnglishDotted => self.key_styles.english_dotted += 1,
        }
        if style.noisy {
            self.injected.cosmetic_variants += 1;
        }
        self.order += 1;
        self.planned.push(Planned {
            day,
            order: self.order,
            pusher,
            identity,
            version,
            kind,
            defect,
            subject_kind: penalty.subject.kind,
            record,
        });
    }

    /// A first push of a new decision; returns its identity.
    fn original(&mut self, kind: PushKind, spec: Spec) -> Option<usize> {
        let mut spec = spec;
        spec.relayed = self.rng.chance(self.mix.lead_relay);
        let built = self.build(&spec)?;
        let authority = built.authority;
        let lead = self.lead_for(authority);
        let relayed = spec.relayed && lead != authority;
        if relayed {
            self.injected.lead_relays += 1;
        }
        let pusher = if relayed { lead } else { authority };
        let identity = self.new_identity(
            authority,
            built.penalty.decision_no.canonical(),
            built.subject,
        );
        let day = plus(built.penalty.decision_date, self.rng.range(0, 20));
        let noisy = self.rng.chance(self.mix.cosmetic);
        self.plan(&built.penalty, identity, 0, kind, pusher, day, noisy, None);
        self.first_dates.insert(
            identity,
            (built.penalty.filed_date, built.penalty.decision_date),
        );
        self.originals.push(Original {
            identity,
            pusher,
            day,
            penalty: built.penalty,
        });
        Some(identity)
    }

    /// The same act penalized by authorities on both sides of a border.
    fn cross_border_pair(&mut self, candidates: &[(usize, usize)]) {
        let Some(&(ua, ub)) = self.rng.pick(candidates) else {
            return;
        };
        let choices: Vec<(usize, u32)> = data::VIOLATIONS
            .iter()
            .enumerate()
            .filter(|(_, v)| v.cross_border)
            .map(|(i, v)| (i, v.weight))
            .collect();
        let Some(violation) = self.rng.weighted(&choices).copied() else {
            return;
        };
        let Some(v) = data::VIOLATIONS.get(violation) else {
            return;
        };
        let Some(kind) = self.rng.weighted(v.kinds).copied() else {
            return;
        };
        let home = if self.rng.chance(0.5) { ua } else { ub };
        let subject = self.subject_for(kind, home);
        let act = minus(self.today(), self.rng.range(40, WINDOW_DAYS - 60));
        let first = plus(act, self.rng.range(1, 5));
        let second = plus(first, self.rng.range(1, 10));
        let (fa, fb) = if self.rng.chance(0.5) {
            (first, second)
        } else {
            (second, first)
        };
        let da = Dates {
            act,
            filed: fa,
            decision: plus(fa, self.rng.range(3, 20)),
        };
        let db = Dates {
            act,
            filed: fb,
            decision: plus(fb, self.rng.range(3, 20)),
        };
        let quantity = u32::try_from(self.rng.range(5, 60)).unwrap_or(5);
        let home_party = self
            .subjects
            .get(subject)
            .map_or(Party::Shanghai, |s| s.home_party);
        let plate = self.plate(home_party);
        let spec = |authority: usize, dates: Dates| Spec {
            authority: Some(authority),
            violation: Some(violation),
            subject: Some(subject),
            dates: Some(dates),
            quantity: Some(quantity),
            plate: Some(plate.clone()),
            // Both sides name the subject by its strong identifier: penex never decides a
            // conflict (which stops a penalty from counting) on a weak match.
            full_ids: true,
            ..Spec::default()
        };
        let a = self.original(PushKind::CrossBorder, spec(ua, da));
        let b = self.original(PushKind::CrossBorder, spec(ub, db));
        if let (Some(a), Some(b)) = (a, b) {
            self.conflicts.push((a, b, subject, v.name));
            self.injected.cross_border_pairs += 1;
        }
    }

    /// One subject penalized twice on one day by one authority for different violations.
    fn same_day_pair(&mut self) {
        let authority = self.pick_authority();
        let Some(v1) = self.pick_violation(None, None) else {
            return;
        };
        let Some(kind) = data::VIOLATIONS
            .get(v1)
            .and_then(|v| self.rng.weighted(v.kinds).copied())
        else {
            return;
        };
        let Some(v2) = self.pick_violation(Some(kind), Some(v1)) else {
            return;
        };
        let subject = self.subject_for(kind, authority);
        let decision = minus(self.today(), self.rng.range(0, WINDOW_DAYS - 1));
        let mut dates = || {
            let filed = minus(decision, self.rng.range(1, 30));
            Dates {
                act: minus(filed, self.rng.range(0, 5)),
                filed,
                decision,
            }
        };
        let (d1, d2) = (dates(), dates());
        let spec = |violation: usize, dates: Dates| Spec {
            authority: Some(authority),
            violation: Some(violation),
            subject: Some(subject),
            dates: Some(dates),
            ..Spec::default()
        };
        let a = self.original(PushKind::SameDay, spec(v1, d1));
        let b = self.original(PushKind::SameDay, spec(v2, d2));
        if let (Some(a), Some(b)) = (a, b) {
            self.same_day.push((a, b));
            self.injected.same_day_pairs += 1;
        }
    }

    /// A record with exactly one defect.
    fn invalid(&mut self) {
        let defect = self
            .rng
            .weighted(&[
                (Defect::BadChecksum, 40),
                (Defect::MissingField, 35),
                (Defect::FutureDate, 25),
            ])
            .copied()
            .unwrap_or(Defect::MissingField);
        let mut spec = Spec::default();
        match defect {
            Defect::BadChecksum => {
                spec.kind = Some(if self.rng.chance(0.6) {
                    SubjectKind::LegalPerson
                } else {
                    SubjectKind::NaturalPerson
                });
                spec.full_ids = true;
            }
            Defect::FutureDate => {
                let decision = plus(self.today(), self.rng.range(3, 120));
                let filed = minus(decision, self.rng.range(1, 20));
                spec.dates = Some(Dates {
                    act: minus(filed, self.rng.range(0, 5)),
                    filed,
                    decision,
                });
            }
            Defect::MissingField => {}
        }
        let Some(built) = self.build(&spec) else {
            return;
        };
        let mut penalty = built.penalty;
        let field = match defect {
            Defect::BadChecksum => match (&penalty.subject.uscc, &penalty.subject.id_no) {
                (Some(u), _) => {
                    penalty.subject.uscc = Some(corrupt_last(u, USCC_ALPHABET, &mut self.rng));
                    Field::SubjectUscc
                }
                (None, Some(id)) => {
                    penalty.subject.id_no = Some(corrupt_last(id, "0123456789X", &mut self.rng));
                    Field::SubjectIdNo
                }
                (None, None) => Field::SubjectName,
            },
            Defect::MissingField => self.rng.pick(&MISSABLE).copied().unwrap_or(Field::Facts),
            Defect::FutureDate => Field::DecisionDate,
        };
        let defect = if field == Field::SubjectName && defect == Defect::BadChecksum {
            Defect::MissingField
        } else {
            defect
        };
        match defect {
            Defect::BadChecksum => self.injected.invalid_bad_checksum += 1,
            Defect::MissingField => self.injected.invalid_missing_field += 1,
            Defect::FutureDate => self.injected.invalid_future_date += 1,
        }
        let authority = built.authority;
        let identity = self.new_identity(authority, penalty.decision_no.canonical(), built.subject);
        let day = if defect == Defect::FutureDate {
            minus(self.today(), self.rng.range(0, 10))
        } else {
            plus(penalty.decision_date, self.rng.range(0, 20))
        };
        let noisy = self.rng.chance(self.mix.cosmetic);
        self.plan(
            &penalty,
            identity,
            0,
            PushKind::Invalid,
            authority,
            day,
            noisy,
            Some((defect, field)),
        );
    }

    /// The record of original `o` pushed again by the other of (deciding unit, lead), with
    /// cosmetic variants only.
    fn duplicate(&mut self, o: usize) {
        let Some(orig) = self.originals.get(o).cloned() else {
            return;
        };
        let Some(authority) = self.identities.get(orig.identity).map(|i| i.authority) else {
            return;
        };
        let pusher = if orig.pusher == authority {
            self.lead_for(authority)
        } else {
            authority
        };
        let day = plus(orig.day, self.rng.range(1, 40));
        self.plan(
            &orig.penalty,
            orig.identity,
            0,
            PushKind::RelayedDuplicate,
            pusher,
            day,
            true,
            None,
        );
        self.injected.relayed_duplicates += 1;
    }

    /// Original `o` pushed again with a changed amount or changed facts.
    fn correction(&mut self, o: usize) {
        let Some(orig) = self.originals.get(o).cloned() else {
            return;
        };
        let mut p = orig.penalty.clone();
        match p.fine_fen {
            Some(old) if self.rng.chance(0.6) => {
                let (num, den) = *self
                    .rng
                    .pick(&[(1u64, 2u64), (4, 5), (6, 5), (3, 2), (2, 1)])
                    .unwrap_or(&(3, 2));
                let mut new = (old * num / den) / 1_000 * 1_000;
                if new == old || new < 1_000 {
                    new = old + 10_000;
                }
                p.fine_fen = Some(new);
            }
            _ => {
                p.facts.quantity += u32::try_from(self.rng.range(1, 20)).unwrap_or(1);
                if self.rng.chance(0.5) {
                    p.facts.addendum = Some("经复核，数量予以更正。".to_owned());
                }
            }
        }
        let day = plus(orig.day, self.rng.range(1, 60));
        let noisy = self.rng.chance(self.mix.cosmetic);
        self.plan(
            &p,
            orig.identity,
            1,
            PushKind::Correction,
            orig.pusher,
            day,
            noisy,
            None,
        );
        self.injected.corrections += 1;
    }
}

/// A company name written differently by another unit: 有限公司 ↔ 有限责任公司, （集团） → 集团.
fn name_variant(name: &str) -> Option<String> {
    if let Some(stem) = name.strip_suffix("有限责任公司") {
        return Some(format!("{stem}有限公司"));
    }
    if name.contains("（集团）") {
        return Some(name.replace("（集团）", "集团"));
    }
    if name.ends_with("股份有限公司") {
        return None;
    }
    name.strip_suffix("有限公司")
        .map(|stem| format!("{stem}有限责任公司"))
}
