//! `GET /dashboard`: one server-rendered HTML page with inline SVG charts of the statistics —
//! records per party per month, top violation types, cross-region flows, flags by status,
//! data quality per unit and (for analysts and operators) delivery health.
//!
//! Roles: provincial leads (their party's quality figures), analysts and operators (all).
//! The page loads nothing: no script, no stylesheet, no font, no image from anywhere, which
//! its Content-Security-Policy (`default-src 'none'`) enforces in the browser. Every text that
//! comes from data (violation types are what units typed) is HTML-escaped.

use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use super::stats::{self, Metric, SeriesBy};
use crate::domain::party::{Level, Party, Role};
use actix_web::{HttpResponse, get, web};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const PARTY_COLOURS: [(&str, &str); 4] = [
    ("SH", "#c0392b"),
    ("JS", "#2471a3"),
    ("ZJ", "#1e8449"),
    ("AH", "#b9770e"),
];

fn colour(party: &str) -> &'static str {
    PARTY_COLOURS
        .iter()
        .find(|(p, _)| *p == party)
        .map_or("#7f8c8d", |(_, c)| c)
}

/// Horizontal bars, one per (label, value), with the value written beside each bar.
fn hbars(title: &str, rows: &[(String, i64)], fill: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\">{}: no data yet.</p>", esc(title));
    }
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1);
    let (label_w, bar_w, row_h) = (260.0, 360.0, 22.0);
    let height = row_h * rows.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"{}\" width=\"{}\" height=\"{height}\" \
         viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title),
        label_w + bar_w + 60.0,
        label_w + bar_w + 60.0,
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 5.0;
        let w = (*value as f64 / max as f64 * bar_w).max(1.0);
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>\
             <rect class=\"bar\" x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" \
             fill=\"{fill}\" data-value=\"{value}\"><title>{}: {value}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{value}</text>",
            label_w - 6.0,
            y + 14.0,
            esc(label),
            row_h - 6.0,
            esc(label),
            label_w + w + 4.0,
            y + 14.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Stacked monthly columns, one colour per party.
fn stacked_months(series: &[stats::Series]) -> String {
    let months: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.period.as_str()))
        .collect();
    if months.is_empty() {
        return "<p class=\"empty\">Records per month: no data yet.</p>".into();
    }
    // The last 24 months with data keep the chart readable.
    let months: Vec<&str> = months.into_iter().rev().take(24).rev().collect();
    let mut per: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for s in series {
        for p in &s.points {
            per.insert((p.period.as_str(), s.key.as_str()), p.count);
        }
    }
    let totals: Vec<i64> = months
        .iter()
        .map(|m| {
            PARTY_COLOURS
                .iter()
                .map(|(p, _)| per.get(&(*m, *p)).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(1).max(1);
    let (col_w, plot_h, left, top) = (34.0, 180.0, 40.0, 10.0);
    let width = left + col_w * months.len() as f64 + 20.0;
    let height = top + plot_h + 60.0;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"Records per party per month\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"4\" y=\"{}\" font-size=\"11\">{max}</text>\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        top + 10.0,
        top + plot_h,
        width - 10.0,
        top + plot_h,
    );
    for (i, m) in months.iter().enumerate() {
        let x = left + i as f64 * col_w + 4.0;
        let mut y = top + plot_h;
        for (party, fill) in PARTY_COLOURS {
            let n = per.get(&(*m, party)).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = n as f64 / max as f64 * plot_h;
            y -= h;
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{}\" height=\"{h:.1}\" \
                 fill=\"{fill}\" data-party=\"{party}\" data-month=\"{m}\" data-value=\"{n}\">\
                 <title>{party} {m}: {n}</title></rect>",
                col_w - 8.0
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" transform=\"rotate(60 {:.1} {})\">{m}</text>",
            x,
            top + plot_h + 12.0,
            x,
            top + plot_h + 12.0,
        );
    }
    svg.push_str("</svg>");
    let mut legend = String::from("<p class=\"legend\">");
    for (party, fill) in PARTY_COLOURS {
        let _ = write!(
            legend,
            "<span><svg width=\"12\" height=\"12\" xmlns=\"http://www.w3.org/2000/svg\">\
             <rect width=\"12\" height=\"12\" fill=\"{fill}\"/></svg> {party}</span> "
        );
    }
    legend.push_str("</p>");
    svg + &legend
}

/// The deciding party × home party matrix as an SVG grid, cells shaded by count.
fn flow_matrix(flows: &[stats::Flow]) -> String {
    if flows.is_empty() {
        return "<p class=\"empty\">Cross-region flows: no data yet.</p>".into();
    }
    let homes: Vec<String> = {
        let mut h: Vec<String> = Party::ALL.iter().map(|p| p.code().to_owned()).collect();
        for extra in ["other", "unknown"] {
            if flows.iter().any(|f| f.home_party == extra) {
                h.push(extra.to_owned());
            }
        }
        h
    };
    let max = flows.iter().map(|f| f.records).max().unwrap_or(1).max(1);
    let (cell, left, top) = (64.0, 70.0, 40.0);
    let width = left + cell * homes.len() as f64 + 10.0;
    let height = top + cell * 4.0 + 10.0;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"Records by deciding party and home party\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"{left}\" y=\"12\" font-size=\"11\">home party →</text>"
    );
    for (j, h) in homes.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
            left + j as f64 * cell + cell / 2.0,
            top - 8.0,
            esc(h)
        );
    }
    for (i, d) in Party::ALL.iter().enumerate() {
        let y = top + i as f64 * cell;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{} decided</text>",
            left - 6.0,
            y + cell / 2.0 + 4.0,
            d.code()
        );
        for (j, h) in homes.iter().enumerate() {
            let n = flows
                .iter()
                .find(|f| f.deciding_party == d.code() && &f.home_party == h)
                .map_or(0, |f| f.records);
            let opacity = if n == 0 {
                0.04
            } else {
                0.15 + 0.85 * n as f64 / max as f64
            };
            let x = left + j as f64 * cell;
            let _ = write!(
                svg,
                "<rect class=\"cell\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{}\" height=\"{}\" \
                 fill=\"{}\" fill-opacity=\"{opacity:.2}\" stroke=\"#fff\" \
                 data-from=\"{}\" data-to=\"{}\" data-value=\"{n}\">\
                 <title>{} → {}: {n}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\">{n}</text>",
                cell - 2.0,
                cell - 2.0,
                colour(d.code()),
                d.code(),
                esc(h),
                d.code(),
                esc(h),
                x + cell / 2.0,
                y + cell / 2.0 + 4.0,
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn quality_table(q: &stats::Quality) -> String {
    if q.units.is_empty() {
        return "<p class=\"empty\">Data quality: no submissions yet.</p>".into();
    }
    let mut t = String::from(
        "<table><thead><tr><th>unit</th><th>submissions</th><th>acceptance</th>\
         <th>corrections</th><th>median delay (days)</th><th>top rejection codes</th>\
         <th>top rejected fields</th></tr></thead><tbody>",
    );
    for u in &q.units {
        let rate = u.acceptance_rate.unwrap_or(0.0);
        let tallies = |v: &[stats::Tally]| {
            v.iter()
                .map(|t| format!("{} ({})", esc(&t.name), t.count))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            t,
            "<tr><td>{} <small>{}</small></td><td>{}</td><td>\
             <svg width=\"104\" height=\"12\" xmlns=\"http://www.w3.org/2000/svg\">\
             <rect width=\"100\" height=\"12\" fill=\"#eee\"/>\
             <rect class=\"bar\" width=\"{:.1}\" height=\"12\" fill=\"#1e8449\" \
             data-value=\"{rate:.3}\"/></svg> {:.1}%</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            esc(&u.unit_code),
            esc(&u.unit_name),
            u.submissions,
            rate * 100.0,
            rate * 100.0,
            u.corrections,
            u.median_push_delay_days
                .map_or_else(|| "–".to_owned(), |d| format!("{d:.1}")),
            tallies(&u.top_rejection_codes),
            tallies(&u.top_rejection_fields),
        );
    }
    t.push_str("</tbody></table>");
    t.push_str(&catalogue_table(q));
    t
}

/// The share of records whose violation type maps to the catalogue, per party, and the most
/// frequent unmapped texts (what a unit's records will not count as across the region).
fn catalogue_table(q: &stats::Quality) -> String {
    let mut per: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut unmapped: BTreeMap<&str, i64> = BTreeMap::new();
    for u in &q.units {
        let e = per.entry(u.party.as_str()).or_default();
        e.0 += u.catalogue.records;
        e.1 += u.catalogue.mapped;
        for t in &u.catalogue.unmapped_types {
            *unmapped.entry(t.name.as_str()).or_insert(0) += t.count;
        }
    }
    let mut t = String::from(
        "<h3>Violation types mapped to the catalogue</h3><table id=\"catalogue\"><thead><tr>\
         <th>party</th><th>records</th><th>mapped</th><th>share</th></tr></thead><tbody>",
    );
    for (party, (records, mapped)) in &per {
        let share = if *records > 0 {
            *mapped as f64 / *records as f64
        } else {
            0.0
        };
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{records}</td><td>{mapped}</td><td data-value=\"{share:.3}\">\
             {:.1}%</td></tr>",
            esc(party),
            share * 100.0
        );
    }
    t.push_str("</tbody></table>");
    let mut top: Vec<(&str, i64)> = unmapped.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !top.is_empty() {
        t.push_str("<p>Most frequent unmapped types: ");
        let list: Vec<String> = top
            .iter()
            .take(10)
            .map(|(name, n)| format!("{} ({n})", esc(name)))
            .collect();
        t.push_str(&list.join(", "));
        t.push_str("</p>");
    }
    t
}

fn delivery_block(d: &stats::Delivery) -> String {
    let ms = |v: Option<i64>| v.map_or_else(|| "–".to_owned(), |v| v.to_string());
    let bars = hbars(
        "Outbox by status",
        &[
            ("pending".to_owned(), d.outbox.pending),
            ("retrying".to_owned(), d.outbox.retrying),
            ("delivered".to_owned(), d.outbox.delivered),
            ("dead".to_owned(), d.outbox.dead),
        ],
        "#5d6d7e",
    );
    format!(
        "{bars}<p>Oldest undelivered: {} s. Latency over {} deliveries: p50 {} ms, p90 {} ms, \
         p99 {} ms, max {} ms. Dead letters: {}.</p>",
        d.oldest_undelivered_age_secs
            .map_or_else(|| "–".to_owned(), |s| s.to_string()),
        d.latency.samples,
        ms(d.latency.p50_ms),
        ms(d.latency.p90_ms),
        ms(d.latency.p99_ms),
        ms(d.latency.max_ms),
        d.outbox.dead,
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1200px}\
    h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}\
    table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;\
    text-align:left;vertical-align:top}.figures span{display:inline-block;margin-right:1.6em}\
    .figures b{font-size:1.3em}.legend span{margin-right:1em}.empty{color:#888}";

/// The dashboard page.
#[utoipa::path(
    operation_id = "get_dashboard",
    tag = "statistics",
    description = "Roles: provincial lead (data quality of its party's units), analyst and \
                   operator (all units, and delivery health). An HTML page with inline SVG \
                   charts of the statistics; it loads nothing from anywhere \
                   (`Content-Security-Policy: default-src 'none'`).",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a provincial lead, analyst or operator", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/dashboard")]
pub async fn get_dashboard(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let identity = caller
        .require(&[Role::Unit, Role::Analyst, Role::Operator])?
        .clone();
    if identity.role == Role::Unit && identity.level != Some(Level::Province) {
        return Err(ApiError::Forbidden {
            detail: "the dashboard is for provincial leads, analysts and operators; your \
                     figures are at GET /v1/stats/quality"
                .into(),
        });
    }
    let figures = gather(&state, &identity).await?;
    let html = render(&identity, &figures);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}

/// Everything the dashboard draws, read for one caller (a lead sees its party's quality).
struct Figures {
    overview: stats::Overview,
    months: stats::Timeseries,
    types: stats::Timeseries,
    cross: stats::CrossRegion,
    quality: stats::Quality,
    /// For analysts and operators only.
    delivery: Option<stats::Delivery>,
    /// Collaboration (成效评估): everything for analysts and operators, a lead's party's pairs
    /// and units for a lead.
    collab: crate::service::collab::report::CollaborationStats,
}

async fn gather(state: &AppState, identity: &super::auth::Identity) -> Result<Figures, ApiError> {
    let registry = state.registry();
    let visible = super::queries::visible_authorities(&registry, identity)?;
    let overview = stats::overview(state).await?;
    let months = stats::timeseries(state, Metric::Records, SeriesBy::Party, None, None).await?;
    let types =
        stats::timeseries(state, Metric::Records, SeriesBy::ViolationType, None, None).await?;
    let cross = stats::cross_region(state).await?;
    let quality = stats::quality(state, visible).await?;
    let delivery = if identity.role == Role::Unit {
        None
    } else {
        Some(stats::delivery(state).await?)
    };

    let policy = state.policy.clone();
    let mut collab = state
        .read(move |c| crate::service::collab::report::stats(c, &policy.collab))
        .await?;
    if identity.role == Role::Unit {
        let party = identity.party.map(|p| p.code()).unwrap_or_default();
        collab.pairs.retain(|p| p.from == party || p.to == party);
        collab.units.retain(|u| u.unit.starts_with(party));
        collab.months.clear();
    }
    Ok(Figures {
        overview,
        months,
        types,
        cross,
        quality,
        delivery,
        collab,
    })
}

fn days(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |d| format!("{d:.1}"))
}

fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

/// Collaboration figures: totals, items by kind, a table per party pair, items per month.
fn collaboration_block(c: &crate::service::collab::report::CollaborationStats) -> String {
    let t = &c.totals;
    let mut out = format!(
        "<p class=\"figures\"><span>items <b data-collab=\"items\">{}</b></span>\
         <span>answered <b>{}</b></span><span>on time <b data-collab=\"on-time\">{}</b></span>\
         <span>overdue now <b data-collab=\"overdue\">{}</b></span>\
         <span>median working days to receipt <b>{}</b>, to filing <b>{}</b>, to reply <b>{}</b></span></p>",
        t.items,
        t.answered,
        rate(t.on_time_rate),
        t.overdue_now,
        days(t.median_days_to_receipt),
        days(t.median_days_to_filing),
        days(t.median_days_to_reply),
    );
    let kinds: Vec<(String, i64)> = t
        .by_kind
        .iter()
        .map(|(k, n)| (k.clone(), i64::try_from(*n).unwrap_or(i64::MAX)))
        .collect();
    out.push_str(&hbars("Collaboration items by kind", &kinds, "#117a65"));
    if c.pairs.is_empty() {
        out.push_str("<p class=\"empty\">No collaboration between units yet.</p>");
    } else {
        out.push_str(
            "<table><tr><th>from → to</th><th>items</th><th>on time</th><th>days to receipt</th>\
             <th>to filing</th><th>to reply</th><th>returned (why)</th><th>overdue now</th></tr>",
        );
        for p in &c.pairs {
            let f = &p.figures;
            let returned: Vec<String> = f
                .returned
                .iter()
                .map(|(k, n)| format!("{} {n}", esc(k)))
                .collect();
            let _ = write!(
                out,
                "<tr data-from=\"{}\" data-to=\"{}\" data-items=\"{}\"><td>{} → {}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.from),
                esc(&p.to),
                f.items,
                esc(&p.from),
                esc(&p.to),
                f.items,
                rate(f.on_time_rate),
                days(f.median_days_to_receipt),
                days(f.median_days_to_filing),
                days(f.median_days_to_reply),
                returned.join(", "),
                f.overdue_now,
            );
        }
        out.push_str("</table>");
    }
    if !c.months.is_empty() {
        let months: Vec<(String, i64)> = c
            .months
            .iter()
            .map(|m| {
                (
                    m.month.clone(),
                    i64::try_from(m.figures.items).unwrap_or(i64::MAX),
                )
            })
            .collect();
        out.push_str(&hbars(
            "Collaboration items sent per month",
            &months,
            "#117a65",
        ));
    }
    out
}

/// The page: figures, charts as inline SVG, tables; every text from a unit escaped.
fn render(identity: &super::auth::Identity, f: &Figures) -> String {
    let Figures {
        overview,
        months,
        types,
        cross,
        quality,
        delivery,
        collab,
    } = f;
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>penex — 长三角 penalty exchange</title><style>{STYLE}</style></head><body>\
         <h1>penex dashboard</h1><p>As of {} (Asia/Shanghai), for {} <code>{}</code>.</p>\
         <section id=\"overview\"><p class=\"figures\">\
         <span>records <b>{}</b></span><span>active <b>{}</b></span>\
         <span>revoked <b>{}</b></span><span>expired <b>{}</b></span>\
         <span>subjects <b>{}</b></span><span>open conflicts <b>{}</b></span>\
         <span>exemptions <b>{}</b></span>\
         <span>subjects in ≥ 2 parties <b>{}</b></span></p></section>",
        overview.as_of,
        identity.role.as_str(),
        esc(&identity.code),
        overview.records.total,
        overview.records.active,
        overview.records.revoked,
        overview.records.expired,
        overview.subjects.total,
        overview.conflicts.get("open").copied().unwrap_or(0),
        overview.exemptions,
        cross.subjects_in_two_or_more_parties,
    );
    let _ = write!(
        html,
        "<section id=\"records-per-month\"><h2>Records per party per month</h2>{}</section>",
        stacked_months(&months.series)
    );
    let top_types: Vec<(String, i64)> = types
        .series
        .iter()
        .take(10)
        .map(|s| (s.key.clone(), s.total))
        .collect();
    let _ = write!(
        html,
        "<section id=\"violation-types\"><h2>Top violation types</h2>{}</section>",
        hbars("Top violation types", &top_types, "#6c3483")
    );
    let _ = write!(
        html,
        "<section id=\"cross-region\"><h2>Cross-region flows (counted records)</h2>{}</section>",
        flow_matrix(&cross.flows)
    );
    let flags: Vec<(String, i64)> = ["active", "expired", "repaired", "withdrawn"]
        .iter()
        .map(|s| {
            (
                (*s).to_owned(),
                overview.flags.get(*s).copied().unwrap_or(0),
            )
        })
        .collect();
    let _ = write!(
        html,
        "<section id=\"flags\"><h2>Flags by status</h2>{}</section>",
        hbars("Flags by status", &flags, "#a93226")
    );
    let per_party: Vec<(String, i64)> = overview
        .parties
        .iter()
        .map(|p| (p.party.clone(), p.records.total))
        .collect();
    let _ = write!(
        html,
        "<section id=\"parties\"><h2>Records per party</h2>{}</section>",
        hbars("Records per party", &per_party, "#2471a3")
    );
    let _ = write!(
        html,
        "<section id=\"quality\"><h2>Data quality per unit</h2>{}</section>",
        quality_table(quality)
    );
    let _ = write!(
        html,
        "<section id=\"collaboration\"><h2>Case collaboration (案件查处协作)</h2>{}</section>",
        collaboration_block(collab)
    );
    if let Some(d) = &delivery {
        let _ = write!(
            html,
            "<section id=\"delivery\"><h2>Delivery to the credit platform</h2>{}</section>",
            delivery_block(d)
        );
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("占道经营"), "占道经营");
    }

    #[test]
    fn bars_carry_their_values_and_escape_labels() {
        let svg = hbars("t", &[("<b>".into(), 3), ("x".into(), 1)], "#000");
        assert!(svg.contains("data-value=\"3\"") && svg.contains("data-value=\"1\""));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(hbars("t", &[], "#000").contains("no data"));
    }
}
