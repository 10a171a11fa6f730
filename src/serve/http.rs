//! The HTTP endpoints (axum): `/healthz`, `/readyz`, `/metrics` and the JSON API. Handlers only
//! read the shared state ([`super::state`]); they never touch ZooKeeper or git, so a scrape costs
//! the fleet nothing.
//!
//! One cluster: `/api/v1/services[/NAME]` is its status. Several targets (`[targets]`): those
//! documents hold `{"format_version", "targets": [...]}`, one item per target (a service's only
//! for the targets that have it), `/api/v1/targets/TARGET/services[/NAME]` gives one target's
//! as for one cluster, `/readyz` is ready when every target is, and `/metrics` holds every
//! target's samples, each labelled `target`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::state::{FORMAT_VERSION, Shared};

/// The status of every cluster served, in wave order.
type All = Arc<Vec<Arc<Shared>>>;

/// The endpoints, the web UI's among them ([`super::ui`]); with `auth`, every one but the health
/// probes needs its credentials.
pub fn router(shareds: Vec<Arc<Shared>>, auth: Option<Arc<super::ui::Auth>>) -> Router {
    Router::new()
        .merge(super::ui::router())
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/services", get(services))
        .route("/api/v1/services/{name}", get(service))
        .route("/api/v1/targets/{target}/services", get(target_services))
        .route("/api/v1/targets/{target}/services/{name}", get(target_service))
        .with_state(Arc::new(shareds))
        .layer(axum::middleware::from_fn(super::ui::headers))
        .layer(axum::middleware::from_fn(move |request, next| super::ui::require(auth.clone(), request, next)))
}

/// 200 once connected, loaded and synced (every target); 503 with the reasons otherwise.
async fn readyz(State(all): State<All>) -> Response {
    let mut why = Vec::new();
    for shared in all.iter() {
        let status = shared.read();
        let target = status.target.as_ref().map(|t| format!("{t}: ")).unwrap_or_default();
        why.extend(status.not_ready().into_iter().map(|reason| format!("{target}{reason}")));
    }
    if why.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", why.join("; "))).into_response()
    }
}

async fn metrics(State(all): State<All>) -> Response {
    let texts: Vec<String> = all.iter().map(|shared| shared.metrics.encode()).collect();
    ([(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)], super::metrics::merge(&texts)).into_response()
}

async fn services(State(all): State<All>) -> Response {
    if let [one] = all.as_slice() {
        return axum::Json(one.read().to_json()).into_response();
    }
    let targets: Vec<Value> = all.iter().map(|shared| shared.read().to_json()).collect();
    axum::Json(json!({"format_version": FORMAT_VERSION, "targets": targets})).into_response()
}

async fn service(State(all): State<All>, Path(name): Path<String>) -> Response {
    if let [one] = all.as_slice() {
        return one_service(one, &name);
    }
    let mut targets = Vec::new();
    for shared in all.iter() {
        match shared.read().service_json(&name) {
            Some(Ok(value)) => targets.push(value),
            Some(Err(err)) => return error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
            None => {}
        }
    }
    if targets.is_empty() {
        return error(StatusCode::NOT_FOUND, format!("the commit in force has no service `{name}` in any target"));
    }
    axum::Json(json!({"format_version": FORMAT_VERSION, "targets": targets})).into_response()
}

async fn target_services(State(all): State<All>, Path(target): Path<String>) -> Response {
    match find(&all, &target) {
        Some(shared) => axum::Json(shared.read().to_json()).into_response(),
        None => unknown(&all, &target),
    }
}

async fn target_service(State(all): State<All>, Path((target, name)): Path<(String, String)>) -> Response {
    match find(&all, &target) {
        Some(shared) => one_service(shared, &name),
        None => unknown(&all, &target),
    }
}

/// The status of `target`.
fn find<'a>(all: &'a All, target: &str) -> Option<&'a Arc<Shared>> {
    all.iter().find(|shared| shared.read().target.as_deref() == Some(target))
}

/// A 404 for a target not served, naming those that are.
fn unknown(all: &All, target: &str) -> Response {
    let names: Vec<String> = all.iter().filter_map(|s| s.read().target.clone()).collect();
    error(StatusCode::NOT_FOUND, format!("no target `{target}` is served (targets: {})", names.join(", ")))
}

fn one_service(shared: &Shared, name: &str) -> Response {
    let found = shared.read().service_json(name);
    match found {
        Some(Ok(value)) => axum::Json(value).into_response(),
        Some(Err(err)) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        None => error(StatusCode::NOT_FOUND, format!("the commit in force has no service `{name}`")),
    }
}

fn error(code: StatusCode, error: String) -> Response {
    (code, axum::Json(json!({"format_version": FORMAT_VERSION, "error": error}))).into_response()
}
