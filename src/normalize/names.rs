//! The matching key of a subject's name: what a name-only (weak) subject is linked by.
//!
//! Owns [`match_name`] (the one fold used for matching names), [`Divisions`] (the
//! administrative-division prefixes, built from the unit registry) and [`fits`] (whether a
//! weak name fits an identified subject's name). The raw name and its [`fold_name`] form stay
//! what is stored and shown; the key is only ever compared.
//!
//! Pure: depends on `domain` (units, parties), `normalize::text` and the OpenCC tables of
//! `hanconv`; no HTTP, no SQL. Invariants: every key is a fixpoint (`match_name` of a key's
//! text gives the same key); two names one character apart in the 字号 never get one key;
//! nothing here guesses (homophones, abbreviations and typos stay apart, because a wrong link
//! is worse than a missed one).

use super::text::{fixpoint, fold_name};
use crate::domain::party::{Level, Party};
use crate::domain::unit::Unit;

/// 有限责任公司 and 有限公司 are one organisational form (公司法 arts. 3, 7: a limited liability
/// company's name carries 有限责任公司 or 有限公司); 股份有限公司 is another form and does not
/// contain this text, so it stays apart.
const FORM_EQUIVALENT: [(&str, &str); 1] = [("有限责任公司", "有限公司")];

/// A division name ends in one of these (省, 市, 区, 县; 旗 does not occur in the region).
const DIVISION_ENDS: [char; 4] = ['省', '市', '区', '县'];

/// What may not be left alone after stripping a division prefix: a division and a bare form
/// (`上海有限公司`) says nothing about which enterprise it is.
const BARE_FORMS: [&str; 6] = [
    "有限公司",
    "股份有限公司",
    "公司",
    "集团",
    "集团有限公司",
    "分公司",
];

/// One administrative division a name can start with: as written in full (`上海市`,
/// `浦东新区`) and, for provinces and cities, without the 省/市 (`上海`, `南京`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Division {
    full: String,
    short: Option<String>,
    party: Party,
}

/// The division prefixes of the region, longest written form first.
#[derive(Debug, Clone, Default)]
pub struct Divisions {
    /// (written form, canonical form, party), longest written form first.
    forms: Vec<(String, String, Party)>,
}

impl Divisions {
    /// The divisions named by the registered units above street level: a unit's name starts
    /// with its division (`南京市城市管理局`, `上海市浦东新区城市管理行政执法局` under
    /// `上海市`), so the name, less the divisions of the units above it, up to the first
    /// 省/市/区/县, is the division. Built from the registry rather than a hand list, so a
    /// unit added to the registry brings its division.
    pub fn from_units<'a>(units: impl IntoIterator<Item = &'a Unit>) -> Divisions {
        let mut units: Vec<&Unit> = units
            .into_iter()
            .filter(|u| u.level != Level::Street)
            .collect();
        // Higher levels first, so a district's name is read after its city's.
        units.sort_by(|a, b| (a.level, &a.name).cmp(&(b.level, &b.name)));
        let mut found: Vec<Division> = Vec::new();
        for unit in units {
            let mut rest = fold_name(&unit.name);
            while let Some(d) = found
                .iter()
                .filter(|d| d.party == unit.party && rest.starts_with(d.full.as_str()))
                .max_by_key(|d| d.full.len())
            {
                rest = rest.chars().skip(d.full.chars().count()).collect();
            }
            let mut full = String::new();
            for c in rest.chars() {
                full.push(c);
                if DIVISION_ENDS.contains(&c) {
                    break;
                }
            }
            if !full.ends_with(DIVISION_ENDS) || full.chars().count() < 2 {
                continue;
            }
            if found.iter().any(|d| d.full == full) {
                continue;
            }
            let short = match (unit.level, full.chars().last()) {
                (Level::Province | Level::City, Some('省' | '市')) if full.chars().count() >= 3 =>
                {
                    let n = full.chars().count().saturating_sub(1);
                    Some(full.chars().take(n).collect())
                }
                _ => None,
            };
            found.push(Division {
                full,
                short,
                party: unit.party,
            });
        }
        let mut forms = Vec::new();
        for d in found {
            let canonical = d.short.clone().unwrap_or_else(|| d.full.clone());
            if let Some(short) = &d.short {
                forms.push((short.clone(), canonical.clone(), d.party));
            }
            forms.push((d.full, canonical, d.party));
        }
        forms.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.cmp(b)));
        forms.dedup_by(|a, b| a.0 == b.0);
        Divisions { forms }
    }

    /// The canonical written forms, for documentation and tests.
    pub fn forms(&self) -> impl Iterator<Item = (&str, &str, Party)> {
        self.forms
            .iter()
            .map(|(w, c, p)| (w.as_str(), c.as_str(), *p))
    }

    /// The longest division `text` starts with: (written form's length in chars, canonical
    /// form, party).
    fn prefix_of(&self, text: &str) -> Option<(usize, &str, Party)> {
        self.forms
            .iter()
            .find(|(w, _, _)| text.starts_with(w.as_str()))
            .map(|(w, c, p)| (w.chars().count(), c.as_str(), *p))
    }
}

/// What a name is matched by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKeys {
    /// The whole name folded for matching (see [`match_name`]).
    pub key: String,
    /// When the name starts with divisions of one party: `"<party>|<rest>"`, the name without
    /// them within that party (`SH|鑫华建筑工程有限公司`).
    pub core: Option<String>,
    /// The canonical divisions stripped for `core`, concatenated (`上海浦东新区`); empty when
    /// `core` is `None`.
    pub chain: String,
}

/// Traditional → simplified (OpenCC's phrase and character tables): records keyed from Hong
/// Kong, Taiwan or older systems, and OCR, write 業 貿 築 網 華 豐 for 业 贸 筑 网 华 丰.
fn to_simplified(text: &str) -> String {
    // Plain CJK text already simplified is the common case; the tables leave it as it is.
    hanconv::t2s(text)
}

/// The key of a name without its division analysis: [`fold_name`] (NFKC, widths, spaces,
/// bracket kinds), traditional → simplified, brackets dropped (`上海某某(集团)有限公司` and
/// `上海某某集团有限公司` are written for one enterprise) and 有限责任公司 → 有限公司.
pub fn match_key(name: &str) -> String {
    fixpoint(name, |s| {
        let mut k: String = to_simplified(&fold_name(s))
            .chars()
            .filter(|c| !matches!(c, '(' | ')'))
            .collect();
        for (from, to) in FORM_EQUIVALENT {
            k = k.replace(from, to);
        }
        k
    })
}

/// Folds a name for matching: [`match_key`], and the leading administrative divisions of one
/// party split off (企业名称 = 行政区划 + 字号 + 行业 + 组织形式, 企业名称登记管理规定 art. 6),
/// so `鑫华建筑工程有限公司` can find `上海鑫华建筑工程有限公司` within Shanghai.
pub fn match_name(name: &str, divisions: &Divisions) -> NameKeys {
    let key = match_key(name);
    let mut rest: &str = &key;
    let mut chain = String::new();
    let mut party = None;
    while let Some((len, canonical, p)) = divisions.prefix_of(rest) {
        if party.is_some_and(|q| q != p) {
            break;
        }
        let Some((at, _)) = rest.char_indices().nth(len) else {
            break;
        };
        let Some(after) = rest.get(at..) else {
            break;
        };
        if after.chars().count() < 2 || BARE_FORMS.contains(&after) {
            break;
        }
        chain.push_str(canonical);
        party = Some(p);
        rest = after;
    }
    let core = party.map(|p| format!("{}|{rest}", p.code()));
    NameKeys {
        core,
        chain,
        key: key.clone(),
    }
}

/// The core a weak subject's name is looked up by within `party` (the deciding authority's
/// party of its records): its own core when it starts with divisions, else the whole key —
/// a name without its division only ever fits within the party it was used in.
pub fn weak_core(keys: &NameKeys, party: Party) -> String {
    keys.core
        .clone()
        .unwrap_or_else(|| format!("{}|{}", party.code(), keys.key))
}

/// Whether a weak subject's name (`weak`, of records of `party`) fits an identified subject's
/// name (`strong`): the same key, or the same core within the divisions' party with the weak
/// name's divisions the last of the strong name's — higher divisions dropped, never a lower
/// one (`鑫华…` and `上海市鑫华…` fit `上海鑫华…`, `浦东新区鑫华…` fits `上海市浦东新区鑫华…`;
/// `上海鑫华…` and `静安区鑫华…` do not: they can be enterprises of their own).
pub fn fits(weak: &NameKeys, party: Party, strong: &NameKeys) -> bool {
    if weak.key == strong.key {
        return true;
    }
    match &strong.core {
        Some(core) => *core == weak_core(weak, party) && strong.chain.ends_with(&weak.chain),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn divisions() -> Divisions {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units.toml"),
        )
        .unwrap();
        let units = crate::domain::registry::parse_units_toml(&text).unwrap();
        Divisions::from_units(&units)
    }

    fn keys(name: &str) -> NameKeys {
        match_name(name, &divisions())
    }

    /// Whether a weak record of Shanghai named `weak` fits a subject named `strong`.
    fn sh_fits(weak: &str, strong: &str) -> bool {
        fits(&keys(weak), Party::Shanghai, &keys(strong))
    }

    #[test]
    fn the_registry_names_the_divisions() {
        let d = divisions();
        let forms: Vec<(&str, &str, Party)> = d.forms().collect();
        for want in [
            ("上海市", "上海", Party::Shanghai),
            ("上海", "上海", Party::Shanghai),
            ("江苏省", "江苏", Party::Jiangsu),
            ("南京市", "南京", Party::Jiangsu),
            ("南京", "南京", Party::Jiangsu),
            ("浦东新区", "浦东新区", Party::Shanghai),
            ("静安区", "静安区", Party::Shanghai),
            ("玄武区", "玄武区", Party::Jiangsu),
            ("杭州市", "杭州", Party::Zhejiang),
            ("合肥市", "合肥", Party::Anhui),
            ("苏州工业园区", "苏州工业园区", Party::Jiangsu),
        ] {
            assert!(forms.contains(&want), "{want:?} in {forms:?}");
        }
        // Districts are not shortened: 静安 alone is a common 字号.
        assert!(!forms.iter().any(|(w, _, _)| *w == "静安"));
        // Street-level units (镇, 街道) are no division of an enterprise name.
        assert!(!forms.iter().any(|(w, _, _)| w.contains("彭浦")));
    }

    #[test]
    fn keys_fold_widths_spaces_brackets_scripts_and_forms() {
        let cases = [
            ("上海鑫华建筑工程有限公司", "上海鑫华建筑工程有限公司"),
            ("上海鑫华建筑工程有限责任公司", "上海鑫华建筑工程有限公司"),
            ("上海 鑫华建筑工程　有限公司", "上海鑫华建筑工程有限公司"),
            ("上海鑫華建築工程有限公司", "上海鑫华建筑工程有限公司"),
            ("上海鑫华（集团）有限公司", "上海鑫华集团有限公司"),
            ("上海鑫华集团有限公司", "上海鑫华集团有限公司"),
            ("ＡＢＣ貿易商行", "ABC贸易商行"),
            ("蘇州豐盛網絡科技有限責任公司", "苏州丰盛网络科技有限公司"),
            ("臺州市飯館", "台州市饭馆"),
            (
                "上海鑫华建筑工程股份有限公司",
                "上海鑫华建筑工程股份有限公司",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(match_key(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn division_prefixes_are_split_off_within_one_party() {
        let k = keys("上海鑫华建筑工程有限公司");
        assert_eq!(k.core.as_deref(), Some("SH|鑫华建筑工程有限公司"));
        assert_eq!(k.chain, "上海");
        let k = keys("上海市浦东新区鑫华建筑工程有限公司");
        assert_eq!(k.core.as_deref(), Some("SH|鑫华建筑工程有限公司"));
        assert_eq!(k.chain, "上海浦东新区");
        let k = keys("南京市鑫华建筑工程有限公司");
        assert_eq!(k.core.as_deref(), Some("JS|鑫华建筑工程有限公司"));
        // No division: no core.
        let k = keys("鑫华建筑工程有限公司");
        assert_eq!(k.core, None);
        assert_eq!(k.chain, "");
        // A division and a bare form leave nothing to tell enterprises apart.
        assert_eq!(keys("上海有限公司").core, None);
        // Divisions of two parties: only the first party's are split off.
        assert_eq!(
            keys("上海南京鑫华餐饮有限公司").core.as_deref(),
            Some("SH|南京鑫华餐饮有限公司")
        );
    }

    #[test]
    fn what_fits_and_what_never_does() {
        let fit = [
            // Widths, spaces, traditional characters, 有限责任公司 for 有限公司.
            ("上海鑫华建筑工程有限公司", "上海鑫華建築工程有限責任公司"),
            ("上海 鑫华建筑工程有限公司", "上海鑫华建筑工程有限公司"),
            // The division dropped, or written in full.
            ("鑫华建筑工程有限公司", "上海鑫华建筑工程有限公司"),
            ("鑫华建筑工程有限公司", "上海市浦东新区鑫华建筑工程有限公司"),
            ("上海市鑫华建筑工程有限公司", "上海鑫华建筑工程有限公司"),
            (
                "浦东新区鑫华建筑工程有限公司",
                "上海市浦东新区鑫华建筑工程有限公司",
            ),
        ];
        for (weak, strong) in fit {
            assert!(sh_fits(weak, strong), "{weak} should fit {strong}");
        }
        let apart = [
            // Another organisational form.
            ("上海鑫华建筑工程股份有限公司", "上海鑫华建筑工程有限公司"),
            ("上海鑫华建筑工程有限公司", "上海鑫华建筑工程股份有限公司"),
            // A branch is not its parent, nor the parent its branch.
            (
                "上海鑫华建筑工程有限公司浦东分公司",
                "上海鑫华建筑工程有限公司",
            ),
            (
                "上海鑫华建筑工程有限公司",
                "上海鑫华建筑工程有限公司浦东分公司",
            ),
            // A homophone (鑫 → 新) is another name.
            ("上海新华建筑工程有限公司", "上海鑫华建筑工程有限公司"),
            ("新华建筑工程有限公司", "上海鑫华建筑工程有限公司"),
            // Siblings one character apart in the 字号.
            ("上海鑫华建筑工程有限公司", "上海鑫荣建筑工程有限公司"),
            ("鑫华建筑工程有限公司", "上海鑫荣建筑工程有限公司"),
            // The city without the district: possibly an enterprise of its own.
            (
                "上海鑫华建筑工程有限公司",
                "上海市浦东新区鑫华建筑工程有限公司",
            ),
            // Another district of the same city.
            (
                "静安区鑫华建筑工程有限公司",
                "上海市浦东新区鑫华建筑工程有限公司",
            ),
            // Another industry.
            ("鑫华餐饮有限公司", "上海鑫华建筑工程有限公司"),
        ];
        for (weak, strong) in apart {
            assert!(!sh_fits(weak, strong), "{weak} must not fit {strong}");
        }
        // A name without its division fits only within the division's party.
        let d = divisions();
        assert!(!fits(
            &match_name("鑫华建筑工程有限公司", &d),
            Party::Jiangsu,
            &match_name("上海鑫华建筑工程有限公司", &d)
        ));
        assert!(fits(
            &match_name("鑫华建筑工程有限公司", &d),
            Party::Jiangsu,
            &match_name("南京鑫华建筑工程有限公司", &d)
        ));
        // A whole name fits in any party (as before: one enterprise, penalized anywhere).
        assert!(fits(
            &match_name("上海鑫华建筑工程有限责任公司", &d),
            Party::Zhejiang,
            &match_name("上海鑫华建筑工程有限公司", &d)
        ));
    }

    proptest! {
        #[test]
        fn keys_are_fixpoints(s in "\\PC{0,30}|[ 　（）上海市南京浦东新区鑫華华有限責任公司股份分]{0,24}") {
            let d = divisions();
            let once = match_name(&s, &d);
            prop_assert_eq!(&match_key(&once.key), &once.key);
            prop_assert_eq!(match_name(&once.key, &d), once);
        }

        #[test]
        fn one_character_of_the_trade_name_keeps_names_apart(
            a in "[鑫荣盛达华兴隆昌]{2}",
            b in "[鑫荣盛达华兴隆昌]{2}",
        ) {
            prop_assume!(a != b);
            let strong = format!("上海{a}建筑工程有限公司");
            for weak in [format!("上海{b}建筑工程有限公司"), format!("{b}建筑工程有限公司")] {
                prop_assert!(!sh_fits(&weak, &strong), "{} / {}", weak, strong);
            }
        }
    }
}
