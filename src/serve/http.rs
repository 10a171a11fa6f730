//! The HTTP endpoints (axum): `/healthz`, `/readyz`, `/metrics` and the JSON API. Handlers only
//! read the shared state ([`super::state`]); they never touch ZooKeeper or git, so a scrape costs
//! the fleet nothing.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::state::{FORMAT_VERSION, Shared};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/services", get(services))
        .route("/api/v1/services/{name}", get(service))
        .with_state(shared)
}

/// 200 once connected, loaded and synced; 503 with the reasons otherwise.
async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let why = shared.read().not_ready();
    if why.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", why.join("; "))).into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    ([(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)], shared.metrics.encode()).into_response()
}

async fn services(State(shared): State<Arc<Shared>>) -> Response {
    let value = shared.read().to_json();
    axum::Json(value).into_response()
}

async fn service(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let found = shared.read().service_json(&name);
    match found {
        Some(Ok(value)) => axum::Json(value).into_response(),
        Some(Err(err)) => {
            let body = json!({"format_version": FORMAT_VERSION, "error": err.to_string()});
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
        None => {
            let error = format!("the commit in force has no service `{name}`");
            (StatusCode::NOT_FOUND, axum::Json(json!({"format_version": FORMAT_VERSION, "error": error})))
                .into_response()
        }
    }
}
