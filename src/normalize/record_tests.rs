//! Tests of record assembly: key styles, pointers, error collection, cross-field rules, and the
//! idempotence property over generated records.

#![expect(clippy::string_slice, reason = "tests")]

use super::*;
use crate::normalize::ids::{resident_id_check_char, uscc_check_char};
use proptest::prelude::*;
use serde_json::json;

fn ctx() -> NormalizeContext {
    NormalizeContext {
        today: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        publicity: PublicityConfig::default(),
        catalog: crate::normalize::Catalog::for_tests(),
    }
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn uscc(body: &str) -> String {
    format!("{body}{}", uscc_check_char(body).unwrap())
}

/// A complete record with the 双公示 column codes, as a Shanghai unit exports it.
fn column_record() -> Value {
    json!({
        "CF_XDR_MC": "上海某某建筑工程（集团） 有限公司",
        "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": uscc("91310106MA1FL0000").to_lowercase(),
        "CF_FRDB": "张三",
        "CF_WSH": "沪静城管罚字[ 2023 ]第 310106 号",
        "CF_WFXW": "未按规定处置建筑垃圾",
        "CF_SY": "当事人于2023年3月1日  擅自倾倒建筑垃圾。",
        "CF_YJ": "《上海市市容环境卫生管理条例》第四十六条",
        "CF_CFLB": "警告;罚款",
        "CF_NR": "一、警告;\n二、罚款人民币贰佰元整。",
        "CF_NR_FK": "0.02",
        "CF_JDRQ": "2023/3/30",
        "CF_YXQ": "长期",
        "CF_CFJG": "上海市静安区城市管理行政执法局",
        "CF_SJLY": "上海市静安区城市管理行政执法局",
        "BZ": ""
    })
}

fn codes(issues: &[FieldIssue]) -> Vec<(String, String)> {
    issues
        .iter()
        .map(|i| (i.pointer.clone(), i.code.clone()))
        .collect()
}

fn has(issues: &[FieldIssue], pointer: &str, code: &str) -> bool {
    issues
        .iter()
        .any(|i| i.pointer == pointer && i.code == code)
}

#[test]
fn column_codes_normalize() {
    let n = normalize_record(&column_record(), &ctx()).unwrap();
    let r = &n.record;
    assert_eq!(n.warnings, vec![]);
    assert_eq!(r.subject.name, "上海某某建筑工程(集团)有限公司");
    assert_eq!(r.subject.name_raw, "上海某某建筑工程（集团） 有限公司");
    assert_eq!(r.subject.kind, SubjectKind::LegalPerson);
    assert_eq!(
        r.subject.uscc.as_deref(),
        Some(uscc("91310106MA1FL0000").as_str())
    );
    assert_eq!(
        r.subject.legal_rep.as_ref().unwrap().name.as_deref(),
        Some("张三")
    );
    assert_eq!(r.decision_no, "沪静城管罚字〔2023〕第310106号");
    assert_eq!(r.decision_no_raw, "沪静城管罚字[ 2023 ]第 310106 号");
    assert_eq!(r.facts, "当事人于2023年3月1日 擅自倾倒建筑垃圾。");
    assert_eq!(
        r.categories,
        BTreeSet::from([PenaltyCategory::Warning, PenaltyCategory::Fine])
    );
    assert_eq!(r.fine_fen, Some(20_000));
    assert_eq!(r.decision_date, d(2023, 3, 30));
    assert_eq!(r.valid_until, None);
    assert_eq!(r.publicity_until, d(2026, 3, 30));
    assert_eq!(r.publicity_min_until, d(2023, 6, 30));
    assert_eq!(r.remarks, None);
    assert_eq!(r.authority.name, "上海市静安区城市管理行政执法局");
}

#[test]
fn english_nested_dotted_and_chinese_keys_agree() {
    let base = normalize_record(&column_record(), &ctx()).unwrap().record;
    let nested = json!({
        "subject": {"name": "上海某某建筑工程（集团） 有限公司", "kind": "legal_person",
                    "uscc": uscc("91310106MA1FL0000"), "legal_rep": {"name": "张三"}},
        "decision_no": "沪静城管罚字[ 2023 ]第 310106 号",
        "violation_type": "未按规定处置建筑垃圾",
        "facts": "当事人于2023年3月1日  擅自倾倒建筑垃圾。",
        "legal_basis": "《上海市市容环境卫生管理条例》第四十六条",
        "categories": ["warning", "fine"],
        "content": "一、警告;\n二、罚款人民币贰佰元整。",
        "fine_yuan": 200,
        "decision_date": "2023-03-30",
        "valid_until": "永久",
        "authority": {"name": "上海市静安区城市管理行政执法局"},
        "source": {"name": "上海市静安区城市管理行政执法局"}
    });
    assert_eq!(normalize_record(&nested, &ctx()).unwrap().record, base);

    let mixed = json!({
        "subject.name": "上海某某建筑工程（集团） 有限公司",
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": uscc("91310106MA1FL0000"),
        "subject": {"legal_rep.name": "张三"},
        "行政处罚决定书文号": "沪静城管罚字[ 2023 ]第 310106 号",
        "违法行为类型": "未按规定处置建筑垃圾",
        "CF_SY": "当事人于2023年3月1日  擅自倾倒建筑垃圾。",
        "处罚依据": "《上海市市容环境卫生管理条例》第四十六条",
        "处罚类别": "01；02",
        "处罚内容": "一、警告;\n二、罚款人民币贰佰元整。",
        "罚款金额（万元）": 0.02,
        "处罚决定日期": "2023年3月30日",
        "处罚机关": "上海市静安区城市管理行政执法局",
        "source.name": "上海市静安区城市管理行政执法局"
    });
    assert_eq!(normalize_record(&mixed, &ctx()).unwrap().record, base);
}

#[test]
fn non_object_is_one_error_at_the_root() {
    for v in [json!([1]), json!("x"), json!(null), json!(3)] {
        let errs = normalize_record(&v, &ctx()).unwrap_err();
        assert_eq!(
            codes(&errs),
            vec![(String::new(), "invalid_type".to_owned())]
        );
    }
}

#[test]
fn every_missing_required_field_is_reported() {
    let errs = normalize_record(&json!({}), &ctx()).unwrap_err();
    let want = [
        "/subject/name",
        "/subject/kind",
        "/decision_no",
        "/violation_type",
        "/facts",
        "/legal_basis",
        "/categories",
        "/content",
        "/decision_date",
        "/authority/name",
        "/source/name",
    ];
    for p in want {
        assert!(has(&errs, p, "required"), "{p}: {errs:?}");
    }
    assert_eq!(errs.len(), want.len(), "{errs:?}");
}

#[test]
fn all_errors_of_a_record_are_collected_with_pointers() {
    let mut v = column_record();
    let bad_uscc = {
        let good = uscc("91310106MA1FL0000");
        let last = if good.ends_with('0') { '1' } else { '0' };
        format!("{}{last}", good.chars().take(17).collect::<String>())
    };
    v["CF_XDR_SHXYM"] = json!(bad_uscc);
    v["CF_JDRQ"] = json!("2023-02-30");
    v["CF_CFLB"] = json!("警告;拘役");
    v["CF_XDR_LB"] = json!("公司");
    v["a/b~c"] = json!(1);
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert!(has(&errs, "/CF_XDR_SHXYM", "invalid_checksum"), "{errs:?}");
    assert!(has(&errs, "/CF_JDRQ", "invalid_date"), "{errs:?}");
    assert!(has(&errs, "/CF_CFLB", "unknown_category"), "{errs:?}");
    assert!(has(&errs, "/CF_XDR_LB", "unknown_subject_kind"), "{errs:?}");
    // No "required" on top of a field that was given but invalid.
    assert!(!errs.iter().any(|e| e.code == "required"), "{errs:?}");
    let uscc_err = errs.iter().find(|e| e.pointer == "/CF_XDR_SHXYM").unwrap();
    assert!(!uscc_err.detail.contains(&bad_uscc), "{}", uscc_err.detail);
}

/// Every field takes text up to its limit and refuses one character more, at the key used,
/// counting characters (not bytes); the huge values of the hostile-input table
/// (tests/it/hostile.rs) are refused the same way.
#[test]
fn every_field_refuses_text_over_its_limit() {
    for field in Field::all() {
        let max = field.max_chars();
        for (len, refused) in [(max, false), (max + 1, true), (1 << 20, true)] {
            let mut v = column_record();
            v.as_object_mut()
                .unwrap()
                .retain(|k, _| field_for_header(k) != Some(field));
            v[field.name()] = json!("甲".repeat(len));
            let errs = normalize_record(&v, &ctx()).err().unwrap_or_default();
            let pointer = format!("/{}", field.name());
            assert_eq!(
                has(&errs, &pointer, "too_long"),
                refused,
                "{} with {len} characters: {:?}",
                field.name(),
                codes(&errs)
            );
        }
    }
    // Each of a list of categories, and the list as a whole.
    let mut v = column_record();
    v["CF_CFLB"] = json!(vec!["罚款"; 100]);
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert!(has(&errs, "/CF_CFLB", "too_long"), "{:?}", codes(&errs));
}

#[test]
fn unknown_keys_warn_with_escaped_pointers() {
    let mut v = column_record();
    v["a/b~c"] = json!("x");
    v["行政相对人代码_2"] = json!("x");
    let n = normalize_record(&v, &ctx()).unwrap();
    assert!(has(&n.warnings, "/a~1b~0c", "unknown_field"));
    assert!(has(&n.warnings, "/行政相对人代码_2", "unknown_field"));
}

#[test]
fn natural_persons_need_a_valid_document() {
    let mut v = column_record();
    v["CF_XDR_LB"] = json!("自然人");
    v["CF_XDR_MC"] = json!("李四");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert!(has(&errs, "/subject/id_type", "required"), "{errs:?}");
    assert!(has(&errs, "/subject/id_no", "required"), "{errs:?}");

    v["CF_XDR_ZJLX"] = json!("身份证");
    v["CF_XDR_ZJHM"] = json!("110105194912310021");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/CF_XDR_ZJHM".into(), "invalid_checksum".into())]
    );
    assert!(!errs[0].detail.contains("110105194912310021"));
    assert!(!errs[0].detail.contains("1949"), "{}", errs[0].detail);

    v["CF_XDR_ZJHM"] = json!("110105491231002");
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(r.subject.id_no.as_deref(), Some("11010519491231002X"));
    assert_eq!(r.subject.id_type, Some(IdType::ResidentId));

    v["CF_XDR_ZJLX"] = json!("护照号");
    v["CF_XDR_ZJHM"] = json!(" e1234 5678 ");
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(r.subject.id_no.as_deref(), Some("E12345678"));
}

#[test]
fn legal_rep_resident_id_is_checked() {
    let mut v = column_record();
    v["CF_FR_ZJLX"] = json!("身份证");
    v["CF_FR_ZJHM"] = json!("11010519491231002x");
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(
        r.subject.legal_rep,
        Some(LegalRep {
            name: Some("张三".into()),
            id_type: Some(IdType::ResidentId),
            id_no: Some("11010519491231002X".into()),
        })
    );
    v["CF_FR_ZJHM"] = json!("110105194912310020");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert!(has(&errs, "/CF_FR_ZJHM", "invalid_checksum"), "{errs:?}");
}

#[test]
fn aliases_must_agree() {
    let mut v = column_record();
    v["行政相对人名称"] = json!("上海某某建筑工程(集团)有限公司"); // same after folding
    v["subject"] = json!({"name": "另一家公司"});
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/subject/name".into(), "conflicting_aliases".into())]
    );

    let mut v = column_record();
    v["fine_yuan"] = json!("200"); // agrees with 0.02 万元
    assert!(normalize_record(&v, &ctx()).is_ok());
    v["fine_fen"] = json!(20_001);
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert!(has(&errs, "/fine_fen", "conflicting_aliases"), "{errs:?}");
}

#[test]
fn decision_and_filing_dates_are_checked() {
    let mut v = column_record();
    v["CF_JDRQ"] = json!("2025-06-02");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/CF_JDRQ".into(), "date_in_future".into())]
    );
    v["CF_JDRQ"] = json!("1989-12-31");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/CF_JDRQ".into(), "date_before_1990".into())]
    );
    v["CF_JDRQ"] = json!("2025-06-01T10:00:00+08:00");
    v["立案日期"] = json!("2025-06-02");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/立案日期".into(), "filed_after_decision".into())]
    );
    v["立案日期"] = json!(20250520);
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(r.filed_date, Some(d(2025, 5, 20)));
    assert_eq!(r.decision_date, d(2025, 6, 1));
}

#[test]
fn fine_amounts_from_fields_and_content() {
    // Only the content: read from it.
    let mut v = column_record();
    v.as_object_mut().unwrap().remove("CF_NR_FK");
    v["CF_NR"] = json!("罚款人民币叁万陆仟柒佰叁拾贰元整");
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(r.fine_fen, Some(3_673_200));

    // Field and content disagree: warning, field wins.
    v["CF_NR_FK"] = json!(0.2);
    let n = normalize_record(&v, &ctx()).unwrap();
    assert_eq!(n.record.fine_fen, Some(200_000));
    assert!(
        has(&n.warnings, "/CF_NR_FK", "amount_mismatch"),
        "{:?}",
        n.warnings
    );

    // Neither: error, pointing at the categories.
    v.as_object_mut().unwrap().remove("CF_NR_FK");
    v["CF_NR"] = json!("罚款,限期缴纳");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/CF_CFLB".into(), "fine_amount_missing".into())]
    );

    // Too precise: one error, no fine_amount_missing on top.
    v["CF_NR_FK"] = json!("0.0000001");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/CF_NR_FK".into(), "invalid_amount".into())]
    );
}

#[test]
fn confiscation_is_read_from_content() {
    let mut v = column_record();
    v["CF_CFLB"] = json!("没收违法所得、没收非法财物");
    v["CF_NR"] = json!("没收违法所得人民币叁仟元,没收非法财物");
    v.as_object_mut().unwrap().remove("CF_NR_FK");
    let n = normalize_record(&v, &ctx()).unwrap();
    assert_eq!(n.record.confiscation_fen, Some(300_000));
    assert_eq!(n.record.fine_fen, None);
    assert_eq!(
        n.record.categories,
        BTreeSet::from([
            PenaltyCategory::ConfiscateIllegalGains,
            PenaltyCategory::ConfiscateIllegalProperty
        ])
    );
}

#[test]
fn old_licence_categories_follow_the_content() {
    let mut v = column_record();
    v["CF_CFLB"] = json!("暂扣或者吊销许可证");
    v["CF_NR"] = json!("吊销建筑工程施工许可证");
    v.as_object_mut().unwrap().remove("CF_NR_FK");
    let n = normalize_record(&v, &ctx()).unwrap();
    assert_eq!(
        n.record.categories,
        BTreeSet::from([PenaltyCategory::RevokeLicence])
    );
    assert!(n.warnings.is_empty());

    v["CF_NR"] = json!("责令改正");
    let n = normalize_record(&v, &ctx()).unwrap();
    assert_eq!(
        n.record.categories,
        BTreeSet::from([PenaltyCategory::SuspendLicence])
    );
    assert!(has(&n.warnings, "/CF_CFLB", "category_ambiguous"));
}

#[test]
fn publicity_given_computed_and_special() {
    let mut v = column_record();
    v["CF_WFXW"] = json!("违反消防安全管理规定");
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(r.publicity_min_until, d(2024, 3, 30));
    v["CF_GSJZQ"] = json!("2023-03-29");
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert_eq!(
        codes(&errs),
        vec![("/CF_GSJZQ".into(), "publicity_before_decision".into())]
    );
    v["CF_GSJZQ"] = json!("2024-12-31");
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(r.publicity_until, d(2024, 12, 31));
}

#[test]
fn place_division_outside_the_region_warns() {
    let mut v = column_record();
    v["place_division"] = json!("110105");
    let n = normalize_record(&v, &ctx()).unwrap();
    assert!(has(
        &n.warnings,
        "/place_division",
        "division_outside_region"
    ));
    v["place_division"] = json!(310108); // retired 闸北: fine
    let n = normalize_record(&v, &ctx()).unwrap();
    assert_eq!(n.record.place_division.as_deref(), Some("310108"));
    assert!(n.warnings.is_empty());
    v["place_division"] = json!("3101");
    assert!(has(
        &normalize_record(&v, &ctx()).unwrap_err(),
        "/place_division",
        "invalid_format"
    ));
}

#[test]
fn wrong_types_are_reported() {
    let mut v = column_record();
    v["CF_XDR_MC"] = json!({"x": 1});
    v["subject"] = json!("x");
    v["CF_CFLB"] = json!(["警告", true]);
    let errs = normalize_record(&v, &ctx()).unwrap_err();
    assert!(has(&errs, "/CF_XDR_MC", "invalid_type"), "{errs:?}");
    assert!(has(&errs, "/subject", "invalid_type"), "{errs:?}");
    assert!(has(&errs, "/CF_CFLB/1", "invalid_type"), "{errs:?}");
}

#[test]
fn shanghai_numeric_decision_number() {
    let mut v = column_record();
    v["CF_WSH"] = json!(2211801118u64);
    let r = normalize_record(&v, &ctx()).unwrap().record;
    assert_eq!(
        (r.decision_no.as_str(), r.decision_no_raw.as_str()),
        ("2211801118", "2211801118")
    );
}

#[test]
fn fingerprint_ignores_raw_spelling_but_not_content() {
    let a = normalize_record(&column_record(), &ctx()).unwrap().record;
    let mut v = column_record();
    v["CF_XDR_MC"] = json!("上海某某建筑工程(集团)有限公司");
    v["CF_WSH"] = json!("沪静城管罚字【2023】第310106号");
    v["CF_CFJG"] = json!("上海市静安区城市管理行政执法局 ");
    let b = normalize_record(&v, &ctx()).unwrap().record;
    assert_ne!(a, b);
    assert_eq!(a.content_fingerprint(), b.content_fingerprint());
    v["CF_NR_FK"] = json!("0.03");
    v["CF_NR"] = json!("一、警告;\n二、罚款人民币叁佰元整。");
    let c = normalize_record(&v, &ctx()).unwrap().record;
    assert_ne!(a.content_fingerprint(), c.content_fingerprint());
}

#[test]
fn canonical_form_is_valid_input() {
    let n = normalize_record(&column_record(), &ctx()).unwrap();
    let again = normalize_record(&serde_json::to_value(&n.record).unwrap(), &ctx()).unwrap();
    assert_eq!(again.record, n.record);
    assert_eq!(again.warnings, vec![]);
}

#[test]
fn every_issue_code_has_a_path_that_produces_it() {
    // A guard that codes are not dead: each one is produced by some test input here.
    let mut seen = BTreeSet::new();
    let mut run = |v: Value, c: &NormalizeContext| {
        match normalize_record(&v, c) {
            Ok(n) => seen.extend(n.warnings.into_iter().map(|w| w.code)),
            Err(e) => seen.extend(e.into_iter().map(|w| w.code)),
        };
    };
    let base = column_record;
    let with = |k: &str, val: Value| {
        let mut v = base();
        v[k] = val;
        v
    };
    run(json!({}), &ctx());
    run(json!(1), &ctx());
    let good = uscc("91310106MA1FL0000");
    let bad = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );
    run(with("CF_XDR_SHXYM", json!(bad)), &ctx());
    run(with("CF_NR_FK", json!("0.03")), &ctx());
    run(with("CF_XDR_SHXYM", json!("9131")), &ctx());
    run(with("CF_JDRQ", json!("x")), &ctx());
    run(with("CF_JDRQ", json!("2030-01-01")), &ctx());
    run(with("CF_JDRQ", json!("1980-01-01")), &ctx());
    run(with("立案日期", json!("2024-01-01")), &ctx());
    run(with("CF_GSJZQ", json!("2020-01-01")), &ctx());
    run(with("CF_GSJZQ", json!("2023-04-01")), &ctx());
    run(with("CF_GSJZQ", json!("2030-04-01")), &ctx());
    run(with("CF_CFLB", json!("拘役")), &ctx());
    run(with("CF_NR", json!("罚款")), &ctx());
    let mut v = with("CF_NR", json!("罚款"));
    v.as_object_mut().unwrap().remove("CF_NR_FK");
    run(v, &ctx());
    run(with("CF_NR_FK", json!("-1")), &ctx());
    run(with("fine_yuan", json!("1")), &ctx());
    run(with("CF_XDR_LB", json!("x")), &ctx());
    run(with("CF_XDR_ZJLX", json!("驾驶证")), &ctx());
    run(with("zzz", json!("1")), &ctx());
    run(with("CF_CFLB", json!("暂扣或者吊销执照;罚款")), &ctx());
    run(with("CF_NR_WFFF", json!("1")), &ctx());
    run(with("place_division", json!("110000")), &ctx());
    run(with("CF_YXQ", json!("2020-01-01")), &ctx());
    run(with("CF_XDR_MC", json!("张\u{0}三")), &ctx());
    run(with("BZ", json!("备".repeat(10_001))), &ctx());
    // `unmapped_violation_type` needs the deciding authority's party: `ingest::prepare` raises
    // it (tests/it/http_conflicts.rs checks it through the API).
    let all: BTreeSet<String> = IssueCode::ALL
        .iter()
        .filter(|c| **c != IssueCode::UnmappedViolationType)
        .map(|c| c.as_str().to_owned())
        .collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "never produced: {missing:?}");
}

// ---- property: normalizing the canonical form changes nothing ----

const KEY_STYLES: usize = 4;

/// The key for a field in one of four styles: nested English (returns a path), dotted English,
/// column code, Chinese name.
fn put(obj: &mut Map<String, Value>, field: Field, style: usize, value: Value) {
    let en = field.name();
    let key = match style % KEY_STYLES {
        0 => {
            // nested
            let parts: Vec<&str> = en.split('.').collect();
            let mut cur = obj;
            for p in &parts[..parts.len() - 1] {
                cur = cur
                    .entry((*p).to_owned())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .unwrap();
            }
            cur.insert(parts[parts.len() - 1].to_owned(), value);
            return;
        }
        1 => en.to_owned(),
        2 => field.column_code().unwrap_or(en).to_owned(),
        _ => zh_name(field).unwrap_or(en).to_owned(),
    };
    obj.insert(key, value);
}

fn zh_name(field: Field) -> Option<&'static str> {
    use Field as F;
    Some(match field {
        F::SubjectName => "行政相对人名称",
        F::SubjectKind => "行政相对人类别",
        F::SubjectUscc => "统一社会信用代码",
        F::SubjectIdType => "证件类型",
        F::SubjectIdNo => "证件号码",
        F::DecisionNo => "行政处罚决定书文号",
        F::ViolationType => "违法行为类型",
        F::Facts => "违法事实",
        F::LegalBasis => "处罚依据",
        F::Categories => "处罚类别",
        F::Content => "处罚内容",
        F::Fine => "罚款金额(万元)",
        F::DecisionDate => "处罚决定日期",
        F::ValidUntil => "处罚有效期",
        F::AuthorityName => "处罚机关",
        F::SourceName => "数据来源单位",
        F::FiledDate => "立案日期",
        _ => return None,
    })
}

/// The provincial feed's numeric code, written from the standard's list independently of the parser.
fn numeric_code(c: PenaltyCategory) -> &'static str {
    use PenaltyCategory as P;
    match c {
        P::Warning => "01",
        P::Fine => "02",
        P::ConfiscateIllegalGains => "03",
        P::OrderSuspension => "04",
        P::RevokeLicence => "05",
        P::AdministrativeDetention => "06",
        P::Other => "07",
        P::PublicCriticism => "08",
        P::ConfiscateIllegalProperty => "09",
        P::LowerQualification => "10",
        P::SuspendLicence => "11",
        P::RestrictBusinessActivities => "12",
        P::RestrictEmployment => "13",
        P::OrderClosure => "14",
    }
}

fn noisy_name() -> impl Strategy<Value = String> {
    (
        "[上海苏州杭州合肥]{2}",
        prop::sample::select(vec!["（集团）", "(集团)", "【集团】", " ", "　", ""]),
        "[某甲乙丙丁ＡＢC]{1,4}",
        prop::sample::select(vec!["有限公司", "有限 公司", "个体商行", "人民政府"]),
    )
        .prop_map(|(a, b, c, e)| format!("{a}{b}{c}{e}"))
}

fn decision_no() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["[", "【", "（", "〔", "(", "［"]),
        prop::sample::select(vec!["]", "】", "）", "〕", ")", "］"]),
        1990u32..2025,
        1u32..99999,
        "[ 　]?",
        any::<bool>(),
    )
        .prop_map(|(o, c, y, n, sp, bare)| {
            if bare {
                format!("22{n:08}")
            } else {
                format!("秀综执罚决字{o}{sp}{y}{sp}{c}第{n}号")
            }
        })
}

fn date_text(date: NaiveDate, fmt: usize) -> Value {
    match fmt % 6 {
        0 => json!(date.to_string()),
        1 => json!(date.format("%Y/%-m/%-d").to_string()),
        2 => json!(date.format("%Y年%-m月%-d日").to_string()),
        3 => json!(date.format("%Y%m%d").to_string().parse::<u64>().unwrap()),
        4 => json!(date.format("%Y-%m-%d 10:30:00").to_string()),
        _ => json!(date.format("%Y-%m-%dT02:00:00Z").to_string()),
    }
}

fn resident_id() -> impl Strategy<Value = (String, bool)> {
    (
        "[1-6][0-9]{5}",
        1930i32..2005,
        1u32..13,
        1u32..29,
        "[0-9]{3}",
        any::<bool>(),
    )
        .prop_map(|(area, y, m, dd, seq, legacy)| {
            let body = format!("{area}{y:04}{m:02}{dd:02}{seq}");
            let full = format!("{body}{}", resident_id_check_char(&body).unwrap());
            if legacy && (1930..2000).contains(&y) {
                (format!("{area}{:02}{m:02}{dd:02}{seq}", y % 100), true)
            } else {
                (full.to_lowercase(), false)
            }
        })
}

prop_compose! {
    fn raw_record()(
        styles in prop::collection::vec(0usize..KEY_STYLES, 24),
        name in noisy_name(),
        kind in 0usize..3,
        id in resident_id(),
        uscc_body in "[0-9A-HJ-NP-RT-UW-Y]{17}",
        dno in decision_no(),
        cats in prop::collection::btree_set(0usize..14, 1..4),
        cat_style in 0usize..4,
        rep in prop::option::of((resident_id(), 0usize..KEY_STYLES)),
        fine_yuan in 0i64..1_000_000,
        fine_where in 0usize..4,
        days in 0i64..12_000,
        date_fmt in 0usize..6,
        filed_before in prop::option::of(0i64..200),
        valid in prop::option::of(0i64..2000),
        publicity in prop::option::of(0u32..60),
        facts in "当[当事人 　擅自倾倒\n]{0,30}",
        remarks in prop::option::of("[备注 ]{0,5}"),
        division in prop::option::of(prop::sample::select(vec!["310106", "320583", "110105"])),
    ) -> Value {
        let mut o = Map::new();
        let s = |i: usize| styles[i];
        put(&mut o, Field::SubjectName, s(0), json!(name));
        let kinds = ["法人及非法人组织", "自然人", "individual_business"];
        put(&mut o, Field::SubjectKind, s(1), json!(kinds[kind]));
        if kind == 1 {
            put(&mut o, Field::SubjectIdType, s(2), json!("身份证"));
            put(&mut o, Field::SubjectIdNo, s(3), json!(id.0));
        } else {
            let code = format!("{uscc_body}{}", uscc_check_char(&uscc_body).unwrap());
            put(&mut o, Field::SubjectUscc, s(2), json!(code));
            if let Some(((rep_id, _), style)) = rep {
                put(&mut o, Field::LegalRepName, style, json!(" 张 三 "));
                put(&mut o, Field::LegalRepIdType, style, json!("居民身份证"));
                put(&mut o, Field::LegalRepIdNo, style, json!(rep_id));
            }
        }
        put(&mut o, Field::DecisionNo, s(4), json!(dno));
        put(&mut o, Field::ViolationType, s(5), json!("违法 行为（类型）"));
        put(&mut o, Field::Facts, s(6), json!(facts));
        put(&mut o, Field::LegalBasis, s(7), json!("《行政处罚法》第九条"));
        let cats: Vec<PenaltyCategory> =
            cats.into_iter().map(|i| PenaltyCategory::ALL[i]).collect();
        let cat_value = match cat_style {
            0 => json!(cats.iter().map(|c| c.name_zh()).collect::<Vec<_>>().join("；")),
            1 => json!(cats.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
            2 => json!(cats.iter().map(|c| numeric_code(*c)).collect::<Vec<_>>().join(";")),
            _ => json!(cats.iter().map(|c| c.name_zh()).collect::<Vec<_>>().join("、")),
        };
        put(&mut o, Field::Categories, s(8), cat_value);
        let fine = cats.contains(&PenaltyCategory::Fine);
        let mut content: Vec<String> = cats.iter().map(|c| c.name_zh().to_owned()).collect();
        if fine && fine_where != 1 {
            content.push(format!("罚款{fine_yuan}元"));
        }
        put(&mut o, Field::Content, s(9), json!(content.join(";\n")));
        if fine && fine_where >= 1 {
            let wan = format!("{}.{:04}", fine_yuan / 10_000, fine_yuan % 10_000);
            put(&mut o, Field::Fine, s(10), json!(wan));
        }
        let decision = d(1991, 1, 1) + chrono::Duration::days(days);
        put(&mut o, Field::DecisionDate, s(11), date_text(decision, date_fmt));
        if let Some(b) = filed_before {
            let filed = decision - chrono::Duration::days(b);
            put(&mut o, Field::FiledDate, s(12), date_text(filed, date_fmt));
        }
        match valid {
            Some(v) => {
                let until = decision + chrono::Duration::days(v);
                put(&mut o, Field::ValidUntil, s(13), date_text(until, 0));
            }
            None => put(&mut o, Field::ValidUntil, s(13), json!("长期")),
        }
        if let Some(m) = publicity {
            let until = decision.checked_add_months(chrono::Months::new(m)).unwrap();
            put(&mut o, Field::PublicityUntil, s(14), date_text(until, 0));
        }
        put(&mut o, Field::AuthorityName, s(15), json!(format!("{name}执法局")));
        put(&mut o, Field::SourceName, s(16), json!("上海市 城市管理行政执法局"));
        if let Some(r) = remarks {
            put(&mut o, Field::Remarks, s(17), json!(r));
        }
        if let Some(dv) = division {
            put(&mut o, Field::PlaceDivision, s(18), json!(dv));
        }
        Value::Object(o)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn normalizing_the_canonical_form_changes_nothing(raw in raw_record()) {
        let c = NormalizeContext { today: d(2025, 12, 31), ..ctx() };
        let n = match normalize_record(&raw, &c) {
            Ok(n) => n,
            Err(e) => {
                return Err(TestCaseError::fail(format!("generated record rejected: {e:?}\n{raw}")));
            }
        };
        let canonical = serde_json::to_value(&n.record).unwrap();
        let again = normalize_record(&canonical, &c);
        prop_assert!(again.is_ok(), "{:?}", again);
        let again = again.unwrap();
        prop_assert_eq!(&again.record, &n.record);
        let unknown = again.warnings.iter().filter(|w| w.code == "unknown_field").count();
        prop_assert_eq!(unknown, 0, "{:?}", again.warnings);
        prop_assert_eq!(again.record.content_fingerprint(), n.record.content_fingerprint());
    }
}
