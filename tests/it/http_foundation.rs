//! The foundation over real mutual TLS: public routes, identities from certificates and API
//! keys, CA-to-party binding, disabled units, problem bodies, 404/405, the spec and Swagger UI.

use crate::common;

use common::{TestApp, Who, lead_code, problem};
use penex::domain::party::{Party, Role};
use penex::tls::identity::CaBinding;

#[tokio::test]
async fn public_routes_need_no_certificate_and_v1_routes_do() {
    let app = TestApp::start().await;
    let anon = app.client(Who::Anonymous);
    let r = anon.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let r = anon.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let expected_db = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], expected_db);
    let r = anon.get(app.url("/v1/whoami")).send().await.unwrap();
    let body = problem(r, 401).await;
    assert_eq!(body["code"], "unauthenticated");
    app.stop().await;
}

#[tokio::test]
async fn each_lead_certificate_maps_to_its_unit() {
    let app = TestApp::start().await;
    for party in Party::ALL {
        let r = app
            .client(Who::Lead(party))
            .get(app.url("/v1/whoami"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["role"], "unit");
        assert_eq!(body["code"], lead_code(party));
        assert_eq!(body["party"], party.code());
        assert_eq!(body["level"], "province");
        assert_eq!(body["via"], "certificate");
    }
    for (who, role, code) in [
        (Who::Analyst, "analyst", "analyst-1"),
        (Who::Integrator, "integrator", "integrator-1"),
        (Who::Operator, "operator", "operator-1"),
    ] {
        let r = app
            .client(who)
            .get(app.url("/v1/whoami"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["role"], role);
        assert_eq!(body["code"], code);
        assert!(body.get("party").is_none());
    }
    app.stop().await;
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_at_the_handshake() {
    let app = TestApp::start().await;
    // A CA nobody configured, issuing a certificate that claims the Shanghai lead.
    let alien = tempfile::tempdir().unwrap();
    let alien_pki = penex::tls::pki::ensure_dev_pki(
        alien.path(),
        &[(lead_code(Party::Shanghai).to_owned(), Party::Shanghai)],
    )
    .unwrap();
    let files = alien_pki
        .clients
        .get(lead_code(Party::Shanghai))
        .unwrap()
        .files
        .clone();
    let (cert, key) = (files.cert, files.key);
    let r = app
        .client(Who::Files(cert, key))
        .get(app.url("/v1/whoami"))
        .send()
        .await;
    match r {
        Err(_) => {}
        Ok(resp) => panic!(
            "a certificate from an unknown CA was accepted: {}",
            resp.status()
        ),
    }
    app.stop().await;
}

#[tokio::test]
async fn a_party_ca_cannot_speak_for_another_partys_unit() {
    let app = TestApp::start().await;
    let out = app.dir.path().join("forged");
    // Jiangsu's CA issues a certificate naming the Shanghai lead.
    let (cert, key) = penex::tls::pki::issue_client_cert(
        &app.pki(),
        CaBinding::Party(Party::Jiangsu),
        Role::Unit,
        lead_code(Party::Shanghai),
        &out,
    )
    .unwrap();
    let r = app
        .client(Who::Files(cert, key))
        .get(app.url("/v1/whoami"))
        .send()
        .await
        .unwrap();
    let body = problem(r, 403).await;
    assert_eq!(body["code"], "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_unit_is_refused_and_an_enabled_one_accepted_again() {
    let app = TestApp::start().await;
    let code = "JS-320100";
    let (cert, key) = penex::tls::pki::issue_client_cert(
        &app.pki(),
        CaBinding::Party(Party::Jiangsu),
        Role::Unit,
        code,
        &app.dir.path().join("nj"),
    )
    .unwrap();
    let client = app.client(Who::Files(cert, key));
    let r = client.get(app.url("/v1/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["level"], "city");

    app.state
        .db(move |c| penex::store::units::set_disabled(c, code, true, "test"))
        .await
        .unwrap();
    app.state.refresh_registry().await.unwrap();
    let r = client.get(app.url("/v1/whoami")).send().await.unwrap();
    problem(r, 403).await;

    app.state
        .db(move |c| penex::store::units::set_disabled(c, code, false, "test"))
        .await
        .unwrap();
    app.state.refresh_registry().await.unwrap();
    let r = client.get(app.url("/v1/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_analyst_api_key_authenticates_as_analyst_and_a_revoked_one_does_not() {
    let app = TestApp::start().await;
    let token = "pxk_test_0123456789abcdef";
    let hash = penex::api::auth::api_key_hash(token);
    app.state
        .db(move |c| penex::store::apikeys::insert(c, "dash", "analyst", &hash))
        .await
        .unwrap();
    let anon = app.client(Who::Anonymous);
    let r = anon
        .get(app.url("/v1/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["role"], "analyst");
    assert_eq!(body["via"], "api_key");

    let r = anon
        .get(app.url("/v1/whoami"))
        .bearer_auth("pxk_wrong")
        .send()
        .await
        .unwrap();
    problem(r, 403).await;

    app.state
        .db(|c| penex::store::apikeys::revoke(c, "dash"))
        .await
        .unwrap();
    let r = anon
        .get(app.url("/v1/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    problem(r, 403).await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_as_problems() {
    let app = TestApp::start().await;
    let c = app.client(Who::Lead(Party::Zhejiang));
    let body = problem(
        c.get(app.url("/v1/nothing-here")).send().await.unwrap(),
        404,
    )
    .await;
    assert_eq!(body["code"], "not_found");
    let r = c.delete(app.url("/v1/whoami")).send().await.unwrap();
    let allow = r
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = problem(r, 405).await;
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(allow.as_deref(), Some("GET"));
    app.stop().await;
}

#[tokio::test]
async fn the_spec_and_swagger_ui_are_served_without_outside_requests() {
    let app = TestApp::start().await;
    let anon = app.client(Who::Anonymous);
    let spec: serde_json::Value = anon
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/v1/whoami"]["get"].is_object());
    let r = anon.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    // Every asset the page loads is relative: nothing leaves the machine.
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(attr), "external asset in /docs: {attr}");
    }
    let init = anon
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"));
    assert!(
        !init.contains("https://"),
        "swagger initializer points outside: {init}"
    );
    app.stop().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_then_recover() {
    let app = TestApp::start_with_overrides(serde_json::json!({
        "rate_limits": {
            "push": {"limit": 50, "window_secs": 60},
            "query": {"limit": 3, "window_secs": 2},
        }
    }))
    .await;
    let c = app.client(Who::Lead(Party::Anhui));
    for _ in 0..3 {
        assert_eq!(
            c.get(app.url("/v1/whoami")).send().await.unwrap().status(),
            200
        );
    }
    let r = c.get(app.url("/v1/whoami")).send().await.unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "retry-after {retry}");
    assert_eq!(problem(r, 429).await["code"], "rate_limited");
    // Limits are per caller: another identity is not affected.
    let other = app.client(Who::Lead(Party::Zhejiang));
    assert_eq!(
        other
            .get(app.url("/v1/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Public routes are not limited.
    assert_eq!(
        c.get(app.url("/healthz")).send().await.unwrap().status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        c.get(app.url("/v1/whoami")).send().await.unwrap().status(),
        200
    );
    app.stop().await;
}
