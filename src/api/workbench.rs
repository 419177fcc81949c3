//! The officers' workbench (协作工作台): server-rendered pages over the collaboration API, for a
//! unit's certificate in the browser — inbox and outbox with deadlines and overdue marks, an
//! item's timeline with forms for the next steps and attachments, reminders, and the lead's
//! 备案 register.
//!
//! The pages load nothing and run no script: the Content-Security-Policy allows only the
//! page's own stylesheet (by its hash) and forms posted back to penex. Forms carry a token
//! bound to the unit and the day (a keyed hash), so a page elsewhere cannot make an officer's
//! browser post a step with the officer's certificate. Every text that comes from data is
//! HTML-escaped.

use super::auth::Caller;
use super::dashboard::esc;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::party::Level;
use crate::service::collab::{self, ItemView, StepRequest};
use crate::store;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use base64::Engine;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:1.5em;\
    color:#222;max-width:72em}table{border-collapse:collapse;font-size:14px;margin:.5em 0}\
    td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
    .overdue{color:#b00020;font-weight:bold}.provisional{color:#8a6d00}\
    form.step{border:1px solid #ddd;padding:.5em 1em;margin:.5em 0;background:#fafafa}\
    label{display:block;margin:.3em 0}.problem{border:2px solid #b00020;padding:.5em 1em}\
    nav a{margin-right:1.2em}";

fn style_hash() -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(d.as_ref())
}

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        style_hash()
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(format!(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <title>{} — penex 协作工作台</title><style>{STYLE}</style></head><body>\
             <nav><a href=\"/workbench\">收件箱 / 发件箱 Inbox &amp; outbox</a>\
             <a href=\"/workbench/filings\">备案 Register</a></nav><h1>{}</h1>{body}</body></html>",
            esc(title),
            esc(title)
        ))
}

/// An error as a page with the problem's status, detail and field errors.
fn problem_page(e: ApiError) -> HttpResponse {
    let p = e.problem();
    let mut body = format!(
        "<div class=\"problem\" data-code=\"{}\"><p><b>{} {}</b></p><p>{}</p>",
        esc(&p.code),
        p.status,
        esc(&p.title),
        esc(&p.detail)
    );
    if !p.errors.is_empty() {
        body.push_str("<ul>");
        for f in &p.errors {
            let _ = write!(
                body,
                "<li><code>{}</code>: {}</li>",
                esc(&f.pointer),
                esc(&f.detail)
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("<p><a href=\"/workbench\">← 工作台 Workbench</a></p></div>");
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    page(status, "未能完成 Not done", &body)
}

/// The form token of `unit` on `day`: a keyed hash, the same on every instance.
fn token(state: &AppState, unit: &str, day: chrono::NaiveDate) -> Result<String, ApiError> {
    state
        .pii
        .blind_index("workbench-form", &format!("{unit}|{day}"))
        .map_err(ApiError::internal)
}

/// Whether `given` is the unit's token of today or yesterday (a form opened before midnight).
fn token_ok(state: &AppState, unit: &str, given: Option<&str>) -> Result<bool, ApiError> {
    let Some(given) = given else { return Ok(false) };
    let today = state.clock.today();
    for day in [today, today - chrono::Duration::days(1)] {
        let want = token(state, unit, day)?;
        if same(want.as_bytes(), given.as_bytes()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Equal byte strings, compared in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn forged() -> ApiError {
    ApiError::Forbidden {
        detail: "the form's token is missing or stale: reload the page and send it again".into(),
    }
}

fn due_cell(s: &collab::ItemSummary) -> String {
    match s.due_on {
        None => "—".into(),
        Some(d) => {
            let mut out = format!("{d}");
            if s.due_provisional {
                out.push_str(" <span class=\"provisional\" title=\"counted through a year the working-day calendar lacks\">(暂定)</span>");
            }
            if s.overdue {
                out.push_str(" <span class=\"overdue\" data-overdue=\"true\">逾期 overdue</span>");
            }
            out
        }
    }
}

fn item_table(items: &[collab::ItemSummary], empty: &str) -> String {
    if items.is_empty() {
        return format!("<p>{}</p>", esc(empty));
    }
    let mut t = String::from(
        "<table><tr><th>文号 No.</th><th>类别 Kind</th><th>发送 From</th><th>接收 To</th>\
         <th>当事人 Subject</th><th>状态 Status</th><th>期限 Due</th></tr>",
    );
    for i in items {
        let _ = write!(
            t,
            "<tr data-item=\"{}\"><td><a href=\"/workbench/items/{}\">{}</a></td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td data-status=\"{}\">{}</td><td>{}</td></tr>",
            esc(&i.id),
            esc(&i.id),
            esc(&i.doc_no),
            esc(&i.kind),
            esc(&i.sender),
            esc(&i.receiver),
            esc(&i.subject_name),
            esc(&i.status),
            esc(&i.status),
            due_cell(i),
        );
    }
    t.push_str("</table>");
    t
}

/// The workbench's first page.
#[utoipa::path(
    operation_id = "get_workbench",
    tag = "collaboration",
    description = "Roles: unit. The officers' workbench: inbox and outbox with deadlines and \
                   overdue marks, and reminders. HTML; loads nothing, runs no script.",
    security(("mtls" = [])),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/workbench")]
pub async fn get_workbench(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (identity, me) = caller.require_unit()?;
    let (me, name) = (me.clone(), identity.name.clone().unwrap_or_default());
    let registry = state.registry();
    let unit = me.to_string();
    let (inbox, outbox, notices) = state
        .read(move |c| {
            let filter = |after: Option<String>| store::collab::Filter {
                limit: 200,
                after,
                ..Default::default()
            };
            let inbox = collab::list(c, &registry, &me, collab::Box::Inbox, filter(None))?;
            let outbox = collab::list(c, &registry, &me, collab::Box::Outbox, filter(None))?;
            let notices = store::collab::notices_of(c, &unit, 50)?;
            Ok((inbox, outbox, notices))
        })
        .await?;
    // Open items first, overdue ones first among them.
    let order = |rows: Vec<store::collab::ItemRow>| {
        let mut v: Vec<collab::ItemSummary> = rows.iter().map(collab::summary).collect();
        v.sort_by(|a, b| {
            let open = |s: &collab::ItemSummary| s.status == "closed" || s.status == "refused";
            open(a)
                .cmp(&open(b))
                .then(b.overdue.cmp(&a.overdue))
                .then(b.id.cmp(&a.id))
        });
        v
    };
    let mut body = format!("<p>{} <code>{}</code></p>", esc(&name), esc(&identity.code));
    if !notices.is_empty() {
        body.push_str("<section id=\"notices\"><h2>提醒 Reminders</h2><ul>");
        for n in &notices {
            let _ = write!(
                body,
                "<li data-reason=\"{}\"><a href=\"/workbench/items/{}\">{}</a>: {} {}</li>",
                esc(&n.reason),
                esc(&n.item_id),
                esc(&n.item_id),
                if n.reason == "overdue" {
                    "逾期未办 overdue, due"
                } else {
                    "本方事项逾期 escalated, due"
                },
                n.due_on
            );
        }
        body.push_str("</ul></section>");
    }
    let _ = write!(
        body,
        "<section id=\"inbox\"><h2>收件箱 Inbox</h2>{}</section>\
         <section id=\"outbox\"><h2>发件箱 Outbox</h2>{}</section>",
        item_table(&order(inbox), "没有收到的事项 Nothing received."),
        item_table(&order(outbox), "没有发出的事项 Nothing sent."),
    );
    Ok(page(StatusCode::OK, "协作工作台 Workbench", &body))
}

fn input(field: &str) -> String {
    let (label, html) = match field {
        "note" => (
            "说明 / 答复 Note or reply",
            "<textarea name=\"note\" rows=\"3\" cols=\"60\"></textarea>".to_owned(),
        ),
        "reason" => (
            "理由 Reason",
            "<input name=\"reason\" size=\"60\">".to_owned(),
        ),
        "reason_code" => (
            "退回原因 Reason code",
            select("reason_code", collab::RETURN_REASONS),
        ),
        "case_no" => (
            "立案编号 Case number",
            "<input name=\"case_no\" size=\"40\">".to_owned(),
        ),
        "filed_on" => (
            "立案日期 Filed on",
            "<input name=\"filed_on\" type=\"date\">".to_owned(),
        ),
        "stage" => ("阶段 Stage", select("stage", collab::STAGES)),
        "record_id" => (
            "处罚记录 Record id (rec_…)",
            "<input name=\"record_id\" size=\"40\">".to_owned(),
        ),
        "decision_no" => (
            "决定书文号 Decision number",
            "<input name=\"decision_no\" size=\"40\">".to_owned(),
        ),
        "exemption_id" => (
            "不予处罚决定 Exemption id (exm_…)",
            "<input name=\"exemption_id\" size=\"40\">".to_owned(),
        ),
        "partial" => (
            "部分答复 Partial reply",
            "<input name=\"partial\" type=\"checkbox\" value=\"true\">".to_owned(),
        ),
        "days" => (
            "延长工作日 Working days",
            "<input name=\"days\" type=\"number\" min=\"1\" max=\"60\">".to_owned(),
        ),
        "method" => ("送达方式 Method", select("method", collab::SERVICE_METHODS)),
        "served_on" => (
            "送达日期 Served on",
            "<input name=\"served_on\" type=\"date\">".to_owned(),
        ),
        "attempts" => (
            "送达次数 Attempts",
            "<input name=\"attempts\" type=\"number\" min=\"1\" max=\"100\">".to_owned(),
        ),
        other => (other, format!("<input name=\"{}\">", esc(other))),
    };
    format!("<label>{} {html}</label>", esc(label))
}

fn select(name: &str, options: &[&str]) -> String {
    let mut s = format!("<select name=\"{}\">", esc(name));
    for o in options {
        let _ = write!(s, "<option value=\"{}\">{}</option>", esc(o), esc(o));
    }
    s.push_str("</select>");
    s
}

fn item_page(v: &ItemView, tok: &str) -> String {
    let s = &v.summary;
    let mut body = format!(
        "<section id=\"item\" data-status=\"{}\"><table>\
         <tr><th>类别 Kind</th><td>{}</td></tr><tr><th>文号 No.</th><td>{}</td></tr>\
         <tr><th>发送 From</th><td>{}</td></tr><tr><th>接收 To</th><td>{}</td></tr>\
         <tr><th>状态 Status</th><td>{}</td></tr><tr><th>期限 Due</th><td>{}</td></tr>\
         <tr><th>当事人 Subject</th><td>{}</td></tr><tr><th>违法行为 Violation</th><td>{}</td></tr>\
         <tr><th>地点 Place</th><td>{}</td></tr><tr><th>事实 Facts</th><td>{}</td></tr></table></section>",
        esc(&s.status),
        esc(&s.kind),
        esc(&s.doc_no),
        esc(&s.sender),
        esc(&s.receiver),
        esc(&s.status),
        due_cell(s),
        esc(&s.subject_name),
        esc(&s.violation_type),
        esc(&v.place),
        esc(v
            .letter
            .get("facts")
            .and_then(|f| f.as_str())
            .unwrap_or_default()),
    );
    body.push_str("<section id=\"timeline\"><h2>经过 Timeline</h2><table><tr><th>#</th><th>步骤 Step</th><th>单位 By</th><th>日期 Day</th><th>状态 Status</th><th>内容 Detail</th></tr>");
    for t in &v.timeline {
        let detail = match &t.detail {
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, val)| {
                    let text = val.as_str().map_or_else(|| val.to_string(), str::to_owned);
                    format!("{}: {}", esc(k), esc(&text))
                })
                .collect::<Vec<_>>()
                .join("<br>"),
            _ => String::new(),
        };
        let _ = write!(
            body,
            "<tr data-step=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{detail}</td></tr>",
            esc(&t.step),
            t.n,
            esc(&t.step),
            esc(t.by.as_deref().unwrap_or("penex")),
            t.on_day,
            esc(&t.status),
        );
    }
    body.push_str("</table></section><section id=\"attachments\"><h2>附件 Attachments</h2>");
    if v.attachments.is_empty() {
        body.push_str("<p>无 None.</p>");
    } else {
        body.push_str("<ul>");
        for a in &v.attachments {
            let _ = write!(
                body,
                "<li><a href=\"/v1/collaboration/items/{}/attachments/{}\">{}</a> ({}, {} bytes, {})</li>",
                esc(&s.id),
                esc(&a.sha256),
                esc(&a.name),
                esc(&a.media_type),
                a.size,
                esc(&a.uploaded_by)
            );
        }
        body.push_str("</ul>");
    }
    let ended = s.status == "closed" || s.status == "refused";
    if !ended {
        let _ = write!(
            body,
            "<form class=\"upload\" method=\"post\" enctype=\"multipart/form-data\" \
             action=\"/workbench/items/{}/attachments\"><input type=\"hidden\" name=\"_token\" \
             value=\"{}\"><label>文件 File (PDF, JPEG, PNG, TIFF, OFD) <input type=\"file\" \
             name=\"file\"></label><button type=\"submit\">上传 Upload</button></form>",
            esc(&s.id),
            esc(tok)
        );
    }
    body.push_str("</section><section id=\"steps\"><h2>下一步 Next steps</h2>");
    let mine: Vec<&collab::AllowedStep> = v.next_steps.iter().filter(|a| a.yours).collect();
    if mine.is_empty() {
        body.push_str("<p>现在没有您要办的步骤 Nothing for you to do now.</p>");
    }
    for a in mine {
        let Ok(step) = a.step.parse::<crate::domain::collab::Step>() else {
            continue;
        };
        let _ = write!(
            body,
            "<form class=\"step\" data-step=\"{}\" method=\"post\" action=\"/workbench/items/{}/steps\">\
             <input type=\"hidden\" name=\"_token\" value=\"{}\"><input type=\"hidden\" name=\"step\" value=\"{}\">",
            esc(&a.step),
            esc(&s.id),
            esc(tok),
            esc(&a.step)
        );
        for f in collab::fields_of(step) {
            body.push_str(&input(f));
        }
        let _ = write!(
            body,
            "<button type=\"submit\">{}</button></form>",
            esc(&a.step)
        );
    }
    body.push_str("</section>");
    body
}

/// An item's page.
#[utoipa::path(
    operation_id = "get_workbench_item",
    tag = "collaboration",
    description = "Roles: unit — whoever may see the item. Its letter, timeline and \
                   attachments, with a form for each step you may take now and one for an \
                   attachment. HTML; loads nothing, runs no script.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id")),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit (problem), or not your item (page)", content(
            (Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 404, description = "No such item", body = String, content_type = "text/html"),
    )
)]
#[get("/workbench/items/{id}")]
pub async fn get_workbench_item(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, me) = caller.require_unit()?;
    let tok = token(&state, me.as_str(), state.clock.today())?;
    let view = super::collab::read_item(&caller, &state, path.into_inner()).await;
    Ok(match view {
        Ok(v) => page(
            StatusCode::OK,
            &format!("{} {}", v.summary.kind, v.summary.doc_no),
            &item_page(&v, &tok),
        ),
        Err(e) => problem_page(e),
    })
}

/// Take a step from the item's page.
#[utoipa::path(
    operation_id = "post_workbench_step",
    tag = "collaboration",
    description = "Roles: unit. The step form of an item's page (`application/x-www-form-urlencoded`, \
                   the page's token in `_token`): the same checks as `POST \
                   /v1/collaboration/items/{id}/steps`; on success 303 back to the item's page, \
                   else a page with the problem and its status.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id")),
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: back to the item's page"),
        (status = 400, description = "A form that cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit (problem), or not your item or step, or a missing or stale token (page)", content(
            (Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 404, description = "No such item", body = String, content_type = "text/html"),
        (status = 409, description = "The state does not allow the step", body = String, content_type = "text/html"),
        (status = 413, description = "The form is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = String, content_type = "text/html"),
    )
)]
#[post("/workbench/items/{id}/steps")]
pub async fn post_workbench_step(
    caller: Caller,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, me) = caller.require_unit()?;
    let id = path.into_inner();
    let mut f = form.into_inner();
    if !token_ok(&state, me.as_str(), f.get("_token").map(String::as_str))? {
        return Ok(problem_page(forged()));
    }
    let mut take = |k: &str| {
        f.remove(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let number = |v: Option<String>| v.map(|s| s.parse::<u32>().unwrap_or(u32::MAX));
    let req = StepRequest {
        step: take("step").unwrap_or_default(),
        note: take("note"),
        reason: take("reason"),
        reason_code: take("reason_code"),
        case_no: take("case_no"),
        filed_on: take("filed_on"),
        stage: take("stage"),
        record_id: take("record_id"),
        decision_no: take("decision_no"),
        exemption_id: take("exemption_id"),
        partial: take("partial").map(|v| v == "true" || v == "on"),
        days: number(take("days")),
        method: take("method"),
        served_on: take("served_on"),
        attempts: number(take("attempts")),
    };
    let target = id.clone();
    let done = super::collab::as_unit(&caller, &state, move |c, deps, by| {
        collab::take_step(c, deps, by, &target, req)
    })
    .await;
    Ok(match done {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header(("Location", format!("/workbench/items/{id}")))
            .finish(),
        Err(e) => problem_page(e),
    })
}

/// Upload an attachment from the item's page.
#[utoipa::path(
    operation_id = "post_workbench_attachment",
    tag = "collaboration",
    description = "Roles: unit — the sender, the receiver or the approver. The upload form of an \
                   item's page (`multipart/form-data`: `_token` first, then `file`): the same \
                   checks as `POST /v1/collaboration/items/{id}/attachments`; on success 303 \
                   back to the item's page, else a page with the problem and its status.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id")),
    request_body(content = String, content_type = "multipart/form-data"),
    responses(
        (status = 303, description = "Stored: back to the item's page"),
        (status = 400, description = "A form that cannot be read, or no file", body = String, content_type = "text/html"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit (problem), or not a unit of the item, or a missing or stale token (page)", content(
            (Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 404, description = "No such item", body = String, content_type = "text/html"),
        (status = 409, description = "The item has ended", body = String, content_type = "text/html"),
        (status = 413, description = "Larger than the limit", body = String, content_type = "text/html"),
        (status = 415, description = "Not an accepted type", body = String, content_type = "text/html"),
        (status = 422, description = "A bad file name", body = String, content_type = "text/html"),
    )
)]
#[post("/workbench/items/{id}/attachments")]
pub async fn post_workbench_attachment(
    caller: Caller,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let me = caller.require_unit()?.1.to_string();
    // Read by hand, so that a body that is not multipart is answered as a page like any other
    // problem of the form.
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let id = path.into_inner();
    let rules = state.policy.collab.attachments.clone();
    let limit = usize::try_from(rules.max_bytes).unwrap_or(usize::MAX);
    let mut token_seen = None;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    while let Some(field) = form.next().await {
        let mut field = match field {
            Ok(f) => f,
            Err(e) => {
                return Ok(problem_page(ApiError::new(
                    super::problem::ProblemCode::MalformedBody,
                    format!("the form could not be read: {e}"),
                )));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or_default()
            .to_owned();
        let ctype = field
            .content_type()
            .map(|m| m.essence_str().to_owned())
            .unwrap_or_default();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let Ok(chunk) = chunk else {
                return Ok(problem_page(ApiError::new(
                    super::problem::ProblemCode::MalformedBody,
                    "the form could not be read",
                )));
            };
            if bytes.len() + chunk.len() > limit.saturating_add(4096) {
                return Ok(problem_page(ApiError::PayloadTooLarge {
                    detail: format!("attachments are at most {} bytes", rules.max_bytes),
                }));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "_token" => token_seen = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => file = Some((filename, ctype, bytes)),
            _ => {}
        }
    }
    if !token_ok(&state, &me, token_seen.as_deref())? {
        return Ok(problem_page(forged()));
    }
    let Some((filename, ctype, bytes)) = file else {
        return Ok(problem_page(ApiError::new(
            super::problem::ProblemCode::MalformedBody,
            "the form has no file: choose a file to upload",
        )));
    };
    let media_type = match crate::service::collab::attachments::check(&rules, &ctype, &bytes) {
        Ok(t) => t,
        Err(crate::service::collab::attachments::Refusal::TooLarge { max }) => {
            return Ok(problem_page(ApiError::PayloadTooLarge {
                detail: format!("attachments are at most {max} bytes"),
            }));
        }
        Err(crate::service::collab::attachments::Refusal::Unsupported(detail)) => {
            return Ok(problem_page(ApiError::UnsupportedMediaType { detail }));
        }
    };
    let blobs = crate::service::collab::attachments::BlobStore::under(&state.settings.data_dir);
    let target = id.clone();
    let done = super::collab::as_unit(&caller, &state, move |c, deps, by| {
        crate::service::collab::attachments::add(
            c,
            deps,
            &blobs,
            by,
            &target,
            (&filename, media_type, &bytes),
        )
    })
    .await;
    Ok(match done {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header(("Location", format!("/workbench/items/{id}")))
            .finish(),
        Err(e) => problem_page(e),
    })
}

/// A lead's 备案 register as a page.
#[utoipa::path(
    operation_id = "get_workbench_filings",
    tag = "collaboration",
    description = "Roles: unit, a party's lead. The 备案 register as a page (overdue first), \
                   with a link to its CSV. HTML; loads nothing, runs no script.",
    security(("mtls" = [])),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit (problem), or not a lead (page)", content(
            (Problem = "application/problem+json"),
            (String = "text/html"),
        )),
    )
)]
#[get("/workbench/filings")]
pub async fn get_workbench_filings(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (identity, _) = caller.require_unit()?;
    if identity.level != Some(Level::Province) {
        return Ok(problem_page(ApiError::Forbidden {
            detail: "the 备案 register is read by a party's lead (province level)".into(),
        }));
    }
    let party = identity
        .party
        .ok_or_else(|| ApiError::internal("a unit identity without a party"))?;
    let registry = state.registry();
    let rows = state
        .read(move |c| crate::service::collab::report::filings(c, &registry, party))
        .await?;
    let mut body = format!(
        "<p><a href=\"/v1/collaboration/filings?format=csv\">CSV</a> · {} 项 items</p>\
         <table id=\"filings\"><tr><th>文号 No.</th><th>类别 Kind</th><th>方向 Direction</th><th>本方单位 Unit</th>\
         <th>对方 Counterpart</th><th>状态 Status</th><th>发送 Sent</th><th>答复 Answered</th><th>期限 Due</th></tr>",
        rows.len()
    );
    for r in &rows {
        let _ = write!(
            body,
            "<tr data-item=\"{}\"><td><a href=\"/workbench/items/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&r.id),
            esc(&r.id),
            esc(&r.doc_no),
            esc(&r.kind),
            esc(&r.direction),
            esc(&r.unit),
            esc(&r.counterpart),
            esc(&r.status),
            r.sent_on.map(|d| d.to_string()).unwrap_or_default(),
            r.answered_on.map(|d| d.to_string()).unwrap_or_default(),
            r.due_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
            if r.overdue {
                " <span class=\"overdue\" data-overdue=\"true\">逾期 overdue</span>"
            } else {
                ""
            },
        );
    }
    body.push_str("</table>");
    Ok(page(
        StatusCode::OK,
        &format!("备案 Register — {}", party.code()),
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_stylesheet_by_its_hash_and_allows_nothing_else() {
        let r = page(StatusCode::OK, "t <x>", "");
        let csp = r
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(csp.contains(&format!("'sha256-{}'", style_hash())));
        assert!(!csp.contains("unsafe"));
        assert!(!csp.contains("script-src"));
    }
}
