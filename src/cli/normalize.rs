//! `penex normalize`: raw records on stdin normalized offline, one answer per line.

use super::CliError;
use crate::config::Settings;

/// One line of `penex normalize` output.
fn normalize_line(line: &str, ctx: &crate::normalize::NormalizeContext) -> serde_json::Value {
    use serde_json::json;
    let raw: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return json!({"errors": [{
                "pointer": "",
                "code": "malformed_json",
                "detail": format!("the line is not valid JSON: {e}"),
            }]});
        }
    };
    match crate::normalize::normalize_record(&raw, ctx) {
        Ok(n) if n.warnings.is_empty() => json!({ "ok": n.record }),
        Ok(n) => json!({ "ok": n.record, "warnings": n.warnings }),
        Err(errors) => json!({ "errors": errors }),
    }
}

pub(super) fn normalize_stdin(settings: &Settings) -> Result<(), CliError> {
    use std::io::{BufRead, Write};
    let ctx = crate::normalize::NormalizeContext {
        today: crate::domain::clock::today_shanghai(),
        publicity: settings.publicity.clone(),
        catalog: crate::app::load_catalog(settings)?,
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut ok, mut bad) = (0_u64, 0_u64);
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| CliError::Invalid(format!("reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let result = normalize_line(&line, &ctx);
        if result.get("ok").is_some() {
            ok += 1;
        } else {
            bad += 1;
        }
        writeln!(out, "{result}").map_err(|e| CliError::Invalid(format!("writing stdout: {e}")))?;
    }
    out.flush()
        .map_err(|e| CliError::Invalid(format!("writing stdout: {e}")))?;
    eprintln!("{ok} record(s) normalized, {bad} with errors");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> crate::normalize::NormalizeContext {
        crate::normalize::NormalizeContext {
            today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            publicity: crate::normalize::PublicityConfig::default(),
            catalog: crate::normalize::Catalog::for_tests(),
        }
    }

    #[test]
    fn normalize_lines_answer_ok_or_errors() {
        let bad = normalize_line("{not json", &ctx());
        assert_eq!(bad["errors"][0]["code"], "malformed_json");
        let missing = normalize_line("{\"CF_XDR_MC\": \"x\"}", &ctx());
        assert!(missing["errors"].as_array().is_some_and(|e| e.len() > 3));
        assert!(missing.get("ok").is_none());
    }
}
