//! Query parameters, read one way on every route: each bad parameter is collected with the
//! value seen and what was expected, and the request is answered once, 422 `invalid_query`,
//! naming them all (`errors[].pointer` is `/<parameter>`). Paging (`after`/`cursor` and
//! `limit`) is read here for every list route.
//!
//! A query string that is not of the route's form at all (an unknown parameter) is 400
//! `malformed_query`, answered by the extractor before a handler runs.

use super::problem::{ApiError, ProblemCode, ProblemFieldError};

/// Collects the problems of a query, one per parameter.
#[derive(Debug, Default)]
pub struct Params(Vec<ProblemFieldError>);

impl Params {
    /// A new, empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes a bad parameter: its name, a field code, the value seen (cut to 80 characters)
    /// and what was expected.
    pub fn add(&mut self, param: &str, code: &str, seen: &str, expected: &str) {
        let seen: String = seen.chars().take(80).collect();
        self.0.push(ProblemFieldError {
            pointer: format!("/{param}"),
            code: code.into(),
            detail: format!("{param}: got {seen:?}; expected {expected}"),
        });
    }

    /// Parses `value` (trimmed) when present; notes it as bad when `parse` refuses it.
    pub fn parse<T>(
        &mut self,
        param: &str,
        value: Option<&str>,
        code: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let v = value?;
        let parsed = parse(v.trim());
        if parsed.is_none() {
            self.add(param, code, v, expected);
        }
        parsed
    }

    /// The page size: `limit` from 1 to `max`, else `default` when absent.
    pub fn limit(&mut self, value: Option<&str>, default: u32, max: u32) -> u32 {
        self.parse(
            "limit",
            value,
            "invalid_limit",
            &format!("a whole number from 1 to {max}"),
            |s| s.parse::<u32>().ok().filter(|n| (1..=max).contains(n)),
        )
        .unwrap_or(default)
    }

    /// A sequence-number cursor: `after` ≥ 0, else 0 when absent.
    pub fn seq_after(&mut self, value: Option<&str>) -> i64 {
        self.parse(
            "after",
            value,
            "invalid_cursor",
            "a sequence number ≥ 0 (the next_after of a previous page)",
            |s| s.parse::<i64>().ok().filter(|n| *n >= 0),
        )
        .unwrap_or(0)
    }

    /// An id cursor (`after`): the id of the last item of the previous page, printable ASCII
    /// of at most 64 characters.
    pub fn id_after(&mut self, value: Option<&str>, what: &str) -> Option<String> {
        self.parse(
            "after",
            value,
            "invalid_cursor",
            &format!("{what} (the next_after of a previous page)"),
            |s| (s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic())).then(|| s.to_owned()),
        )
    }

    /// `Ok` when every parameter was good; else one 422 naming each bad one.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(self.into_error())
    }

    /// One bad parameter, answered at once.
    pub fn one(param: &str, code: &str, seen: &str, expected: &str) -> ApiError {
        let mut p = Params::new();
        p.add(param, code, seen, expected);
        p.into_error()
    }

    /// One bad parameter whose detail a parser already wrote (it names the value and what
    /// was expected), answered at once.
    pub fn one_with_detail(param: &str, code: &str, detail: String) -> ApiError {
        Params(vec![ProblemFieldError {
            pointer: format!("/{param}"),
            code: code.into(),
            detail,
        }])
        .into_error()
    }

    /// The 422 naming every collected parameter (call with at least one).
    fn into_error(self) -> ApiError {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|e| e.pointer.trim_start_matches('/'))
            .collect();
        let detail = format!("invalid query parameter(s): {}", names.join(", "));
        ApiError::with_errors(ProblemCode::InvalidQuery, detail, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pointers(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Problem { code, errors, .. } => {
                assert_eq!(code, ProblemCode::InvalidQuery);
                errors.into_iter().map(|e| e.pointer).collect()
            }
            other => panic!("not a problem: {other:?}"),
        }
    }

    #[test]
    fn every_bad_parameter_is_named_once() {
        let mut p = Params::new();
        assert_eq!(p.limit(Some("0"), 50, 500), 50);
        assert_eq!(p.seq_after(Some("-1")), 0);
        assert_eq!(
            p.id_after(Some("sub_1"), "a subject id"),
            Some("sub_1".into())
        );
        let e = p.finish().unwrap_err();
        assert_eq!(pointers(e), vec!["/limit", "/after"]);
    }

    #[test]
    fn absent_parameters_take_their_defaults() {
        let mut p = Params::new();
        assert_eq!(p.limit(None, 20, 100), 20);
        assert_eq!(p.seq_after(None), 0);
        assert_eq!(p.id_after(None, "x"), None);
        assert!(p.finish().is_ok());
    }

    proptest! {
        /// A limit is accepted exactly when it is a whole number in range, whatever the text.
        #[test]
        fn limits_in_range_and_nothing_else(text in "\\PC{0,12}", max in 1u32..1000) {
            let mut p = Params::new();
            let got = p.limit(Some(&text), 7, max);
            let want = text.trim().parse::<u32>().ok().filter(|n| (1..=max).contains(n));
            match want {
                Some(n) => { prop_assert_eq!(got, n); prop_assert!(p.finish().is_ok()); }
                None => { prop_assert_eq!(got, 7); prop_assert!(p.finish().is_err()); }
            }
        }
    }
}
