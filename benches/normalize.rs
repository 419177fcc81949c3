//! Normalization benchmarks: one legal-person record in column codes, one natural-person record
//! in Chinese item names with a capital-numeral fine, a batch of 1,000 records, the content
//! fingerprint, and the whole CPU side of a push (`ingest::prepare`: normalize, resolve the
//! authority, seal ID numbers) for 1,000 records, and placing a record in the violation-type
//! catalogue, and signing one event (the CPU the push spends per event in its serialized span).
//!
//! Run: `cargo bench --bench normalize -- --warm-up-time 1 --measurement-time 3`.
#![expect(
    clippy::expect_used,
    reason = "benchmark tool: a fixture that does not normalize must stop the run"
)]

#[path = "support/records.rs"]
mod records;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use penex::crypto::pii::{PiiCipher, PiiKeyring};
use penex::domain::party::Party;
use penex::domain::registry::Registry;
use penex::domain::unit::UnitCode;
use penex::normalize::{NormalizeContext, PublicityConfig, normalize_record};
use penex::service::ingest;
use serde_json::Value;
use std::hint::black_box;

const SHANGHAI_LEAD: &str = "上海市城市管理行政执法局";

fn context() -> NormalizeContext {
    NormalizeContext {
        // Fixed, so that the figures do not depend on the day they are taken.
        today: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("a calendar day"),
        publicity: PublicityConfig::default(),
        catalog: std::sync::Arc::new(
            penex::normalize::Catalog::built_in().expect("the built-in catalogue"),
        ),
    }
}

fn batch(n: u64) -> Vec<Value> {
    (0..n)
        .map(|seq| records::record(Party::Shanghai, SHANGHAI_LEAD, seq))
        .collect()
}

fn bench_normalize(c: &mut Criterion) {
    let ctx = context();
    let legal = records::legal_person(Party::Shanghai, SHANGHAI_LEAD, 42);
    let person = records::natural_person(Party::Shanghai, SHANGHAI_LEAD, 43);
    for (what, raw) in [("legal person", &legal), ("natural person", &person)] {
        let n = normalize_record(raw, &ctx).expect("the fixture normalizes");
        assert!(n.warnings.is_empty(), "{what}: {:?}", n.warnings);
    }

    let mut group = c.benchmark_group("normalize_record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("legal_person_column_codes", |b| {
        b.iter(|| normalize_record(black_box(&legal), &ctx))
    });
    group.bench_function("natural_person_chinese_keys_capital_amount", |b| {
        b.iter(|| normalize_record(black_box(&person), &ctx))
    });
    group.finish();

    let items = batch(1000);
    let mut group = c.benchmark_group("normalize_batch");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000_records", |b| {
        b.iter(|| {
            black_box(&items)
                .iter()
                .map(|raw| normalize_record(raw, &ctx).is_ok())
                .filter(|ok| *ok)
                .count()
        })
    });
    group.finish();
}

fn bench_fingerprint(c: &mut Criterion) {
    let ctx = context();
    let legal = normalize_record(
        &records::legal_person(Party::Shanghai, SHANGHAI_LEAD, 42),
        &ctx,
    )
    .expect("the fixture normalizes")
    .record;
    let person = normalize_record(
        &records::natural_person(Party::Shanghai, SHANGHAI_LEAD, 43),
        &ctx,
    )
    .expect("the fixture normalizes")
    .record;
    let mut group = c.benchmark_group("content_fingerprint");
    group.throughput(Throughput::Elements(1));
    group.bench_function("legal_person", |b| {
        b.iter(|| black_box(&legal).content_fingerprint())
    });
    group.bench_function("natural_person", |b| {
        b.iter(|| black_box(&person).content_fingerprint())
    });
    group.finish();
}

fn bench_prepare(c: &mut Criterion) {
    let ctx = context();
    let units_toml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/units.toml"))
            .expect("config/units.toml");
    let units = penex::domain::registry::parse_units_toml(&units_toml).expect("the registry");
    let registry =
        Registry::new(units, penex::normalize::text::fold_name).expect("a valid registry");
    let keyring = PiiKeyring::new(PiiCipher::new([7; 32], [9; 32], 1).expect("PII keys"));
    let lead = UnitCode::parse("SH-310000").expect("the Shanghai lead's code");
    let items = batch(1000);
    let prefix = |i: usize| format!("/records/{i}");
    let prepared = ingest::prepare(&items, &prefix, &ctx, &registry, &keyring, Some(&lead))
        .expect("the batch prepares");
    assert!(
        prepared
            .iter()
            .all(|p| matches!(p.item, ingest::Prepared::Ready(_))),
        "every fixture is ready to store"
    );

    let mut group = c.benchmark_group("ingest_prepare");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000_records", |b| {
        b.iter(|| {
            ingest::prepare(
                black_box(&items),
                &prefix,
                &ctx,
                &registry,
                &keyring,
                Some(&lead),
            )
        })
    });
    group.finish();
}

/// Placing a record in the catalogue, the three ways real records come: a precise citation
/// with a vague text, a shared article the text must decide, and a text with no citation
/// (keywords over every type); the legal-basis parse alone beside them as the baseline.
fn bench_classify(c: &mut Criterion) {
    let catalog = penex::normalize::Catalog::built_in().expect("the built-in catalogue");
    let cases = [
        (
            "citation",
            "违反城乡规划管理规定",
            "依据《中华人民共和国城乡规划法》第六十四条之规定",
        ),
        (
            "shared_article",
            "运输渣土车辆未采取密闭措施造成遗撒",
            "《中华人民共和国大气污染防治法》第一百一十六条",
        ),
        (
            "keywords_only",
            "本市道路两侧建筑物内的经营者超出门窗经营",
            "",
        ),
    ];
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(1));
    for (name, text, basis) in cases {
        assert!(
            catalog.classify(Party::Shanghai, text, basis).is_some(),
            "{name}"
        );
        group.bench_function(name, |b| {
            b.iter(|| catalog.classify(Party::Shanghai, black_box(text), black_box(basis)))
        });
    }
    group.bench_function("parse_legal_basis_only", |b| {
        b.iter(|| penex::normalize::legal_basis::parse(black_box(cases[1].2)))
    });
    group.finish();
}

/// Signing one event as the push does inside its serialized span (`service::events::write_staged`):
/// a compact JWS over a payload of the size of a `record.created` event (~1.5 KB).
fn bench_sign_event(c: &mut Criterion) {
    use penex::crypto::jws::{Ed25519Signer, sign_compact};
    let (signer, _) = Ed25519Signer::generate("bench-key").expect("an Ed25519 key");
    let payload = format!(
        "{{\"id\":\"{}\",\"seq\":123456,\"type\":\"record.created\",\"record\":{{\"text\":\"{}\"}}}}",
        "0".repeat(32),
        "违反城乡规划管理规定".repeat(45)
    );
    let mut group = c.benchmark_group("sign_event");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ed25519_compact_jws_1_5kb", |b| {
        b.iter(|| {
            sign_compact(
                &signer,
                black_box(payload.as_bytes()),
                Some(penex::service::events::JWS_TYP),
            )
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_normalize,
    bench_fingerprint,
    bench_prepare,
    bench_classify,
    bench_sign_event
);
criterion_main!(benches);
