//! Rendering one simulated decision as a raw 双公示 record, the way a member unit's system
//! would export it: one of three key styles (column codes, Chinese item names, our English
//! names nested or dotted), dates in one of the formats units use, categories as 2021 names,
//! 1996 names or numeric codes, the fine in 万元 or 元 or only in the content, and — when the
//! style is noisy — full-width/half-width, bracket and whitespace variants.
//!
//! Invariant: every choice made here is cosmetic. Two renderings of the same [`Penalty`]
//! normalize to canonical records with equal content fingerprints; only the `*_raw` texts
//! differ. Everything that changes the canonical record lives in [`Penalty`].

use super::data::{name_1996, numeric_code};
use super::numerals::{wan_yuan, yuan};
use super::rng::Rng;
use crate::domain::record::{PenaltyCategory, SubjectKind};
use crate::normalize::Field;
use chrono::NaiveDate;
use serde_json::{Map, Value};

/// How the keys of a record are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyStyle {
    /// 双公示 column codes (`CF_XDR_MC`); penex's own fields by their English names.
    Column,
    /// Chinese item names (`行政相对人名称`).
    Chinese,
    /// Our English names, nested (`{"subject": {"name": …}}`).
    EnglishNested,
    /// Our English names, dotted at the top level (`"subject.name"`).
    EnglishDotted,
}

/// How the categories are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CategoryStyle {
    /// 2021 names, `;`-joined.
    Names2021,
    /// 1996 names where they differ (`暂扣或者吊销许可证`), `;`-joined.
    Names1996,
    /// The provincial feed's numeric codes, `;`-joined.
    Codes,
    /// A JSON array (English serde names with English keys, Chinese names otherwise).
    Array,
}

/// How the fine is given beside the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FineStyle {
    /// 万元 as text (`"0.2"`), the national field.
    WanText,
    /// 万元 as a JSON number (`0.2`).
    WanNumber,
    /// 元 in penex's `fine_yuan` field.
    Yuan,
    /// Not given: the amount is read from the content.
    Omitted,
}

/// Date spellings the normalizer accepts.
const DATE_FORMATS: usize = 8;

/// Bracket pairs around the year of a decision number.
const BRACKETS: [(&str, &str); 7] = [
    ("〔", "〕"),
    ("[", "]"),
    ("【", "】"),
    ("（", "）"),
    ("(", ")"),
    ("［", "］"),
    ("﹝", "﹞"),
];

/// The cosmetic choices of one push.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    pub(crate) keys: KeyStyle,
    /// Width, bracket and whitespace variants in the texts.
    pub(crate) noisy: bool,
    date_format: usize,
    /// Each date in its own format (some exports mix them).
    mixed_dates: bool,
    categories: CategoryStyle,
    fine: FineStyle,
    /// Picks among equivalent spellings of 类别 and 证件类型.
    spelling: usize,
    bracket: usize,
    fullwidth_keys: bool,
}

impl Style {
    /// Draws a style. `fine_omittable`: the content states the fine, so the field may be left
    /// out.
    pub(crate) fn draw(rng: &mut Rng, noisy: bool, fine_omittable: bool) -> Style {
        let keys = match rng.weighted(&[
            (KeyStyle::Column, 45),
            (KeyStyle::Chinese, 35),
            (KeyStyle::EnglishNested, 15),
            (KeyStyle::EnglishDotted, 5),
        ]) {
            Some(k) => *k,
            None => KeyStyle::Column,
        };
        let categories = *rng
            .weighted(&[
                (CategoryStyle::Names2021, 60),
                (CategoryStyle::Names1996, 15),
                (CategoryStyle::Codes, 15),
                (CategoryStyle::Array, 10),
            ])
            .unwrap_or(&CategoryStyle::Names2021);
        let mut fine_styles = vec![
            (FineStyle::WanText, 60),
            (FineStyle::WanNumber, 15),
            (FineStyle::Yuan, 10),
        ];
        if fine_omittable {
            fine_styles.push((FineStyle::Omitted, 15));
        }
        let fine = *rng.weighted(&fine_styles).unwrap_or(&FineStyle::WanText);
        Style {
            keys,
            noisy,
            date_format: rng.index(DATE_FORMATS),
            mixed_dates: rng.chance(0.1),
            categories,
            fine,
            spelling: rng.index(3),
            bracket: rng.index(BRACKETS.len()),
            fullwidth_keys: rng.chance(0.3),
        }
    }
}

/// The subject as one decision writes it.
#[derive(Debug, Clone)]
pub(crate) struct SubjectText {
    pub(crate) kind: SubjectKind,
    pub(crate) name: String,
    pub(crate) uscc: Option<String>,
    pub(crate) org_code: Option<String>,
    pub(crate) business_reg_no: Option<String>,
    /// 法定代表人 (or the operator of an individual business) and their resident ID.
    pub(crate) rep: Option<(String, Option<String>)>,
    /// A natural person's resident ID as written (18 digits, or the 15-digit legacy form).
    pub(crate) id_no: Option<String>,
}

/// A decision number: the unit's own spelling, and how it folds.
#[derive(Debug, Clone)]
pub(crate) struct DecisionNo {
    /// Text before the year (`秀综执罚决字`); the whole number when `year` is `None`.
    pub(crate) prefix: String,
    /// The year in brackets.
    pub(crate) year: Option<i32>,
    /// Text after the year (`第1-001号`).
    pub(crate) after: String,
    /// The unit's own brackets, with any spaces it puts inside (`"[ "`, `" ]"`).
    pub(crate) open: &'static str,
    /// See `open`.
    pub(crate) close: &'static str,
}

impl DecisionNo {
    /// The folded form (`normalize::decision_no::fold_decision_no` of every spelling).
    pub(crate) fn canonical(&self) -> String {
        match self.year {
            None => self.prefix.clone(),
            Some(y) => format!("{}〔{y}〕{}", self.prefix, self.after),
        }
    }

    /// The unit's own spelling.
    pub(crate) fn as_written(&self) -> String {
        match self.year {
            None => self.prefix.clone(),
            Some(y) => format!(
                "{}{}{y}{}{}",
                self.prefix, self.open, self.close, self.after
            ),
        }
    }

    fn noisy(&self, bracket: usize, rng: &mut Rng) -> String {
        let text = match self.year {
            None => format!(" {}", self.prefix),
            Some(y) => {
                let (o, c) = BRACKETS.get(bracket).copied().unwrap_or(("〔", "〕"));
                let sp = if rng.chance(0.5) { " " } else { "" };
                format!("{}{o}{sp}{y}{sp}{c}{}", self.prefix, self.after)
            }
        };
        if rng.chance(0.5) {
            fullwidth_ascii(&text)
        } else {
            text
        }
    }
}

/// The facts of a decision before they are written out.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) template: &'static str,
    pub(crate) act_date: NaiveDate,
    pub(crate) place: String,
    pub(crate) quantity: u32,
    pub(crate) plate: String,
    pub(crate) goods: &'static str,
    /// A sentence a correction adds.
    pub(crate) addendum: Option<String>,
}

impl Facts {
    pub(crate) fn text(&self) -> String {
        let date = format!(
            "{}年{}月{}日",
            self.act_date.format("%Y"),
            self.act_date.format("%-m"),
            self.act_date.format("%-d")
        );
        let mut s = self
            .template
            .replace("{date}", &date)
            .replace("{place}", &self.place)
            .replace("{n}", &self.quantity.to_string())
            .replace("{plate}", &self.plate)
            .replace("{goods}", self.goods);
        if let Some(a) = &self.addendum {
            s.push_str(a);
        }
        s
    }
}

/// How the fine is written in the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountText {
    /// `罚款人民币叁万陆仟柒佰叁拾贰元整`.
    CapitalRmb,
    /// `罚款叁万陆仟柒佰叁拾贰元整`.
    Capital,
    /// `罚款人民币36,732元`.
    Grouped,
    /// `罚款36732元`.
    Arabic,
    /// `罚款`: the amount is only in the field.
    Absent,
}

/// Everything that makes up the canonical record of one version of a decision.
#[derive(Debug, Clone)]
pub(crate) struct Penalty {
    pub(crate) subject: SubjectText,
    pub(crate) decision_no: DecisionNo,
    pub(crate) violation_type: &'static str,
    pub(crate) facts: Facts,
    pub(crate) legal_basis: &'static str,
    /// Sorted, distinct.
    pub(crate) categories: Vec<PenaltyCategory>,
    pub(crate) fine_fen: Option<u64>,
    pub(crate) amount_text: AmountText,
    /// `处以…` before a single penalty.
    pub(crate) content_lead: bool,
    pub(crate) license: Option<String>,
    pub(crate) decision_date: NaiveDate,
    pub(crate) filed_date: NaiveDate,
    /// `None`: 长期.
    pub(crate) valid_until: Option<NaiveDate>,
    pub(crate) publicity_until: Option<NaiveDate>,
    pub(crate) authority_name: String,
    pub(crate) authority_uscc: Option<String>,
    pub(crate) source_name: String,
    pub(crate) remarks: Option<&'static str>,
    pub(crate) place_division: String,
}

const ORDINALS: [&str; 6] = ["一", "二", "三", "四", "五", "六"];

impl Penalty {
    /// Whether the content states the fine's amount.
    pub(crate) fn content_states_fine(&self) -> bool {
        self.fine_fen.is_some() && self.amount_text != AmountText::Absent
    }

    /// 处罚内容.
    pub(crate) fn content(&self) -> String {
        let parts: Vec<String> = self
            .categories
            .iter()
            .filter_map(|c| self.content_part(*c))
            .collect();
        match parts.as_slice() {
            [] => "给予行政处罚。".to_owned(),
            [one] if self.content_lead => format!("处以{one}。"),
            [one] => one.clone(),
            many => {
                let lines: Vec<String> = many
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!("{}、{p}", ORDINALS.get(i).copied().unwrap_or("另")))
                    .collect();
                format!("{}。", lines.join(";\n"))
            }
        }
    }

    fn content_part(&self, c: PenaltyCategory) -> Option<String> {
        Some(match c {
            PenaltyCategory::Warning => "警告".to_owned(),
            PenaltyCategory::Fine => {
                let fen = self.fine_fen?;
                match self.amount_text {
                    AmountText::CapitalRmb => {
                        format!("罚款人民币{}", super::numerals::capital_yuan(fen)?)
                    }
                    AmountText::Capital => format!("罚款{}", super::numerals::capital_yuan(fen)?),
                    AmountText::Grouped => {
                        format!("罚款人民币{}元", super::numerals::yuan_grouped(fen))
                    }
                    AmountText::Arabic => format!("罚款{}元", yuan(fen)),
                    AmountText::Absent => "罚款".to_owned(),
                }
            }
            PenaltyCategory::ConfiscateIllegalProperty => "没收非法财物（经营工具一批）".to_owned(),
            PenaltyCategory::SuspendLicence => "暂扣建筑垃圾运输证三十日".to_owned(),
            other => other.name_zh().to_owned(),
        })
    }
}

/// Full-width forms of printable ASCII (NFKC folds them back).
pub(crate) fn fullwidth_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            ' ' => '\u{3000}',
            other => other,
        })
        .collect()
}

/// Full-width digits only.
fn fullwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// A space (ASCII or ideographic) inserted at a character boundary: names fold whitespace
/// away entirely.
fn insert_space(s: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = s.chars().collect();
    let at = rng.index(chars.len() + 1);
    let space = if rng.chance(0.5) { ' ' } else { '\u{3000}' };
    let mut out = String::with_capacity(s.len() + 3);
    for (i, c) in chars.iter().enumerate() {
        if i == at {
            out.push(space);
        }
        out.push(*c);
    }
    if at >= chars.len() {
        out.push(space);
    }
    out
}

/// Cosmetic variants of a name: bracket widths and kinds, spaces anywhere.
fn noisy_name(s: &str, rng: &mut Rng) -> String {
    let mut out = s.to_owned();
    if rng.chance(0.5) {
        out = out.replace('（', "(").replace('）', ")");
    } else if rng.chance(0.3) {
        out = out.replace('（', "【").replace('）', "】");
    }
    if rng.chance(0.7) {
        out = insert_space(&out, rng);
    }
    out
}

/// Cosmetic variants of free text: half-width punctuation, full-width digits, CRLF line ends,
/// blanks around lines. Never a space inside a line where there was none.
fn noisy_text(s: &str, rng: &mut Rng) -> String {
    let mut out = s.to_owned();
    if rng.chance(0.5) {
        out = out.replace('，', ",").replace('；', ";").replace('：', ":");
    }
    if rng.chance(0.4) {
        out = fullwidth_digits(&out);
    }
    if rng.chance(0.4) {
        out = out.replace('\n', "\r\n");
    }
    if rng.chance(0.5) {
        out = format!("  {out} \n");
    }
    out
}

fn date_text(d: NaiveDate, format: usize) -> String {
    match format {
        0 => d.format("%Y-%m-%d").to_string(),
        1 => d.format("%Y/%-m/%-d").to_string(),
        2 => d.format("%Y.%-m.%-d").to_string(),
        3 => d.format("%Y%m%d").to_string(),
        4 => d.format("%Y年%-m月%-d日").to_string(),
        5 => d.format("%Y-%m-%d 00:00:00").to_string(),
        6 => d.format("%Y-%m-%dT10:30:00+08:00").to_string(),
        _ => d.format("%Y/%m/%d").to_string(),
    }
}

/// A field's key in a key style (dotted English for the nested style: it is split later).
fn key(field: Field, style: &Style) -> String {
    let english = field.name().to_owned();
    match style.keys {
        KeyStyle::Column => field.column_code().map_or(english, str::to_owned),
        KeyStyle::EnglishNested | KeyStyle::EnglishDotted => english,
        KeyStyle::Chinese => {
            let zh = chinese_key(field, style.spelling).unwrap_or(english);
            if style.fullwidth_keys {
                zh.replace('(', "（").replace(')', "）")
            } else {
                zh
            }
        }
    }
}

/// The Chinese item name of a field (some with the 双公示 `行政相对人代码_N(…)` spelling).
fn chinese_key(field: Field, spelling: usize) -> Option<String> {
    let alt = spelling == 1;
    let k = match field {
        Field::SubjectName => "行政相对人名称",
        Field::SubjectKind => "行政相对人类别",
        Field::SubjectUscc if alt => "行政相对人代码_1(统一社会信用代码)",
        Field::SubjectUscc => "统一社会信用代码",
        Field::SubjectBusinessRegNo if alt => "行政相对人代码_2(工商注册号)",
        Field::SubjectBusinessRegNo => "工商注册号",
        Field::SubjectOrgCode if alt => "行政相对人代码_3(组织机构代码)",
        Field::SubjectOrgCode => "组织机构代码",
        Field::LegalRepName => "法定代表人",
        Field::LegalRepIdType => "法定代表人证件类型",
        Field::LegalRepIdNo => "法定代表人证件号码",
        Field::SubjectIdType => "证件类型",
        Field::SubjectIdNo => "证件号码",
        Field::DecisionNo => "行政处罚决定书文号",
        Field::ViolationType => "违法行为类型",
        Field::Facts => "违法事实",
        Field::LegalBasis => "处罚依据",
        Field::Categories => "处罚类别",
        Field::Content => "处罚内容",
        Field::Fine => "罚款金额(万元)",
        Field::FineYuan => "罚款金额(元)",
        Field::License => "暂扣或吊销证照名称及编号",
        Field::DecisionDate => "处罚决定日期",
        Field::ValidUntil => "处罚有效期",
        Field::PublicityUntil => "公示截止期",
        Field::AuthorityName => "处罚机关",
        Field::AuthorityUscc => "处罚机关统一社会信用代码",
        Field::SourceName => "数据来源单位",
        Field::SourceUscc => "数据来源单位统一社会信用代码",
        Field::Remarks => "备注",
        Field::FiledDate => "立案日期",
        Field::PlaceDivision => "违法行为发生地行政区划代码",
        _ => return None,
    };
    Some(k.to_owned())
}

fn kind_text(kind: SubjectKind, style: &Style) -> &'static str {
    if matches!(
        style.keys,
        KeyStyle::EnglishNested | KeyStyle::EnglishDotted
    ) {
        return kind.as_str();
    }
    match (kind, style.spelling) {
        (SubjectKind::LegalPerson, 2) => "法人",
        (SubjectKind::IndividualBusiness, 2) => "个体户",
        (k, _) => k.name_zh(),
    }
}

fn id_type_text(style: &Style) -> &'static str {
    if matches!(
        style.keys,
        KeyStyle::EnglishNested | KeyStyle::EnglishDotted
    ) {
        return "resident_id";
    }
    if style.spelling == 2 {
        "居民身份证"
    } else {
        "身份证"
    }
}

fn categories_value(cats: &[PenaltyCategory], style: &Style) -> Value {
    let sep = if style.noisy { "；" } else { ";" };
    let english = matches!(
        style.keys,
        KeyStyle::EnglishNested | KeyStyle::EnglishDotted
    );
    match style.categories {
        CategoryStyle::Names2021 => Value::String(
            cats.iter()
                .map(|c| c.name_zh())
                .collect::<Vec<_>>()
                .join(sep),
        ),
        CategoryStyle::Names1996 => Value::String(
            cats.iter()
                .map(|c| name_1996(*c))
                .collect::<Vec<_>>()
                .join(sep),
        ),
        CategoryStyle::Codes => Value::String(
            cats.iter()
                .map(|c| numeric_code(*c))
                .collect::<Vec<_>>()
                .join(sep),
        ),
        CategoryStyle::Array => Value::Array(
            cats.iter()
                .map(|c| Value::String(if english { c.as_str() } else { c.name_zh() }.to_owned()))
                .collect(),
        ),
    }
}

fn fine_value(fen: u64, style: FineStyle) -> Option<(Field, Value)> {
    match style {
        FineStyle::WanText => Some((Field::Fine, Value::String(wan_yuan(fen)))),
        FineStyle::WanNumber => {
            let v = serde_json::from_str::<Value>(&wan_yuan(fen))
                .unwrap_or_else(|_| Value::String(wan_yuan(fen)));
            Some((Field::Fine, v))
        }
        FineStyle::Yuan => Some((Field::FineYuan, Value::String(yuan(fen)))),
        FineStyle::Omitted => None,
    }
}

/// The fields of a record in a style, in the order units export them.
pub(crate) fn fields(p: &Penalty, style: &Style, rng: &mut Rng) -> Vec<(Field, Value)> {
    let noisy = style.noisy;
    let s = |v: String| Value::String(v);
    let name = |text: &str, rng: &mut Rng| {
        if noisy {
            noisy_name(text, rng)
        } else {
            text.to_owned()
        }
    };
    let text = |t: &str, rng: &mut Rng| {
        if noisy {
            noisy_text(t, rng)
        } else {
            t.to_owned()
        }
    };
    let mut date_format = style.date_format;
    let mut date = |d: NaiveDate, rng: &mut Rng| {
        if style.mixed_dates {
            date_format = rng.index(DATE_FORMATS);
        }
        Value::String(date_text(d, date_format))
    };
    let code = |c: &str, rng: &mut Rng| {
        if noisy && rng.chance(0.5) {
            if rng.chance(0.5) {
                c.to_lowercase()
            } else {
                format!(" {c} ")
            }
        } else {
            c.to_owned()
        }
    };

    let mut out: Vec<(Field, Value)> = Vec::with_capacity(30);
    let subj = &p.subject;
    out.push((Field::SubjectName, s(name(&subj.name, rng))));
    out.push((
        Field::SubjectKind,
        s(kind_text(subj.kind, style).to_owned()),
    ));
    if let Some(u) = &subj.uscc {
        out.push((Field::SubjectUscc, s(code(u, rng))));
    }
    if let Some(o) = &subj.org_code {
        let written = if noisy && rng.chance(0.5) {
            let body: String = o.chars().take(8).collect();
            let check: String = o.chars().skip(8).collect();
            format!("{body}-{check}")
        } else {
            o.clone()
        };
        out.push((Field::SubjectOrgCode, s(written)));
    }
    if let Some(r) = &subj.business_reg_no {
        out.push((Field::SubjectBusinessRegNo, s(code(r, rng))));
    }
    if let Some((rep, rep_id)) = &subj.rep {
        out.push((Field::LegalRepName, s(rep.clone())));
        if let Some(id) = rep_id {
            out.push((Field::LegalRepIdType, s(id_type_text(style).to_owned())));
            out.push((Field::LegalRepIdNo, s(code(id, rng))));
        }
    }
    if let Some(id) = &subj.id_no {
        out.push((Field::SubjectIdType, s(id_type_text(style).to_owned())));
        let written = if noisy && rng.chance(0.5) {
            id.to_lowercase()
        } else {
            id.clone()
        };
        out.push((Field::SubjectIdNo, s(written)));
    }
    let decision_no = if noisy {
        p.decision_no.noisy(style.bracket, rng)
    } else {
        p.decision_no.as_written()
    };
    out.push((Field::DecisionNo, s(decision_no)));
    out.push((Field::ViolationType, s(p.violation_type.to_owned())));
    out.push((Field::Facts, s(text(&p.facts.text(), rng))));
    out.push((Field::LegalBasis, s(text(p.legal_basis, rng))));
    out.push((Field::Categories, categories_value(&p.categories, style)));
    out.push((Field::Content, s(text(&p.content(), rng))));
    if let Some(fen) = p.fine_fen {
        let fine_style = if style.fine == FineStyle::Omitted && !p.content_states_fine() {
            FineStyle::WanText
        } else {
            style.fine
        };
        out.extend(fine_value(fen, fine_style));
    }
    if let Some(l) = &p.license {
        out.push((Field::License, s(text(l, rng))));
    }
    out.push((Field::DecisionDate, date(p.decision_date, rng)));
    let valid = match p.valid_until {
        Some(d) => date(d, rng),
        None => s("长期".to_owned()),
    };
    out.push((Field::ValidUntil, valid));
    if let Some(d) = p.publicity_until {
        out.push((Field::PublicityUntil, date(d, rng)));
    }
    let authority = if noisy && rng.chance(0.5) {
        insert_space(&p.authority_name, rng)
    } else {
        p.authority_name.clone()
    };
    out.push((Field::AuthorityName, s(authority)));
    if let Some(u) = &p.authority_uscc {
        out.push((Field::AuthorityUscc, s(u.clone())));
    }
    out.push((Field::SourceName, s(p.source_name.clone())));
    if let Some(r) = p.remarks {
        out.push((Field::Remarks, s(text(r, rng))));
    }
    out.push((Field::FiledDate, date(p.filed_date, rng)));
    out.push((Field::PlaceDivision, s(p.place_division.clone())));
    out
}

/// Builds the JSON object of a record from its fields in a key style.
pub(crate) fn assemble(fields: Vec<(Field, Value)>, style: &Style) -> Value {
    let mut root = Map::new();
    for (field, value) in fields {
        let k = key(field, style);
        if style.keys == KeyStyle::EnglishNested {
            insert_nested(&mut root, &k, value);
        } else {
            root.insert(k, value);
        }
    }
    Value::Object(root)
}

fn insert_nested(root: &mut Map<String, Value>, dotted: &str, value: Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut map = root;
    for part in parts {
        let entry = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(inner) = entry else {
            return;
        };
        map = inner;
    }
    map.insert(last.to_owned(), value);
}

/// Drops a field before assembly (a record missing a required field); `true` if it was there.
pub(crate) fn remove_field(fields: &mut Vec<(Field, Value)>, field: Field) -> bool {
    let before = fields.len();
    fields.retain(|(f, _)| *f != field);
    fields.len() != before
}
