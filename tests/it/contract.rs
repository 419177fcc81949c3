//! The API contract: the committed `openapi/openapi.json` equals the generated spec, and every
//! operation declares its security (an empty requirement for the public ones).

#[test]
fn committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json"),
    )
    .expect("openapi/openapi.json is committed");
    let generated = penex::api::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_has_a_security_requirement_and_an_operation_id() {
    let spec: serde_json::Value = serde_json::from_str(&penex::api::openapi_json()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    let public = ["/healthz", "/readyz", "/.well-known/jwks.json"];
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic_missing(path, method));
            let is_public = security
                .iter()
                .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            assert_eq!(
                is_public,
                public.contains(&path.as_str()),
                "{method} {path}: public routes must be exactly {public:?}"
            );
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
        }
    }
}

fn panic_missing(path: &str, method: &str) -> &'static Vec<serde_json::Value> {
    unreachable!("{method} {path} has no security requirement")
}
