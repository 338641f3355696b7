//! The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`. A test checks that
//! its paths and methods are exactly the router's, and their security the routes' access.

use serde_json::{json, Value};

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_body(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn binary(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

fn paging() -> Vec<Value> {
    vec![
        json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u64::MAX, "default": 0}}),
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}}),
    ]
}

const APP: &str = "apiKey";
const PROFILE: &str = "profileToken";
const ADMIN: &str = "adminKey";

/// `?form=` of the hint routes.
fn hint_form() -> Value {
    json!({"name": "form", "in": "query", "required": false,
        "description": "exact (the default, every client decodes it) or rounded (to noise.hint_bits: about half the bytes; the exact hint answers where the catalog has no rounding)",
        "schema": {"type": "string", "enum": ["exact", "rounded"], "default": "exact"}})
}

fn security(schemes: &[&str]) -> Value {
    let mut requirement = serde_json::Map::new();
    for s in schemes {
        requirement.insert((*s).to_string(), json!([]));
    }
    json!([requirement])
}

fn scoring_errors(mut responses: Value) -> Value {
    let extra = json!({
        "400": error("Malformed query"),
        "409": error("The query or profile does not fit the catalog (parameters, catalog id, dimension)"),
        "413": error("Larger than any query for this catalog"),
        "415": error("Not application/octet-stream"),
        "502": error("Through a gateway: a shard answered something unusable (bad_upstream)"),
        "503": error("Catalog not ready, too busy, or through a gateway a shard unavailable (shard_unavailable) or the catalog being replaced (catalog_changing); see Retry-After"),
    });
    if let (Some(r), Some(e)) = (responses.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            r.entry(k.clone()).or_insert(v.clone());
        }
    }
    responses
}

/// The document.
pub fn document() -> Value {
    let mut document = paths_and_schemas();
    with_api_key_errors(&mut document);
    document
}

/// Every operation behind an API key can also answer 401 (no key, or a wrong one, when the
/// server has keys) and 429 (over the key's rate limit).
fn with_api_key_errors(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in operation.values_mut() {
            let guarded = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get(APP).is_some()));
            if let (true, Some(responses)) = (guarded, op["responses"].as_object_mut()) {
                responses.entry("401").or_insert_with(|| {
                    error("No API key, or a wrong one (when the server has API keys)")
                });
                responses
                    .entry("429")
                    .or_insert_with(|| error("Over the API key's rate limit; see Retry-After"));
            }
        }
    }
}

fn paths_and_schemas() -> Value {
    let catalog = path_param("catalog", "Catalog id");
    let profile = path_param("id", "Profile id (32 hex digits)");
    let app = security(&[APP]);
    let owner = security(&[APP, PROFILE]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "veilrank",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Privacy-preserving recommendation scoring: the server scores its catalog against an encrypted preference vector and returns encrypted scores. It never sees preferences, scores or rankings. Queries and responses are veilrank wire messages (application/octet-stream) made by the client SDK."
        },
        "paths": {
            "/healthz": {"get": {"summary": "The process is up", "security": [],
                "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "Every catalog is prepared", "security": [],
                "responses": {"200": {"description": "ready"}, "503": error("Still preparing")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                "responses": {"200": {"description": "Prometheus text format"}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/privacy": {"get": {"summary": "What the server stores, for how long, and what it learns", "security": app,
                "responses": {"200": {"description": "The privacy statement", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/v1/catalogs": {"get": {"summary": "Every catalog served", "security": app,
                "responses": {"200": json_body("The catalogs and the default", "CatalogList")}}},
            "/v1/catalogs/{catalog}": {"get": {"summary": "A catalog's manifest", "security": app,
                "parameters": [catalog],
                "responses": {"200": json_body("The manifest", "Manifest"), "404": error("No such catalog"), "503": error("Not ready")}}},
            "/v1/catalogs/{catalog}/items": {"get": {"summary": "A page of a catalog's item metadata", "security": app,
                "parameters": [catalog, paging()[0], paging()[1]],
                "responses": {"200": json_body("A page", "ItemsPage"), "400": error("Bad paging"), "404": error("No such catalog")}}},
            "/v1/catalogs/{catalog}/hint": {"get": {"summary": "A catalog's hint: the public part of every score, which clients need to decrypt (fetch once per content version; the ETag is the version, and the form)", "security": app,
                "parameters": [catalog, hint_form()],
                "responses": {"200": binary("The hint, a veilrank wire message"), "400": error("Bad form"), "404": error("No such catalog"), "503": error("Not ready")}}},
            "/v1/catalogs/{catalog}/score": {"post": {"summary": "Score an encrypted query", "security": app,
                "parameters": [catalog],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": scoring_errors(json!({"200": binary("Encrypted scores, with Server-Timing"), "404": error("No such catalog")}))}},
            "/v1/catalog": {"get": {"summary": "The default catalog's manifest (alias)", "security": app,
                "responses": {"200": json_body("The manifest", "Manifest"), "503": error("Not ready")}}},
            "/v1/catalog/items": {"get": {"summary": "The default catalog's items (alias)", "security": app,
                "parameters": paging(),
                "responses": {"200": json_body("A page", "ItemsPage"), "400": error("Bad paging")}}},
            "/v1/catalog/hint": {"get": {"summary": "The default catalog's hint (alias)", "security": app,
                "parameters": [hint_form()],
                "responses": {"200": binary("The hint, a veilrank wire message"), "400": error("Bad form"), "503": error("Not ready")}}},
            "/v1/score": {"post": {"summary": "Score an encrypted query against the default catalog (alias)", "security": app,
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": scoring_errors(json!({"200": binary("Encrypted scores, with Server-Timing")}))}},
            "/v1/profiles": {"post": {"summary": "Store an encrypted profile (the catalog is named in the message)", "security": app,
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": scoring_errors(json!({"201": json_body("The profile and its access token, shown once", "ProfileCreated"), "404": error("No such catalog")}))}},
            "/v1/profiles/{id}": {
                "get": {"summary": "A profile's metadata (never its content)", "security": owner,
                    "parameters": [profile],
                    "responses": {"200": json_body("Metadata", "ProfileInfo"), "401": error("No token"), "404": error("No such profile, or wrong token")}},
                "put": {"summary": "Replace a profile's content", "security": owner,
                    "parameters": [profile],
                    "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                    "responses": scoring_errors(json!({"200": json_body("Metadata", "ProfileInfo"), "401": error("No token"), "404": error("No such profile, or wrong token")}))},
                "delete": {"summary": "Erase a profile now", "security": owner,
                    "parameters": [profile],
                    "responses": {"204": {"description": "Erased"}, "401": error("No token"), "404": error("No such profile, or wrong token")}}
            },
            "/v1/profiles/{id}/score": {"post": {"summary": "Score a stored profile against the current version of its catalog", "security": owner,
                "parameters": [profile],
                "responses": scoring_errors(json!({"200": binary("Encrypted scores, with Server-Timing"), "401": error("No token"), "404": error("No such profile, or wrong token")}))}},
            "/admin/catalogs/{catalog}/reload": {"post": {"summary": "Reload a catalog from its file without downtime", "security": security(&[ADMIN]),
                "parameters": [catalog],
                "responses": {"200": json_body("What changed", "ReloadOutcome"), "401": error("No or wrong admin key"), "404": error("No such catalog, or admin off"), "409": error("Not loaded from a file"), "422": error("The new file is invalid; the old version stays")}}}
        },
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": crate::auth::API_KEY_HEADER,
                      "description": "Required on /v1 when the server has API keys; 429 with Retry-After over the key's rate limit"},
                "profileToken": {"type": "http", "scheme": "bearer", "description": "The profile's access token"},
                "adminKey": {"type": "http", "scheme": "bearer", "description": "The admin key"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Manifest": {"type": "object", "required": ["id", "content_version", "item_count", "dimension", "parameters", "max_query_bytes", "hint_bytes"],
                    "properties": {"id": {"type": "string"}, "content_version": {"type": "string"},
                        "item_count": {"type": "integer"}, "dimension": {"type": "integer"},
                        "quantization": {"type": "object"}, "parameters": {"type": "object"}, "noise": {"type": "object"},
                        "precision": {"type": "object", "required": ["catalog_bits", "query_bits"], "properties": {
                            "catalog_bits": {"type": "integer", "minimum": 8, "maximum": 16},
                            "query_bits": {"type": "integer", "minimum": 8, "maximum": 16}}},
                        "topics": {"type": "array"}, "max_query_bytes": {"type": "integer"}, "hint_bytes": {"type": "integer"},
                        "rounded_hint_bytes": {"type": "integer", "description": "Bytes of the hint at ?form=rounded; absent where there is none"}}},
                "ItemsPage": {"type": "object", "required": ["content_version", "total", "offset", "items"],
                    "properties": {"content_version": {"type": "string"}, "total": {"type": "integer"}, "offset": {"type": "integer"},
                        "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}}}}}},
                "CatalogList": {"type": "object", "required": ["default", "catalogs"],
                    "properties": {"default": {"type": "string"}, "catalogs": {"type": "array", "items": {"type": "object",
                        "properties": {"id": {"type": "string"}, "content_version": {"type": "string"}, "item_count": {"type": "integer"},
                            "dimension": {"type": "integer"}, "ready": {"type": "boolean"}}}}}},
                "ProfileInfo": {"type": "object", "required": ["id", "catalog", "dimension", "created_at", "expires_at", "size_bytes"],
                    "properties": {"id": {"type": "string"}, "catalog": {"type": "string"}, "dimension": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
                        "size_bytes": {"type": "integer"}}},
                "ProfileCreated": {"type": "object", "required": ["profile", "token"],
                    "properties": {"profile": {"$ref": "#/components/schemas/ProfileInfo"}, "token": {"type": "string"}}},
                "ReloadOutcome": {"type": "object", "required": ["catalog", "status", "previous_version", "current_version"],
                    "properties": {"catalog": {"type": "string"}, "status": {"enum": ["replaced", "unchanged"]},
                        "previous_version": {"type": "string"}, "current_version": {"type": "string"}}}
            }
        }
    })
}
