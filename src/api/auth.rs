//! Who is calling: identity from the client certificate (mapped through the CA binding and the
//! unit registry) or from an analyst's bearer API key, and the role check every route makes.
//!
//! Deny by default: a certificate maps to an identity only when it chains to a configured CA,
//! that CA is bound to what the certificate claims (a Jiangsu CA never speaks for a Shanghai
//! unit), and the unit is registered and not disabled.

use super::problem::ApiError;
use super::state::AppState;
use crate::domain::party::{Level, Party, Role};
use crate::tls::identity::CaBinding;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use utoipa::ToSchema;

/// The DER of the client certificate presented on this connection, stored by `on_connect`.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Vec<u8>);

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A client certificate (mutual TLS).
    Certificate,
    /// A bearer API key (analysts only).
    ApiKey,
}

/// The caller's identity, as `GET /v1/whoami` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identity {
    /// What the caller may do.
    #[schema(value_type = String, example = "unit")]
    pub role: Role,
    /// Unit code for units; the principal's name for other roles.
    #[schema(example = "SH-310000")]
    pub code: String,
    /// The unit's registered name (units only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The unit's party (units only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "SH")]
    pub party: Option<Party>,
    /// The unit's level (units only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "province")]
    pub level: Option<Level>,
    /// How the caller authenticated.
    pub via: AuthMethod,
    /// The unit's code, parsed (units only; `code` is its text).
    #[serde(skip)]
    pub unit: Option<crate::domain::unit::UnitCode>,
}

impl Identity {
    /// The actor string used in the audit log: `<role>:<code>`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.code)
    }
}

/// An authenticated caller. Extracting it fails with 401 when no credentials were given and
/// 403 when they were given but are not acceptable.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl Caller {
    /// The identity of a unit and its parsed code; 403 for any other role.
    pub fn require_unit(&self) -> Result<(&Identity, &crate::domain::unit::UnitCode), ApiError> {
        let identity = self.require(&[Role::Unit])?;
        match &identity.unit {
            Some(code) => Ok((identity, code)),
            None => Err(ApiError::internal(format!(
                "unit identity {} without a parsed code",
                identity.code
            ))),
        }
    }

    /// The identity, if its role is one of `roles`; 403 otherwise.
    pub fn require(&self, roles: &[Role]) -> Result<&Identity, ApiError> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden {
                detail: format!(
                    "this operation is for {}; you are {}",
                    roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    self.0.role.as_str()
                ),
            })
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cert = req.conn_data::<PeerCertificate>().cloned();
        // POST/PUT/DELETE are writes; the event feed has its own budget; everything else
        // reads.
        let class = if req.method() != actix_web::http::Method::GET
            && req.method() != actix_web::http::Method::HEAD
        {
            RouteClass::Push
        } else if req.match_pattern().as_deref() == Some("/v1/events") {
            RouteClass::Feed
        } else {
            RouteClass::Query
        };
        let bearer = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("no AppState in the app data"))?;
            let identity = if let Some(cert) = cert {
                identify_certificate(&state, &cert.0)?
            } else if let Some(token) = bearer {
                identify_api_key(&state, token).await?
            } else {
                return Err(ApiError::Unauthenticated);
            };
            tracing::Span::current().record("caller", identity.actor().as_str());
            rate_limit(&state, &identity, class).await?;
            Ok(Caller(identity))
        })
    }
}

fn identify_certificate(state: &AppState, der: &[u8]) -> Result<Identity, ApiError> {
    let claim = state.client_cas.identify(der).map_err(|e| {
        tracing::warn!(reason = %e, "client certificate refused");
        ApiError::Forbidden {
            detail: "the client certificate is not accepted by this exchange".into(),
        }
    })?;
    match claim.role {
        Role::Unit => {
            let registry = state.registry();
            let unit = crate::domain::unit::UnitCode::parse(&claim.code)
                .ok()
                .and_then(|code| registry.get(&code).cloned())
                .ok_or_else(|| {
                    tracing::warn!(unit.code = %claim.code, "certificate for an unregistered unit");
                    ApiError::Forbidden {
                        detail: "the certificate names a unit that is not registered".into(),
                    }
                })?;
            if claim.ca != CaBinding::Party(unit.party) {
                tracing::warn!(unit.code = %claim.code, "certificate from another party's CA");
                return Err(ApiError::Forbidden {
                    detail: format!(
                        "unit {} belongs to {}; this certificate was issued by another \
                         party's CA",
                        unit.code,
                        unit.party.code()
                    ),
                });
            }
            if unit.disabled {
                return Err(ApiError::Forbidden {
                    detail: format!("unit {} is disabled", unit.code),
                });
            }
            Ok(Identity {
                role: Role::Unit,
                code: unit.code.to_string(),
                name: Some(unit.name.clone()),
                party: Some(unit.party),
                level: Some(unit.level),
                via: AuthMethod::Certificate,
                unit: Some(unit.code.clone()),
            })
        }
        role => Ok(Identity {
            role,
            code: claim.code,
            name: None,
            party: None,
            level: None,
            via: AuthMethod::Certificate,
            unit: None,
        }),
    }
}

/// What a request does, for rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Writes.
    Push,
    /// Reads.
    Query,
    /// The event feed.
    Feed,
}

/// Counts the request against the caller's limit for its class; 429 when it is spent. When the
/// cache cannot answer, the request is let through (and logged): an outage of the limiter must
/// not stop the exchange, and `/readyz` already reports it.
async fn rate_limit(
    state: &AppState,
    identity: &Identity,
    class: RouteClass,
) -> Result<(), ApiError> {
    let (name, cfg) = match class {
        RouteClass::Push => ("push", state.settings.rate_limits.push),
        RouteClass::Query => ("query", state.settings.rate_limits.query),
        RouteClass::Feed => ("feed", state.settings.rate_limits.feed),
    };
    let key = format!("rl:{name}:{}", identity.actor());
    let window = std::time::Duration::from_secs(cfg.window_secs);
    let decision = state.cache.rate_limit(&key, cfg.limit, window).await;
    if let Some(m) = &state.metrics {
        let result = match &decision {
            Ok(d) if d.allowed => "allowed",
            Ok(_) => "limited",
            Err(_) => "cache_error",
        };
        m.observe_rate_limit(name, result);
    }
    match decision {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => Err(ApiError::TooManyRequests {
            retry_after_secs: d.retry_after.as_secs().max(1),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter unavailable; request let through");
            Ok(())
        }
    }
}

/// Hex SHA-256 of an API key, the form in which keys are stored (made by `service::admin`).
pub use crate::service::admin::api_key_hash;

async fn identify_api_key(state: &AppState, token: String) -> Result<Identity, ApiError> {
    let hash = api_key_hash(&token);
    let row = state
        .db(move |conn| crate::store::apikeys::find_live(conn, &hash))
        .await?;
    let row = row.ok_or_else(|| ApiError::Forbidden {
        detail: "the API key is unknown or revoked".into(),
    })?;
    let role: Role = row
        .role
        .parse()
        .map_err(|e| ApiError::internal(format!("API key {}: role: {e}", row.name)))?;
    // API keys are only ever issued for analysts; anything else in the table is refused.
    if role != Role::Analyst {
        return Err(ApiError::Forbidden {
            detail: "API keys grant the analyst role only".into(),
        });
    }
    Ok(Identity {
        role,
        code: row.name,
        name: None,
        party: None,
        level: None,
        via: AuthMethod::ApiKey,
        unit: None,
    })
}

/// Stores the client certificate of a TLS connection (if any) in the connection's extensions,
/// where [`Caller`] finds it.
pub fn on_connect(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    use actix_tls::accept::rustls_0_23::TlsStream;
    if let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() {
        let (_, session) = tls.get_ref();
        if let Some(cert) = session.peer_certificates().and_then(|c| c.first()) {
            ext.insert(PeerCertificate(cert.as_ref().to_vec()));
        }
    }
}
