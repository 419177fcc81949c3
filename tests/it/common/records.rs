//! Record fixtures built from the standard: valid checksums computed, never copied.

use serde_json::{Value, json};

/// A valid USCC whose first 17 characters start with `91` and end with `seed` digits.
pub fn uscc(seed: u32) -> String {
    let body = format!("91310106MA{:07}", seed % 10_000_000);
    let check = penex::normalize::ids::uscc_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// A valid 18-digit resident ID for a person born on 1990-01-01 in Jing'an.
pub fn resident_id(seed: u32) -> String {
    let body = format!("31010619900101{:03}", seed % 1000);
    let check = penex::normalize::ids::resident_id_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// A legal person's penalty record in column codes, decided by `authority` (a registered name).
pub fn company_record(authority: &str, decision_no: &str, seed: u32) -> Value {
    json!({
        "CF_XDR_MC": format!("上海测试建筑工程有限公司{seed}"),
        "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": uscc(seed),
        "CF_WSH": decision_no,
        "CF_WFXW": "未经许可运输建筑垃圾",
        "CF_SY": "当事人未取得建筑垃圾运输许可擅自运输建筑垃圾。",
        "CF_YJ": "《上海市市容环境卫生管理条例》第四十六条",
        "CF_CFLB": "罚款",
        "CF_NR": "罚款人民币贰万元整",
        "CF_NR_FK": "2",
        "CF_JDRQ": "2025-03-20",
        "CF_YXQ": "2026-03-20",
        "CF_CFJG": authority,
        "CF_SJLY": authority,
        "filed_date": "2025-03-05",
        "place_division": "310106",
    })
}

/// A natural person's penalty record in Chinese item names.
pub fn person_record(authority: &str, decision_no: &str, id_no: &str) -> Value {
    json!({
        "行政相对人名称": "张三",
        "行政相对人类别": "自然人",
        "证件类型": "身份证",
        "证件号码": id_no,
        "行政处罚决定书文号": decision_no,
        "违法行为类型": "占道经营",
        "违法事实": "当事人在人行道上摆摊经营。",
        "处罚依据": "《上海市市容环境卫生管理条例》第二十二条",
        "处罚类别": "警告;罚款",
        "处罚内容": "一、警告;\n二、罚款人民币贰佰元整。",
        "处罚决定日期": "2025年3月20日",
        "处罚有效期": "2025/9/20",
        "处罚机关": authority,
        "数据来源单位": authority,
    })
}

/// A company record decided and filed on `date` (`YYYY-MM-DD`); the facts name the date and
/// `seed`, so records of one company on different days are different acts.
pub fn dated(authority: &str, no: &str, seed: u32, date: &str) -> Value {
    let mut r = company_record(authority, no, seed);
    r["CF_JDRQ"] = json!(date);
    r["filed_date"] = json!(date);
    r["CF_SY"] = json!(format!("当事人于{date}前擅自运输建筑垃圾（第{seed}起）。"));
    r
}

/// A company record decided on `date` (`YYYY-MM-DD`), filed five days before; the facts name
/// the day before the filing.
pub fn decided(authority: &str, no: &str, seed: u32, date: &str) -> Value {
    let mut r = company_record(authority, no, seed);
    let d: chrono::NaiveDate = date.parse().unwrap();
    r["CF_JDRQ"] = json!(date);
    r["filed_date"] = json!((d - chrono::Duration::days(5)).to_string());
    r["CF_SY"] = json!(format!(
        "当事人于{}未取得建筑垃圾运输许可擅自运输建筑垃圾。",
        d - chrono::Duration::days(6)
    ));
    r
}

/// One act of dumping on the Shanghai–Jiangsu border, as `authority` writes it, filed on
/// `filed` (the facts name the day of the act and the same quantity; `place` as written).
pub fn dumping(authority: &str, decision_no: &str, seed: u32, filed: &str, place: &str) -> Value {
    let mut r = company_record(authority, decision_no, seed);
    r["CF_WFXW"] = json!("擅自倾倒建筑垃圾");
    r["CF_SY"] = json!(format!(
        "当事人于2025年3月2日在{place}擅自倾倒建筑垃圾约30立方米，未按规定地点处置。"
    ));
    r["filed_date"] = json!(filed);
    r
}
