//! The read-only web UI of `jones-sync serve`, on the server's listener: the overview (`/`), a
//! service (`/ui/services/NAME`), a host (`/ui/hosts/HOST`) and a service's history
//! (`/ui/services/NAME/history`). Pages are rendered on the server and work without JavaScript;
//! a little script ([`static`](self)) filters lists as you type and reloads a page when the
//! server's state changes (a short poll of `/ui/generation`).
//!
//! Safe by default: there is no write endpoint at all; every page carries a strict
//! `Content-Security-Policy` (no inline script or style, nothing from another origin: every asset
//! is embedded in the binary); every value is escaped and redacted ([`pages`]). Off the host, an
//! optional `--ui-auth-file` requires a bearer token or basic credentials ([`Auth`]) on every
//! endpoint but `/healthz` and `/readyz`.
//!
//! With several targets, every page takes `?target=NAME` (the first target by default) and shows a
//! selector; the overview also shows the matrix of services × targets.

pub mod pages;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::state::{Shared, Status};
use crate::model::EnvPath;
use crate::plan::redact::Redactor;

/// The policy every response carries: only this server's own scripts, styles and requests.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const CSS: &str = include_str!("static/app.css");
const JS: &str = include_str!("static/app.js");

/// Every cluster served, in wave order.
type All = Arc<Vec<Arc<Shared>>>;

/// The UI's routes.
pub fn router() -> Router<All> {
    Router::new()
        .route("/", get(overview))
        .route("/ui/static/app.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }))
        .route("/ui/static/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS) }))
        .route("/ui/generation", get(generation))
        .route("/ui/hosts", get(host_search))
        .route("/ui/hosts/{host}", get(host))
        .route("/ui/services/{name}", get(service))
        .route("/ui/services/{name}/history", get(history))
}

/// Access control from `--ui-auth-file`: a file of one line, `user:password` for basic
/// authentication, anything else a bearer token.
#[derive(Clone)]
pub enum Auth {
    Bearer(String),
    Basic(String),
}

impl std::fmt::Debug for Auth {
    /// Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
            Auth::Basic(_) => "Auth::Basic(<redacted>)",
        })
    }
}

impl Auth {
    /// Reads `--ui-auth-file`.
    pub fn read(path: &std::path::Path) -> anyhow::Result<Auth> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow::anyhow!("cannot read --ui-auth-file `{}`: {err}", path.display()))?;
        let line = text.lines().next().unwrap_or_default().trim();
        if line.is_empty() {
            anyhow::bail!(
                "--ui-auth-file `{}` is empty: write a bearer token, or `user:password` for basic authentication",
                path.display()
            );
        }
        Ok(match line.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Auth::Basic(crate::zk::connect::base64(line.as_bytes()))
            }
            _ => Auth::Bearer(line.to_string()),
        })
    }

    fn allows(&self, given: Option<&str>) -> bool {
        let (scheme, expected) = match self {
            Auth::Bearer(token) => ("Bearer ", token.as_str()),
            Auth::Basic(encoded) => ("Basic ", encoded.as_str()),
        };
        given
            .and_then(|g| g.strip_prefix(scheme))
            .is_some_and(|g| constant_time_eq(g.trim().as_bytes(), expected.as_bytes()))
    }
}

/// Compares without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a request without the credentials of `--ui-auth-file` (health probes excepted).
pub async fn require(auth: Option<Arc<Auth>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let open = path == "/healthz" || path == "/readyz";
    if let Some(auth) = auth.filter(|_| !open) {
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !auth.allows(given) {
            let challenge = match *auth {
                Auth::Bearer(_) => "Bearer realm=\"jones-sync\"",
                Auth::Basic(_) => "Basic realm=\"jones-sync\"",
            };
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], "unauthorized\n")
                .into_response();
        }
    }
    next.run(request).await
}

/// Adds the security headers to every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[derive(Deserialize, Default)]
struct Params {
    target: Option<String>,
    q: Option<String>,
    page: Option<usize>,
    env: Option<String>,
    host: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The cluster a page shows: `?target=`, else the first; `None` for a target not served.
fn chosen<'a>(all: &'a All, params: &Params) -> Option<&'a Arc<Shared>> {
    match &params.target {
        None => all.first(),
        Some(target) => all.iter().find(|s| s.read().target.as_deref() == Some(target.as_str())),
    }
}

fn targets(all: &All) -> Vec<String> {
    all.iter().filter_map(|s| s.read().target.clone()).collect()
}

/// The sum of every cluster's generation: it moves when any state changes.
fn generation_of(all: &All) -> u64 {
    all.iter().map(|s| s.generation.load(Ordering::Relaxed)).sum()
}

async fn generation(State(all): State<All>) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], format!("{}\n", generation_of(&all))).into_response()
}

fn html(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

/// A page of the cluster `params` names, framed.
fn framed(all: &All, params: &Params, title: &str, path: &str, content: maud::Markup) -> Response {
    let targets = targets(all);
    let target = params.target.clone().or_else(|| targets.first().cloned());
    let frame =
        pages::Frame { title, targets: &targets, target: target.as_deref(), path, generation: generation_of(all) };
    html(StatusCode::OK, pages::page(&frame, content))
}

fn not_found(all: &All, params: &Params, what: &str) -> Response {
    let targets = targets(all);
    let target = params.target.as_deref().filter(|t| targets.iter().any(|known| known == t));
    let frame =
        pages::Frame { title: "Not found", targets: &targets, target, path: "/", generation: generation_of(all) };
    html(StatusCode::NOT_FOUND, pages::page(&frame, pages::missing(what)))
}

fn unknown_target(all: &All, params: &Params) -> Response {
    let target = params.target.as_deref().unwrap_or_default();
    not_found(all, params, &format!("No target `{target}` is served (targets: {}).", targets(all).join(", ")))
}

fn redactor(status: &Status) -> Redactor {
    // The patterns were checked when the commit was read; a commit whose patterns do not compile
    // is never in force, so hiding everything is only a safe fallback.
    Redactor::new(&status.sensitive, false)
        .unwrap_or_else(|_| Redactor::new(&["*"], false).expect("`*` is a valid pattern"))
}

async fn overview(State(all): State<All>, Query(params): Query<Params>) -> Response {
    let Some(shared) = chosen(&all, &params) else { return unknown_target(&all, &params) };
    let statuses: Vec<_> = all.iter().map(|s| s.read()).collect();
    let status = shared.read();
    let views: Vec<&Status> = statuses.iter().map(|s| &**s).collect();
    let q = params.q.clone().unwrap_or_default();
    let content = pages::overview(&views, &status, &q, params.page.unwrap_or(1), jiff::Timestamp::now());
    drop(status);
    drop(statuses);
    framed(&all, &params, "Overview", "/", content)
}

async fn service(State(all): State<All>, Path(name): Path<String>, Query(params): Query<Params>) -> Response {
    let Some(shared) = chosen(&all, &params) else { return unknown_target(&all, &params) };
    let status = shared.read();
    let Some(service) = status.services.get(&name) else {
        drop(status);
        return not_found(&all, &params, &format!("The commit in force has no service `{name}` here."));
    };
    let model = status.desired.as_ref().and_then(|d| d.service(&name));
    let env = EnvPath::parse(params.env.as_deref().unwrap_or(""));
    let content = pages::service(&status, service, model.as_ref(), &env, &redactor(&status));
    drop(status);
    framed(&all, &params, &name, &format!("/ui/services/{}", pages::encode(&name)), content)
}

/// The search box: to the host's page.
async fn host_search(Query(params): Query<Params>) -> Response {
    let host = params.host.unwrap_or_default();
    let host = host.trim();
    if host.is_empty() {
        return Redirect::to("/").into_response();
    }
    Redirect::to(&pages::url(&format!("/ui/hosts/{}", pages::encode(host)), &[("target", params.target.as_deref())]))
        .into_response()
}

async fn host(State(all): State<All>, Path(host): Path<String>, Query(params): Query<Params>) -> Response {
    let mut reads = Vec::new();
    let mut services = 0;
    // Every target, or the one asked for.
    for shared in all.iter() {
        let status = shared.read();
        if params.target.is_some() && status.target != params.target {
            continue;
        }
        let Some(desired) = status.desired.clone() else { continue };
        let redactor = redactor(&status);
        services += desired.confs.len();
        for confs in &desired.confs {
            let Some(env) = confs.hosts.get(&host) else { continue };
            let Some(model) = desired.service(&confs.name) else { continue };
            let mut values: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
            for depth in 0..=env.0.len() {
                if let Some(e) = model.envs.get(&EnvPath(env.0[..depth].to_vec())) {
                    values.extend(e.values.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            reads.push(pages::HostRead {
                target: status.target.clone(),
                service: confs.name.clone(),
                env: (!env.is_root()).then(|| env.to_string()),
                values: values.iter().map(|(k, v)| (k.clone(), redactor.shown_of(k, v).to_string())).collect(),
                in_sync: status.services.get(&confs.name).is_none_or(|s| s.in_sync()),
            });
        }
    }
    let content = pages::host(&host, &reads, services);
    framed(&all, &params, &host, &format!("/ui/hosts/{}", pages::encode(&host)), content)
}

async fn history(State(all): State<All>, Path(name): Path<String>, Query(params): Query<Params>) -> Response {
    let Some(shared) = chosen(&all, &params) else { return unknown_target(&all, &params) };
    if let Some(why) = crate::repo::names::zk_name_problem(&name) {
        return not_found(&all, &params, &format!("`{name}` cannot be a service: {why}."));
    }
    let Some(access) = &shared.access else { return not_found(&all, &params, "This server cannot read history.") };
    let log = {
        let mut session = access.session.lock().await;
        if session.as_ref().is_none_or(|zk| zk.is_lost()) {
            match access.connect.zk().await {
                Ok(zk) => *session = Some(zk),
                Err(err) => return error(&all, &params, &format!("cannot read the audit log: {err}")),
            }
        }
        let zk = session.as_ref().expect("just connected");
        match crate::audit::history::read(zk, &name, Some(pages::PAGE)).await {
            Ok(Some(log)) => log,
            Ok(None) => return not_found(&all, &params, &format!("There is no service `{name}` in ZooKeeper.")),
            Err(err) => return error(&all, &params, &format!("cannot read the audit log of `{name}`: {err}")),
        }
    };
    let diff = match (&params.from, &params.to) {
        (Some(from), Some(to)) => {
            let redactor = redactor(&shared.read());
            match compare(&access.repo, &name, from, to, &redactor) {
                Ok(markup) => Some(markup),
                Err(err) => Some(maud::html! { div.panel role="alert" { "Cannot compare: " (err) } }),
            }
        }
        _ => None,
    };
    let content = pages::history(&shared.read(), &name, &log, diff);
    framed(
        &all,
        &params,
        &format!("History of {name}"),
        &format!("/ui/services/{}/history", pages::encode(&name)),
        content,
    )
}

/// The content of service `name` at commits `from` and `to`, compared (read from git objects).
fn compare(
    repo: &std::path::Path,
    name: &str,
    from: &str,
    to: &str,
    redactor: &Redactor,
) -> anyhow::Result<maud::Markup> {
    let Some(git) = crate::repo::git::Git::open(repo)? else {
        anyhow::bail!("the server's repository is not a git clone")
    };
    let content = |rev: &str| -> anyhow::Result<String> {
        let commit = git.resolve(rev)?;
        match crate::desired::load_service_at(repo, name, &commit)? {
            Ok(state) => Ok(state.service(name).map(|s| pages::content_lines(&s, redactor)).unwrap_or_default()),
            Err(problems) => {
                anyhow::bail!("`{name}` at {} does not read: {}", crate::repo::git::short(&commit.sha), problems.len())
            }
        }
    };
    Ok(pages::diff(name, from, to, &content(from)?, &content(to)?))
}

fn error(all: &All, params: &Params, message: &str) -> Response {
    let targets = targets(all);
    let frame = pages::Frame {
        title: "Error",
        targets: &targets,
        target: params.target.as_deref(),
        path: "/",
        generation: generation_of(all),
    };
    html(StatusCode::SERVICE_UNAVAILABLE, pages::page(&frame, maud::html! { h1 { "Error" } p { (message) } }))
}
