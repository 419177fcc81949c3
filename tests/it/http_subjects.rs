//! Subject resolution over mutual TLS, on both backends: one subject across parties by USCC,
//! natural persons by the sealed resident ID, weak subjects kept and linked (with the reason)
//! when a strong identifier arrives, never linked for natural persons, and links undone by an
//! operator.

use crate::common;

use common::records::{company_record, person_record, resident_id, uscc};
use common::units::{HANGZHOU, JINGAN, SUZHOU};
use common::{TestApp, Who, problem};
use penex::domain::party::Party;
use serde_json::{Value, json};

#[expect(clippy::unwrap_used, reason = "test helper")]
async fn subject(app: &TestApp, key: &str) -> Value {
    let r = app
        .client(Who::Analyst)
        .get(app.url(&format!("/v1/subjects/{key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{key}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn one_company_penalized_in_two_parties_is_one_subject() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    let a = app
        .push_accepted(
            &sh,
            &company_record(JINGAN.name, "沪静城管罚字〔2025〕第1号", 77),
        )
        .await;
    let mut other = company_record(SUZHOU.name, "苏城管罚字〔2025〕第9号", 77);
    // The same company, its name written with full-width brackets and spaces; another act
    // (not the same act seen from both sides of the border, which would be a conflict).
    other["CF_XDR_MC"] = json!("上海测试建筑工程有限公司７７ ");
    other["CF_SY"] = json!("当事人于2025年2月1日在吴江区汾湖镇违规处置工程渣土，现场已责令清理。");
    let b = app.push_accepted(&js, &other).await;
    let s = subject(&app, &uscc(77)).await;
    assert_eq!(s["key_kind"], "uscc");
    assert_eq!(s["strong"], true);
    assert_eq!(s["identifier"], uscc(77));
    let ids: Vec<&str> = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&a.as_str()) && ids.contains(&b.as_str()),
        "{s}"
    );
    let parties: Vec<&str> = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["party"].as_str().unwrap())
        .collect();
    assert!(parties.contains(&"SH") && parties.contains(&"JS"));
    // The same subject by its id.
    let by_id = subject(&app, s["id"].as_str().unwrap()).await;
    assert_eq!(by_id["id"], s["id"]);
    // A different USCC is a different subject.
    app.push_accepted(
        &sh,
        &company_record(JINGAN.name, "沪静城管罚字〔2025〕第2号", 78),
    )
    .await;
    assert_ne!(subject(&app, &uscc(78)).await["id"], s["id"]);
    app.stop().await;
}

#[tokio::test]
async fn natural_persons_resolve_by_resident_id_and_never_show_it() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let zj = app.client(Who::Lead(Party::Zhejiang));
    let id_no = resident_id(5);
    let a = app
        .push_accepted(
            &sh,
            &person_record(JINGAN.name, "沪静城管罚字〔2025〕第3号", &id_no),
        )
        .await;
    // Another act, in Hangzhou.
    let mut other = person_record(HANGZHOU.name, "杭城管罚字〔2025〕第3号", &id_no);
    other["违法事实"] = json!("当事人于2025年3月1日在西湖区文三路设摊卖水果。");
    let b = app.push_accepted(&zj, &other).await;
    // Both records name one subject (found through the record in the store).
    let sid_a = app.subject_of(&a).await;
    let sid = app.subject_of(&b).await;
    let text = app
        .client(Who::Analyst)
        .get(app.url(&format!("/v1/subjects/{sid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&id_no), "an ID number was shown: {text}");
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["key_kind"], "resident_id");
    assert!(s.get("identifier").is_none());
    assert_eq!(sid_a, sid);
    assert_eq!(s["records"].as_array().unwrap().len(), 2);
    // Another person with the same name is another subject, and is never linked by name.
    let other = app
        .push_accepted(
            &sh,
            &person_record(JINGAN.name, "沪静城管罚字〔2025〕第4号", &resident_id(6)),
        )
        .await;
    let other_sid = app.subject_of(&other).await;
    assert_ne!(other_sid, sid);
    app.stop().await;
}

#[tokio::test]
async fn a_weak_subject_is_linked_when_a_strong_identifier_arrives_and_can_be_unlinked() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let mut weak = company_record(JINGAN.name, "沪静城管罚字〔2025〕第5号", 90);
    weak.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    let weak_rec = app.push_accepted(&sh, &weak).await;
    let weak_sid = app.subject_of(&weak_rec).await;
    let w = subject(&app, &weak_sid).await;
    assert_eq!(w["strong"], false);
    assert_eq!(w["key_kind"], "weak");
    assert!(w.get("linked_to").is_none());

    // The same name in the same party now with a USCC: linked, with the reason.
    app.push_accepted(
        &sh,
        &company_record(JINGAN.name, "沪静城管罚字〔2025〕第6号", 90),
    )
    .await;
    let strong = subject(&app, &uscc(90)).await;
    assert_eq!(strong["linked"][0]["subject_id"], weak_sid.as_str());
    assert!(
        strong["linked"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("uscc")
    );
    assert_eq!(strong["records"].as_array().unwrap().len(), 2, "{strong}");
    assert_eq!(
        subject(&app, &weak_sid).await["linked_to"]["linked_to"],
        strong["id"]
    );

    // Only an operator may undo it.
    let url = app.url(&format!("/v1/subjects/{weak_sid}/unlink"));
    problem(
        app.client(Who::Analyst).post(&url).send().await.unwrap(),
        403,
    )
    .await;
    let op = app.client(Who::Operator);
    assert_eq!(op.post(&url).send().await.unwrap().status(), 204);
    assert_eq!(
        problem(op.post(&url).send().await.unwrap(), 409).await["code"],
        "not_linked"
    );
    let strong = subject(&app, &uscc(90)).await;
    assert_eq!(strong["linked"].as_array().unwrap().len(), 0);
    assert_eq!(strong["records"].as_array().unwrap().len(), 1);
    // The unlinked weak subject stays unlinked when more of its records arrive.
    let mut again = company_record(JINGAN.name, "沪静城管罚字〔2025〕第7号", 90);
    again.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    again["CF_SY"] = json!("当事人于2025年4月1日再次违规运输建筑垃圾。");
    let again_rec = app.push_accepted(&sh, &again).await;
    assert_eq!(app.subject_of(&again_rec).await, weak_sid);
    assert!(subject(&app, &weak_sid).await.get("linked_to").is_none());

    // A weak record in another party, named as the only identified subject of that name and
    // kind in the region: its (new) weak subject is linked to it; the link is shown, and its
    // records never count towards the strong subject's flags.
    let js = app.client(Who::Lead(Party::Jiangsu));
    let mut js_weak = company_record(SUZHOU.name, "苏城管罚字〔2025〕第5号", 90);
    js_weak.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    let js_rec = app.push_accepted(&js, &js_weak).await;
    let js_sid = app.subject_of(&js_rec).await;
    assert_ne!(js_sid, weak_sid);
    assert_eq!(
        subject(&app, &js_sid).await["linked_to"]["linked_to"],
        strong["id"]
    );

    // Once two identified subjects carry the name, a name alone points to neither.
    let mut twin = company_record(SUZHOU.name, "苏城管罚字〔2025〕第6号", 91);
    twin["CF_XDR_MC"] = json!("上海测试建筑工程有限公司90");
    twin["CF_SY"] = json!("当事人于2025年5月1日违规运输建筑垃圾（另一家同名公司）。");
    app.push_accepted(&js, &twin).await;
    let mut zj_weak = company_record(HANGZHOU.name, "杭综执罚字〔2025〕第8号", 90);
    zj_weak.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    zj_weak["CF_SY"] = json!("当事人于2025年6月1日在西湖区违规运输建筑垃圾。");
    let zj_rec = app
        .push_accepted(&app.client(Who::Lead(Party::Zhejiang)), &zj_weak)
        .await;
    let zj_sid = app.subject_of(&zj_rec).await;
    let zj = subject(&app, &zj_sid).await;
    assert_eq!(zj["strong"], false);
    assert!(zj.get("linked_to").is_none(), "{zj}");
    problem(
        app.client(Who::Analyst)
            .get(app.url("/v1/subjects/sub_nope"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    // A key of none of the three forms is malformed, not a missing subject.
    for bad in ["nope", "91310106MA1FL0A01", "sub_%20"] {
        let body = problem(
            app.client(Who::Analyst)
                .get(app.url(&format!("/v1/subjects/{bad}")))
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        assert_eq!(body["code"], "invalid_subject_key", "{bad}");
    }
    app.stop().await;
}

/// A valid organization code and the USCC around it (the code is characters 9-17).
#[expect(clippy::unwrap_used, reason = "test helper")]
fn org_and_uscc(body: &str) -> (String, String) {
    let org = format!(
        "{body}{}",
        penex::normalize::ids::org_code_check_char(body).unwrap()
    );
    let first17 = format!("91320505{org}");
    let uscc = format!(
        "{first17}{}",
        penex::normalize::ids::uscc_check_char(&first17).unwrap()
    );
    (org, uscc)
}

#[tokio::test]
async fn a_record_with_only_the_organization_code_finds_the_subject_of_its_uscc() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    let (org, code) = org_and_uscc("MA1Q2W3E");

    // First only the organization code (written with its hyphen), in Jiangsu.
    let mut first = company_record(SUZHOU.name, "苏城管罚字〔2025〕第31号", 31);
    first["CF_XDR_MC"] = json!("苏州示例渣土运输有限公司");
    first.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    first["CF_XDR_ZZJG"] = json!(format!(
        "{}-{}",
        org.chars().take(8).collect::<String>(),
        org.chars().skip(8).collect::<String>()
    ));
    first["CF_SY"] = json!("当事人于2025年1月8日在吴中区违规运输建筑垃圾。");
    let a = app.push_accepted(&js, &first).await;
    // Then the USCC only, in Shanghai, under a name written differently.
    let mut second = company_record(JINGAN.name, "沪静城管罚字〔2025〕第32号", 32);
    second["CF_XDR_MC"] = json!("苏州示例渣土运输有限公司（上海分部）");
    second["CF_XDR_SHXYM"] = json!(code);
    second["CF_SY"] = json!("当事人于2025年3月2日在静安区违规运输建筑垃圾。");
    let b = app.push_accepted(&sh, &second).await;
    // And a record of another company, with another USCC: never the same subject.
    let (_, other_code) = org_and_uscc("MA9K8Y7X");
    let mut third = company_record(JINGAN.name, "沪静城管罚字〔2025〕第33号", 33);
    third["CF_XDR_SHXYM"] = json!(other_code);
    let c = app.push_accepted(&sh, &third).await;

    let sa = app.subject_of(&a).await;
    assert_eq!(sa, app.subject_of(&b).await);
    assert_ne!(sa, app.subject_of(&c).await);

    // Found by either identifier, listing both, with both records.
    for key in [code.as_str(), org.as_str()] {
        let s = subject(&app, key).await;
        assert_eq!(s["id"], sa.as_str(), "{key}");
        assert_eq!(s["strong"], true);
        let idents: Vec<(String, String)> = s["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap().to_owned(),
                    i["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(idents.contains(&("org_code".into(), org.clone())), "{s}");
        assert!(idents.contains(&("uscc".into(), code.clone())), "{s}");
        let records: Vec<&str> = s["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(records.len(), 2, "{s}");
        assert!(records.contains(&a.as_str()) && records.contains(&b.as_str()));
    }

    // The first-violation check by USCC sees the record that carried only the organization
    // code.
    let r = sh
        .get(app.url(&format!(
            "/v1/first-violation?uscc={code}&violation_type=construction_waste_transport&on=2025-06-01"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let fv: Value = r.json().await.unwrap();
    assert_eq!(fv["first"], false, "{fv}");
    let prior: Vec<&str> = fv["penalties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["record_id"].as_str().unwrap())
        .collect();
    assert!(prior.contains(&a.as_str()), "{fv}");
}

/// Batches pushed at once that create the same new companies, each naming them in another
/// order, all succeed and agree: every company is one subject with all its records. (On
/// PostgreSQL a writer that loses the race for a shared new row fails on its key and runs
/// again, seeing the winner's rows; on SQLite writers take turns.)
#[tokio::test]
async fn batches_racing_for_the_same_new_companies_all_succeed_and_agree() {
    let app = TestApp::start().await;
    let companies: Vec<u32> = (700..724).collect();
    let mut pushes = Vec::new();
    for b in 0..6u32 {
        let mut order = companies.clone();
        order.rotate_left(usize::try_from(b * 5).unwrap() % companies.len());
        if b % 2 == 1 {
            order.reverse();
        }
        let records: Vec<Value> = order
            .iter()
            .map(|seed| {
                company_record(
                    JINGAN.name,
                    &format!("沪静城管罚字〔2026〕第{b}{seed}号"),
                    *seed,
                )
            })
            .collect();
        let c = app.client(Who::Lead(Party::Shanghai));
        let body = json!({ "records": records });
        let app = &app;
        pushes.push(async move {
            let r = app.push(&c, &body).await;
            let status = r.status();
            let out: Value = r.json().await.unwrap();
            (status, out)
        });
    }
    let answers = futures_util::future::join_all(pushes).await;
    for (status, out) in &answers {
        assert_eq!(*status, 200, "{out}");
        assert_eq!(out["summary"]["accepted"], 24, "{out}");
    }
    // Every company is one subject holding its six records.
    for seed in companies {
        let s = subject(&app, &uscc(seed)).await;
        assert_eq!(s["records"].as_array().map(Vec::len), Some(6), "{s}");
    }
    app.stop().await;
}

/// Issue 13: a name-only record is linked to its identified subject whatever the order the
/// three records arrive in — A (USCC X, `…有限公司`), B (no code, another name), C (USCC X,
/// B's name) — also when B's name only becomes the subject's name with C. Every permutation,
/// as single-record pushes.
#[tokio::test]
async fn a_weak_record_is_linked_in_every_arrival_order() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let orders: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let mut case = 0u32;
    // (A's name, B's and C's name): the form swap, and a name the folding does not
    // equate (only C makes it the subject's).
    let variants = [
        ("上海顺发建筑工程有限公司", "上海顺发建筑工程有限责任公司"),
        ("上海顺发建筑工程有限公司", "上海顺发物流有限公司"),
    ];
    for (variant, (a_name, bc_name)) in variants.iter().enumerate() {
        for order in orders {
            case += 1;
            let seed = 500 + case;
            let name = |n: &str| format!("{n}{seed}");
            let mut a = company_record(
                JINGAN.name,
                &format!("沪静城管罚字〔2026〕第{seed}1号"),
                seed,
            );
            a["CF_XDR_MC"] = json!(name(a_name));
            let mut b = company_record(
                JINGAN.name,
                &format!("沪静城管罚字〔2026〕第{seed}2号"),
                seed,
            );
            b.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
            b["CF_XDR_MC"] = json!(name(bc_name));
            let mut c = company_record(
                JINGAN.name,
                &format!("沪静城管罚字〔2026〕第{seed}3号"),
                seed,
            );
            c["CF_XDR_MC"] = json!(name(bc_name));
            let recs = [a, b, c];
            let mut ids = [String::new(), String::new(), String::new()];
            for i in order {
                ids[i] = app.push_accepted(&sh, &recs[i].clone()).await;
            }
            let strong = app.subject_of(&ids[0]).await;
            assert_eq!(app.subject_of(&ids[2]).await, strong);
            let weak = app.subject_of(&ids[1]).await;
            assert_ne!(weak, strong);
            assert_eq!(
                subject(&app, &weak).await["linked_to"]["linked_to"],
                strong.as_str(),
                "variant {variant}, order {order:?}"
            );
        }
    }
    app.stop().await;
}

/// A name written without its division prefix is linked within that division's party when
/// exactly one identified subject fits, to neither when two do, and never across parties.
#[tokio::test]
async fn a_name_without_its_division_links_only_to_the_one_subject_it_fits() {
    let app = TestApp::start().await;
    let sh = app.client(Who::Lead(Party::Shanghai));
    let js = app.client(Who::Lead(Party::Jiangsu));
    let mut full = company_record(JINGAN.name, "沪静城管罚字〔2026〕第701号", 701);
    full["CF_XDR_MC"] = json!("上海鑫华建筑工程有限公司");
    let strong = app.subject_of(&app.push_accepted(&sh, &full).await).await;
    let mut bare = company_record(JINGAN.name, "沪静城管罚字〔2026〕第702号", 702);
    bare.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    bare["CF_XDR_MC"] = json!("鑫華建築工程有限責任公司");
    let weak = app
        .subject_of(&app.push_accepted(&sh, &bare.clone()).await)
        .await;
    assert_eq!(
        subject(&app, &weak).await["linked_to"]["linked_to"],
        strong.as_str()
    );
    // The same bare name in Jiangsu: Shanghai's 鑫华 is not Jiangsu's.
    let mut js_bare = company_record(SUZHOU.name, "苏城管罚字〔2026〕第703号", 703);
    js_bare.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    js_bare["CF_XDR_MC"] = json!("鑫华建筑工程有限公司");
    let js_weak = app
        .subject_of(&app.push_accepted(&js, &js_bare).await)
        .await;
    assert!(subject(&app, &js_weak).await.get("linked_to").is_none());
    // A homophone never links.
    let mut homophone = company_record(JINGAN.name, "沪静城管罚字〔2026〕第704号", 704);
    homophone.as_object_mut().unwrap().remove("CF_XDR_SHXYM");
    homophone["CF_XDR_MC"] = json!("新华建筑工程有限公司");
    let h = app
        .subject_of(&app.push_accepted(&sh, &homophone).await)
        .await;
    assert!(subject(&app, &h).await.get("linked_to").is_none());
    // A second identified subject that the bare name fits: the link is taken back.
    let mut other = company_record(JINGAN.name, "沪静城管罚字〔2026〕第705号", 705);
    other["CF_XDR_MC"] = json!("上海市浦东新区鑫华建筑工程有限公司");
    app.push_accepted(&sh, &other).await;
    assert!(subject(&app, &weak).await.get("linked_to").is_none());
    app.stop().await;
}
