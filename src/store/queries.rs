//! Analysts' queries: records filtered, counted and paged by a keyset on (decision date, id);
//! subjects searched by folded name and USCC prefix.
//!
//! Only SQL lives here; what a caller may see (the set of deciding authorities) is decided by
//! the API and passed in as a filter. Every query is plain diesel DSL that both backends run
//! the same way: no backend-specific SQL.
//!
//! Invariant: the page query and the count query apply exactly the same filter (both come from
//! [`filtered`]), so `total` always counts what paging walks through.

use super::records::RecordRow;
use super::schema::{records, subject_names, subjects};
use super::subjects::SubjectRow;
use super::{Conn, StoreError};
use chrono::NaiveDate;
use diesel::prelude::*;

type Backend = <Conn as diesel::Connection>::Backend;

/// What `status` of a record to list. Derived from the stored columns, not stored itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Not revoked, still public (publicity not over, not repaired).
    Active,
    /// Revoked (复议撤销, 诉讼撤销, 自行纠错 …).
    Revoked,
    /// Has more than one version.
    Corrected,
    /// In a jurisdiction conflict (any role).
    Conflict,
    /// Not revoked, but publicity is over or ended early by credit repair.
    Expired,
}

/// Sort order on (decision date, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest decision first.
    Asc,
    /// Newest decision first.
    Desc,
}

/// Filters of [`list_records`] and [`count_records`]. `None` means "no constraint".
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Deciding authorities the record must have (visibility and the unit filter, already
    /// intersected). `Some(empty)` matches nothing.
    pub authorities: Option<Vec<String>>,
    /// Party of the deciding authority.
    pub party: Option<String>,
    /// Subject ids (a subject and the weak subjects linked to it).
    pub subject_ids: Option<Vec<String>>,
    /// Subject USCC.
    pub uscc: Option<String>,
    /// Violation type as stored (folded).
    pub violation_type: Option<String>,
    /// Catalogue codes the record's type must have (`Some(empty)` matches nothing).
    pub violation_codes: Option<Vec<String>>,
    /// A penalty category by its serde name (`fine`, `warning` …).
    pub category: Option<String>,
    /// Decision date from (inclusive).
    pub decided_from: Option<NaiveDate>,
    /// Decision date to (inclusive).
    pub decided_to: Option<NaiveDate>,
    /// Fine at least, in fen.
    pub fine_min: Option<i64>,
    /// Fine at most, in fen.
    pub fine_max: Option<i64>,
    /// Derived status, judged on `today`.
    pub state: Option<RecordState>,
    /// Today in Asia/Shanghai, for `Active` and `Expired`.
    pub today: Option<NaiveDate>,
}

/// The keyset position after which a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    /// Decision date of the last record of the previous page.
    pub decision_date: NaiveDate,
    /// Its id.
    pub id: String,
}

fn filtered(f: &RecordFilter) -> records::BoxedQuery<'static, Backend> {
    let mut q = records::table.into_boxed();
    if let Some(a) = &f.authorities {
        q = q.filter(records::authority_code.eq_any(a.clone()));
    }
    if let Some(p) = &f.party {
        q = q.filter(records::party.eq(p.clone()));
    }
    if let Some(s) = &f.subject_ids {
        q = q.filter(records::subject_id.eq_any(s.clone()));
    }
    if let Some(u) = &f.uscc {
        q = q.filter(records::subject_uscc.eq(u.clone()));
    }
    if let Some(v) = &f.violation_type {
        q = q.filter(records::violation_type.eq(v.clone()));
    }
    if let Some(codes) = &f.violation_codes {
        q = q.filter(records::violation_code.eq_any(codes.clone()));
    }
    if let Some(c) = &f.category {
        // The canonical JSON is written by serde in field order: the categories array sits
        // between `"categories":[` and `],"content":`, and quotes inside text fields are
        // escaped, so this pattern matches inside the array and nowhere else. The `_` of a
        // category name is a LIKE wildcard, but no other category name fits the pattern.
        q = q.filter(
            records::canonical_json.like(format!("%\"categories\":[%\"{c}\"%],\"content\":%")),
        );
    }
    if let Some(d) = f.decided_from {
        q = q.filter(records::decision_date.ge(d));
    }
    if let Some(d) = f.decided_to {
        q = q.filter(records::decision_date.le(d));
    }
    if let Some(m) = f.fine_min {
        q = q.filter(records::fine_fen.ge(m));
    }
    if let Some(m) = f.fine_max {
        q = q.filter(records::fine_fen.le(m));
    }
    let today = f.today.unwrap_or_else(|| chrono::Utc::now().date_naive());
    match f.state {
        None => {}
        Some(RecordState::Active) => {
            q = q
                .filter(records::status.eq("active"))
                .filter(records::publicity_until.ge(today))
                .filter(records::repaired_at.is_null());
        }
        Some(RecordState::Revoked) => q = q.filter(records::status.eq("revoked")),
        Some(RecordState::Corrected) => q = q.filter(records::version.gt(1)),
        Some(RecordState::Conflict) => q = q.filter(records::conflict_id.is_not_null()),
        Some(RecordState::Expired) => {
            q = q.filter(records::status.eq("active")).filter(
                records::publicity_until
                    .lt(today)
                    .or(records::repaired_at.is_not_null()),
            );
        }
    }
    q
}

/// One page of records matching `f`, after `after`, in `order` on (decision date, id).
pub fn list_records(
    conn: &mut Conn,
    f: &RecordFilter,
    order: Order,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<RecordRow>, StoreError> {
    let mut q = filtered(f);
    if let Some(k) = after {
        let (d, id) = (k.decision_date, k.id.clone());
        q = match order {
            Order::Desc => q.filter(
                records::decision_date
                    .lt(d)
                    .or(records::decision_date.eq(d).and(records::id.lt(id))),
            ),
            Order::Asc => q.filter(
                records::decision_date
                    .gt(d)
                    .or(records::decision_date.eq(d).and(records::id.gt(id))),
            ),
        };
    }
    q = match order {
        Order::Desc => q.order((records::decision_date.desc(), records::id.desc())),
        Order::Asc => q.order((records::decision_date.asc(), records::id.asc())),
    };
    Ok(q.limit(limit).select(RecordRow::as_select()).load(conn)?)
}

/// How many records match `f`.
pub fn count_records(conn: &mut Conn, f: &RecordFilter) -> Result<i64, StoreError> {
    Ok(filtered(f).count().get_result(conn)?)
}

/// A subject and the weak subjects linked to it.
pub fn subject_with_linked(conn: &mut Conn, id: &str) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = subjects::table
        .filter(subjects::linked_to.eq(id))
        .select(subjects::id)
        .load(conn)?;
    ids.push(id.to_owned());
    Ok(ids)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a subject search looks for: a folded name (substring of any name the subject was seen
/// under) and/or a USCC prefix. A subject matching either is found.
#[derive(Debug, Clone, Default)]
pub struct SubjectSearch {
    /// Folded name fragment.
    pub name: Option<String>,
    /// Upper-case USCC prefix.
    pub uscc_prefix: Option<String>,
}

fn subject_filter(s: &SubjectSearch) -> subjects::BoxedQuery<'static, Backend> {
    let q = subjects::table.into_boxed();
    let by_name = s.name.as_ref().map(|n| {
        subjects::id.eq_any(
            subject_names::table
                .filter(
                    subject_names::name
                        .like(format!("%{}%", like_escape(n)))
                        .escape('\\'),
                )
                .select(subject_names::subject_id),
        )
    });
    let by_uscc = s.uscc_prefix.as_ref().map(|p| {
        subjects::key_kind.eq("uscc").and(
            subjects::key_value
                .like(format!("{}%", like_escape(p)))
                .escape('\\'),
        )
    });
    match (by_name, by_uscc) {
        (Some(a), Some(b)) => q.filter(a.or(b)),
        (Some(a), None) => q.filter(a),
        (None, Some(b)) => q.filter(b),
        // Nothing to look for finds nothing (the API refuses an empty search anyway).
        (None, None) => q.filter(subjects::id.ne(subjects::id)),
    }
}

/// Subjects found by `s`, by id, after `after`.
pub fn search_subjects(
    conn: &mut Conn,
    s: &SubjectSearch,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SubjectRow>, StoreError> {
    let mut q = subject_filter(s);
    if let Some(a) = after {
        q = q.filter(subjects::id.gt(a.to_owned()));
    }
    Ok(q.order(subjects::id.asc())
        .limit(limit)
        .select(SubjectRow::as_select())
        .load(conn)?)
}

/// How many subjects `s` finds.
pub fn count_subjects(conn: &mut Conn, s: &SubjectSearch) -> Result<i64, StoreError> {
    Ok(subject_filter(s).count().get_result(conn)?)
}

/// Names of several subjects: (subject id, name), in order of first sight.
pub fn names_of(
    conn: &mut Conn,
    subject_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(subject_names::table
        .filter(subject_names::subject_id.eq_any(subject_ids))
        .order((subject_names::subject_id, subject_names::first_seen.asc()))
        .select((subject_names::subject_id, subject_names::name))
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(like_escape("上海某某"), "上海某某");
    }
}
