//! Case collaboration (案件查处协作): items between member units, their steps and attachments,
//! the units' own signed feed, reminders, the leads' 备案 register, and the 成效评估 figures.
//!
//! Roles: units send, answer, comment and read what is theirs or below them (the service
//! checks each item against the registry); leads read their party's register; analysts and
//! operators read the figures only (items hold personal data and are not public).

use super::auth::Caller;
use super::params::Params;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::domain::collab::{Kind, Status};
use crate::domain::party::{Level, Role};
use crate::service::collab::attachments::{BlobStore, Refusal};
use crate::service::collab::report::{CollaborationStats, Filing};
use crate::service::collab::{
    self, Actor, AttachmentView, Deps, ItemSummary, ItemView, NewItem, StepRequest,
};
use crate::store;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Runs a collaboration operation as `caller`'s unit, with today's date and everything it
/// needs, on the write path.
pub(super) async fn as_unit<T, F>(caller: &Caller, state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut store::Conn, Deps<'_>, Actor<'_>) -> crate::service::Result<T> + Send + 'static,
    T: Send + 'static,
{
    with_unit(caller, state, true, f).await
}

/// [`as_unit`] for an operation that only reads (no write turn).
async fn reading_as_unit<T, F>(caller: &Caller, state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut store::Conn, Deps<'_>, Actor<'_>) -> crate::service::Result<T> + Send + 'static,
    T: Send + 'static,
{
    with_unit(caller, state, false, f).await
}

async fn with_unit<T, F>(
    caller: &Caller,
    state: &AppState,
    write: bool,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut store::Conn, Deps<'_>, Actor<'_>) -> crate::service::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (identity, me) = caller.require_unit()?;
    let (actor, me) = (identity.actor(), me.clone());
    let registry = state.registry();
    let policy = state.policy.clone();
    let pii = state.pii.clone();
    let emitter = state.emitter();
    let today = state.clock.today();
    let run = move |c: &mut store::Conn| {
        let deps = Deps {
            registry: &registry,
            policy: &policy.collab,
            policies: &policy,
            pii: &pii,
            emitter: &emitter,
        };
        let by = Actor {
            unit: &me,
            actor: &actor,
            today,
        };
        f(c, deps, by)
    };
    if write {
        state.call(run).await
    } else {
        state.read(run).await
    }
}

/// Send an item (移送函, 协查函, 委托送达函, 通报).
#[utoipa::path(
    operation_id = "create_collaboration_item",
    tag = "collaboration",
    description = "Roles: unit. The sender is your unit. To a unit of the same level (any \
                   party) the item is `sent`; to another level it waits for your superior \
                   (`awaiting_approval`), who approves or refuses. The same kind and document \
                   number again answers 200 with the stored item. Audited; a signed event on \
                   the units' feed.",
    security(("mtls" = [])),
    request_body(content = NewItem, content_type = "application/json"),
    responses(
        (status = 201, description = "Sent (or awaiting approval)", body = ItemView),
        (status = 200, description = "Already sent under this document number", body = ItemView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a receiver that cannot be reached (`invalid_item`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/collaboration/items")]
pub async fn create_item(
    caller: Caller,
    body: web::Json<NewItem>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let (created, row) = as_unit(&caller, &state, move |c, deps, by| {
        collab::create(c, deps, by, req)
    })
    .await?;
    let view = read_item(&caller, &state, row.id).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The whole item as the caller may see it.
pub(super) async fn read_item(
    caller: &Caller,
    state: &AppState,
    id: String,
) -> Result<ItemView, ApiError> {
    let (_, me) = caller.require_unit()?;
    let me = me.clone();
    let registry = state.registry();
    let pii = state.pii.clone();
    state
        .read(move |c| {
            let (item, access) = collab::find_for(c, &registry, &me, &id)?;
            let steps = store::collab::steps_of(c, &item.id)?;
            let attachments = store::collab::attachments_of(c, &item.id)?;
            Ok(collab::view(&pii, access, item, steps, attachments))
        })
        .await
}

/// An item with its timeline.
#[utoipa::path(
    operation_id = "get_collaboration_item",
    tag = "collaboration",
    description = "Roles: unit — the sender, the receiver (once sent), the approver, and their \
                   superiors up to the leads. Others: 403. Identity numbers and addresses are \
                   shown in clear to the sender and the receiver, masked to superiors. \
                   `next_steps` lists the steps allowed now and whether they are yours.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id (`col_…`)")),
    responses(
        (status = 200, description = "The item", body = ItemView),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit, or not your item", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/collaboration/items/{id}")]
pub async fn get_item(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<ItemView>, ApiError> {
    Ok(web::Json(
        read_item(&caller, &state, path.into_inner()).await?,
    ))
}

/// Take the next step of an item.
#[utoipa::path(
    operation_id = "take_collaboration_step",
    tag = "collaboration",
    description = "Roles: unit. Only the side the state table names may take a step: the \
                   receiver answers (receive, file, accept, return, progress, decide, reply, \
                   serve …), the sender closes and grants extensions, the approver approves or \
                   refuses, anyone who may see the item comments. A step the state does not \
                   allow is 409 `step_not_allowed`, listing the allowed ones; a step of \
                   another side is 403; nothing is written in either case. Audited; a signed \
                   event on the units' feed.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id (`col_…`)")),
    request_body(content = StepRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The item after the step", body = ItemView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your item, or not your side's step", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The state does not allow this step (`step_not_allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown step or invalid fields (`invalid_step`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/collaboration/items/{id}/steps")]
pub async fn take_step(
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<StepRequest>,
    state: web::Data<AppState>,
) -> Result<web::Json<ItemView>, ApiError> {
    let id = path.into_inner();
    let req = body.into_inner();
    let target = id.clone();
    as_unit(&caller, &state, move |c, deps, by| {
        collab::take_step(c, deps, by, &target, req)
    })
    .await?;
    Ok(web::Json(read_item(&caller, &state, id).await?))
}

/// Which items to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    /// `inbox` (received, or awaiting your approval; default), `outbox` (sent), `party` (sent
    /// or received by you or any unit below you; a lead: its party).
    #[param(value_type = Option<String>, example = "inbox")]
    pub r#box: Option<String>,
    /// clue, transfer, assistance or service.
    #[param(value_type = Option<String>, example = "transfer")]
    pub kind: Option<String>,
    /// A status (`sent`, `received`, `accepted` …).
    #[param(value_type = Option<String>, example = "received")]
    pub status: Option<String>,
    /// `true`: only items past their deadline; `false`: only the others.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// Cursor: the `next_after` of the previous page.
    pub after: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// A page of items.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemPage {
    /// Items, oldest first.
    pub items: Vec<ItemSummary>,
    /// The cursor for the next page; `null` at the end.
    pub next_after: Option<String>,
}

/// A unit's items.
#[utoipa::path(
    operation_id = "list_collaboration_items",
    tag = "collaboration",
    description = "Roles: unit. Inbox, outbox or the items of your units below you, with \
                   deadlines and overdue marks; keyset paging by id (ids grow with time).",
    security(("mtls" = [])),
    params(ItemQuery),
    responses(
        (status = 200, description = "A page of items", body = ItemPage),
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/collaboration/items")]
pub async fn list_items(
    caller: Caller,
    query: web::Query<ItemQuery>,
    state: web::Data<AppState>,
) -> Result<web::Json<ItemPage>, ApiError> {
    let (_, me) = caller.require_unit()?;
    let me = me.clone();
    let mut p = Params::new();
    let which = p
        .parse(
            "box",
            query.r#box.as_deref(),
            "invalid_box",
            "inbox, outbox or party",
            |s| match s {
                "inbox" => Some(collab::Box::Inbox),
                "outbox" => Some(collab::Box::Outbox),
                "party" => Some(collab::Box::Party),
                _ => None,
            },
        )
        .unwrap_or(collab::Box::Inbox);
    let kind = p.parse(
        "kind",
        query.kind.as_deref(),
        "invalid_kind",
        "clue, transfer, assistance or service",
        |s| s.parse::<Kind>().ok(),
    );
    let status = p.parse(
        "status",
        query.status.as_deref(),
        "invalid_status",
        "a status such as sent, received, accepted, closed",
        |s| s.parse::<Status>().ok(),
    );
    let overdue = p.parse(
        "overdue",
        query.overdue.as_deref(),
        "invalid_boolean",
        "true or false",
        |s| match s {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    );
    let after = p.id_after(query.after.as_deref(), "an item id");
    let limit = p.limit(query.limit.as_deref(), 100, 500);
    p.finish()?;
    let registry = state.registry();
    let filter = store::collab::Filter {
        kind: kind.map(|k| k.as_str().to_owned()),
        status: status.map(|s| s.as_str().to_owned()),
        overdue,
        after,
        limit: i64::from(limit) + 1,
        ..Default::default()
    };
    let mut rows = state
        .read(move |c| collab::list(c, &registry, &me, which, filter))
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(web::Json(ItemPage {
        next_after: if more {
            rows.last().map(|r| r.id.clone())
        } else {
            None
        },
        items: rows.iter().map(collab::summary).collect(),
    }))
}

/// A file's bytes (the body of an upload).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// Upload's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file name (1–200 characters, no path).
    #[param(example = "送达回证.pdf")]
    pub name: String,
}

/// Add an attachment.
#[utoipa::path(
    operation_id = "add_collaboration_attachment",
    tag = "collaboration",
    description = "Roles: unit — the sender, the receiver or the approver of the item. The body \
                   is the file itself, its `Content-Type` one of the configured types (PDF, \
                   JPEG, PNG, TIFF, OFD) and its content matching that type. Stored once per \
                   content (SHA-256), encrypted at rest. Above the size limit: 413; another \
                   type: 415; nothing is stored.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id"), UploadQuery),
    request_body(description = "The file itself, with its own Content-Type", content(
        (FileBytes = "application/pdf"),
        (FileBytes = "image/jpeg"),
        (FileBytes = "image/png"),
        (FileBytes = "image/tiff"),
        (FileBytes = "application/ofd"),
    )),
    responses(
        (status = 201, description = "Stored", body = AttachmentView),
        (status = 200, description = "The item already has this content", body = AttachmentView),
        (status = 400, description = "No file name, or a body that cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit of the item", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item has ended (`item_ended`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not an accepted type, or content not of its type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad file name", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/collaboration/items/{id}/attachments")]
pub async fn add_attachment(
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require_unit()?;
    let rules = state.policy.collab.attachments.clone();
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Read at most one byte over the limit: a larger body is refused without buffering it.
    let limit = usize::try_from(rules.max_bytes).unwrap_or(usize::MAX);
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                super::problem::ProblemCode::MalformedBody,
                format!("the body could not be read: {e}"),
            )
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge {
                detail: format!("attachments are at most {} bytes", rules.max_bytes),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    let media_type = match crate::service::collab::attachments::check(&rules, &declared, &bytes) {
        Ok(t) => t,
        Err(Refusal::TooLarge { max }) => {
            return Err(ApiError::PayloadTooLarge {
                detail: format!("attachments are at most {max} bytes"),
            });
        }
        Err(Refusal::Unsupported(detail)) => return Err(ApiError::UnsupportedMediaType { detail }),
    };
    let blobs = BlobStore::under(&state.settings.data_dir);
    let id = path.into_inner();
    let name = query.into_inner().name;
    let (created, row) = as_unit(&caller, &state, move |c, deps, by| {
        crate::service::collab::attachments::add(
            c,
            deps,
            &blobs,
            by,
            &id,
            (&name, media_type, &bytes),
        )
    })
    .await?;
    let view = AttachmentView::from(row);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Download an attachment.
#[utoipa::path(
    operation_id = "get_collaboration_attachment",
    tag = "collaboration",
    description = "Roles: unit — whoever may see the item. The file as uploaded, with its media \
                   type; decrypted and checked against its SHA-256.",
    security(("mtls" = [])),
    params(("id" = String, Path, description = "Item id"), ("sha" = String, Path, description = "SHA-256 of the content, hex")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your item", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item or attachment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/collaboration/items/{id}/attachments/{sha}")]
pub async fn get_attachment(
    caller: Caller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, sha) = path.into_inner();
    let blobs = BlobStore::under(&state.settings.data_dir);
    let (row, bytes) = reading_as_unit(&caller, &state, move |c, deps, by| {
        crate::service::collab::attachments::read(c, deps, &blobs, by, &id, &sha)
    })
    .await?;
    let ascii: String = row
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(row.media_type.clone())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\""),
        ))
        .insert_header(("x-content-sha256", row.sha256.clone()))
        .body(bytes))
}

/// A reminder or escalation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeView {
    /// The item.
    pub item_id: String,
    /// `overdue` (you must act) or `escalated` (a lead: an item of your party is overdue).
    pub reason: String,
    /// The deadline that passed.
    #[schema(value_type = String, format = Date)]
    pub due_on: chrono::NaiveDate,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Notices' paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    /// At most this many, newest first (1–500, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// A unit's reminders and escalations.
#[utoipa::path(
    operation_id = "list_collaboration_notices",
    tag = "collaboration",
    description = "Roles: unit. What the sweeper put in your inbox: items whose deadline you \
                   missed, and (leads) items of your party that are overdue.",
    security(("mtls" = [])),
    params(NoticeQuery),
    responses(
        (status = 200, description = "Notices, newest first", body = [NoticeView]),
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/collaboration/notices")]
pub async fn list_notices(
    caller: Caller,
    query: web::Query<NoticeQuery>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<NoticeView>>, ApiError> {
    let (_, me) = caller.require_unit()?;
    let me = me.to_string();
    let mut p = Params::new();
    let limit = i64::from(p.limit(query.limit.as_deref(), 100, 500));
    p.finish()?;
    let rows = state
        .db(move |c| store::collab::notices_of(c, &me, limit))
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|n| NoticeView {
                item_id: n.item_id,
                reason: n.reason,
                due_on: n.due_on,
                created_at: n.created_at.and_utc(),
            })
            .collect(),
    ))
}

/// The feed's paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CollabFeedQuery {
    /// Events with a sequence number greater than this (0: from the start).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after: Option<String>,
    /// At most this many (1–1000, default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// One event of the units' feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollabEventView {
    /// Sequence number (the cursor; gap-free over all units, so a unit's own feed skips the
    /// numbers of events it may not read).
    pub seq: i64,
    /// Event id.
    pub id: String,
    /// `collaboration.<step>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The item.
    pub item_id: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The signed payload, decoded (verify `jws`, not this copy).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Compact JWS (typ `penex-collab-event+jws`; keys at `/.well-known/jwks.json`).
    pub jws: String,
}

/// A page of the units' feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollabEventPage {
    /// Events in sequence order.
    pub events: Vec<CollabEventView>,
    /// The cursor for the next call.
    pub next_after: i64,
}

/// The units' own feed of collaboration events.
#[utoipa::path(
    operation_id = "list_collaboration_events",
    tag = "collaboration",
    description = "Roles: unit. Every step of the items you may see, signed like the platform's \
                   events, in sequence order after the cursor. Collaboration is not public: \
                   these events never go to the credit platform's connector.",
    security(("mtls" = [])),
    params(CollabFeedQuery),
    responses(
        (status = 200, description = "A page of events", body = CollabEventPage),
        (status = 400, description = "Malformed query string", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a unit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/collaboration/events")]
pub async fn list_events(
    caller: Caller,
    query: web::Query<CollabFeedQuery>,
    state: web::Data<AppState>,
) -> Result<web::Json<CollabEventPage>, ApiError> {
    let (_, me) = caller.require_unit()?;
    let me = me.to_string();
    let mut p = Params::new();
    let after = p.seq_after(query.after.as_deref());
    let limit = i64::from(p.limit(query.limit.as_deref(), 100, 1000));
    p.finish()?;
    let rows = state
        .db(move |c| store::collab::feed(c, &me, after, limit))
        .await?;
    let next_after = rows.last().map_or(after, |r| r.seq);
    Ok(web::Json(CollabEventPage {
        events: rows
            .into_iter()
            .map(|r| CollabEventView {
                seq: r.seq,
                payload: serde_json::from_str(&r.payload).unwrap_or(Value::Null),
                id: r.id,
                event_type: r.event_type,
                item_id: r.item_id,
                created_at: r.created_at.and_utc(),
                jws: r.jws,
            })
            .collect(),
        next_after,
    }))
}

/// The register's format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FilingQuery {
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>, example = "csv")]
    pub format: Option<String>,
}

/// A lead's 备案 register.
#[utoipa::path(
    operation_id = "list_collaboration_filings",
    tag = "collaboration",
    description = "Roles: unit, a party's lead (province level). The items your party's \
                   city-level and lower units sent, received or handled together, overdue \
                   first, then by deadline. `format=csv` answers a CSV file (UTF-8 with BOM).",
    security(("mtls" = [])),
    params(FilingQuery),
    responses(
        (status = 200, description = "The register: JSON, or CSV with `format=csv`", content(
            (Vec<Filing> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Malformed query string (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a lead", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/collaboration/filings")]
pub async fn list_filings(
    caller: Caller,
    query: web::Query<FilingQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (identity, _) = caller.require_unit()?;
    if identity.level != Some(Level::Province) {
        return Err(ApiError::Forbidden {
            detail: "the 备案 register is read by a party's lead (province level)".into(),
        });
    }
    let party = identity
        .party
        .ok_or_else(|| ApiError::internal("a unit identity without a party"))?;
    let mut p = Params::new();
    let csv = p
        .parse(
            "format",
            query.format.as_deref(),
            "invalid_format",
            "json or csv",
            |s| match s {
                "json" => Some(false),
                "csv" => Some(true),
                _ => None,
            },
        )
        .unwrap_or(false);
    p.finish()?;
    let registry = state.registry();
    let rows = state
        .read(move |c| crate::service::collab::report::filings(c, &registry, party))
        .await?;
    if csv {
        let bytes = crate::service::collab::report::filings_csv(&rows).map_err(ApiError::from)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"filings-{}.csv\"", party.code()),
            ))
            .body(bytes));
    }
    Ok(HttpResponse::Ok().json(rows))
}

/// The 成效评估 figures.
#[utoipa::path(
    operation_id = "get_stats_collaboration",
    tag = "statistics",
    description = "Roles: analyst, operator. Collaboration per unit, per party pair and per \
                   month: items by kind and outcome, on-time answers, median working days to \
                   receipt, to filing and to reply, transfers returned and why, overdue now.",
    security(("mtls" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The figures", body = CollaborationStats),
        (status = 401, description = "No credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/stats/collaboration")]
pub async fn get_stats(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<CollaborationStats>, ApiError> {
    caller.require(&[Role::Analyst, Role::Operator])?;
    let policy = state.policy.clone();
    let stats = state
        .read(move |c| crate::service::collab::report::stats(c, &policy.collab))
        .await?;
    Ok(web::Json(stats))
}
