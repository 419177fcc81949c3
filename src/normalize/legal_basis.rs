//! 处罚依据 (`CF_YJ`) → the provisions it cites: `《上海市市容环境卫生管理条例》第二十五条第五款、
//! 《中华人民共和国城乡规划法》第六十四条` → (上海市市容环境卫生管理条例, 25, 5, –), (城乡规划法, 64, –, –).
//!
//! Pure and total: any text parses (into zero or more citations), nothing panics. Statute names
//! come out folded by [`fold_statute`] but not resolved: short names (`固废法`) are the
//! catalogue's business ([`super::violation`]).
//!
//! What the parser understands, as units write it:
//! - statute names in 《》 or bare before `第` when they end like a statute (法, 条例, 规定, 办法,
//!   细则, 规则, 决定, 意见, 通知); a leading 中华人民共和国 and a trailing revision note
//!   (`（2019年修正）`) are dropped;
//! - `第N条`, `第N款`, `第N项`, `第（N）项`, and `（N）` right after an article or clause, with
//!   Chinese (一 … 十 百 千, 零 〇, 两) or Arabic numerals, full or half width, spaces anywhere;
//! - several citations: a later `第N条` without a statute inherits the last statute, a later
//!   `第N款` the article, a later `第N项` / `（N）` the article and clause.
//!
//! Invariants: [`fold_statute`] is idempotent; parsing a citation's [`Citation::to_string`]
//! gives back that citation (tests).

use super::text::{fold_name, nfkc};
use std::fmt;

/// One provision cited: statute, article (条), clause (款) and item (项).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Citation {
    /// The statute's name, folded by [`fold_statute`] (not alias-resolved).
    pub statute: String,
    /// 条.
    pub article: u32,
    /// 款.
    pub clause: Option<u32>,
    /// 项.
    pub item: Option<u32>,
}

impl fmt::Display for Citation {
    /// `《城乡规划法》第64条第1款第(2)项`: a form [`parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "《{}》第{}条", self.statute, self.article)?;
        if let Some(c) = self.clause {
            write!(f, "第{c}款")?;
        }
        if let Some(i) = self.item {
            write!(f, "第({i})项")?;
        }
        Ok(())
    }
}

/// Words around a bare statute name that are not part of it (longest first where one is the
/// start of another).
const LEADING_NOISE: [&str; 22] = [
    "违反了",
    "违反",
    "依据",
    "根据",
    "依照",
    "按照",
    "参照",
    "适用",
    "以及",
    "的规定",
    "之规定",
    "规定",
    "的",
    "及",
    "和",
    "与",
    "并",
    "或",
    "等",
    "经",
    "由",
    "按",
];

/// How a bare statute name ends.
const STATUTE_ENDINGS: [&str; 9] = [
    "法", "条例", "规定", "办法", "细则", "规则", "决定", "意见", "通知",
];

/// Folds a statute's name for comparison: [`fold_name`] (NFKC, widths, spaces, brackets),
/// quotes and 《》 around it removed, a leading `中华人民共和国` removed, trailing revision
/// notes in brackets (`(2019年修正)`, `(2020修订)`) removed; `(试行)` is part of a name and
/// stays.
pub fn fold_statute(name: &str) -> String {
    super::text::fixpoint(name, |s| {
        let mut s = fold_name(s);
        s = s
            .trim_matches(|c: char| matches!(c, '《' | '》' | '<' | '>' | '"' | '“' | '”' | '\''))
            .to_owned();
        if let Some(rest) = s.strip_prefix("中华人民共和国") {
            s = rest.to_owned();
        }
        while let Some(open) = s.rfind('(') {
            let note = s.get(open..).unwrap_or_default();
            let is_revision = note.ends_with(')')
                && (note.chars().any(|c| c.is_ascii_digit())
                    || ["修正", "修订", "修改", "年", "版", "施行"]
                        .iter()
                        .any(|w| note.contains(w)));
            if !is_revision || open == 0 {
                break;
            }
            s = s.get(..open).unwrap_or_default().to_owned();
        }
        s
    })
}

/// Reads a numeral at the start of `chars` (Arabic, or Chinese up to the thousands): the
/// value and how many characters it took; `None` when there is none.
fn numeral(chars: &[char]) -> Option<(u32, usize)> {
    let digits: String = chars.iter().take_while(|c| c.is_ascii_digit()).collect();
    if !digits.is_empty() {
        return digits.parse().ok().map(|n| (n, digits.chars().count()));
    }
    let digit = |c: char| match c {
        '零' | '〇' => Some(0),
        '一' | '壹' => Some(1),
        '二' | '两' | '贰' => Some(2),
        '三' | '叁' => Some(3),
        '四' | '肆' => Some(4),
        '五' | '伍' => Some(5),
        '六' | '陆' => Some(6),
        '七' | '柒' => Some(7),
        '八' | '捌' => Some(8),
        '九' | '玖' => Some(9),
        _ => None,
    };
    let unit = |c: char| match c {
        '十' | '拾' => Some(10),
        '百' | '佰' => Some(100),
        '千' | '仟' => Some(1000),
        _ => None,
    };
    let (mut total, mut pending, mut used) = (0u32, None::<u32>, 0usize);
    for &c in chars {
        if let Some(d) = digit(c) {
            // A run of plain digits (`一零一`) reads positionally.
            pending = Some(pending.map_or(d, |p| p.saturating_mul(10).saturating_add(d)));
        } else if let Some(u) = unit(c) {
            total = total.saturating_add(pending.unwrap_or(1).saturating_mul(u));
            pending = None;
        } else {
            break;
        }
        used += 1;
    }
    if used == 0 {
        return None;
    }
    Some((total.saturating_add(pending.unwrap_or(0)), used))
}

/// A piece of a citation found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Statute(String),
    Article(u32),
    Clause(u32),
    Item(u32),
}

/// Whether a bare run of text before `第` names a statute; its folded name when it does.
fn bare_statute(gap: &str) -> Option<String> {
    let mut s = gap;
    loop {
        let before = s;
        for w in LEADING_NOISE {
            if let Some(rest) = s.strip_prefix(w) {
                s = rest;
                break;
            }
        }
        if s == before {
            break;
        }
    }
    let folded = fold_statute(s);
    let ends = STATUTE_ENDINGS.iter().any(|e| folded.ends_with(e));
    (ends && folded.chars().count() >= 3 && !folded.starts_with('第')).then_some(folded)
}

fn tokens(text: &str) -> Vec<Token> {
    let folded = fold_name(&nfkc(text));
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    // Where the text not yet used by a token starts (a bare statute name may stand there).
    let mut gap_start = 0usize;
    let at = |k: usize| chars.get(k).copied();
    while let Some(c) = at(i) {
        if c == '《' {
            let close = (i + 1..chars.len()).find(|&k| at(k) == Some('》'));
            let end = close.unwrap_or(chars.len());
            let name: String = chars.get(i + 1..end).unwrap_or_default().iter().collect();
            let name = fold_statute(&name);
            if !name.is_empty() {
                out.push(Token::Statute(name));
            }
            i = end + 1;
            // A revision note right after the name: `》(2019年修正)`.
            if at(i) == Some('(')
                && let Some(close) = (i..chars.len()).find(|&k| at(k) == Some(')'))
            {
                let note: String = chars.get(i..=close).unwrap_or_default().iter().collect();
                if fold_statute(&format!("x{note}")) == "x" {
                    i = close + 1;
                }
            }
            gap_start = i;
            continue;
        }
        if matches!(
            c,
            '、' | ',' | '，' | ';' | '；' | '。' | ':' | '：' | '"' | '“' | '”'
        ) {
            i += 1;
            gap_start = i;
            continue;
        }
        // `第N条|款|项`, `第(N)项`.
        if c == '第' {
            let paren = at(i + 1) == Some('(');
            let from = if paren { i + 2 } else { i + 1 };
            if let Some((n, used)) = numeral(chars.get(from..).unwrap_or_default()) {
                let mut k = from + used;
                if paren {
                    if at(k) != Some(')') {
                        i += 1;
                        continue;
                    }
                    k += 1;
                }
                let token = match at(k) {
                    Some('条') if !paren => Some(Token::Article(n)),
                    Some('款') if !paren => Some(Token::Clause(n)),
                    Some('项') => Some(Token::Item(n)),
                    _ => None,
                };
                if let Some(token) = token {
                    if matches!(token, Token::Article(_)) {
                        let gap: String =
                            chars.get(gap_start..i).unwrap_or_default().iter().collect();
                        if let Some(name) = bare_statute(&gap) {
                            out.push(Token::Statute(name));
                        }
                    }
                    out.push(token);
                    i = k + 1;
                    // `第十三条之一`: the article stays 13.
                    if at(i) == Some('之')
                        && numeral(chars.get(i + 1..).unwrap_or_default()).is_some()
                    {
                        i += 2;
                    }
                    gap_start = i;
                    continue;
                }
            }
        }
        // `(N)` right after an article, clause or item: an item.
        if c == '('
            && matches!(
                out.last(),
                Some(Token::Article(_) | Token::Clause(_) | Token::Item(_))
            )
            && gap_start == i
            && let Some((n, used)) = numeral(chars.get(i + 1..).unwrap_or_default())
            && at(i + 1 + used) == Some(')')
        {
            out.push(Token::Item(n));
            i += used + 2;
            if at(i) == Some('项') {
                i += 1;
            }
            gap_start = i;
            continue;
        }
        i += 1;
    }
    out
}

/// The citations of a 处罚依据 text, in the order written (duplicates removed).
pub fn parse(text: &str) -> Vec<Citation> {
    let mut out: Vec<Citation> = Vec::new();
    let mut statute: Option<String> = None;
    let mut current: Option<Citation> = None;
    // The last citation seen, for `、第二款` and `、第(二)项` that continue it.
    let mut last: Option<Citation> = None;
    let mut flush = |c: &mut Option<Citation>, last: &mut Option<Citation>| {
        if let Some(c) = c.take() {
            if !out.contains(&c) {
                out.push(c.clone());
            }
            *last = Some(c);
        }
    };
    for t in tokens(text) {
        match t {
            Token::Statute(name) => {
                flush(&mut current, &mut last);
                last = None;
                statute = Some(name);
            }
            Token::Article(n) => {
                flush(&mut current, &mut last);
                current = statute.clone().map(|s| Citation {
                    statute: s,
                    article: n,
                    clause: None,
                    item: None,
                });
            }
            Token::Clause(n) => match &mut current {
                Some(c) if c.clause.is_none() && c.item.is_none() => c.clause = Some(n),
                _ => {
                    flush(&mut current, &mut last);
                    current = last.clone().map(|l| Citation {
                        clause: Some(n),
                        item: None,
                        ..l
                    });
                }
            },
            Token::Item(n) => match &mut current {
                Some(c) if c.item.is_none() => c.item = Some(n),
                _ => {
                    flush(&mut current, &mut last);
                    current = last.clone().map(|l| Citation { item: Some(n), ..l });
                }
            },
        }
    }
    flush(&mut current, &mut last);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn show(cs: &[Citation]) -> String {
        if cs.is_empty() {
            return "-".into();
        }
        cs.iter()
            .map(|c| {
                format!(
                    "{}|{}|{}|{}",
                    c.statute,
                    c.article,
                    c.clause.map(|n| n.to_string()).unwrap_or_default(),
                    c.item.map(|n| n.to_string()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(" ; ")
    }

    #[test]
    fn numerals_read_as_units_write_them() {
        for (text, n) in [
            ("一", 1),
            ("十", 10),
            ("十五", 15),
            ("二十", 20),
            ("二十五", 25),
            ("一百一十一", 111),
            ("一百零一", 101),
            ("一百", 100),
            ("两百", 200),
            ("一千零五", 1005),
            ("64", 64),
            ("陆拾肆", 64),
        ] {
            let chars: Vec<char> = text.chars().collect();
            assert_eq!(numeral(&chars).map(|(v, _)| v), Some(n), "{text}");
        }
        assert_eq!(numeral(&['条']), None);
    }

    #[test]
    fn statute_names_fold_alike() {
        for name in [
            "《中华人民共和国城乡规划法》",
            "中华人民共和国城乡规划法",
            "城乡规划法（2019年修正）",
            "城乡规划法(2019修正)",
            " 城乡 规划法 ",
            "城乡规划法【2015年修订】",
        ] {
            assert_eq!(fold_statute(name), "城乡规划法", "{name}");
        }
        assert_eq!(
            fold_statute("失信行为纠正后的信用信息修复管理办法（试行）"),
            "失信行为纠正后的信用信息修复管理办法(试行)"
        );
    }

    #[test]
    fn the_forms_units_write_parse() {
        for (text, expected) in [
            (
                "《上海市市容环境卫生管理条例》第二十五条第五款",
                "上海市市容环境卫生管理条例|25|5|",
            ),
            ("《中华人民共和国城乡规划法》第六十四条", "城乡规划法|64||"),
            ("依据城乡规划法第六十四条之规定", "城乡规划法|64||"),
            (
                "《城市市容和环境卫生管理条例》第三十四条第（一）项",
                "城市市容和环境卫生管理条例|34||1",
            ),
            (
                "《城市市容和环境卫生管理条例》第十四条、第三十四条第一款第（一）项、第（二）项",
                "城市市容和环境卫生管理条例|14|| ; 城市市容和环境卫生管理条例|34|1|1 ; 城市市容和环境卫生管理条例|34|1|2",
            ),
            (
                "违反了《城市道路管理条例》第二十七条第（一）项的规定，依据《城市道路管理条例》第四十二条",
                "城市道路管理条例|27||1 ; 城市道路管理条例|42||",
            ),
            ("《固废法》第一百一十一条第一款第一项", "固废法|111|1|1"),
            ("《上海市绿化条例》第 46 条", "上海市绿化条例|46||"),
            ("《上海市绿化条例》第４６条", "上海市绿化条例|46||"),
            (
                "《城市道路管理条例》第四十二条（六）",
                "城市道路管理条例|42||6",
            ),
            ("第二十二条第三款", "-"),
            ("《上海市生活垃圾管理条例》", "-"),
            (
                "《上海市市容环境卫生管理条例》第二十二条第一款、第二款；《中华人民共和国行政处罚法》第三十三条",
                "上海市市容环境卫生管理条例|22|1| ; 上海市市容环境卫生管理条例|22|2| ; 行政处罚法|33||",
            ),
            (
                "《中华人民共和国大气污染防治法》(2018年修正)第一百一十八条第三款",
                "大气污染防治法|118|3|",
            ),
            (
                "《上海市城乡规划条例》第十三条之一",
                "上海市城乡规划条例|13||",
            ),
        ] {
            assert_eq!(show(&parse(text)), expected, "{text}");
        }
    }

    /// The real citation strings of `tests/fixtures/legal_basis_citations.tsv`, written from
    /// the statutes as the parties' units cite them.
    #[test]
    fn the_corpus_of_real_citations_parses() {
        let text = include_str!("../../tests/fixtures/legal_basis_citations.tsv");
        let mut rows = 0;
        let mut wrong = Vec::new();
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let (input, expected) = line.split_once('\t').unwrap();
            rows += 1;
            let got = show(&parse(input));
            if got != expected.trim() {
                wrong.push(format!("{input}\n  expected {expected}\n  got      {got}"));
            }
        }
        assert!(rows >= 60, "only {rows} citations");
        assert!(
            wrong.is_empty(),
            "{} of {rows} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    proptest! {
        /// Any text parses without panicking, and the statute fold is idempotent.
        #[test]
        fn parsing_is_total_and_folding_idempotent(text in "\\PC{0,80}") {
            let _ = parse(&text);
            let once = fold_statute(&text);
            prop_assert_eq!(fold_statute(&once), once.clone());
        }

        /// Texts made of the parser's own vocabulary never panic either.
        #[test]
        fn citation_like_noise_parses(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "《", "》", "第", "条", "款", "项", "(", ")", "（", "）", "一", "十", "百", "零",
                "3", "、", "，", "之", "规定", "法", "条例", "中华人民共和国", " ",
            ]),
            0..40,
        )) {
            let text: String = parts.concat();
            for c in parse(&text) {
                prop_assert!(!c.statute.is_empty());
            }
        }

        /// A citation written back reads as itself.
        #[test]
        fn a_citation_round_trips(
            statute in proptest::sample::select(vec![
                "城乡规划法", "上海市市容环境卫生管理条例", "城市建筑垃圾管理规定", "城市生活垃圾管理办法",
            ]),
            article in 1u32..300,
            clause in proptest::option::of(1u32..9),
            item in proptest::option::of(1u32..20),
        ) {
            let c = Citation { statute: statute.to_owned(), article, clause, item };
            prop_assert_eq!(parse(&c.to_string()), vec![c]);
        }
    }
}
