//! Dedup quality: pushes a simulated region (`penex::sim`, default mix) through the real
//! service over mutual TLS and scores what it made of it against the ground truth — pairwise
//! precision, recall and F1 for (a) duplicate detection, (b) jurisdiction-conflict detection,
//! (c) subject resolution — with the first-filer accuracy, the records a weak (name-only)
//! match put with another subject, and the records/s achieved.
//!
//! ```sh
//! cargo run --release --example dedup_quality -- --records 20000 --seed 7
//! cargo run --release --example dedup_quality -- --records 20000 \
//!     --database-url postgres://penex:penex@127.0.0.1:5432/penex_quality   # a fresh database
//! ```
//!
//! With `--names`, it scores who-is-who on real-looking company names instead (see
//! [`names`]): companies named 行政区划 + 字号 + 行业 + 组织形式, with siblings one character
//! apart and homophone namesakes, pushed with realistic corruptions through the service into a
//! fresh database; it prints pairwise P/R/F1 of the merges (records under one subject by
//! identifier) and of subject-or-link (weak links followed), and the sibling links:
//!
//! ```sh
//! cargo run --release --example dedup_quality -- --names --records 5000 --seed 1
//! ```
//!
//! The server is penex's own (`app::prepare` + `app::http_server`, the code `penex serve`
//! runs) on a free loopback port with a fresh data folder and dev PKI; the set is generated
//! with today's date so that no decision lies in the future.

use clap::Parser;
use penex::config::Settings;
use penex::sim::{SimOptions, generate};
use std::error::Error;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Scores dedup and subject resolution on a simulated set.
#[derive(Debug, Parser)]
struct Args {
    /// Pushes to generate.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Most consecutive pushes of one unit sent in one request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// `postgres://…` (a fresh database) or `sqlite://PATH`; default: SQLite in a temporary
    /// folder.
    #[arg(long)]
    database_url: Option<String>,
    /// Score who-is-who on real-looking names instead (module `names`).
    #[arg(long)]
    names: bool,
}

fn line(name: &str, p: &penex::sim::score::Prf) {
    println!(
        "{name:<22} precision {:.4}  recall {:.4}  F1 {:.4}   ({} true / {} found / {} in truth pairs)",
        p.precision, p.recall, p.f1, p.true_pairs, p.found_pairs, p.truth_pairs
    );
}

#[actix_web::main]
async fn main() -> Res<()> {
    let args = Args::parse();
    penex::tls::config::install_default_provider();
    let dir = tempfile::tempdir()?;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let units_file = repo.join("config/units.toml");
    let mut overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.path(),
        "units_file": units_file,
        "rate_limits": { "push": { "limit": 1_000_000, "window_secs": 60 } },
        "log": { "filter": "warn" },
    });
    if let (Some(url), Some(o)) = (&args.database_url, overrides.as_object_mut()) {
        o.insert(
            "database_url".into(),
            serde_json::Value::String(url.clone()),
        );
    }
    let settings = Settings::with_overrides(overrides)?;
    if args.names {
        return names::run(settings, &units_file, args.records, args.seed, args.batch).await;
    }
    let units = penex::domain::registry::parse_units_toml(&std::fs::read_to_string(&units_file)?)?;
    let mut opts = SimOptions::new(args.records, args.seed);
    opts.today = penex::domain::clock::today_shanghai();
    let set = generate(&opts, &units);

    let prepared = penex::app::prepare(settings, true).await?;
    let state = prepared.state.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = penex::app::http_server(prepared, listener)?;
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);

    let certs = dir.path().join("sim-certs");
    let replay = penex::demo::replay::push_set(
        &format!("https://localhost:{port}"),
        &dir.path().join("pki"),
        &certs,
        &set,
        args.batch,
    )
    .await?;
    let answered = replay.record_of_push.clone();
    let observed = state
        .db(move |c| penex::demo::observe::observe(c, answered))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let s = penex::sim::score::score(&set.truth, &observed, &replay.statuses);
    // What the false conflicts were made of, to see why the matcher paired them.
    let pairs = s.false_conflicts.clone();
    let explained = state
        .db(move |c| {
            let mut out = Vec::new();
            for (a, b) in pairs {
                for id in [a, b] {
                    if let Some(r) = penex::store::records::find(c, &id)? {
                        out.push(format!(
                            "  {id} {} {} {}",
                            r.authority_code, r.decision_date, r.canonical_json
                        ));
                    }
                }
                out.push(String::new());
            }
            Ok::<_, penex::store::StoreError>(out)
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    handle.stop(true).await;
    let _ = running.await;

    let secs = replay.elapsed.as_secs_f64();
    println!(
        "{} pushes (seed {}, default mix) in {} requests, {:.1} s: {:.0} records/s",
        set.pushes.len(),
        args.seed,
        replay.requests,
        secs,
        set.pushes.len() as f64 / secs.max(1e-9)
    );
    line("(a) duplicates", &s.duplicates);
    line("(b) conflicts", &s.conflicts);
    line("(c) subjects", &s.subjects);
    println!(
        "first filer kept jurisdiction in {} of {} conflicts found ({} in truth)",
        s.winners_right,
        s.conflicts_found,
        set.truth.conflicts.len()
    );
    println!(
        "records put with another subject by a weak match: {}",
        s.weak_false_merges
    );
    println!("statuses differing from the truth: {}", s.status_mismatches);
    if !explained.is_empty() {
        println!("conflicts the truth does not pair:");
        for l in explained {
            println!("{l}");
        }
    }
    Ok(())
}

/// Who is who on real-looking names: a generator of companies and of the ways units write
/// them, pushed through the service, scored pairwise against the truth.
mod names {
    use super::Res;
    use penex::config::Settings;
    use penex::domain::party::{Level, Party};
    use penex::service::ingest;
    use penex::sim::rng::Rng;
    use std::collections::{BTreeMap, HashMap};

    /// Divisions companies are registered under, per party (as written in their names).
    const DIVISIONS: [(Party, &[&str]); 4] = [
        (Party::Shanghai, &["上海", "上海", "上海", "上海市浦东新区"]),
        (Party::Jiangsu, &["南京", "苏州", "无锡", "常州", "江苏"]),
        (Party::Zhejiang, &["杭州", "宁波", "嘉兴", "浙江"]),
        (Party::Anhui, &["合肥", "芜湖", "安徽"]),
    ];
    /// Characters of 字号 (trade names), and their homophones (never the same enterprise).
    const TRADE: &str = "鑫华荣盛达兴隆昌恒泰宏伟金鼎顺发嘉瑞联丰通汇源博佳天宇振东方永安长江正德";
    const HOMOPHONE: [(char, char); 16] = [
        ('鑫', '新'),
        ('华', '化'),
        ('荣', '容'),
        ('盛', '胜'),
        ('达', '大'),
        ('兴', '星'),
        ('隆', '龙'),
        ('昌', '常'),
        ('恒', '衡'),
        ('泰', '太'),
        ('宏', '洪'),
        ('伟', '威'),
        ('金', '今'),
        ('鼎', '顶'),
        ('顺', '舜'),
        ('发', '法'),
    ];
    const INDUSTRY: [&str; 12] = [
        "建筑工程",
        "装饰工程",
        "渣土运输",
        "物流",
        "餐饮管理",
        "商贸",
        "环境科技",
        "市政工程",
        "园林绿化",
        "广告",
        "建材",
        "房地产开发",
    ];
    const FORMS: [(&str, u32); 4] = [
        ("有限公司", 70),
        ("有限责任公司", 12),
        ("股份有限公司", 10),
        ("集团有限公司", 8),
    ];

    struct Company {
        party: Party,
        division: &'static str,
        trade: String,
        industry: &'static str,
        form: &'static str,
        uscc: String,
        /// Index of the company this one is a sibling of (字号 one character apart).
        sibling_of: Option<usize>,
    }

    impl Company {
        fn name(&self) -> String {
            format!(
                "{}{}{}{}",
                self.division, self.trade, self.industry, self.form
            )
        }
    }

    fn uscc(rng: &mut Rng, party: Party) -> String {
        loop {
            let body: String = (0..8)
                .map(|_| {
                    let digits = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
                    char::from(*rng.pick(digits).unwrap_or(&b'0'))
                })
                .collect();
            let Some(check) = penex::normalize::ids::org_code_check_char(&body) else {
                continue;
            };
            let first17 = format!("91{}0000{body}{check}", party.division_prefix());
            if let Some(c) = penex::normalize::ids::uscc_check_char(&first17) {
                return format!("{first17}{c}");
            }
        }
    }

    fn trade(rng: &mut Rng) -> String {
        let chars: Vec<char> = TRADE.chars().collect();
        (0..2).map(|_| *rng.pick(&chars).unwrap_or(&'鑫')).collect()
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "indices drawn below the length of what they index"
    )]
    fn companies(rng: &mut Rng, n: usize) -> Vec<Company> {
        let mut out: Vec<Company> = Vec::with_capacity(n);
        let mut names = std::collections::HashSet::new();
        while out.len() < n {
            let (party, divisions) = *rng.pick(&DIVISIONS).unwrap_or(&DIVISIONS[0]);
            // One company in eight is a sibling of an earlier one: same division, industry and
            // form, one character of the 字号 changed; one in twenty a homophone namesake.
            let mut c = match (out.len(), rng.below(40)) {
                (k, 0..=4) if k > 0 => {
                    let i = rng.index(k);
                    let base = &out[i];
                    let mut t: Vec<char> = base.trade.chars().collect();
                    let at = rng.index(t.len());
                    let chars: Vec<char> = TRADE.chars().collect();
                    t[at] = *rng.pick(&chars).unwrap_or(&'荣');
                    Company {
                        party: base.party,
                        division: base.division,
                        trade: t.into_iter().collect(),
                        industry: base.industry,
                        form: base.form,
                        uscc: String::new(),
                        sibling_of: Some(i),
                    }
                }
                (k, 5..=6) if k > 0 => {
                    let i = rng.index(k);
                    let base = &out[i];
                    let t: String = base
                        .trade
                        .chars()
                        .map(|ch| {
                            HOMOPHONE
                                .iter()
                                .find(|(a, _)| *a == ch)
                                .map_or(ch, |(_, b)| *b)
                        })
                        .collect();
                    Company {
                        party: base.party,
                        division: base.division,
                        trade: t,
                        industry: base.industry,
                        form: base.form,
                        uscc: String::new(),
                        sibling_of: Some(i),
                    }
                }
                _ => Company {
                    party,
                    division: rng.pick(divisions).copied().unwrap_or("上海"),
                    trade: trade(rng),
                    industry: rng.pick(&INDUSTRY).copied().unwrap_or("物流"),
                    form: rng.weighted(&FORMS).copied().unwrap_or("有限公司"),
                    uscc: String::new(),
                    sibling_of: None,
                },
            };
            // Names the registration rules hold for one (企业名称登记管理规定: the same 字号
            // and industry in one division, whatever the form word) are never two companies.
            if !names.insert(penex::normalize::names::match_key(&c.name())) {
                continue;
            }
            c.uscc = uscc(rng, c.party);
            out.push(c);
        }
        out
    }

    /// How a unit writes a company's name: mostly as registered; else with a space or
    /// full-width brackets, in traditional characters, with the other word for the same
    /// form, without its division, or (rarely) with a homophone typo.
    fn written(rng: &mut Rng, c: &Company, tally: &mut BTreeMap<&'static str, usize>) -> String {
        let mut name = c.name();
        let mut apply = |what: &'static str,
                         p: f64,
                         rng: &mut Rng,
                         name: &mut String,
                         f: &dyn Fn(&str) -> String| {
            if rng.chance(p) {
                let next = f(name);
                if next != *name {
                    *tally.entry(what).or_default() += 1;
                    *name = next;
                }
            }
        };
        let division = c.division;
        apply("dropped division", 0.10, rng, &mut name, &|n| {
            n.strip_prefix(division).unwrap_or(n).to_owned()
        });
        apply("form swap", 0.12, rng, &mut name, &|n| {
            if n.ends_with("有限责任公司") {
                n.replace("有限责任公司", "有限公司")
            } else if n.ends_with("有限公司")
                && !n.ends_with("股份有限公司")
                && !n.ends_with("集团有限公司")
            {
                n.replace("有限公司", "有限责任公司")
            } else {
                n.to_owned()
            }
        });
        apply("space", 0.08, rng, &mut name, &|n| {
            n.replacen(c.trade.as_str(), &format!(" {} ", c.trade), 1)
        });
        apply("full-width", 0.06, rng, &mut name, &|n| {
            n.replace("集团", "（集团）").replace(' ', "\u{3000}")
        });
        apply("traditional", 0.08, rng, &mut name, &|n| hanconv::s2t(n));
        apply("homophone", 0.02, rng, &mut name, &|n| {
            let first = c.trade.chars().next().unwrap_or('鑫');
            match HOMOPHONE.iter().find(|(a, _)| *a == first) {
                Some((a, b)) => n.replacen(*a, &b.to_string(), 1),
                None => n.to_owned(),
            }
        });
        name
    }

    /// Pairs within clusters: how many pairs of items share a cluster in `found`, in `truth`,
    /// and in both.
    fn pairs(found: &[(usize, String)]) -> (u64, u64, u64) {
        let mut by_found: HashMap<&str, u64> = HashMap::new();
        let mut by_truth: HashMap<usize, u64> = HashMap::new();
        let mut by_both: HashMap<(usize, &str), u64> = HashMap::new();
        for (t, f) in found {
            *by_found.entry(f).or_default() += 1;
            *by_truth.entry(*t).or_default() += 1;
            *by_both.entry((*t, f)).or_default() += 1;
        }
        let c = |n: &u64| n * n.saturating_sub(1) / 2;
        (
            by_both.values().map(c).sum(),
            by_found.values().map(c).sum(),
            by_truth.values().map(c).sum(),
        )
    }

    fn prf(name: &str, (tp, found, truth): (u64, u64, u64)) {
        #[expect(clippy::cast_precision_loss, reason = "pair counts far below 2^52")]
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let (p, r) = (ratio(tp, found), ratio(tp, truth));
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        println!(
            "{name:<28} precision {p:.4}  recall {r:.4}  F1 {f1:.4}   ({tp} true / {found} found / {truth} in truth pairs)"
        );
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "indices drawn below the length of what they index"
    )]
    pub async fn run(
        settings: Settings,
        units_file: &std::path::Path,
        records: usize,
        seed: u64,
        batch: usize,
    ) -> Res<()> {
        let units =
            penex::domain::registry::parse_units_toml(&std::fs::read_to_string(units_file)?)?;
        let mut rng = Rng::new(seed);
        let companies = companies(&mut rng, (records / 3).max(1));
        let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
        // (company, record JSON)
        let mut pushes: Vec<(usize, serde_json::Value)> = Vec::with_capacity(records);
        let mut codes: BTreeMap<&'static str, usize> = BTreeMap::new();
        for n in 0..records {
            // Some companies are penalized often, most rarely.
            let ci = if rng.chance(0.5) {
                rng.index(companies.len())
            } else {
                rng.index(companies.len().div_ceil(5))
            };
            let c = &companies[ci];
            let party = if rng.chance(0.85) {
                c.party
            } else {
                *rng.pick(&Party::ALL).unwrap_or(&c.party)
            };
            let authorities: Vec<&penex::domain::unit::Unit> = units
                .iter()
                .filter(|u| u.party == party && u.level != Level::Province)
                .collect();
            let Some(authority) = rng.pick(&authorities) else {
                continue;
            };
            let name = written(&mut rng, c, &mut tally);
            let mut r = serde_json::json!({
                "CF_XDR_MC": name,
                "CF_XDR_LB": "法人及非法人组织",
                "CF_WSH": format!("罚字〔2026〕第{n}号"),
                "CF_WFXW": "未经许可运输建筑垃圾",
                "CF_SY": format!("当事人于2026年{}月{}日违规运输建筑垃圾。", n % 9 + 1, n % 27 + 1),
                "CF_YJ": "《城市建筑垃圾管理规定》第二十五条",
                "CF_CFLB": "罚款",
                "CF_NR": "罚款人民币贰万元整",
                "CF_NR_FK": "2",
                "CF_JDRQ": format!("2026-{:02}-{:02}", n % 9 + 1, n % 27 + 1),
                "CF_YXQ": "2027-10-01",
                "CF_CFJG": authority.name,
                "CF_SJLY": authority.name,
            });
            let code = match rng.below(100) {
                0..=64 => "uscc",
                65..=69 => "org code only",
                70..=94 => "none",
                _ => "mistyped uscc",
            };
            *codes.entry(code).or_default() += 1;
            if let Some(o) = r.as_object_mut() {
                match code {
                    "uscc" => {
                        o.insert("CF_XDR_SHXYM".into(), c.uscc.clone().into());
                    }
                    "org code only" => {
                        let org: String = c.uscc.chars().skip(8).take(9).collect();
                        o.insert("CF_XDR_ZZJG".into(), org.into());
                    }
                    "mistyped uscc" => {
                        let mut chars: Vec<char> = c.uscc.chars().collect();
                        let at = 8 + rng.index(9);
                        chars[at] = if chars[at] == '7' { '1' } else { '7' };
                        o.insert(
                            "CF_XDR_SHXYM".into(),
                            chars.into_iter().collect::<String>().into(),
                        );
                    }
                    _ => {}
                }
            }
            pushes.push((ci, r));
        }

        let prepared_app = penex::app::prepare(settings, true).await?;
        let state = prepared_app.state.clone();
        let started = std::time::Instant::now();
        let mut truth_of_record: HashMap<String, usize> = HashMap::new();
        let mut written_of_record: HashMap<String, String> = HashMap::new();
        let mut rejected = 0usize;
        for (k, chunk) in pushes.chunks(batch.max(1)).enumerate() {
            let items: Vec<serde_json::Value> = chunk.iter().map(|(_, r)| r.clone()).collect();
            let ctx = penex::normalize::NormalizeContext {
                today: penex::domain::clock::today_shanghai(),
                publicity: state.settings.publicity.clone(),
                catalog: state.policy.catalog.clone(),
            };
            let registry = state.registry();
            let prepared = ingest::prepare(
                &items,
                &|_| String::new(),
                &ctx,
                &registry,
                &state.pii,
                None,
            )?;
            let policy = state.policy.clone();
            let emitter = state.emitter();
            let id = format!("names-{k}");
            let outcomes = state
                .db(move |c| {
                    let meta = ingest::BatchMeta {
                        batch_id: &id,
                        unit_code: "SH-310000",
                        idempotency_key: None,
                        actor: "quality",
                        policy: policy.on(ctx.today),
                        emitter: &emitter,
                    };
                    ingest::store_batch(c, &prepared, &meta)
                })
                .await
                .map_err(|e| format!("{e:?}"))?;
            for o in outcomes {
                match (&o.record_id, chunk.get(o.index)) {
                    (Some(id), Some((ci, r))) => {
                        truth_of_record.insert(id.clone(), *ci);
                        let written = r["CF_XDR_MC"].as_str().unwrap_or_default().to_owned();
                        written_of_record.insert(id.clone(), written);
                    }
                    _ => rejected += 1,
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (recs, subs) = state
            .db(|c| {
                use diesel::prelude::*;
                use penex::store::schema::{records, subjects};
                let recs: Vec<(String, Option<String>)> = records::table
                    .select((records::id, records::subject_id))
                    .load(c)?;
                let subs: Vec<(String, Option<String>, bool)> = subjects::table
                    .select((subjects::id, subjects::linked_to, subjects::strong))
                    .load(c)?;
                Ok::<_, penex::store::StoreError>((recs, subs))
            })
            .await
            .map_err(|e| format!("{e:?}"))?;
        let strong: HashMap<String, bool> =
            subs.iter().map(|(id, _, s)| (id.clone(), *s)).collect();
        let linked: HashMap<String, Option<String>> =
            subs.into_iter().map(|(id, l, _)| (id, l)).collect();
        let mut merged = Vec::new();
        let mut resolved = Vec::new();
        let mut records_in_order = Vec::new();
        let mut strong_merged = Vec::new();
        for (rec, sub) in recs {
            let (Some(t), Some(sub)) = (truth_of_record.get(&rec), sub) else {
                continue;
            };
            let to = linked
                .get(&sub)
                .cloned()
                .flatten()
                .unwrap_or_else(|| sub.clone());
            // A record under a name-only subject stands alone for the merges by identifier.
            strong_merged.push((
                *t,
                if strong.get(&sub).copied().unwrap_or(false) {
                    sub.clone()
                } else {
                    rec.clone()
                },
            ));
            records_in_order.push(rec.clone());
            merged.push((*t, sub));
            resolved.push((*t, to));
        }
        // Sibling links: a record of one company under a subject identified as its sibling
        // (字号 one character apart, or a homophone namesake). A record written exactly as the
        // sibling's registered name is told apart by no name rule; those are counted apart.
        let mut owner_votes: HashMap<&str, HashMap<usize, usize>> = HashMap::new();
        for ((t, own), (_, to)) in merged.iter().zip(&resolved) {
            if own == to {
                *owner_votes
                    .entry(own.as_str())
                    .or_default()
                    .entry(*t)
                    .or_default() += 1;
            }
        }
        let owner = |s: &str| {
            owner_votes.get(s).and_then(|v| {
                v.iter()
                    .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
                    .map(|(c, _)| *c)
            })
        };
        let sib = |x: usize, y: usize| {
            companies.get(x).and_then(|c| c.sibling_of) == Some(y)
                || companies.get(y).and_then(|c| c.sibling_of) == Some(x)
        };
        let (mut sibling_links, mut exact) = (0usize, 0usize);
        for (rec, (t, to)) in records_in_order.iter().zip(&resolved) {
            let Some(b) = owner(to) else { continue };
            if b != *t && sib(*t, b) {
                sibling_links += 1;
                let key = |n: &str| penex::normalize::names::match_key(n);
                if let (Some(w), Some(bc)) = (written_of_record.get(rec), companies.get(b))
                    && key(w) == key(&bc.name())
                {
                    exact += 1;
                }
            }
        }
        let siblings = companies.iter().filter(|c| c.sibling_of.is_some()).count();
        println!(
            "{} pushes (seed {seed}, {} companies, {siblings} siblings or homophone namesakes) in {:.1} s; {} stored, {rejected} rejected",
            pushes.len(),
            companies.len(),
            elapsed,
            merged.len()
        );
        println!("identifiers: {codes:?}");
        println!("name corruptions: {tally:?}");
        prf("merges (by identifier)", pairs(&strong_merged));
        prf("own subject (+ weak namesakes)", pairs(&merged));
        prf("subject or linked subject", pairs(&resolved));
        println!(
            "records put with a sibling company: {sibling_links} ({exact} of them written exactly as the sibling's name)"
        );
        Ok(())
    }
}
