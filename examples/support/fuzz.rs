//! Fuzz targets for what penex reads from clients: the record normalizer with its JSON field
//! mapping, the legal-basis (处罚依据) parser, dates, amounts, identifiers, penalty categories,
//! the violation-type classifier and name folding. Inputs come from proptest strategies: valid
//! records mutated with hostile values (NUL bytes, control and combining characters, invalid
//! surrogates' replacements, huge strings, deep nesting, wrong JSON types, unknown and
//! duplicate-looking keys), near-grammar text for the parsers, and arbitrary Unicode.
//!
//! A case passes when the target returns (an `Ok` or an `Err`); a panic is a failure. Included
//! with `#[path]` by `examples/fuzz.rs` (10⁶ cases and more), `examples/proof.rs` and
//! `tests/it/proof.rs` (the short version CI runs); needs `benches/support/records.rs` as the
//! sibling `records`.

use penex::domain::party::Party;
use penex::normalize::{NormalizeContext, PublicityConfig};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

/// What one target saw.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target.
    pub target: &'static str,
    /// Cases run.
    pub cases: u64,
    /// Cases that panicked.
    pub panics: u64,
    /// The first panic's message and input.
    pub first_panic: Option<String>,
    /// Seconds taken.
    pub secs: f64,
}

const AUTHORITIES: [(Party, &str); 4] = [
    (Party::Shanghai, "上海市城市管理行政执法局"),
    (Party::Jiangsu, "江苏省住房和城乡建设厅"),
    (Party::Zhejiang, "浙江省住房和城乡建设厅"),
    (Party::Anhui, "安徽省住房和城乡建设厅"),
];

/// Keys units write (column codes, Chinese item names, penex's names) and some that are not.
const KEYS: &[&str] = &[
    "CF_XDR_MC",
    "CF_XDR_LB",
    "CF_XDR_SHXYM",
    "CF_XDR_ZDM",
    "CF_XDR_GSZC",
    "CF_FRDB",
    "CF_FRDB_ZJLX",
    "CF_FRDB_ZJHM",
    "CF_XDR_ZJLX",
    "CF_XDR_ZJHM",
    "CF_WSH",
    "CF_WFXW",
    "CF_SY",
    "CF_YJ",
    "CF_CFLB",
    "CF_NR",
    "CF_NR_FK",
    "CF_NR_WFFF",
    "CF_NR_ZKDX",
    "CF_JDRQ",
    "CF_YXQ",
    "CF_GSJZQ",
    "CF_CFJG",
    "CF_CFJGDM",
    "CF_SJLY",
    "CF_SJLYDM",
    "CF_BZ",
    "行政相对人名称",
    "行政相对人类别",
    "证件类型",
    "证件号码",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额(万元)",
    "处罚决定日期",
    "处罚有效期",
    "公示截止期",
    "处罚机关",
    "数据来源单位",
    "filed_date",
    "place_division",
    "subject",
    "subject.name",
    "decision",
    "penalty.fine_yuan",
    "行政相对人代码_1(统一社会信用代码)",
    "",
    " ",
    "\u{0}",
    "CF_XDR_MC ",
    "cf_xdr_mc",
    "ＣＦ＿ＷＳＨ",
];

/// Fragments of the texts the parsers read, to stay near their grammar.
const FRAGMENTS: &[&str] = &[
    "《",
    "》",
    "中华人民共和国",
    "行政处罚法",
    "上海市市容环境卫生管理条例",
    "城市管理",
    "第",
    "条",
    "款",
    "项",
    "目",
    "之一",
    "一",
    "二",
    "十",
    "百",
    "千",
    "万",
    "亿",
    "零",
    "壹",
    "贰",
    "叁",
    "肆",
    "伍",
    "陆",
    "柒",
    "捌",
    "玖",
    "拾",
    "佰",
    "仟",
    "元",
    "角",
    "分",
    "整",
    "罚款",
    "人民币",
    "年",
    "月",
    "日",
    "号",
    "〔",
    "〕",
    "[",
    "]",
    "(",
    ")",
    "（",
    "）",
    "、",
    "，",
    ",",
    ";",
    "；",
    "和",
    "及",
    "警告",
    "没收违法所得",
    "责令停产停业",
    "暂扣许可证",
    "吊销",
    "0",
    "1",
    "2",
    "9",
    "12",
    "2025",
    "1900",
    "9999",
    "-",
    "/",
    ".",
    ":",
    " ",
    "\t",
    "\n",
    "\u{0}",
    "\u{200b}",
    "\u{feff}",
    "\u{301}",
    "X",
    "x",
    "*",
    "91",
    "310106",
    "MA1",
    "e",
    "E",
    "+",
    "NaN",
    "∞",
    "\u{10ffff}",
];

fn near_grammar() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            1 => any::<String>(),
            1 => "[0-9]{1,30}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => near_grammar(),
        4 => any::<String>(),
        1 => (0usize..20_000).prop_map(|n| "字".repeat(n)),
        1 => (0usize..5_000, any::<char>()).prop_map(|(n, c)| std::iter::repeat_n(c, n).collect()),
        1 => Just("\u{0}".repeat(64)),
    ]
}

fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        6 => hostile_string().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => (0usize..300).prop_map(|depth| {
            let mut v = Value::from(1);
            for _ in 0..depth {
                v = Value::Array(vec![v]);
            }
            v
        }),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid record of one party with up to 8 fields replaced, removed or added.
fn mutated_record() -> impl Strategy<Value = Value> {
    (
        0usize..4,
        0u64..1_000_000,
        any::<bool>(),
        prop::collection::vec(
            (
                prop::sample::select(KEYS).prop_map(str::to_owned),
                prop::option::weighted(0.85, hostile_value()),
            ),
            0..8,
        ),
    )
        .prop_map(|(who, seq, person, edits)| {
            let (party, authority) = AUTHORITIES.get(who).copied().unwrap_or(AUTHORITIES[0]);
            let mut record = if person {
                super::records::natural_person(party, authority, seq)
            } else {
                super::records::legal_person(party, authority, seq)
            };
            if let Value::Object(map) = &mut record {
                for (key, value) in edits {
                    match value {
                        Some(v) => map.insert(key, v),
                        None => map.remove(&key),
                    };
                }
            }
            record
        })
}

#[expect(
    clippy::expect_used,
    reason = "the fuzzer cannot run without the built-in catalogue"
)]
fn context() -> NormalizeContext {
    NormalizeContext {
        today: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default(),
        publicity: PublicityConfig::default(),
        catalog: std::sync::Arc::new(
            penex::normalize::Catalog::built_in().expect("the built-in catalogue"),
        ),
    }
}

/// Runs `cases` inputs of `strategy` through `target`, counting panics.
fn run<T: std::fmt::Debug>(
    name: &'static str,
    cases: u64,
    seed: u64,
    strategy: impl Strategy<Value = T>,
    target: impl Fn(&T),
) -> Outcome {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8..16].copy_from_slice(&(name.len() as u64).to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let started = Instant::now();
    let mut out = Outcome {
        target: name,
        cases: 0,
        panics: 0,
        first_panic: None,
        secs: 0.0,
    };
    for _ in 0..cases {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let input = tree.current();
        out.cases += 1;
        IN_TARGET.with(|f| f.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
        IN_TARGET.with(|f| f.set(false));
        if let Err(payload) = result {
            out.panics += 1;
            if out.first_panic.is_none() {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                let shown: String = format!("{input:?}").chars().take(2000).collect();
                out.first_panic = Some(format!("{msg}\ninput: {shown}"));
            }
        }
    }
    out.secs = started.elapsed().as_secs_f64();
    out
}

thread_local! {
    /// Set while this thread runs a target: its panics are counted, not printed.
    static IN_TARGET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once, a panic hook that stays silent for panics inside a target and hands every
/// other panic (another test's, in a shared test binary) to the hook that was there before.
fn quiet_targets() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_TARGET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Every target, `cases` inputs each, from `seed`. Panics inside the targets are caught,
/// counted and not printed.
pub fn run_all(cases: u64, seed: u64) -> Vec<Outcome> {
    quiet_targets();
    let ctx = context();
    let catalog = ctx.catalog.clone();
    let mut out = vec![
        run(
            "normalize_record (field mapping included)",
            cases,
            seed,
            mutated_record(),
            |raw| {
                let _ = penex::normalize::normalize_record(raw, &ctx);
            },
        ),
        run(
            "normalize_record (any JSON)",
            cases,
            seed,
            hostile_value(),
            |raw| {
                let _ = penex::normalize::normalize_record(raw, &ctx);
            },
        ),
        run("legal_basis::parse", cases, seed, hostile_string(), |t| {
            let _ = penex::normalize::legal_basis::parse(t);
        }),
        run("dates::parse_date", cases, seed, hostile_string(), |t| {
            let _ = penex::normalize::dates::parse_date(t);
        }),
        run(
            "money (amounts, fines in content)",
            cases,
            seed,
            hostile_string(),
            |t| {
                use penex::normalize::money::{
                    Unit, confiscation_in_content, fine_in_content, parse_amount,
                };
                let _ = parse_amount(t, Unit::Yuan);
                let _ = parse_amount(t, Unit::TenThousandYuan);
                let _ = parse_amount(t, Unit::Fen);
                let _ = fine_in_content(t);
                let _ = confiscation_in_content(t);
            },
        ),
        run(
            "ids (USCC, resident ID, org code, ID types)",
            cases,
            seed,
            hostile_string(),
            |t| {
                use penex::normalize::ids::*;
                let _ = normalize_uscc(t);
                let _ = normalize_resident_id(t);
                let _ = normalize_org_code(t);
                if let Some(kind) = parse_id_type(t) {
                    let _ = normalize_id_no(&kind, t);
                }
            },
        ),
        run("categories", cases, seed, hostile_string(), |t| {
            let _ = penex::normalize::categories::parse_category_list(t);
            let _ = penex::normalize::categories::resolve_suspend_or_revoke(t);
        }),
        run(
            "violation classify (text and legal basis)",
            cases,
            seed,
            (hostile_string(), hostile_string(), 0usize..4),
            |(text, basis, who)| {
                let party = AUTHORITIES.get(*who).map_or(Party::Shanghai, |a| a.0);
                let _ = catalog.classify(party, text, basis);
            },
        ),
        run(
            "names and text folding",
            cases,
            seed,
            hostile_string(),
            |t| {
                let _ = penex::normalize::text::fold_name(t);
                let _ = penex::normalize::text::fold_text(t);
                let _ = penex::normalize::names::match_key(t);
                let _ = penex::normalize::decision_no::fold_decision_no(t);
            },
        ),
    ];
    out.retain(|o| o.cases > 0);
    out
}
