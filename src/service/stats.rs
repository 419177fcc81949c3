//! Statistics for the agreement's evaluation (成效评估): the overview, monthly time series,
//! cross-region subjects and flows, data quality per unit, delivery health.
//!
//! The store returns grouped counts and plain columns; months, flows, medians and percentiles
//! are computed here, the same way on both backends. Every function reads through one
//! connection and writes nothing; who may see which figures is the caller's to check (the API
//! does it in `api::stats`). The view types derive `ToSchema` because the API serves them as
//! they are.
//!
//! Must not depend on HTTP. Personal data stays in: a resident ID is unsealed only to read its
//! division prefix (the subject's home party), and the number goes nowhere.

use crate::crypto::pii::PiiKeyring;
use crate::domain::party::Party;
use crate::domain::registry::Registry;
use crate::domain::unit::UnitCode;
use crate::normalize::Catalog;
use crate::publish::publisher::Metrics;
use crate::store::{self, Conn, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------
// Overview

/// Record counts.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RecordCounts {
    /// All stored records.
    pub total: i64,
    /// Not revoked and still public.
    pub active: i64,
    /// Revoked.
    pub revoked: i64,
    /// Not revoked, publicity over or ended by credit repair.
    pub expired: i64,
}

/// Subject counts.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SubjectCounts {
    /// All subjects.
    pub total: i64,
    /// Strongly identified (USCC, resident ID, …).
    pub strong: i64,
    /// Weak (by name only; never flagged).
    pub weak: i64,
}

/// One party's figures.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PartyOverview {
    /// SH, JS, ZJ or AH.
    pub party: String,
    /// Records decided by the party's units.
    pub records: RecordCounts,
    /// Distinct subjects of those records.
    pub subjects: i64,
    /// Flags with a basis record of the party, by status.
    pub flags: BTreeMap<String, i64>,
    /// Conflicts with a record of the party, by status.
    pub conflicts: BTreeMap<String, i64>,
    /// First-violation exemptions reported by the party's units.
    pub exemptions: i64,
}

/// The region at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// Records of all parties.
    pub records: RecordCounts,
    /// Subjects.
    pub subjects: SubjectCounts,
    /// Flags by status (`active`, `expired`, `repaired`, `withdrawn`).
    pub flags: BTreeMap<String, i64>,
    /// Jurisdiction conflicts by status (`open`, `resolved`, `void`).
    pub conflicts: BTreeMap<String, i64>,
    /// First-violation exemptions.
    pub exemptions: i64,
    /// The same per party, in GB/T 2260 order.
    pub parties: Vec<PartyOverview>,
    /// The day `active` and `expired` were judged on (Asia/Shanghai).
    #[schema(value_type = String, format = Date)]
    pub as_of: chrono::NaiveDate,
}

fn party_of_authority(code: &str) -> Option<String> {
    UnitCode::parse(code)
        .ok()
        .map(|u| u.party().code().to_owned())
}

fn conflict_parties(members_json: &str) -> BTreeSet<String> {
    #[derive(Deserialize)]
    struct M {
        authority: String,
    }
    serde_json::from_str::<Vec<M>>(members_json)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| party_of_authority(&m.authority))
        .collect()
}

fn flag_parties(parties: &str) -> BTreeSet<String> {
    parties
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Records, subjects, flags, conflicts and exemptions, region-wide and per party; `active` and
/// `expired` judged on `today` (Asia/Shanghai).
pub fn overview(c: &mut Conn, today: chrono::NaiveDate) -> Result<Overview, StoreError> {
    let mut parties: BTreeMap<String, PartyOverview> = Party::ALL
        .iter()
        .map(|p| {
            (
                p.code().to_owned(),
                PartyOverview {
                    party: p.code().to_owned(),
                    ..PartyOverview::default()
                },
            )
        })
        .collect();
    let mut records = RecordCounts::default();
    for (party, status, n) in store::stats::records_by_party_status(c)? {
        let p = parties
            .entry(party.clone())
            .or_insert_with(|| PartyOverview {
                party,
                ..PartyOverview::default()
            });
        p.records.total += n;
        records.total += n;
        match status.as_str() {
            "revoked" => {
                p.records.revoked += n;
                records.revoked += n;
            }
            _ => {
                p.records.active += n;
                records.active += n;
            }
        }
    }
    for (party, n) in store::stats::expired_by_party(c, today)? {
        if let Some(p) = parties.get_mut(&party) {
            p.records.expired += n;
            p.records.active -= n;
        }
        records.expired += n;
        records.active -= n;
    }
    for (party, n) in store::stats::subjects_by_party(c)? {
        if let Some(p) = parties.get_mut(&party) {
            p.subjects = n;
        }
    }
    let mut subjects = SubjectCounts::default();
    for (strong, n) in store::stats::subjects_by_strength(c)? {
        subjects.total += n;
        if strong {
            subjects.strong += n;
        } else {
            subjects.weak += n;
        }
    }
    let mut flags = BTreeMap::new();
    for (status, ps, _, _) in store::stats::flags_brief(c)? {
        *flags.entry(status.clone()).or_insert(0) += 1;
        for party in flag_parties(&ps) {
            if let Some(p) = parties.get_mut(&party) {
                *p.flags.entry(status.clone()).or_insert(0) += 1;
            }
        }
    }
    let mut conflicts = BTreeMap::new();
    for (status, members, _, _) in store::stats::conflicts_brief(c)? {
        *conflicts.entry(status.clone()).or_insert(0) += 1;
        for party in conflict_parties(&members) {
            if let Some(p) = parties.get_mut(&party) {
                *p.conflicts.entry(status.clone()).or_insert(0) += 1;
            }
        }
    }
    let mut exemptions = 0;
    for (party, n) in store::stats::exemptions_by_party(c)? {
        exemptions += n;
        if let Some(p) = parties.get_mut(&party) {
            p.exemptions = n;
        }
    }
    Ok(Overview {
        records,
        subjects,
        flags,
        conflicts,
        exemptions,
        parties: parties.into_values().collect(),
        as_of: today,
    })
}

// ---------------------------------------------------------------------------------------------
// Time series

/// What a time series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Metric {
    /// Records, by the month of their decision date.
    Records,
    /// Flags, by the month they were raised.
    Flags,
    /// Jurisdiction conflicts, by the month they were detected.
    Conflicts,
}

/// What a time series is split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SeriesBy {
    /// The deciding party (for flags and conflicts: every party among their records).
    Party,
    /// The violation type (records: as given; flags: of the basis records; conflicts: the
    /// catalogue name compared).
    ViolationType,
}

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Interval {
    /// Calendar months (`YYYY-MM`).
    Month,
}

/// One period's count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    /// `YYYY-MM`.
    #[schema(example = "2025-03")]
    pub period: String,
    /// How many.
    pub count: i64,
}

/// The series of one key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Series {
    /// The party code or the violation type.
    pub key: String,
    /// Sum of the points.
    pub total: i64,
    /// Months with a count, in order (months without are left out).
    pub points: Vec<Point>,
}

/// A time series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeseries {
    /// What was counted.
    #[schema(value_type = Metric)]
    pub metric: String,
    /// What it is split by.
    #[schema(value_type = SeriesBy)]
    pub by: String,
    /// `month`.
    #[schema(value_type = Interval)]
    pub interval: String,
    /// One series per key, largest total first.
    pub series: Vec<Series>,
}

fn month_of(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// Shanghai month of a stored UTC timestamp.
fn month_of_utc(t: chrono::NaiveDateTime) -> String {
    month_of((t + chrono::Duration::hours(8)).date())
}

/// A month `YYYY-MM` as given in a query, normalized; `None` when it is not one.
pub fn parse_month(s: &str) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()?;
    (s.len() == 7).then(|| month_of(d))
}

/// Counts per (key, month), as series.
fn to_series(counts: BTreeMap<(String, String), i64>) -> Vec<Series> {
    let mut by_key: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for ((key, period), count) in counts {
        by_key.entry(key).or_default().push(Point { period, count });
    }
    let mut series: Vec<Series> = by_key
        .into_iter()
        .map(|(key, points)| Series {
            total: points.iter().map(|p| p.count).sum(),
            key,
            points,
        })
        .collect();
    series.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.key.cmp(&b.key)));
    series
}

/// A time series over the months `from`–`to` (`YYYY-MM`, inclusive, each optional).
pub fn timeseries(
    c: &mut Conn,
    catalog: &Catalog,
    metric: Metric,
    by: SeriesBy,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Timeseries, StoreError> {
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut add = |key: String, period: String, n: i64| {
        *counts.entry((key, period)).or_insert(0) += n;
    };
    match (metric, by) {
        (Metric::Records, SeriesBy::Party) => {
            for (d, party, n) in store::stats::records_by_day_party(c)? {
                add(party, month_of(d), n);
            }
        }
        (Metric::Records, SeriesBy::ViolationType) => {
            for (d, vt, n) in store::stats::records_by_day_type(c)? {
                add(vt, month_of(d), n);
            }
        }
        (Metric::Flags, SeriesBy::Party) => {
            for (_, parties, _, at) in store::stats::flags_brief(c)? {
                for p in flag_parties(&parties) {
                    add(p, month_of_utc(at), 1);
                }
            }
        }
        (Metric::Flags, SeriesBy::ViolationType) => {
            let flags = store::stats::flags_brief(c)?;
            let bases: Vec<Vec<String>> = flags
                .iter()
                .map(|(_, _, basis, _)| serde_json::from_str(basis).unwrap_or_default())
                .collect();
            let ids: Vec<String> = bases
                .iter()
                .flatten()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let types: HashMap<String, String> = store::stats::violation_types_of(c, &ids)?
                .into_iter()
                .collect();
            for ((_, _, _, at), basis) in flags.iter().zip(&bases) {
                let kinds: BTreeSet<&String> =
                    basis.iter().filter_map(|id| types.get(id)).collect();
                for k in kinds {
                    add(k.clone(), month_of_utc(*at), 1);
                }
            }
        }
        (Metric::Conflicts, SeriesBy::Party) => {
            for (_, members, _, at) in store::stats::conflicts_brief(c)? {
                for p in conflict_parties(&members) {
                    add(p, month_of_utc(at), 1);
                }
            }
        }
        (Metric::Conflicts, SeriesBy::ViolationType) => {
            for (_, _, key, at) in store::stats::conflicts_brief(c)? {
                let name = catalog
                    .get(&key)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| key.strip_prefix("text:").unwrap_or(&key).to_owned());
                add(name, month_of_utc(at), 1);
            }
        }
    }
    let counts = counts
        .into_iter()
        .filter(|((_, period), _)| {
            from.is_none_or(|f| period.as_str() >= f) && to.is_none_or(|t| period.as_str() <= t)
        })
        .collect();
    Ok(Timeseries {
        metric: match metric {
            Metric::Records => "records",
            Metric::Flags => "flags",
            Metric::Conflicts => "conflicts",
        }
        .into(),
        by: match by {
            SeriesBy::Party => "party",
            SeriesBy::ViolationType => "violation_type",
        }
        .into(),
        interval: "month".into(),
        series: to_series(counts),
    })
}

// ---------------------------------------------------------------------------------------------
// Cross-region

/// A subject penalized in several parties.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrossRegionSubject {
    /// The subject (weak subjects linked to it are counted with it).
    pub subject_id: String,
    /// The parties whose units penalized it.
    pub parties: Vec<String>,
    /// Its counted records.
    pub records: i64,
}

/// Records decided in one party against subjects from another (or the same).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flow {
    /// The deciding party.
    pub deciding_party: String,
    /// The subject's home party, from the division code in its USCC or resident ID:
    /// SH, JS, ZJ, AH, `other` (outside the region) or `unknown` (no such identifier).
    pub home_party: String,
    /// Counted records.
    pub records: i64,
    /// Distinct subjects.
    pub subjects: i64,
}

/// Cross-region figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrossRegion {
    /// How many subjects were penalized by units of two or more parties.
    pub subjects_in_two_or_more_parties: i64,
    /// Those subjects, most parties first, then most records (at most 100).
    pub subjects: Vec<CrossRegionSubject>,
    /// Deciding party × home party; `deciding_party != home_party` are the cross-border flows.
    pub flows: Vec<Flow>,
}

/// The party a division code (GB/T 2260) belongs to: a party code, or `other`.
fn home_of_division(division: &str) -> String {
    match Party::from_division(division) {
        Some(p) => p.code().to_owned(),
        None => "other".to_owned(),
    }
}

/// The home party from a USCC: its characters 3–8 are the registering division.
fn home_of_uscc(uscc: &str) -> Option<String> {
    let division = uscc.get(2..8)?;
    division
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| home_of_division(division))
}

/// The home party from a resident ID (its first six digits are the division), read from a
/// sealed canonical record. Only the division prefix is used; the number goes nowhere.
fn home_of_sealed_record(pii: &PiiKeyring, json: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(json).ok()?;
    let subject = doc.get("subject")?;
    if subject.get("id_type")?.as_str()? != "resident_id" {
        return None;
    }
    let sealed = subject.get("id_no")?.as_str()?;
    let id = super::sealing::unseal_str(pii, sealed).ok()?;
    let division = id.get(0..6)?;
    division
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| home_of_division(division))
}

/// Subjects penalized in two or more parties, and the flows between parties. `pii` unseals
/// resident IDs for their division prefix only.
pub fn cross_region(c: &mut Conn, pii: &PiiKeyring) -> Result<CrossRegion, StoreError> {
    let links: HashMap<String, String> = store::stats::subject_links(c)?.into_iter().collect();
    let records = store::stats::counted_records(c)?;
    let mut home: HashMap<String, String> = HashMap::new();
    let mut need_sealed = BTreeSet::new();
    for r in &records {
        let Some(s) = &r.subject_id else { continue };
        let s = links.get(s).unwrap_or(s);
        if home.contains_key(s) {
            continue;
        }
        if let Some(h) = r.subject_uscc.as_deref().and_then(home_of_uscc) {
            home.insert(s.clone(), h);
            need_sealed.remove(s);
        } else if r.subject_kind == "natural_person" {
            need_sealed.insert(s.clone());
        }
    }
    let need: Vec<String> = need_sealed.into_iter().collect();
    for (s, json) in store::stats::one_record_of_each(c, &need)? {
        if let Some(h) = home_of_sealed_record(pii, &json) {
            home.insert(s, h);
        }
    }
    let mut per_subject: BTreeMap<String, (BTreeSet<String>, i64)> = BTreeMap::new();
    let mut flows: BTreeMap<(String, String), (i64, BTreeSet<String>)> = BTreeMap::new();
    for r in &records {
        let Some(s) = &r.subject_id else { continue };
        let s = links.get(s).unwrap_or(s).clone();
        let h = home.get(&s).cloned().unwrap_or_else(|| "unknown".into());
        let e = per_subject.entry(s.clone()).or_default();
        e.0.insert(r.party.clone());
        e.1 += 1;
        let f = flows.entry((r.party.clone(), h)).or_default();
        f.0 += 1;
        f.1.insert(s);
    }
    let mut subjects: Vec<CrossRegionSubject> = per_subject
        .into_iter()
        .filter(|(_, (parties, _))| parties.len() >= 2)
        .map(|(subject_id, (parties, records))| CrossRegionSubject {
            subject_id,
            parties: parties.into_iter().collect(),
            records,
        })
        .collect();
    let n = subjects.len() as i64;
    subjects.sort_by(|a, b| {
        b.parties
            .len()
            .cmp(&a.parties.len())
            .then(b.records.cmp(&a.records))
            .then_with(|| a.subject_id.cmp(&b.subject_id))
    });
    subjects.truncate(100);
    Ok(CrossRegion {
        subjects_in_two_or_more_parties: n,
        subjects,
        flows: flows
            .into_iter()
            .map(|((deciding_party, home_party), (records, subjects))| Flow {
                deciding_party,
                home_party,
                records,
                subjects: subjects.len() as i64,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Quality

/// How often something occurred.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tally {
    /// The rejection code or field.
    pub name: String,
    /// How often.
    pub count: i64,
}

/// Submissions per outcome.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Outcomes {
    /// New records.
    pub accepted: i64,
    /// Identical re-pushes.
    pub duplicate: i64,
    /// New versions.
    pub corrected: i64,
    /// New records that lost jurisdiction to an earlier filing.
    pub conflict: i64,
    /// Not stored as records.
    pub rejected: i64,
}

/// One unit's data quality.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitQuality {
    /// The pushing unit.
    pub unit_code: String,
    /// Its registered name.
    pub unit_name: String,
    /// Its party.
    pub party: String,
    /// Items pushed (every item of every batch).
    pub submissions: i64,
    /// Per outcome.
    pub outcomes: Outcomes,
    /// Share of items not rejected, 0–1 (absent without submissions).
    pub acceptance_rate: Option<f64>,
    /// Items that corrected a record (new versions).
    pub corrections: i64,
    /// The most common rejection codes, most frequent first (at most 5).
    pub top_rejection_codes: Vec<Tally>,
    /// The fields most often rejected (the last segment of the error's pointer), at most 5.
    pub top_rejection_fields: Vec<Tally>,
    /// Median days from decision date (处罚决定日期) to arrival, over new records.
    pub median_push_delay_days: Option<f64>,
    /// How the violation types of the records this unit pushed sit in the catalogue.
    pub catalogue: CatalogueCoverage,
}

/// How the violation types of a unit's records map to the catalogue (`config/catalog.toml`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CatalogueCoverage {
    /// Distinct records the unit's submissions landed on (any status).
    pub records: i64,
    /// Of those, mapped to a catalogue type.
    pub mapped: i64,
    /// `mapped / records`, 0–1 (absent without records).
    pub mapped_share: Option<f64>,
    /// Mapped records per way of matching (`legal_basis`, `party_mapping`, `alias`, `keyword`).
    pub matched_by: Vec<Tally>,
    /// The unmapped violation types as the unit wrote them, most frequent first (at most 20):
    /// these count across parties only by their exact text.
    pub unmapped_types: Vec<Tally>,
}

/// Data quality per unit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Quality {
    /// Units by code.
    pub units: Vec<UnitQuality>,
}

/// The median of `v` (sorted in place); `None` when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return None;
    }
    let hi = v.get(n / 2).copied()?;
    if n % 2 == 1 {
        Some(hi)
    } else {
        Some((v.get(n / 2 - 1).copied()? + hi) / 2.0)
    }
}

/// The nearest-rank percentile `p` (0–100) of sorted `v`; `None` when empty.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

fn top(counts: HashMap<String, i64>) -> Vec<Tally> {
    let mut v: Vec<Tally> = counts
        .into_iter()
        .map(|(name, count)| Tally { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v.truncate(5);
    v
}

/// The field a JSON Pointer names: its last segment, unescaped (RFC 6901).
fn field_of(pointer: &str) -> Option<String> {
    let last = pointer.rsplit('/').next()?;
    if last.is_empty() || last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(last.replace("~1", "/").replace("~0", "~"))
}

/// Quality of these units (every unit that pushed anything when `None`), names from
/// `registry`. The caller has checked the rights.
pub fn quality(
    conn: &mut Conn,
    registry: &Registry,
    units: Option<&[String]>,
) -> Result<Quality, StoreError> {
    let rows = store::stats::submissions_of_units(conn, units)?;
    let classified = store::stats::classification_by_unit(conn, units)?;
    let unmapped = store::stats::unmapped_by_unit(conn, units)?;
    let mut coverage: BTreeMap<String, (CatalogueCoverage, HashMap<String, i64>)> = BTreeMap::new();
    for (unit, by, n) in classified {
        let (c, ways) = coverage.entry(unit).or_default();
        c.records += n;
        if let Some(by) = by {
            c.mapped += n;
            *ways.entry(by).or_insert(0) += n;
        }
    }
    let mut unmapped_of: HashMap<String, Vec<Tally>> = HashMap::new();
    for (unit, text, count) in unmapped {
        unmapped_of
            .entry(unit)
            .or_default()
            .push(Tally { name: text, count });
    }
    let mut coverage_of =
        |code: &str, coverage: &mut BTreeMap<String, (CatalogueCoverage, HashMap<String, i64>)>| {
            let (mut c, ways) = coverage.remove(code).unwrap_or_default();
            c.mapped_share = (c.records > 0).then(|| c.mapped as f64 / c.records as f64);
            c.matched_by = crate::normalize::violation::MatchedBy::ALL
                .iter()
                .filter_map(|m| {
                    ways.get(m.as_str()).map(|&count| Tally {
                        name: m.as_str().to_owned(),
                        count,
                    })
                })
                .collect();
            let mut types = unmapped_of.remove(code).unwrap_or_default();
            types.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
            types.truncate(20);
            c.unmapped_types = types;
            c
        };
    #[derive(Default)]
    struct Acc {
        outcomes: Outcomes,
        codes: HashMap<String, i64>,
        fields: HashMap<String, i64>,
        delays: Vec<f64>,
    }
    #[derive(Deserialize)]
    struct Issue {
        #[serde(default)]
        pointer: String,
        #[serde(default)]
        code: String,
    }
    let mut per: BTreeMap<String, Acc> = BTreeMap::new();
    for r in rows {
        let a = per.entry(r.unit_code).or_default();
        match r.outcome.as_str() {
            "accepted" => a.outcomes.accepted += 1,
            "duplicate" => a.outcomes.duplicate += 1,
            "corrected" => a.outcomes.corrected += 1,
            "conflict" => a.outcomes.conflict += 1,
            _ => a.outcomes.rejected += 1,
        }
        if r.outcome == "rejected" {
            let issues: Vec<Issue> = r
                .errors_json
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default();
            for i in issues {
                if !i.code.is_empty() {
                    *a.codes.entry(i.code).or_insert(0) += 1;
                }
                if let Some(f) = field_of(&i.pointer) {
                    *a.fields.entry(f).or_insert(0) += 1;
                }
            }
        }
        if matches!(r.outcome.as_str(), "accepted" | "conflict")
            && let Some(d) = r.decision_date
        {
            let arrived = (r.received_at + chrono::Duration::hours(8)).date();
            a.delays.push((arrived - d).num_days() as f64);
        }
    }
    let units = per
        .into_iter()
        .map(|(code, mut a)| {
            let catalogue = coverage_of(&code, &mut coverage);
            let o = &a.outcomes;
            let total = o.accepted + o.duplicate + o.corrected + o.conflict + o.rejected;
            let unit = UnitCode::parse(&code).ok();
            UnitQuality {
                unit_name: unit
                    .as_ref()
                    .and_then(|u| registry.get(u).map(|u| u.name.clone()))
                    .unwrap_or_default(),
                party: unit
                    .map(|u| u.party().code().to_owned())
                    .unwrap_or_default(),
                submissions: total,
                acceptance_rate: (total > 0).then(|| (total - o.rejected) as f64 / total as f64),
                corrections: o.corrected,
                median_push_delay_days: median(&mut a.delays),
                top_rejection_codes: top(a.codes),
                top_rejection_fields: top(a.fields),
                outcomes: a.outcomes,
                catalogue,
                unit_code: code,
            }
        })
        .collect();
    Ok(Quality { units })
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// Delivery latency from the event's creation to the connector's acknowledgement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Latency {
    /// Delivered events measured (the most recent, at most 10,000).
    pub samples: i64,
    /// Median, milliseconds.
    pub p50_ms: Option<i64>,
    /// 90th percentile, milliseconds.
    pub p90_ms: Option<i64>,
    /// 99th percentile, milliseconds.
    pub p99_ms: Option<i64>,
    /// Longest, milliseconds.
    pub max_ms: Option<i64>,
}

/// This instance's publisher counters since it started.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceCounters {
    /// Events delivered (2xx).
    pub deliveries: u64,
    /// Failed attempts that will be retried.
    pub retries: u64,
    /// Events that became dead letters.
    pub dead_letters: u64,
    /// Delivery attempts made.
    pub attempts: u64,
}

/// Delivery health.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// Outbox counts (all instances).
    pub outbox: store::outbox::OutboxStats,
    /// Age in seconds of the oldest undelivered event.
    pub oldest_undelivered_age_secs: Option<i64>,
    /// Latency percentiles.
    pub latency: Latency,
    /// Dead letters, oldest first (at most 20; `penex outbox list --status dead` for all).
    pub dead_letters: Vec<store::outbox::OutboxView>,
    /// This instance's counters.
    pub instance: InstanceCounters,
}

/// Delivery health: the shared outbox, recent latencies, dead letters, and this instance's
/// publisher counters (`metrics`).
pub fn delivery(c: &mut Conn, metrics: &Metrics) -> Result<Delivery, StoreError> {
    let stats = crate::publish::publisher::stats(c, metrics)?;
    let times = store::outbox::delivery_times(c, 10_000)?;
    let dead = store::outbox::list(c, Some("dead"), 0, 20)?;
    let mut ms: Vec<i64> = times
        .iter()
        .map(|(created, delivered)| (*delivered - *created).num_milliseconds().max(0))
        .collect();
    ms.sort_unstable();
    Ok(Delivery {
        outbox: stats.outbox,
        oldest_undelivered_age_secs: stats.oldest_undelivered_age_secs,
        latency: Latency {
            samples: ms.len() as i64,
            p50_ms: percentile(&ms, 50.0),
            p90_ms: percentile(&ms, 90.0),
            p99_ms: percentile(&ms, 99.0),
            max_ms: ms.last().copied(),
        },
        dead_letters: dead,
        instance: InstanceCounters {
            deliveries: stats.instance.deliveries,
            retries: stats.instance.retries,
            dead_letters: stats.instance.dead_letters,
            attempts: stats.instance.attempts,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0]), Some(2.5));
        assert_eq!(median(&mut [9.0, 1.0, 5.0]), Some(5.0));
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 90.0), Some(90));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn home_parties_from_division_codes() {
        assert_eq!(home_of_uscc("91310106MA1FL0A01X").as_deref(), Some("SH"));
        assert_eq!(home_of_uscc("91320500MA1FL0A01X").as_deref(), Some("JS"));
        assert_eq!(home_of_uscc("91110000MA1FL0A01X").as_deref(), Some("other"));
        assert_eq!(home_of_uscc("short"), None);
        assert_eq!(home_of_division("340100"), "AH");
    }

    #[test]
    fn fields_of_pointers() {
        assert_eq!(
            field_of("/records/3/CF_XDR_SHXYM").as_deref(),
            Some("CF_XDR_SHXYM")
        );
        assert_eq!(field_of("/records/3").as_deref(), None);
        assert_eq!(field_of("/subject~1name").as_deref(), Some("subject/name"));
        assert_eq!(field_of("").as_deref(), None);
    }

    #[test]
    fn months() {
        assert_eq!(parse_month("2025-03").as_deref(), Some("2025-03"));
        assert_eq!(parse_month("2025-3"), None);
        assert_eq!(parse_month("2025-13"), None);
        let t = chrono::NaiveDate::from_ymd_opt(2025, 1, 31)
            .and_then(|d| d.and_hms_opt(20, 0, 0))
            .unwrap_or_default();
        assert_eq!(month_of_utc(t), "2025-02");
    }
}
