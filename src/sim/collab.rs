//! Collaboration traffic (案件查处协作) with ground truth: scripts of items that member units
//! send each other (clue notices, transfers, assistance requests, documents to serve), each with
//! the request that sends it, the ordered steps that follow and who takes each, and the status
//! the item must end in.
//!
//! Owns [`generate`], [`CollabScript`], [`ScriptStep`], [`CollabSummary`] and [`summarize`].
//! Pairs are mostly units of the same level in different parties (Shanghai districts and the
//! neighbouring cities of Jiangsu and Zhejiang first), some of one party, and a few cross-level
//! ones from a county or street unit whose superior approves or refuses them. Outcomes follow
//! what units report: transfers accepted, reported on and decided, or returned; clues filed or
//! not; assistance replied in parts, extended, declined; documents served or not; and items left
//! open mid-way.
//!
//! Pure and deterministic like the rest of `sim`: no clock (dates are `today`, the simulation's
//! reference date, so that a server running on that day takes them), no I/O, its own seeded
//! [`Rng`]. Depends on `domain` (the state table names) and on `normalize` only for identifier
//! check characters. Invariants (property-tested): every script's steps are accepted in order
//! by `domain::collab::transition` with the scripted side, and the expected status is the one
//! the table reaches; document numbers are unique per sender and kind after folding.

use super::data::{self, Division, VIOLATIONS};
use super::rng::Rng;
use crate::domain::collab::{Kind, Side, Status, Step};
use crate::domain::party::{Level, Party};
use crate::domain::unit::{Unit, UnitCode};
use crate::normalize::ids::{
    USCC_ALPHABET, org_code_check_char, resident_id_check_char, uscc_check_char,
};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Mixed into the seed so that collaboration draws never shift the records' draws.
const SEED_SALT: u64 = 0x636f_6c6c_6162_0001;

/// How the two ends of an item relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// Same level, different parties (the agreement's usual case): sent directly.
    CrossParty,
    /// Same level, same party: sent directly.
    SameParty,
    /// A county or street unit to a unit of another level: through its superior.
    CrossLevel,
}

/// One step of a script: who takes it and the body of `POST …/items/{id}/steps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptStep {
    /// The side whose unit takes it (`sender`, `receiver` or `approver`; a comment is taken
    /// by the side named here, as a viewer).
    pub by: Side,
    /// That unit.
    pub unit: UnitCode,
    /// The step (also the body's `step`).
    pub step: Step,
    /// The request body.
    pub body: Value,
}

/// One collaboration item: how it is sent, what follows, and where it must end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollabScript {
    /// Position, from 1.
    pub n: usize,
    /// clue, transfer, assistance or service.
    pub kind: Kind,
    /// The sending unit (it posts `item`).
    pub sender: UnitCode,
    /// The receiving unit.
    pub receiver: UnitCode,
    /// The sender's superior, for a cross-level item.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approver: Option<UnitCode>,
    /// How the two ends relate.
    pub pairing: Pairing,
    /// The scripted outcome (`decided`, `returned`, `served`, `received_only` …).
    pub outcome: String,
    /// The body of `POST /v1/collaboration/items`.
    pub item: Value,
    /// The steps after sending, in order.
    pub steps: Vec<ScriptStep>,
    /// Ground truth: the status the item must have after the steps.
    pub expected_status: Status,
}

/// What a set of scripts holds (written into `summary.json` under `collaboration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollabSummary {
    /// Items.
    pub items: usize,
    /// Steps after sending, over all items.
    pub steps: usize,
    /// Items per kind.
    pub by_kind: BTreeMap<Kind, usize>,
    /// Items per expected final status.
    pub by_status: BTreeMap<Status, usize>,
    /// Items per pairing.
    pub by_pairing: BTreeMap<Pairing, usize>,
    /// Cross-level items the superior approves.
    pub approved: usize,
    /// Cross-level items the superior refuses.
    pub refused: usize,
}

/// The counts of `scripts`.
pub fn summarize(scripts: &[CollabScript]) -> CollabSummary {
    let mut s = CollabSummary {
        items: scripts.len(),
        ..CollabSummary::default()
    };
    for c in scripts {
        s.steps += c.steps.len();
        *s.by_kind.entry(c.kind).or_default() += 1;
        *s.by_status.entry(c.expected_status).or_default() += 1;
        *s.by_pairing.entry(c.pairing).or_default() += 1;
        for step in &c.steps {
            match step.step {
                Step::Approve => s.approved += 1,
                Step::Refuse => s.refused += 1,
                _ => {}
            }
        }
    }
    s
}

/// A planned step, turned into a body by [`Gen::body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Receive,
    File,
    NotFile,
    Accept,
    Return,
    Progress(&'static str),
    Decide,
    NotPenalize,
    PartialReply,
    Reply,
    Decline,
    RequestExtension,
    GrantExtension,
    RefuseExtension,
    Serve,
    Fail,
    /// Closed by the sender.
    CloseS,
    /// Closed by the receiver (a decided or not-penalized transfer: 结案).
    CloseR,
}

/// A realistic outcome of a kind: its steps after receipt and the status they end in.
struct Outcome {
    name: &'static str,
    weight: u32,
    plan: &'static [Plan],
    end: Status,
}

const fn o(name: &'static str, weight: u32, plan: &'static [Plan], end: Status) -> Outcome {
    Outcome {
        name,
        weight,
        plan,
        end,
    }
}

use Plan::*;

const TRANSFER: &[Outcome] = &[
    o(
        "decided",
        30,
        &[
            Receive,
            Accept,
            Progress("investigation"),
            Progress("notice"),
            Decide,
            CloseR,
        ],
        Status::Closed,
    ),
    o(
        "not_penalized",
        8,
        &[
            Receive,
            Accept,
            Progress("investigation"),
            NotPenalize,
            CloseR,
        ],
        Status::Closed,
    ),
    o("returned", 14, &[Receive, Return, CloseS], Status::Closed),
    o("returned_open", 4, &[Receive, Return], Status::Returned),
    o(
        "in_progress",
        12,
        &[Receive, Accept, Progress("investigation")],
        Status::Accepted,
    ),
    o(
        "decided_open",
        5,
        &[Receive, Accept, Progress("decision"), Decide],
        Status::Decided,
    ),
    o("received_only", 8, &[Receive], Status::Received),
    o("sent_only", 4, &[], Status::Sent),
];

const CLUE: &[Outcome] = &[
    o("filed", 35, &[Receive, File, CloseS], Status::Closed),
    o("not_filed", 25, &[Receive, NotFile, CloseS], Status::Closed),
    o("filed_open", 10, &[Receive, File], Status::Filed),
    o("received_only", 12, &[Receive], Status::Received),
    o("sent_only", 5, &[], Status::Sent),
];

const ASSISTANCE: &[Outcome] = &[
    o(
        "replied_in_parts",
        22,
        &[Receive, PartialReply, Reply, CloseS],
        Status::Closed,
    ),
    o(
        "extension_granted",
        14,
        &[Receive, RequestExtension, GrantExtension, Reply, CloseS],
        Status::Closed,
    ),
    o(
        "extension_refused",
        8,
        &[
            Receive,
            RequestExtension,
            RefuseExtension,
            PartialReply,
            Reply,
            CloseS,
        ],
        Status::Closed,
    ),
    o("declined", 10, &[Receive, Decline, CloseS], Status::Closed),
    o(
        "partly_replied_open",
        10,
        &[Receive, PartialReply],
        Status::PartiallyReplied,
    ),
    o(
        "extension_pending",
        5,
        &[Receive, RequestExtension],
        Status::Received,
    ),
    o("replied_open", 6, &[Receive, Reply], Status::Replied),
    o("received_only", 8, &[Receive], Status::Received),
];

const SERVICE: &[Outcome] = &[
    o("served", 45, &[Receive, Serve, CloseS], Status::Closed),
    o("failed", 18, &[Receive, Fail, CloseS], Status::Closed),
    o("served_open", 10, &[Receive, Serve], Status::Served),
    o("received_only", 10, &[Receive], Status::Received),
    o("sent_only", 5, &[], Status::Sent),
];

fn outcomes(kind: Kind) -> &'static [Outcome] {
    match kind {
        Kind::Transfer => TRANSFER,
        Kind::Clue => CLUE,
        Kind::Assistance => ASSISTANCE,
        Kind::Service => SERVICE,
    }
}

/// Violation types written freely (not catalogue names), with their facts.
const FREE_TEXT: &[(&str, &str)] = &[
    (
        "渣土车跨省倾倒建筑垃圾",
        "当事人于{date}驾驶{plate}号渣土车，将外省工地的建筑垃圾运至{place}倾倒约{n}立方米后驶离。",
    ),
    (
        "夜间违规施工噪声扰民",
        "当事人于{date}夜间在{place}工地进行打桩作业，未取得夜间施工许可，周边居民多次投诉。",
    ),
    (
        "装修垃圾未按规定处置",
        "当事人于{date}将装修垃圾约{n}袋堆放于{place}绿化带内，未交由有资质单位清运。",
    ),
    (
        "擅自占道堆放建材",
        "当事人于{date}在{place}人行道上堆放砂石、砖块等建材约{n}平方米，未办理占道手续。",
    ),
    (
        "无证跨区域运输渣土",
        "当事人于{date}使用{plate}号车辆，未办理处置核准，自外地运输渣土至{place}约{n}立方米。",
    ),
];

const QUESTIONS: &[&str] = &[
    "请核实当事人车辆的登记信息及实际使用人",
    "请调取该路段相关时段的视频监控",
    "请核实当事人在贵辖区的工商登记及经营地址",
    "请向消纳场所核实该车辆的进场记录",
    "请对当事人的现场负责人制作询问笔录",
    "请核实涉案工地的建筑垃圾处置核准情况",
];

/// Documents sent to be served (a 送达回证 may go with them).
const DOCUMENTS: &[&str] = &[
    "行政处罚事先告知书",
    "行政处罚决定书",
    "责令限期改正通知书",
    "听证告知书",
];

const NOT_FILED: &[&str] = &[
    "经现场核查，未发现线索所述违法行为",
    "当事人已自行整改完毕，违法事实不成立",
    "线索所涉行为已由公安机关立案处理",
    "证据不足，无法认定违法主体",
];

const RETURNS: &[(&str, &str)] = &[
    ("not_competent", "违法行为发生地不在本单位管辖范围内"),
    (
        "insufficient_materials",
        "移送材料缺少现场勘验笔录及照片，请补充后再行移送",
    ),
    ("duplicate", "本单位已就同一违法行为立案查处"),
    ("other", "案件已超过行政处罚追责时效"),
];

const DECLINES: &[&str] = &[
    "所请事项超出本单位职权范围，建议商请公安交管部门协助",
    "监控录像已超过保存期限，无法调取",
];

const FAILS: &[&str] = &[
    "受送达人下落不明，地址查无此人",
    "受送达人拒绝签收且无见证人在场",
    "邮寄送达被退回，地址不详",
];

const METHODS: &[&str] = &["direct", "left", "post", "electronic", "announcement"];

const COMMENTS: &[&str] = &[
    "请贵单位尽快签收办理",
    "此件涉及跨界渣土倾倒，请优先处理",
    "已电话联系对方承办人",
];

/// The enabled units, grouped as the generator needs them.
struct Pool<'a> {
    /// Non-lead units per level.
    by_level: BTreeMap<Level, Vec<&'a Unit>>,
    /// County and street units whose superior is enabled (they send across levels).
    climbers: Vec<&'a Unit>,
    by_code: HashMap<&'a str, &'a Unit>,
}

impl<'a> Pool<'a> {
    fn new(units: &'a [Unit]) -> Pool<'a> {
        let enabled: Vec<&Unit> = units.iter().filter(|u| !u.disabled).collect();
        let by_code: HashMap<&str, &Unit> = enabled.iter().map(|u| (u.code.as_str(), *u)).collect();
        let mut by_level: BTreeMap<Level, Vec<&Unit>> = BTreeMap::new();
        for u in &enabled {
            if u.level != Level::Province {
                by_level.entry(u.level).or_default().push(u);
            }
        }
        let climbers = enabled
            .iter()
            .copied()
            .filter(|u| matches!(u.level, Level::County | Level::Street))
            .filter(|u| {
                u.parent
                    .as_ref()
                    .is_some_and(|p| by_code.contains_key(p.as_str()))
            })
            .collect();
        Pool {
            by_level,
            climbers,
            by_code,
        }
    }

    fn level(&self, level: Level) -> &[&'a Unit] {
        self.by_level.get(&level).map_or(&[], Vec::as_slice)
    }
}

struct Gen<'a> {
    rng: Rng,
    pool: Pool<'a>,
    today: NaiveDate,
    /// Next document number per sender and kind.
    doc_numbers: HashMap<(String, Kind), u32>,
    /// Next case or decision number per unit.
    case_numbers: HashMap<String, u32>,
}

/// The short form a unit puts in its document numbers (`沪青`, `苏`, `浙嘉`).
fn doc_prefix(unit: &Unit) -> String {
    format!(
        "{}{}",
        data::plate_prefix(unit.party),
        super::generator::abbreviation(unit)
    )
}

fn kind_char(kind: Kind) -> &'static str {
    match kind {
        Kind::Clue => "通",
        Kind::Transfer => "移",
        Kind::Assistance => "协",
        Kind::Service => "送",
    }
}

impl<'a> Gen<'a> {
    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        self.rng.pick(items).copied().unwrap_or_default()
    }

    /// Two units of one level: of different parties (`cross`), or of the same party.
    fn same_level(&mut self, level: Level, cross: bool) -> Option<(&'a Unit, &'a Unit)> {
        let units = self.pool.level(level).to_vec();
        let a = *self.rng.pick(&units)?;
        let others: Vec<&Unit> = units
            .iter()
            .copied()
            .filter(|b| b.code != a.code && (b.party != a.party) == cross)
            .collect();
        let b = *self.rng.pick(&others)?;
        Some((a, b))
    }

    /// Neighbours across a provincial border (a Shanghai district and a Jiangsu or Zhejiang
    /// city, or two cities), in a random direction.
    fn border_pair(&mut self) -> Option<(&'a Unit, &'a Unit)> {
        let cities = self.pool.level(Level::City).to_vec();
        let (x, y) = *self.rng.pick(data::BORDERS)?;
        let find = |prefix: &str| {
            cities
                .iter()
                .copied()
                .find(|u| u.division.starts_with(prefix))
        };
        let (a, b) = (find(x)?, find(y)?);
        Some(if self.rng.chance(0.5) { (a, b) } else { (b, a) })
    }

    /// A county or street unit and a city-level unit of another party.
    fn cross_level(&mut self) -> Option<(&'a Unit, &'a Unit, &'a Unit)> {
        let climbers = self.pool.climbers.clone();
        let a = *self.rng.pick(&climbers)?;
        let parent = a
            .parent
            .as_ref()
            .and_then(|p| self.pool.by_code.get(p.as_str()).copied())?;
        let targets: Vec<&Unit> = self
            .pool
            .level(Level::City)
            .iter()
            .copied()
            .filter(|b| b.party != a.party && b.code != parent.code)
            .collect();
        let b = *self.rng.pick(&targets)?;
        Some((a, b, parent))
    }

    fn ends(&mut self) -> Option<(Pairing, &'a Unit, &'a Unit, Option<&'a Unit>)> {
        let draw = self.rng.unit();
        if draw < 0.12
            && let Some((a, b, p)) = self.cross_level()
        {
            return Some((Pairing::CrossLevel, a, b, Some(p)));
        }
        if draw < 0.27
            && let Some((a, b)) = self.same_level(Level::City, false)
        {
            return Some((Pairing::SameParty, a, b, None));
        }
        let pair = if self.rng.chance(0.55) {
            self.border_pair()
        } else if self.rng.chance(0.15) {
            self.same_level(Level::County, true)
        } else {
            None
        };
        let pair = match pair {
            Some(p) => Some(p),
            None => self.same_level(Level::City, true),
        };
        if let Some((a, b)) = pair {
            return Some((Pairing::CrossParty, a, b, None));
        }
        // A registry too small for the preferred pairs: any two units of one level.
        for level in [Level::City, Level::County, Level::Street] {
            for cross in [true, false] {
                if let Some((a, b)) = self.same_level(level, cross) {
                    let pairing = if cross {
                        Pairing::CrossParty
                    } else {
                        Pairing::SameParty
                    };
                    return Some((pairing, a, b, None));
                }
            }
        }
        None
    }

    /// Where the act happened: a division of the receiver's area (its own, its city's, or
    /// else its party's).
    fn place(&mut self, receiver: &Unit) -> &'static Division {
        let all = data::divisions_of(receiver.party);
        let city: String = receiver.division.chars().take(4).collect();
        let own: Vec<&Division> = all
            .iter()
            .copied()
            .filter(|d| d.code == receiver.division)
            .collect();
        let near: Vec<&Division> = all
            .iter()
            .copied()
            .filter(|d| d.code.starts_with(&city))
            .collect();
        let choice = if !own.is_empty() && self.rng.chance(0.5) {
            self.rng.pick(&own).copied()
        } else if !near.is_empty() {
            self.rng.pick(&near).copied()
        } else {
            self.rng.pick(&all).copied()
        };
        choice.unwrap_or(&FALLBACK)
    }

    fn uscc(&mut self, prefix: &str, division: &str) -> String {
        let alphabet: Vec<char> = USCC_ALPHABET.chars().collect();
        for _ in 0..50 {
            let tail: String = (0..6)
                .map(|_| self.rng.pick(&alphabet).copied().unwrap_or('0'))
                .collect();
            let body = format!("MA{tail}");
            let Some(org) = org_code_check_char(&body) else {
                continue;
            };
            let first17 = format!("{prefix}{division}{body}{org}");
            if let Some(check) = uscc_check_char(&first17) {
                return format!("{first17}{check}");
            }
        }
        String::new()
    }

    fn resident_id(&mut self, division: &str) -> String {
        let base = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default();
        for _ in 0..50 {
            let birth = base + chrono::Days::new(self.rng.below(14_000));
            let seq = self.rng.range(0, 999);
            let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
            if let Some(check) = resident_id_check_char(&first17) {
                return format!("{first17}{check}");
            }
        }
        String::new()
    }

    fn subject(&mut self, place: &Division) -> Value {
        let city = place.city.strip_suffix('市').unwrap_or(place.city);
        let draw = self.rng.unit();
        if draw < 0.7 {
            let name = format!(
                "{city}{}{}有限公司",
                self.pick_str(data::TRADE_NAMES),
                self.pick_str(data::BUSINESSES)
            );
            let uscc = self.uscc("91", place.code);
            json!({"name": name, "kind": "legal_person", "uscc": uscc})
        } else if draw < 0.9 {
            let name = format!(
                "{}{}{}",
                place.name,
                self.pick_str(data::TRADE_NAMES),
                self.pick_str(data::SHOPS)
            );
            let uscc = self.uscc("92", place.code);
            json!({"name": name, "kind": "individual_business", "uscc": uscc})
        } else {
            let name = format!(
                "{}{}",
                self.pick_str(data::SURNAMES),
                self.pick_str(data::GIVEN)
            );
            let id = self.resident_id(place.code);
            json!({"name": name, "kind": "natural_person", "id_no": id})
        }
    }

    fn address(&mut self, place: &Division) -> String {
        format!(
            "{}{}{}{}号",
            place.city,
            place.name,
            self.pick_str(data::ROADS),
            self.rng.range(1, 999)
        )
    }

    /// The violation as written (the catalogue's name three times in four) and its facts.
    fn violation(&mut self, place: &Division, party: Party) -> (String, String) {
        let (name, template) = if self.rng.chance(0.75) {
            match self.rng.weighted(
                &VIOLATIONS
                    .iter()
                    .map(|v| ((v.name, v.facts), v.weight))
                    .collect::<Vec<_>>(),
            ) {
                Some(v) => *v,
                None => (
                    "擅自倾倒建筑垃圾",
                    "当事人于{date}在{place}擅自倾倒建筑垃圾。",
                ),
            }
        } else {
            self.rng.pick(FREE_TEXT).copied().unwrap_or((
                "擅自倾倒建筑垃圾",
                "当事人于{date}在{place}擅自倾倒建筑垃圾。",
            ))
        };
        let day = self.today - chrono::Days::new(self.rng.range(1, 40).unsigned_abs());
        let letters: Vec<char> = "ABCDEFGHJKLMNPQRSTUVWXYZ".chars().collect();
        let digits: String = (0..5)
            .map(|_| char::from_digit(self.rng.below(10) as u32, 10).unwrap_or('0'))
            .collect();
        let plate = format!(
            "{}{}{digits}",
            data::plate_prefix(party),
            self.rng.pick(&letters).copied().unwrap_or('A')
        );
        let address = self.address(place);
        let facts = template
            .replace("{date}", &day.format("%Y年%-m月%-d日").to_string())
            .replace("{place}", &address)
            .replace("{n}", &self.rng.range(3, 60).to_string())
            .replace("{plate}", &plate)
            .replace("{goods}", self.pick_str(data::GOODS));
        (name.to_owned(), facts)
    }

    fn next_number(&mut self, unit: &Unit) -> u32 {
        let start = 1 + self.rng.below(300) as u32;
        let n = self
            .case_numbers
            .entry(unit.code.to_string())
            .or_insert(start);
        *n += 1;
        *n
    }

    fn case_no(&mut self, unit: &Unit, word: &str) -> String {
        let n = self.next_number(unit);
        format!(
            "{}城管{word}字〔{}〕第{n}号",
            doc_prefix(unit),
            self.today.year()
        )
    }

    /// The letter: what `POST /v1/collaboration/items` takes.
    fn item(&mut self, kind: Kind, sender: &Unit, receiver: &Unit) -> Value {
        let start = 1 + self.rng.below(50) as u32;
        let counter = self
            .doc_numbers
            .entry((sender.code.to_string(), kind))
            .or_insert(start);
        let number = *counter;
        *counter += 1;
        let doc_no = format!(
            "{}城管{}字〔{}〕第{number}号",
            doc_prefix(sender),
            kind_char(kind),
            self.today.year()
        );
        let place = self.place(receiver);
        let subject = self.subject(place);
        let subject_name = subject
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("受送达人")
            .to_owned();
        let (violation, facts) = self.violation(place, receiver.party);
        let mut item = json!({
            "kind": kind.as_str(),
            "doc_no": doc_no,
            "to": receiver.code.as_str(),
            "subject": subject,
            "violation_type": violation,
            "place": place.code,
            "facts": facts,
        });
        let mut put = |k: &str, v: Value| {
            if let Some(m) = item.as_object_mut() {
                m.insert(k.to_owned(), v);
            }
        };
        match kind {
            Kind::Assistance => {
                let n = self.rng.range(1, 3).unsigned_abs() as usize;
                let mut qs: Vec<&str> = QUESTIONS.to_vec();
                let mut chosen = Vec::new();
                for _ in 0..n {
                    let i = self.rng.index(qs.len());
                    if i < qs.len() {
                        chosen.push(qs.remove(i));
                    }
                }
                put("questions", json!(chosen));
                if self.rng.chance(0.3) {
                    // A month ahead: always at least two working days away.
                    let by = self.today + chrono::Days::new(30);
                    put("reply_by", json!(by.to_string()));
                }
                if self.rng.chance(0.4) {
                    put("case_no", json!(self.case_no(sender, "立")));
                }
            }
            Kind::Service => {
                let decision = self.case_no(sender, "罚");
                let first = self.pick_str(DOCUMENTS);
                let docs = if self.rng.chance(0.5) {
                    vec![format!("{first}（{decision}）")]
                } else {
                    vec![format!("{first}（{decision}）"), "送达回证".to_owned()]
                };
                put("documents", json!(docs));
                let address = self.address(place);
                put(
                    "addressee",
                    json!({"name": subject_name, "address": address}),
                );
                put("case_no", json!(decision));
            }
            Kind::Transfer | Kind::Clue => {}
        }
        item
    }

    /// The body of a planned step, taken by `receiver` (or the sender closing).
    fn body(&mut self, plan: Plan, receiver: &Unit) -> (Step, Side, Value) {
        let today = self.today.to_string();
        let r = Side::Receiver;
        match plan {
            Receive => {
                let body = if self.rng.chance(0.3) {
                    json!({"step": "receive", "note": "已签收，转承办中队办理"})
                } else {
                    json!({"step": "receive"})
                };
                (Step::Receive, r, body)
            }
            File | Accept => {
                let step = if plan == File {
                    Step::File
                } else {
                    Step::Accept
                };
                let case_no = self.case_no(receiver, "立");
                (
                    step,
                    r,
                    json!({"step": step.as_str(), "case_no": case_no, "filed_on": today}),
                )
            }
            NotFile => {
                let reason = self.pick_str(NOT_FILED);
                (
                    Step::NotFile,
                    r,
                    json!({"step": "not_file", "reason": reason}),
                )
            }
            Return => {
                let (code, reason) = self.rng.pick(RETURNS).copied().unwrap_or(RETURNS_FALLBACK);
                (
                    Step::Return,
                    r,
                    json!({"step": "return", "reason_code": code, "reason": reason}),
                )
            }
            Progress(stage) => {
                let note = match stage {
                    "investigation" => "已完成现场勘验和当事人询问",
                    "notice" => "已送达行政处罚事先告知书，当事人未申请听证",
                    _ => "已报请负责人审批处罚决定",
                };
                (
                    Step::Progress,
                    r,
                    json!({"step": "progress", "stage": stage, "note": note}),
                )
            }
            Decide => {
                let no = self.case_no(receiver, "罚");
                (
                    Step::Decide,
                    r,
                    json!({"step": "decide", "decision_no": no}),
                )
            }
            NotPenalize => (
                Step::NotPenalize,
                r,
                json!({"step": "not_penalize", "reason": "当事人初次违法且危害后果轻微并及时改正，依法不予行政处罚（行政处罚法第三十三条）"}),
            ),
            PartialReply => (
                Step::Reply,
                r,
                json!({"step": "reply", "partial": true, "note": "已调取部分监控录像，其余材料待相关部门反馈后补充"}),
            ),
            Reply => (
                Step::Reply,
                r,
                json!({"step": "reply", "note": "经核查，所请事项已查明，相关笔录及照片随函附送"}),
            ),
            Decline => {
                let reason = self.pick_str(DECLINES);
                (
                    Step::Decline,
                    r,
                    json!({"step": "decline", "reason": reason}),
                )
            }
            RequestExtension => {
                let days = self.rng.range(3, 10);
                (
                    Step::RequestExtension,
                    r,
                    json!({"step": "request_extension", "days": days, "reason": "所需材料需向其他部门调取"}),
                )
            }
            GrantExtension => (
                Step::GrantExtension,
                Side::Sender,
                json!({"step": "grant_extension"}),
            ),
            RefuseExtension => (
                Step::RefuseExtension,
                Side::Sender,
                json!({"step": "refuse_extension", "reason": "本案办理期限紧迫，请按期回复"}),
            ),
            Serve => {
                let method = self.pick_str(METHODS);
                (
                    Step::Serve,
                    r,
                    json!({"step": "serve", "method": method, "served_on": today, "note": "送达回证已签收"}),
                )
            }
            Fail => {
                let attempts = self.rng.range(1, 3);
                let reason = self.pick_str(FAILS);
                (
                    Step::Fail,
                    r,
                    json!({"step": "fail", "attempts": attempts, "reason": reason}),
                )
            }
            CloseS => (Step::Close, Side::Sender, json!({"step": "close"})),
            CloseR => (
                Step::Close,
                r,
                json!({"step": "close", "note": "案件已执行完毕，予以结案"}),
            ),
        }
    }

    fn script(&mut self, n: usize) -> Option<CollabScript> {
        let (pairing, sender, receiver, approver) = self.ends()?;
        let kind = *self.rng.weighted(&[
            (Kind::Transfer, 35),
            (Kind::Clue, 25),
            (Kind::Assistance, 25),
            (Kind::Service, 15),
        ])?;
        let item = self.item(kind, sender, receiver);
        let unit_of = |side: Side| match side {
            Side::Sender => sender.code.clone(),
            Side::Approver => approver.map_or_else(|| sender.code.clone(), |a| a.code.clone()),
            _ => receiver.code.clone(),
        };
        let mut steps = Vec::new();
        let push = |steps: &mut Vec<ScriptStep>, by: Side, step: Step, body: Value| {
            steps.push(ScriptStep {
                by,
                unit: unit_of(by),
                step,
                body,
            });
        };
        if self.rng.chance(0.15) {
            let note = self.pick_str(COMMENTS);
            push(
                &mut steps,
                Side::Sender,
                Step::Comment,
                json!({"step": "comment", "note": note}),
            );
        }
        if approver.is_some() {
            if self.rng.chance(0.2) {
                push(
                    &mut steps,
                    Side::Approver,
                    Step::Refuse,
                    json!({"step": "refuse", "reason": "应由违法行为发生地主管部门直接处理，请补充管辖依据"}),
                );
                return Some(CollabScript {
                    n,
                    kind,
                    sender: sender.code.clone(),
                    receiver: receiver.code.clone(),
                    approver: approver.map(|a| a.code.clone()),
                    pairing,
                    outcome: "refused".to_owned(),
                    item,
                    steps,
                    expected_status: Status::Refused,
                });
            }
            push(
                &mut steps,
                Side::Approver,
                Step::Approve,
                json!({"step": "approve", "note": "同意转送"}),
            );
        }
        let choices: Vec<(&Outcome, u32)> = outcomes(kind).iter().map(|o| (o, o.weight)).collect();
        let outcome = *self.rng.weighted(&choices)?;
        for plan in outcome.plan {
            let (step, by, body) = self.body(*plan, receiver);
            push(&mut steps, by, step, body);
        }
        Some(CollabScript {
            n,
            kind,
            sender: sender.code.clone(),
            receiver: receiver.code.clone(),
            approver: approver.map(|a| a.code.clone()),
            pairing,
            outcome: outcome.name.to_owned(),
            item,
            steps,
            expected_status: outcome.end,
        })
    }
}

const RETURNS_FALLBACK: (&str, &str) = ("other", "其他原因");

/// Used only if the division table lacked a party.
static FALLBACK: Division = Division {
    code: "310101",
    name: "黄浦区",
    city: "上海市",
};

/// `n` collaboration scripts between the enabled units among `units`, dated `today` (the
/// simulation's reference date). Deterministic in its arguments; independent of the records'
/// draws. Fewer than `n` (none) only when the registry has no two units of one level.
pub fn generate(units: &[Unit], n: usize, seed: u64, today: NaiveDate) -> Vec<CollabScript> {
    let mut g = Gen {
        rng: Rng::new(seed ^ SEED_SALT),
        pool: Pool::new(units),
        today,
        doc_numbers: HashMap::new(),
        case_numbers: HashMap::new(),
    };
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        match g.script(i) {
            Some(s) => out.push(s),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::collab::{State, transition};
    use crate::domain::registry::parse_units_toml;
    use crate::normalize::decision_no::fold_decision_no;
    use crate::normalize::ids::{normalize_resident_id, normalize_uscc};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn units() -> Vec<Unit> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units.toml");
        let text = std::fs::read_to_string(path).unwrap();
        parse_units_toml(&text).unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    }

    /// Runs a script through the table; answers the status reached, or why it stopped.
    fn replay(s: &CollabScript) -> Result<Status, String> {
        let mut state = State::at(if s.approver.is_some() {
            Status::AwaitingApproval
        } else {
            Status::Sent
        });
        for (i, st) in s.steps.iter().enumerate() {
            let final_reply = !st
                .body
                .get("partial")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let t = transition(s.kind, state, st.step, final_reply)
                .ok_or_else(|| format!("#{} step {i} {} refused from {state:?}", s.n, st.step))?;
            if t.side != st.by && t.side != Side::Viewer {
                return Err(format!(
                    "#{} step {i} {}: taken by the {} but scripted for the {}",
                    s.n, st.step, t.side, st.by
                ));
            }
            let want = match st.by {
                Side::Sender => &s.sender,
                Side::Receiver => &s.receiver,
                Side::Approver => s.approver.as_ref().ok_or("approver step without one")?,
                other => return Err(format!("scripted for {other}")),
            };
            if &st.unit != want {
                return Err(format!("#{} step {i}: unit {} ≠ {want}", s.n, st.unit));
            }
            if st.body.get("step").and_then(Value::as_str) != Some(st.step.as_str()) {
                return Err(format!("#{} step {i}: body names another step", s.n));
            }
            state = t.to;
        }
        Ok(state.status)
    }

    #[test]
    fn every_kind_outcome_and_pairing_appears_in_a_large_set() {
        let scripts = generate(&units(), 600, 1, today());
        assert_eq!(scripts.len(), 600);
        let sum = summarize(&scripts);
        for k in Kind::ALL {
            assert!(sum.by_kind.get(k).copied().unwrap_or(0) > 0, "{k}");
        }
        for p in [Pairing::CrossParty, Pairing::SameParty, Pairing::CrossLevel] {
            assert!(sum.by_pairing.get(&p).copied().unwrap_or(0) > 0, "{p:?}");
        }
        assert!(sum.approved > 0 && sum.refused > 0, "{sum:?}");
        let names: BTreeSet<&str> = scripts.iter().map(|s| s.outcome.as_str()).collect();
        for k in Kind::ALL {
            for o in outcomes(*k) {
                assert!(names.contains(o.name), "{k} {}", o.name);
            }
        }
        // Shanghai districts and their neighbours across the border write to each other.
        assert!(scripts.iter().any(|s| {
            s.sender.as_str().starts_with("SH-")
                && (s.receiver.as_str().starts_with("JS-")
                    || s.receiver.as_str().starts_with("ZJ-"))
        }));
    }

    #[test]
    fn a_registry_with_no_pair_gives_no_script() {
        let one: Vec<Unit> = units().into_iter().take(1).collect();
        assert!(generate(&one, 5, 1, today()).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Deterministic for a seed; every script is accepted by the state table with its
        /// scripted sides and ends where its truth says; the letters are valid.
        #[test]
        fn scripts_follow_the_table_and_their_truth(seed in any::<u64>(), n in 0usize..60) {
            let units = units();
            let a = generate(&units, n, seed, today());
            let b = generate(&units, n, seed, today());
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.len(), n);
            let by_code: HashMap<&str, &Unit> =
                units.iter().map(|u| (u.code.as_str(), u)).collect();
            let mut docs = BTreeSet::new();
            for s in &a {
                let end = replay(s).map_err(TestCaseError::fail)?;
                prop_assert_eq!(end, s.expected_status, "#{} {}", s.n, s.outcome);
                let (snd, rcv) = (by_code[s.sender.as_str()], by_code[s.receiver.as_str()]);
                prop_assert_ne!(&snd.code, &rcv.code);
                // The approver is the sender's superior exactly when the levels differ.
                if snd.level == rcv.level {
                    prop_assert!(s.approver.is_none());
                } else {
                    prop_assert_eq!(s.approver.as_ref(), snd.parent.as_ref());
                    prop_assert_ne!(Some(&rcv.code), snd.parent.as_ref());
                }
                let item = &s.item;
                prop_assert_eq!(item["kind"].as_str(), Some(s.kind.as_str()));
                prop_assert_eq!(item["to"].as_str(), Some(s.receiver.as_str()));
                let place = item["place"].as_str().unwrap();
                prop_assert_eq!(Party::from_division(place), Some(rcv.party));
                prop_assert!(place.len() == 6 && place.bytes().all(|b| b.is_ascii_digit()));
                if let Some(u) = item["subject"]["uscc"].as_str() {
                    prop_assert!(normalize_uscc(u).is_ok(), "{}", u);
                } else {
                    let id = item["subject"]["id_no"].as_str().unwrap();
                    prop_assert!(normalize_resident_id(id).is_ok(), "{}", id);
                }
                prop_assert!(docs.insert((
                    s.sender.to_string(),
                    s.kind,
                    fold_decision_no(item["doc_no"].as_str().unwrap()),
                )));
                prop_assert_eq!(item.get("questions").is_some(), s.kind == Kind::Assistance);
                prop_assert_eq!(item.get("documents").is_some(), s.kind == Kind::Service);
                prop_assert_eq!(item.get("addressee").is_some(), s.kind == Kind::Service);
            }
            let sum = summarize(&a);
            prop_assert_eq!(sum.items, n);
            prop_assert_eq!(sum.by_kind.values().sum::<usize>(), n);
            prop_assert_eq!(sum.by_status.values().sum::<usize>(), n);
            prop_assert_eq!(sum.steps, a.iter().map(|s| s.steps.len()).sum::<usize>());
        }
    }
}
