//! Deterministic, valid 双公示 records for the benchmarks and the load script (included with
//! `#[path]` by `benches/normalize.rs` and `examples/ingest_load.rs`).
//!
//! Every record `seq` is distinct: its decision number carries `seq`. Check characters are
//! computed with penex's own functions, never copied; amounts are written as capital numerals
//! (大写) in the content, as units write them.

use chrono::{Days, NaiveDate};
use penex::domain::party::Party;
use serde_json::{Value, json};

/// Capital numerals and their values, for amounts like 罚款人民币贰万元整.
const CAPITALS: [(&str, u32); 6] = [
    ("壹", 1),
    ("贰", 2),
    ("叁", 3),
    ("伍", 5),
    ("陆", 6),
    ("捌", 8),
];

const PERSON_NAMES: [&str; 6] = ["张三", "李四", "王五", "赵六", "钱七", "孙八"];

/// A county-level division of each party, for subject identifiers.
pub fn division(party: Party) -> &'static str {
    match party {
        Party::Shanghai => "310106",
        Party::Jiangsu => "320102",
        Party::Zhejiang => "330102",
        Party::Anhui => "340102",
    }
}

fn decision_prefix(party: Party) -> &'static str {
    match party {
        Party::Shanghai => "沪城管罚字",
        Party::Jiangsu => "苏建罚字",
        Party::Zhejiang => "浙建罚字",
        Party::Anhui => "皖建罚字",
    }
}

/// A decision number unique to `seq`.
pub fn decision_no(party: Party, seq: u64) -> String {
    format!("{}〔2025〕第{seq:07}号", decision_prefix(party))
}

/// A USCC with a valid GB 32100 check character, distinct for each `seq` below 10⁹.
pub fn uscc(party: Party, seq: u64) -> String {
    let body = format!("91{}{:09}", division(party), seq % 1_000_000_000);
    let check = penex::normalize::ids::uscc_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// An 18-digit resident ID with a valid GB 11643 check digit.
pub fn resident_id(party: Party, seq: u64) -> String {
    let born = date(1960, 1, 1) + Days::new(seq % 15_000);
    let body = format!(
        "{}{}{:03}",
        division(party),
        born.format("%Y%m%d"),
        seq % 1000
    );
    let check = penex::normalize::ids::resident_id_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// The decision date of record `seq`: a day of the first half of 2025.
fn decided(seq: u64) -> NaiveDate {
    date(2025, 1, 10) + Days::new(seq % 170)
}

fn capital(seq: u64) -> (&'static str, u32) {
    let i = usize::try_from(seq % 6).unwrap_or_default();
    CAPITALS.get(i).copied().unwrap_or(("贰", 2))
}

/// A legal person's record in column codes (CF_*), decided by `authority` (a registered name).
pub fn legal_person(party: Party, authority: &str, seq: u64) -> Value {
    let decided = decided(seq);
    let (cap, wan) = capital(seq);
    json!({
        "CF_XDR_MC": format!("{}测试建筑工程有限公司{seq}", party.name_zh()),
        "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": uscc(party, seq),
        "CF_WSH": decision_no(party, seq),
        "CF_WFXW": "未经许可运输建筑垃圾",
        "CF_SY": "当事人未取得建筑垃圾运输许可擅自运输建筑垃圾。",
        "CF_YJ": "《城市建筑垃圾管理规定》第二十三条",
        "CF_CFLB": "罚款",
        "CF_NR": format!("罚款人民币{cap}万元整"),
        "CF_NR_FK": wan.to_string(),
        "CF_JDRQ": decided.format("%Y-%m-%d").to_string(),
        "CF_YXQ": (decided + Days::new(365)).format("%Y-%m-%d").to_string(),
        "CF_CFJG": authority,
        "CF_SJLY": authority,
        "filed_date": (decided - Days::new(15)).format("%Y-%m-%d").to_string(),
        "place_division": division(party),
    })
}

/// A natural person's record in Chinese item names, with a capital-numeral fine in the content.
pub fn natural_person(party: Party, authority: &str, seq: u64) -> Value {
    let decided = decided(seq);
    let (cap, _) = capital(seq);
    let name = PERSON_NAMES
        .get(usize::try_from(seq % 6).unwrap_or_default())
        .copied()
        .unwrap_or("张三");
    json!({
        "行政相对人名称": name,
        "行政相对人类别": "自然人",
        "证件类型": "身份证",
        "证件号码": resident_id(party, seq),
        "行政处罚决定书文号": decision_no(party, seq),
        "违法行为类型": "占道经营",
        "违法事实": "当事人在人行道上摆摊经营。",
        "处罚依据": "《城市市容和环境卫生管理条例》第十四条",
        "处罚类别": "警告;罚款",
        "处罚内容": format!("一、警告;\n二、罚款人民币{cap}佰元整。"),
        "处罚决定日期": decided.format("%Y年%-m月%-d日").to_string(),
        "处罚有效期": (decided + Days::new(180)).format("%Y/%-m/%-d").to_string(),
        "处罚机关": authority,
        "数据来源单位": authority,
    })
}

/// Record `seq`: legal persons and natural persons alternate.
pub fn record(party: Party, authority: &str, seq: u64) -> Value {
    if seq.is_multiple_of(2) {
        legal_person(party, authority, seq)
    } else {
        natural_person(party, authority, seq)
    }
}
