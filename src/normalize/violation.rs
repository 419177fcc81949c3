//! The violation-type catalogue (`config/catalog.toml`): the urban-management violations of the
//! four parties' penalty-power lists as one common list of types, the statutes whose provisions
//! penalize each, and each party's own names — so that the same act is recognised across a
//! border and the joint-discipline rules, conflicts and first-violation checks speak of one set
//! of types.
//!
//! Pure: parsing takes the file's text; [`Catalog::classify`] takes the deciding authority's
//! party, the record's 违法行为类型 and its 处罚依据.
//!
//! Match order ([`Catalog::classify`]): the provisions the 处罚依据 cites (narrowed by the text
//! when an article covers several acts) → the party's mapping of the exact text → a type's name
//! or alias → the longest keyword found in the text. The answer says how it matched and which
//! provision matched.
//!
//! Invariants (checked by [`Catalog::parse`], with the entry named on failure): codes are unique
//! snake_case words; a folded name, alias, keyword or party mapping names one type only; every
//! mapping names an existing code; every provision parses into one citation of a declared
//! statute; no provision is claimed by two types unless its clause or item tells them apart.

use super::legal_basis::{self, Citation, fold_statute};
use super::text::fold_name;
use crate::domain::party::Party;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The built-in copy of `config/catalog.toml`, used when no `catalog_file` is configured.
pub const BUILT_IN: &str = include_str!("../../config/catalog.toml");

/// One type of the common catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationType {
    /// Stable code (`construction_waste_dumping`).
    pub code: String,
    /// Group the rules treat together (`construction_waste`).
    pub group: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Other exact names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Words whose presence in a type's text maps it here (the longest found wins).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The provisions that prohibit or penalize the act (`《城乡规划法》第六十四条`).
    #[serde(default)]
    pub provisions: Vec<String>,
}

/// A statute the catalogue's provisions cite.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statute {
    /// Stable snake_case id.
    pub id: String,
    /// The full name, without 《》, 中华人民共和国 or revision note.
    pub name: String,
    /// `national`, or the party whose local law it is.
    pub scope: String,
    /// Short names units write (`固废法`), resolved within the scope.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The text the articles were taken from (document number, revision).
    #[serde(default)]
    pub source: String,
}

/// A provision that penalizes several acts of the catalogue in one breath (one clause, no
/// items): every listed type claims it, and the record's text decides among them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedProvision {
    /// The provision, as a type's `provisions` entry.
    pub provision: String,
    /// The types it penalizes (at least two).
    pub types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    statutes: Vec<Statute>,
    types: Vec<ViolationType>,
    #[serde(default)]
    shared: Vec<SharedProvision>,
    #[serde(default)]
    mappings: BTreeMap<String, BTreeMap<String, String>>,
}

/// How a violation type was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchedBy {
    /// A provision cited in 处罚依据.
    LegalBasis,
    /// The party's own mapping table.
    PartyMapping,
    /// The type's name or an alias.
    Alias,
    /// A keyword of the type.
    Keyword,
}

impl MatchedBy {
    /// Every way, in match order.
    pub const ALL: [MatchedBy; 4] = [
        MatchedBy::LegalBasis,
        MatchedBy::PartyMapping,
        MatchedBy::Alias,
        MatchedBy::Keyword,
    ];

    /// snake_case name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::LegalBasis => "legal_basis",
            MatchedBy::PartyMapping => "party_mapping",
            MatchedBy::Alias => "alias",
            MatchedBy::Keyword => "keyword",
        }
    }

    /// The way named by [`MatchedBy::as_str`].
    pub fn parse(s: &str) -> Option<MatchedBy> {
        MatchedBy::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A record's place in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification<'a> {
    /// The type.
    pub violation: &'a ViolationType,
    /// How it was found.
    pub matched_by: MatchedBy,
    /// The catalogue's provision that matched the 处罚依据 (`matched_by` = `legal_basis`).
    pub provision: Option<String>,
}

/// A catalogue that failed its checks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// Not TOML of the expected shape.
    #[error("catalogue is not valid: {0}")]
    Syntax(String),
    /// A check of the module docs failed.
    #[error("catalogue is not valid: {0}")]
    Invalid(String),
}

/// A type's claim on (part of) an article.
#[derive(Debug, Clone)]
struct Claim {
    type_index: usize,
    clause: Option<u32>,
    item: Option<u32>,
    shown: String,
    /// The `[[shared]]` entry it comes from: claims of one entry may overlap.
    shared: Option<usize>,
}

/// The loaded catalogue.
#[derive(Debug, Clone)]
pub struct Catalog {
    types: Vec<ViolationType>,
    statutes: Vec<Statute>,
    by_name: HashMap<String, usize>,
    keywords: Vec<(usize, String)>,
    /// Every keyword at once (pattern i = `keywords[i]`): one pass over a text finds them all.
    keyword_scan: Option<aho_corasick::AhoCorasick>,
    /// Each type's name and aliases, folded (for the similarity fallback).
    folded_names: Vec<Vec<String>>,
    mappings: HashMap<(Party, String), usize>,
    /// Folded full statute names → statute.
    statute_names: HashMap<String, usize>,
    /// (scope: `None` national, a party local) and folded alias → statute.
    statute_aliases: HashMap<(Option<Party>, String), usize>,
    /// (statute, article) → the types claiming it.
    claims: HashMap<(usize, u32), Vec<Claim>>,
}

/// Folds a violation-type text for matching: [`fold_name`], and the wrapper of a power-list
/// item name removed (`对擅自占用城市道路从事经营活动的行政处罚` → `擅自占用城市道路从事经营活动`).
pub fn fold_violation(text: &str) -> String {
    let mut s = fold_name(text);
    for suffix in ["的行政处罚", "行为的处罚", "的处罚", "的行为", "行为"] {
        if let Some(rest) = s.strip_suffix(suffix)
            && !rest.is_empty()
        {
            s = rest.to_owned();
            if let Some(rest) = s.strip_prefix('对')
                && !rest.is_empty()
            {
                s = rest.to_owned();
            }
            break;
        }
    }
    s
}

/// Whether two claims on one article can be told apart by their clause or item.
fn distinguishable(a: &Claim, b: &Claim) -> bool {
    matches!((a.clause, b.clause), (Some(x), Some(y)) if x != y)
        || matches!((a.item, b.item), (Some(x), Some(y)) if x != y)
}

/// How well a claim fits a citation: `None` when its clause or item contradicts; else 1 for
/// the article, one more for each of clause and item named alike by both.
fn fit(c: &Citation, claim: &Claim) -> Option<u8> {
    let agree = |a: Option<u32>, b: Option<u32>| a.is_none() || b.is_none() || a == b;
    if !agree(c.clause, claim.clause) || !agree(c.item, claim.item) {
        return None;
    }
    let same = |a: Option<u32>, b: Option<u32>| u8::from(a.is_some() && a == b);
    Some(1 + same(c.clause, claim.clause) + same(c.item, claim.item))
}

/// Dice coefficient of the character bigrams of two texts (0 … 1).
fn bigram_similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| {
        let cs: Vec<char> = s.chars().collect();
        cs.windows(2)
            .map(|w| w.iter().collect::<String>())
            .collect::<Vec<_>>()
    };
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let mut rest = gb.clone();
    let mut shared = 0usize;
    for g in &ga {
        if let Some(at) = rest.iter().position(|x| x == g) {
            rest.swap_remove(at);
            shared += 1;
        }
    }
    (2 * shared) as f64 / (ga.len() + gb.len()) as f64
}

impl Catalog {
    /// The built-in catalogue.
    pub fn built_in() -> Result<Catalog, CatalogError> {
        Catalog::parse(BUILT_IN)
    }

    /// The built-in catalogue parsed once per test binary: parsing and indexing it takes about
    /// half a second in a debug build, too long to repeat in every property-test case.
    #[cfg(test)]
    pub(crate) fn for_tests() -> std::sync::Arc<Catalog> {
        static SHARED: std::sync::LazyLock<std::sync::Arc<Catalog>> =
            std::sync::LazyLock::new(|| {
                std::sync::Arc::new(Catalog::built_in().expect("the built-in catalogue"))
            });
        SHARED.clone()
    }

    /// Parses and checks a catalogue file's text.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile =
            toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        let invalid = |m: String| Err(CatalogError::Invalid(m));
        if file.types.is_empty() {
            return invalid("no [[types]]".into());
        }
        let snake = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let mut statute_names = HashMap::new();
        let mut statute_aliases = HashMap::new();
        let mut statute_ids = HashMap::new();
        for (i, s) in file.statutes.iter().enumerate() {
            if !snake(&s.id) {
                return invalid(format!("statute {:?}: id must be snake_case ASCII", s.id));
            }
            if statute_ids.insert(s.id.clone(), i).is_some() {
                return invalid(format!("statute id {:?} appears twice", s.id));
            }
            let scope = match s.scope.as_str() {
                "national" => None,
                other => match other.parse::<Party>() {
                    Ok(p) => Some(p),
                    Err(_) => {
                        return invalid(format!(
                            "statute {:?}: scope {:?}, expected national, SH, JS, ZJ or AH",
                            s.id, s.scope
                        ));
                    }
                },
            };
            let name = fold_statute(&s.name);
            if name.is_empty() {
                return invalid(format!("statute {:?} has a blank name", s.id));
            }
            if statute_names.insert(name, i).is_some() {
                return invalid(format!(
                    "statute {:?}: name {:?} appears twice",
                    s.id, s.name
                ));
            }
            for a in &s.aliases {
                let folded = fold_statute(a);
                if folded.is_empty() {
                    return invalid(format!("statute {:?} has a blank alias", s.id));
                }
                if let Some(other) = statute_aliases.insert((scope, folded), i)
                    && other != i
                {
                    return invalid(format!(
                        "statute alias {a:?} names two statutes ({:?} and {:?})",
                        file.statutes.get(other).map(|o| o.id.as_str()),
                        s.id
                    ));
                }
            }
        }
        let mut codes = HashMap::new();
        let mut by_name = HashMap::new();
        let mut keywords = Vec::new();
        let mut keyword_owner: HashMap<String, usize> = HashMap::new();
        let mut claims: HashMap<(usize, u32), Vec<Claim>> = HashMap::new();
        let mut catalog = Catalog {
            types: Vec::new(),
            statutes: file.statutes.clone(),
            by_name: HashMap::new(),
            keywords: Vec::new(),
            keyword_scan: None,
            folded_names: Vec::new(),
            mappings: HashMap::new(),
            statute_names,
            statute_aliases,
            claims: HashMap::new(),
        };
        for (i, t) in file.types.iter().enumerate() {
            if !snake(&t.code) || !snake(&t.group) {
                return invalid(format!(
                    "type {:?} (group {:?}): code and group must be snake_case ASCII",
                    t.code, t.group
                ));
            }
            if codes.insert(t.code.clone(), i).is_some() {
                return invalid(format!("code {:?} appears twice", t.code));
            }
            for name in std::iter::once(&t.name).chain(&t.aliases) {
                let folded = fold_violation(name);
                if folded.is_empty() {
                    return invalid(format!("type {:?} has a blank name or alias", t.code));
                }
                if let Some(other) = by_name.insert(folded, i)
                    && other != i
                {
                    return invalid(format!(
                        "name or alias {name:?} names two types ({:?} and {:?})",
                        file.types.get(other).map(|o| o.code.as_str()),
                        t.code
                    ));
                }
            }
            for k in &t.keywords {
                let folded = fold_name(k);
                if folded.is_empty() {
                    return invalid(format!("type {:?} has a blank keyword", t.code));
                }
                if let Some(&other) = keyword_owner.get(&folded)
                    && other != i
                {
                    return invalid(format!(
                        "keyword {k:?} names two types ({:?} and {:?})",
                        file.types.get(other).map(|o| o.code.as_str()),
                        t.code
                    ));
                }
                keyword_owner.insert(folded.clone(), i);
                keywords.push((i, folded));
            }
            for p in &t.provisions {
                catalog.claim(
                    &mut claims,
                    &file.statutes,
                    i,
                    &t.code,
                    p,
                    None,
                    &file.types,
                )?;
            }
        }
        for (n, sh) in file.shared.iter().enumerate() {
            if sh.types.len() < 2 {
                return invalid(format!(
                    "[[shared]] {:?}: a shared provision names at least two types",
                    sh.provision
                ));
            }
            for code in &sh.types {
                let Some(&i) = codes.get(code) else {
                    return invalid(format!(
                        "[[shared]] {:?} names the unknown code {code:?}",
                        sh.provision
                    ));
                };
                catalog.claim(
                    &mut claims,
                    &file.statutes,
                    i,
                    code,
                    &sh.provision,
                    Some(n),
                    &file.types,
                )?;
            }
        }
        let mut mappings = HashMap::new();
        for (party, table) in &file.mappings {
            let Ok(p) = party.parse::<Party>() else {
                return invalid(format!(
                    "[mappings.{party}]: expected one of SH, JS, ZJ, AH"
                ));
            };
            for (key, code) in table {
                let Some(&i) = codes.get(code) else {
                    return invalid(format!(
                        "[mappings.{party}] {key:?} names the unknown code {code:?}"
                    ));
                };
                let folded = fold_violation(key);
                if folded.is_empty() {
                    return invalid(format!("[mappings.{party}] has a blank key"));
                }
                if mappings.insert((p, folded), i).is_some() {
                    return invalid(format!(
                        "[mappings.{party}] {key:?} appears twice after folding"
                    ));
                }
            }
        }
        catalog.keyword_scan = Some(
            aho_corasick::AhoCorasick::new(keywords.iter().map(|(_, k)| k.as_str())).map_err(
                |e| CatalogError::Invalid(format!("the keywords cannot be searched: {e}")),
            )?,
        );
        catalog.folded_names = file
            .types
            .iter()
            .map(|t| {
                std::iter::once(&t.name)
                    .chain(&t.aliases)
                    .map(|n| fold_violation(n))
                    .collect()
            })
            .collect();
        catalog.types = file.types;
        catalog.by_name = by_name;
        catalog.keywords = keywords;
        catalog.mappings = mappings;
        catalog.claims = claims;
        Ok(catalog)
    }

    /// Records type `i`'s claim on provision `p` (from `[[shared]]` entry `shared`), checking
    /// that it parses into one citation of a declared statute and that no other type claims
    /// the same part of the article (module docs).
    #[expect(
        clippy::too_many_arguments,
        reason = "one check, called from two places"
    )]
    fn claim(
        &self,
        claims: &mut HashMap<(usize, u32), Vec<Claim>>,
        statutes: &[Statute],
        i: usize,
        code: &str,
        p: &str,
        shared: Option<usize>,
        types: &[ViolationType],
    ) -> Result<(), CatalogError> {
        let invalid = |m: String| Err(CatalogError::Invalid(m));
        let cited = legal_basis::parse(p);
        let [c] = cited.as_slice() else {
            return invalid(format!(
                "type {code:?}: provision {p:?} must cite exactly one article of one statute \
                 (found {})",
                cited.len()
            ));
        };
        let Some(s) = self.statute(None, &c.statute) else {
            return invalid(format!(
                "type {code:?}: provision {p:?} cites {:?}, which no [[statutes]] entry names",
                c.statute
            ));
        };
        let name = statutes
            .get(s)
            .map(|s| fold_statute(&s.name))
            .unwrap_or_default();
        let claim = Claim {
            type_index: i,
            clause: c.clause,
            item: c.item,
            shown: Citation {
                statute: name,
                ..c.clone()
            }
            .to_string(),
            shared,
        };
        let on = claims.entry((s, c.article)).or_default();
        if let Some(other) = on.iter().find(|o| {
            o.type_index != i
                && (o.shared.is_none() || o.shared != shared)
                && !distinguishable(o, &claim)
        }) {
            return invalid(format!(
                "provision {p:?} of type {code:?} is also claimed by type {:?} ({}); give each \
                 the clause or item that tells them apart, or list both in one [[shared]] entry",
                types.get(other.type_index).map(|o| o.code.as_str()),
                other.shown
            ));
        }
        on.push(claim);
        Ok(())
    }

    /// Every type, in file order.
    pub fn types(&self) -> &[ViolationType] {
        &self.types
    }

    /// Every statute, in file order.
    pub fn statutes(&self) -> &[Statute] {
        &self.statutes
    }

    /// The type with this code.
    pub fn get(&self, code: &str) -> Option<&ViolationType> {
        self.types.iter().find(|t| t.code == code)
    }

    /// The statute a folded cited name means for a record of `party` (`None`: any party):
    /// its full name, else a short name of that party's law, else of national law.
    fn statute(&self, party: Option<Party>, cited: &str) -> Option<usize> {
        if let Some(&i) = self.statute_names.get(cited) {
            return Some(i);
        }
        let alias = |scope| {
            self.statute_aliases
                .get(&(scope, cited.to_owned()))
                .copied()
        };
        match party {
            Some(p) => alias(Some(p)).or_else(|| alias(None)),
            None => alias(None).or_else(|| Party::ALL.into_iter().find_map(|p| alias(Some(p)))),
        }
    }

    /// The types the 处罚依据 points to, best fit first: (type, fit, provision shown).
    fn by_provisions(&self, party: Party, legal_basis: &str) -> Vec<(usize, u8, &str)> {
        let mut best: BTreeMap<usize, (u8, &str)> = BTreeMap::new();
        for c in legal_basis::parse(legal_basis) {
            let Some(s) = self.statute(Some(party), &c.statute) else {
                continue;
            };
            for claim in self.claims.get(&(s, c.article)).into_iter().flatten() {
                if let Some(f) = fit(&c, claim) {
                    let e = best
                        .entry(claim.type_index)
                        .or_insert((0, claim.shown.as_str()));
                    if f > e.0 {
                        *e = (f, claim.shown.as_str());
                    }
                }
            }
        }
        let mut out: Vec<(usize, u8, &str)> = best
            .into_iter()
            .map(|(i, (f, shown))| (i, f, shown))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The type a text names, among `allowed` types (`None`: all): party mapping, name or
    /// alias, then the longest keyword.
    fn by_text(
        &self,
        party: Party,
        folded: &str,
        allowed: Option<&[usize]>,
    ) -> Option<(usize, MatchedBy)> {
        let ok = |i: &usize| allowed.is_none_or(|a| a.contains(i));
        if folded.is_empty() {
            return None;
        }
        if let Some(&i) = self.mappings.get(&(party, folded.to_owned()))
            && ok(&i)
        {
            return Some((i, MatchedBy::PartyMapping));
        }
        if let Some(&i) = self.by_name.get(folded)
            && ok(&i)
        {
            return Some((i, MatchedBy::Alias));
        }
        // The longest keyword found wins; among equally long ones, the type first in the file.
        let mut found: Option<(usize, usize)> = None;
        let scan = self.keyword_scan.as_ref()?;
        for m in scan.find_overlapping_iter(folded) {
            let Some((i, k)) = self.keywords.get(m.pattern().as_usize()) else {
                continue;
            };
            if !ok(i) {
                continue;
            }
            let len = k.chars().count();
            if found.is_none_or(|(j, l)| len > l || (len == l && *i < j)) {
                found = Some((*i, len));
            }
        }
        found.map(|(i, _)| (i, MatchedBy::Keyword))
    }

    /// The candidate among `among` whose names read most like the text, when one clearly does.
    fn most_like(&self, folded: &str, among: &[usize]) -> Option<usize> {
        let mut scored: Vec<(f64, usize)> = among
            .iter()
            .filter_map(|&i| {
                let s = self
                    .folded_names
                    .get(i)?
                    .iter()
                    .map(|n| bigram_similarity(folded, n))
                    .fold(0.0, f64::max);
                Some((s, i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        match scored.as_slice() {
            [(s, i)] if *s > 0.0 => Some(*i),
            [(s1, i), (s2, _), ..] if *s1 > 0.0 && *s1 > *s2 => Some(*i),
            _ => None,
        }
    }

    /// Places a record of a unit of `party` in the catalogue by its 违法行为类型 and 处罚依据
    /// (module docs give the order); `None` when nothing matches.
    ///
    /// When the text names a type exactly (party mapping, name, alias) and the citation points
    /// elsewhere, the text wins: it was chosen for this record, while a 处罚依据 is often filled
    /// from a template or cites a general article. When they agree, the match is by legal basis
    /// (with its provision).
    pub fn classify(
        &self,
        party: Party,
        violation_type: &str,
        legal_basis: &str,
    ) -> Option<Classification<'_>> {
        let folded = fold_violation(violation_type);
        let cited = self.by_provisions(party, legal_basis);
        let found = |i: usize, by: MatchedBy, provision: Option<&str>| {
            self.types.get(i).map(|t| Classification {
                violation: t,
                matched_by: by,
                provision: provision.map(str::to_owned),
            })
        };
        let shown = |i: usize| cited.iter().find(|c| c.0 == i).map(|c| c.2);
        let exact = self
            .by_text(party, &folded, None)
            .filter(|(_, by)| *by != MatchedBy::Keyword);
        if let Some(&(first, top, _)) = cited.first() {
            if let Some((i, by)) = exact {
                return match shown(i) {
                    Some(p) => found(i, MatchedBy::LegalBasis, Some(p)),
                    None => found(i, by, None),
                };
            }
            let best: Vec<usize> = cited.iter().filter(|c| c.1 == top).map(|c| c.0).collect();
            if best.len() == 1 {
                return found(first, MatchedBy::LegalBasis, shown(first));
            }
            // One article, several acts: the text says which.
            let all: Vec<usize> = cited.iter().map(|c| c.0).collect();
            for among in [&best, &all] {
                if let Some((i, _)) = self.by_text(party, &folded, Some(among)) {
                    return found(i, MatchedBy::LegalBasis, shown(i));
                }
            }
            if let Some(i) = self.most_like(&folded, &best) {
                return found(i, MatchedBy::LegalBasis, shown(i));
            }
        }
        let (i, by) = self.by_text(party, &folded, None)?;
        found(i, by, None)
    }

    /// Maps a violation type written by a unit of `party` by its text alone (no 处罚依据).
    pub fn map(&self, party: Party, violation_type: &str) -> Option<(&ViolationType, MatchedBy)> {
        self.classify(party, violation_type, "")
            .map(|c| (c.violation, c.matched_by))
    }
}

/// The key two records' violation types are compared by: the catalogue code when mapped,
/// else `text:` and the folded text as given.
pub fn comparison_key(code: Option<&str>, violation_type: &str) -> String {
    match code {
        Some(code) => code.to_owned(),
        None => format!("text:{}", fold_name(violation_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn catalog() -> std::sync::Arc<Catalog> {
        Catalog::for_tests()
    }

    #[test]
    fn the_shipped_catalogue_loads_and_covers_the_field() {
        let c = catalog();
        assert!(c.types().len() > 100, "{} types", c.types().len());
        // Codes the rules, the first-violation list and stored data speak of stay.
        for code in [
            "construction_waste_transport",
            "construction_waste_dumping",
            "construction_waste_spill",
            "illegal_construction",
            "road_occupation_business",
            "road_occupation",
            "outdoor_advertising",
            "household_waste_sorting",
            "greening_damage",
            "posting_graffiti",
            "catering_fumes",
            "open_burning",
            "construction_noise",
            "sewage_discharge",
            "littering_sanitation",
        ] {
            assert!(c.get(code).is_some(), "{code}");
        }
        // Every type whose name speaks of construction waste is in the rules' group.
        for t in c.types() {
            if ["建筑垃圾", "渣土", "装修垃圾"]
                .iter()
                .any(|w| t.name.contains(w))
            {
                assert_eq!(t.group, "construction_waste", "{}", t.code);
            }
        }
    }

    /// A small catalogue that shows each step of the match order.
    const SMALL: &str = r#"
[[statutes]]
id = "roads"
name = "城市道路管理条例"
scope = "national"
aliases = ["道路条例"]

[[statutes]]
id = "sh_appearance"
name = "上海市市容环境卫生管理条例"
scope = "SH"
aliases = ["市容条例"]

[[types]]
code = "road_trading"
group = "city_appearance"
name = "擅自占用城市道路从事经营活动"
name_en = "Trading on roads"
aliases = ["占道经营"]
keywords = ["摆摊", "设摊"]

[[types]]
code = "road_stacking"
group = "city_appearance"
name = "擅自占用城市道路堆放物料"
name_en = "Stacking on roads"
keywords = ["堆物", "堆放物料"]

[[types]]
code = "road_digging"
group = "municipal"
name = "擅自挖掘城市道路"
name_en = "Digging up roads"
keywords = ["挖掘"]
provisions = ["《城市道路管理条例》第二十七条第（一）项"]

[[types]]
code = "road_building"
group = "municipal"
name = "擅自在城市道路上建设建筑物、构筑物"
name_en = "Building on roads"
provisions = ["《城市道路管理条例》第二十七条第（四）项"]

[[types]]
code = "shop_outside"
group = "city_appearance"
name = "超出门窗经营"
name_en = "Trading outside the shop"
aliases = ["跨门营业"]
provisions = ["《上海市市容环境卫生管理条例》第二十一条第二款"]

[[shared]]
provision = "《上海市市容环境卫生管理条例》第二十一条第一款"
types = ["road_trading", "road_stacking"]

[mappings.SH]
"SH-0117" = "road_stacking"
"#;

    #[test]
    fn the_match_order_is_legal_basis_mapping_alias_keyword() {
        let c = Catalog::parse(SMALL).unwrap();
        let got = |p: Party, t: &str, b: &str| {
            c.classify(p, t, b)
                .map(|x| (x.violation.code.as_str(), x.matched_by, x.provision))
        };
        use MatchedBy::*;
        // A vague text, a precise citation: the citation decides, with its provision.
        assert_eq!(
            got(
                Party::Anhui,
                "违反道路管理规定",
                "依据《中华人民共和国城市道路管理条例》第二十七条第四项"
            ),
            Some((
                "road_building",
                LegalBasis,
                Some("《城市道路管理条例》第27条第(4)项".into())
            ))
        );
        // A short name of the statute, resolved by the catalogue.
        assert_eq!(
            got(
                Party::Anhui,
                "违反道路管理规定",
                "《道路条例》第二十七条（一）"
            )
            .map(|x| x.0),
            Some("road_digging")
        );
        // The article without its item: two candidates, the text's keyword decides.
        assert_eq!(
            got(
                Party::Jiangsu,
                "擅自挖掘人行道",
                "《城市道路管理条例》第二十七条"
            )
            .map(|x| (x.0, x.1)),
            Some(("road_digging", LegalBasis))
        );
        // A contradicting item rules a type out: item 4 is not digging, whatever the text.
        assert_eq!(
            got(
                Party::Jiangsu,
                "擅自挖掘",
                "《城市道路管理条例》第二十七条第（四）项"
            )
            .map(|x| x.0),
            Some("road_building")
        );
        // A shared clause: the text decides between the acts it penalizes.
        assert_eq!(
            got(
                Party::Shanghai,
                "在人行道上摆摊",
                "《上海市市容环境卫生管理条例》第二十一条第一款"
            )
            .map(|x| (x.0, x.1)),
            Some(("road_trading", LegalBasis))
        );
        assert_eq!(
            got(Party::Shanghai, "沿街堆物", "《市容条例》第二十一条第一款").map(|x| x.0),
            Some("road_stacking")
        );
        // An exact name that disagrees with the citation wins; one that agrees is a legal-basis
        // match.
        assert_eq!(
            got(
                Party::Shanghai,
                "跨门营业",
                "《城市道路管理条例》第二十七条第（一）项"
            )
            .map(|x| (x.0, x.1)),
            Some(("shop_outside", Alias))
        );
        assert_eq!(
            got(
                Party::Shanghai,
                "跨门营业",
                "《上海市市容环境卫生管理条例》第二十一条第二款"
            )
            .map(|x| (x.0, x.1)),
            Some(("shop_outside", LegalBasis))
        );
        // No citation of a known statute: mapping, alias, keyword, in that order.
        assert_eq!(
            got(Party::Shanghai, "SH-0117", "").map(|x| (x.0, x.1)),
            Some(("road_stacking", PartyMapping))
        );
        assert_eq!(got(Party::Jiangsu, "SH-0117", ""), None);
        assert_eq!(
            got(
                Party::Jiangsu,
                "对擅自占用城市道路从事经营活动的行政处罚",
                "《某某办法》第九条"
            )
            .map(|x| (x.0, x.1)),
            Some(("road_trading", Alias))
        );
        assert_eq!(
            got(Party::Zhejiang, "流动设摊", "").map(|x| (x.0, x.1)),
            Some(("road_trading", Keyword))
        );
        // The longest keyword wins: 堆放物料 (4) over 设摊 (2).
        assert_eq!(
            got(Party::Zhejiang, "设摊处堆放物料", "").map(|x| x.0),
            Some("road_stacking")
        );
        assert_eq!(
            got(
                Party::Shanghai,
                "违反动物防疫规定",
                "《动物防疫法》第九十二条"
            ),
            None
        );
        assert_eq!(got(Party::Shanghai, "  ", ""), None);
    }

    #[test]
    fn names_aliases_keywords_and_party_mappings_map() {
        let c = catalog();
        let code = |p, t| c.map(p, t).map(|(t, by)| (t.code.as_str(), by));
        use MatchedBy::*;
        assert_eq!(
            code(Party::Jiangsu, "擅自倾倒建筑垃圾"),
            Some(("construction_waste_dumping", Alias))
        );
        assert_eq!(
            code(Party::Shanghai, "未经许可运输建筑垃圾"),
            Some(("construction_waste_transport", Alias))
        );
        assert_eq!(
            code(Party::Anhui, "运输建筑垃圾途中撒漏").map(|x| x.0),
            Some("construction_waste_spill")
        );
        assert_eq!(
            code(Party::Zhejiang, "当事人擅自搭建彩钢板房").map(|x| x.0),
            Some("illegal_construction")
        );
        // The statute's words for 占道经营 are 占道经营, not road occupation.
        assert_eq!(
            code(Party::Shanghai, "擅自占用城市道路从事经营活动").map(|x| x.0),
            Some("road_occupation_business")
        );
        assert_eq!(code(Party::Shanghai, "违反动物防疫规定"), None);
        assert_eq!(code(Party::Shanghai, "  "), None);
    }

    #[test]
    fn width_bracket_and_space_variants_map_alike() {
        let c = catalog();
        let key = |t: &str| {
            let code = c.map(Party::Zhejiang, t).map(|(t, _)| t.code.as_str());
            comparison_key(code, t)
        };
        assert_eq!(key("擅自搭建建（构）筑物"), key("擅自搭建建(构)筑物 "));
        assert_eq!(key("违反动物 防疫规定"), "text:违反动物防疫规定");
    }

    #[test]
    fn bad_catalogues_are_refused_with_the_reason() {
        let one = |extra: &str| {
            format!(
                "[[types]]\ncode = \"a\"\ngroup = \"g\"\nname = \"甲\"\nname_en = \"A\"\n{extra}"
            )
        };
        assert!(Catalog::parse(&one("")).is_ok());
        let twice = format!(
            "{}\n[[types]]\ncode = \"a\"\ngroup = \"g\"\nname = \"乙\"\nname_en = \"B\"\n",
            one("")
        );
        assert!(
            matches!(Catalog::parse(&twice), Err(CatalogError::Invalid(m)) if m.contains("twice"))
        );
        let clash = format!(
            "{}\n[[types]]\ncode = \"b\"\ngroup = \"g\"\nname = \"甲\"\nname_en = \"B\"\n",
            one("")
        );
        assert!(
            matches!(Catalog::parse(&clash), Err(CatalogError::Invalid(m)) if m.contains("two types"))
        );
        let unknown = format!("{}\n[mappings.SH]\n\"丙\" = \"zzz\"\n", one(""));
        assert!(
            matches!(Catalog::parse(&unknown), Err(CatalogError::Invalid(m)) if m.contains("unknown code"))
        );
        let party = format!("{}\n[mappings.XX]\n\"丙\" = \"a\"\n", one(""));
        assert!(
            matches!(Catalog::parse(&party), Err(CatalogError::Invalid(m)) if m.contains("SH, JS"))
        );
        assert!(matches!(
            Catalog::parse(&one("colour = 1")),
            Err(CatalogError::Syntax(_))
        ));
        assert!(Catalog::parse(&one("").replace("\"a\"", "\"A-1\"")).is_err());
        // Provisions: a declared statute, one article each, no two types on the same part.
        let refused = |text: &str, why: &str| match Catalog::parse(text) {
            Err(CatalogError::Invalid(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("accepted or wrong error: {other:?}"),
        };
        let statute = "[[statutes]]\nid = \"s\"\nname = \"某某条例\"\nscope = \"national\"\n";
        let with = |p: &str| format!("{statute}{}", one(&format!("provisions = [\"{p}\"]")));
        assert!(Catalog::parse(&with("《某某条例》第三条")).is_ok());
        refused(&with("《别的条例》第三条"), "no [[statutes]] entry");
        refused(&with("《某某条例》第三条、第四条"), "exactly one article");
        refused(&with("某某条例"), "exactly one article");
        let b = |p: &str| {
            format!(
                "\n[[types]]\ncode = \"b\"\ngroup = \"g\"\nname = \"乙\"\nname_en = \"B\"\n\
                 provisions = [\"{p}\"]\n"
            )
        };
        refused(
            &format!(
                "{}{}",
                with("《某某条例》第三条"),
                b("《某某条例》第三条第（一）项")
            ),
            "also claimed by type",
        );
        assert!(
            Catalog::parse(&format!(
                "{}{}",
                with("《某某条例》第三条第（二）项"),
                b("《某某条例》第三条第（一）项")
            ))
            .is_ok()
        );
        let shared = |types: &str| {
            format!(
                "{statute}{}{}\n[[shared]]\nprovision = \"《某某条例》第五条\"\ntypes = {types}\n",
                one(""),
                b("《某某条例》第九条")
            )
        };
        assert!(Catalog::parse(&shared("[\"a\", \"b\"]")).is_ok());
        refused(&shared("[\"a\"]"), "at least two types");
        refused(&shared("[\"a\", \"zzz\"]"), "unknown code");
        refused(
            &format!(
                "{statute}{}{}",
                one("aliases = [\"x\"]\nkeywords = [\"丙丙\"]"),
                b("《某某条例》第九条").replace("provisions", "keywords = [\"丙丙\"]\nprovisions")
            ),
            "keyword",
        );
        refused(
            &format!("{}{}", statute.replace("national", "XX"), one("")),
            "expected national, SH",
        );
    }

    proptest! {
        /// Mapping ignores widths, brackets and whitespace, and is deterministic.
        #[test]
        fn mapping_is_stable_under_folding(
            i in 0usize..1000,
            spaces in proptest::collection::vec(0usize..8, 0..3),
            party in 0usize..4,
        ) {
            let c = catalog();
            let t = &c.types()[i % c.types().len()];
            let party = Party::ALL[party];
            let mut variant: Vec<char> = t.name.chars().collect();
            for s in spaces {
                let at = s.min(variant.len());
                variant.insert(at, ' ');
            }
            let variant: String = variant.into_iter().collect::<String>()
                .replace('(', "（").replace(')', "）");
            let direct = c.map(party, &t.name).map(|(t, _)| t.code.clone());
            let folded = c.map(party, &variant).map(|(t, _)| t.code.clone());
            prop_assert_eq!(direct.clone(), folded);
            // A type's own name always maps to the type.
            prop_assert_eq!(direct, Some(t.code.clone()));
        }

        /// A type's own provision, written as units vary it (the 中华人民共和国 prefix, spaces,
        /// full-width digits, a trailing 之规定), with the type's own name, places the record
        /// in that type by its legal basis; and classifying is deterministic.
        #[test]
        fn a_types_own_provision_places_it(
            i in 0usize..1000,
            prefix in proptest::bool::ANY,
            spaced in proptest::bool::ANY,
            wide in proptest::bool::ANY,
            party in 0usize..4,
        ) {
            let c = catalog();
            let with: Vec<&ViolationType> =
                c.types().iter().filter(|t| !t.provisions.is_empty()).collect();
            prop_assume!(!with.is_empty());
            let t = with[i % with.len()];
            let cited = legal_basis::parse(&t.provisions[0]);
            let mut text = cited[0].to_string();
            if prefix {
                text = text.replacen('《', "《中华人民共和国", 1);
            }
            if spaced {
                text = text.replace('第', "第 ");
            }
            if wide {
                text = text.chars().map(|ch| match ch {
                    '0'..='9' => char::from_u32(ch as u32 - '0' as u32 + 0xFF10).unwrap(),
                    other => other,
                }).collect();
            }
            text.push_str("之规定");
            let party = Party::ALL[party];
            let got = c.classify(party, &t.name, &text).unwrap();
            prop_assert_eq!(&got.violation.code, &t.code);
            prop_assert_eq!(got.matched_by, MatchedBy::LegalBasis);
            prop_assert_eq!(c.classify(party, &t.name, &text), Some(got));
        }
    }
}
