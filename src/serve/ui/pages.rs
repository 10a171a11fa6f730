//! The pages of the web UI, rendered from the server's state: pure functions from what the
//! handlers read ([`super`]) to HTML. Every value is escaped by `maud` (names and values are user
//! data: `<script>` renders as text), every value shown goes through the plan's [`Redactor`], and
//! every link is built with [`url`], which percent-encodes what it puts in a path or a query.

use std::collections::BTreeMap;
use std::fmt::Write;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use crate::audit::history::Logged;
use crate::desired::DesiredState;
use crate::model::{EnvPath, Service};
use crate::plan::redact::Redactor;
use crate::serve::state::{ServiceStatus, Status};

/// Rows of a long list shown per page.
pub const PAGE: usize = 200;

/// What every page has around its content.
pub struct Frame<'a> {
    pub title: &'a str,
    /// Every target served (empty without `[targets]`) and the one shown.
    pub targets: &'a [String],
    pub target: Option<&'a str>,
    /// The page's own path, for the target selector's links.
    pub path: &'a str,
    /// The state's generation when the page was made: the page reloads when it moves.
    pub generation: u64,
}

/// A whole page: the header (home, host search, target selector), then `content`.
pub fn page(frame: &Frame, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · jones-sync" }
                link rel="stylesheet" href="/ui/static/app.css";
                script src="/ui/static/app.js" defer {}
            }
            body data-generation=(frame.generation) {
                header {
                    a.brand href="/" { "jones-sync" }
                    nav aria-label="Main" {
                        a href=(url("/", &[("target", frame.target)])) { "Overview" }
                    }
                    form method="get" action="/ui/hosts" role="search" {
                        label for="host-search" { "Host" }
                        input #host-search type="search" name="host" placeholder="web1.example.com" required;
                        @if let Some(target) = frame.target { input type="hidden" name="target" value=(target); }
                        button type="submit" { "Show" }
                    }
                }
                main {
                    @if frame.targets.len() > 1 {
                        nav aria-label="Targets" {
                            ul.targets {
                                @for target in frame.targets {
                                    li {
                                        @if frame.target == Some(target.as_str()) {
                                            a href=(url(frame.path, &[("target", Some(target))])) aria-current="page" { (target) }
                                        } @else {
                                            a href=(url(frame.path, &[("target", Some(target))])) { (target) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (content)
                }
            }
        }
    }
    .into_string()
}

/// `path` with the query `params` whose value is set, each percent-encoded.
pub fn url(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = path.to_string();
    let mut first = true;
    for (name, value) in params {
        if let Some(value) = value {
            out.push(if first { '?' } else { '&' });
            first = false;
            let _ = write!(out, "{name}={}", encode(value));
        }
    }
    out
}

/// `text` percent-encoded for a path segment or a query value (RFC 3986 unreserved kept).
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Where a service stands, as a badge: its class and its words.
pub fn state_of(service: &ServiceStatus) -> (&'static str, &'static str) {
    if service.last_error.is_some() || service.apply_error.is_some() {
        ("error", "error")
    } else if !service.drift().is_empty() {
        ("drift", "drift")
    } else if service.superseded.is_some() {
        ("superseded", "superseded")
    } else if service.plan.break_glass.iter().any(|k| k.undone) {
        ("break-glass", "break-glass edit")
    } else if !service.in_sync() {
        ("pending", "changes pending")
    } else if service.record.as_ref().is_some_and(|r| r.pinned) {
        ("pinned", "pinned")
    } else {
        ("ok", "in sync")
    }
}

fn badge(service: &ServiceStatus) -> Markup {
    let (class, words) = state_of(service);
    html! { span class=(format!("badge {class}")) { (words) } }
}

/// `1a2b3c4d5e6f`, or `-`.
fn short(sha: Option<&str>) -> &str {
    sha.map_or("-", crate::repo::git::short)
}

/// How long ago an RFC 3339 time was (`5 min ago`), or the time itself when it does not parse.
pub fn age(at: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = at.parse::<jiff::Timestamp>() else { return at.to_string() };
    let seconds = (now.as_second() - then.as_second()).max(0);
    match seconds {
        0..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// A link to commit `sha` on the git host (`[ui] commit_url`), or the short SHA alone.
fn commit(sha: Option<&str>, commit_url: Option<&str>) -> Markup {
    match (sha, commit_url) {
        (Some(sha), Some(template)) => html! { a.mono href=(template.replace("{sha}", sha)) { (short(Some(sha))) } },
        _ => html! { span.mono { (short(sha)) } },
    }
}

/// The server's own state: mode, leader, branch, commit in force, last fetch and errors.
fn server(status: &Status, now: jiff::Timestamp) -> Markup {
    html! {
        section.panel aria-label="Server" {
            div.server {
                div { "Mode: " strong { (status.mode.name()) } @if status.leader { " (leader)" } @else if status.mode.name() != "observe" { " (not the leader)" } }
                div {
                    "Branch: " code { (status.branch) }
                    @if let Some(at) = &status.checked_at { span.muted { ", read " (age(at, now)) } }
                }
                div.commit {
                    "Commit in force: "
                    @if let Some(head) = &status.commit {
                        (commit(Some(&head.sha), commit_url(status))) " " (head.subject)
                        span.muted { " — " (head.author) ", " (age(&head.committed_at, now)) }
                    } @else { span.muted { "none yet" } }
                }
                div { "ZooKeeper: " @if status.connected { "connected" } @else { strong { "not connected" } } }
                @if let Some(err) = &status.fetch_error { div { "Last fetch: " strong { "failed" } " — " (err) } }
                @if let Some(invalid) = &status.invalid { div { "Branch head " code { (short(Some(&invalid.sha))) } " is invalid (" (invalid.problems.len()) " problems): not used" } }
                @if let Some(err) = &status.last_error { div { "Last error: " (err) } }
                @if !status.waiting_for.is_empty() { div { "New commit waits for: " (status.waiting_for.join(", ")) } }
            }
        }
    }
}

fn commit_url(status: &Status) -> Option<&str> {
    status.desired.as_ref().and_then(|d| d.repo.settings.ui.commit_url.as_deref())
}

/// Environments and hosts of a service of the commit in force.
fn counts(desired: Option<&DesiredState>, name: &str) -> (usize, usize) {
    desired
        .and_then(|d| d.repo.services.get(name))
        .map_or((0, 0), |s| (s.envs.len(), s.envs.values().map(|e| e.hosts.len()).sum()))
}

/// The overview: the server's state and every service, `q` filtering them by name, a page at a
/// time; with several targets, first the matrix of services × targets.
pub fn overview(all: &[&Status], shown: &Status, q: &str, page_number: usize, now: jiff::Timestamp) -> Markup {
    let matching: Vec<&ServiceStatus> = shown.services.values().filter(|s| s.name.contains(q)).collect();
    let pages = matching.len().div_ceil(PAGE).max(1);
    let page_number = page_number.clamp(1, pages);
    let rows = &matching[(page_number - 1) * PAGE..(page_number * PAGE).min(matching.len())];
    let desired = shown.desired.as_deref();
    let target = shown.target.as_deref();
    html! {
        h1 { "Services" @if let Some(t) = target { " in " code { (t) } } }
        (server(shown, now))
        @if all.len() > 1 { (matrix(all, q)) }
        form method="get" action="/" role="search" {
            label for="filter" { "Filter services " }
            input #filter type="search" name="q" value=(q) data-filter="#services tbody tr" placeholder="name";
            @if let Some(t) = target { input type="hidden" name="target" value=(t); }
            " " button type="submit" { "Filter" }
        }
        p.muted { (matching.len()) " of " (shown.services.len()) " services" }
        div.table-wrap {
            table #services {
                thead { tr { th { "Service" } th { "State" } th { "Applied" } th { "Branch head" } th { "Last apply" } th { "Environments" } th { "Hosts" } } }
                tbody {
                    @for service in rows {
                        @let (envs, hosts) = counts(desired, &service.name);
                        tr data-name=(service.name) {
                            td { a href=(url(&format!("/ui/services/{}", encode(&service.name)), &[("target", target)])) { (service.name) } }
                            td { (badge(service)) }
                            td {
                                @if let Some(record) = &service.record {
                                    (commit(record.sha.as_deref(), commit_url(shown)))
                                    @if let Some(subject) = &record.subject { " " span.muted { (subject) } }
                                } @else { span.muted { "never applied" } }
                            }
                            td { (commit(service.sha.as_deref(), commit_url(shown))) }
                            td {
                                @if let Some(record) = &service.record {
                                    (age(&record.applied_at, now)) span.muted { " by " (record.actor) }
                                } @else { "-" }
                            }
                            td { (envs) }
                            td { (hosts) }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page_number > 1 { a href=(url("/", &[("target", target), ("q", Some(q).filter(|q| !q.is_empty())), ("page", Some(&(page_number - 1).to_string()))])) { "← previous" } }
                span { "page " (page_number) " of " (pages) }
                @if page_number < pages { a href=(url("/", &[("target", target), ("q", Some(q).filter(|q| !q.is_empty())), ("page", Some(&(page_number + 1).to_string()))])) { "next →" } }
            }
        }
    }
}

/// Services × targets: each cell the state of the service in that target.
fn matrix(all: &[&Status], q: &str) -> Markup {
    let mut names: Vec<&str> =
        all.iter().flat_map(|s| s.services.keys().map(String::as_str)).filter(|n| n.contains(q)).collect();
    names.sort_unstable();
    names.dedup();
    names.truncate(PAGE);
    html! {
        h2 { "By target" }
        div.table-wrap {
            table #matrix {
                thead { tr { th { "Service" } @for status in all { th { (status.target.as_deref().unwrap_or("")) } } } }
                tbody {
                    @for name in &names {
                        tr data-name=(name) {
                            td { (name) }
                            @for status in all {
                                td {
                                    @if let Some(service) = status.services.get(*name) {
                                        a href=(url(&format!("/ui/services/{}", encode(name)), &[("target", status.target.as_deref())])) { (badge(service)) }
                                        " " span.mono.muted { (short(service.record.as_ref().and_then(|r| r.sha.as_deref()))) }
                                    } @else { span.muted { "-" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A value as shown: compact JSON, redacted as the plan redacts it.
fn shown_value(redactor: &Redactor, key: &str, value: &Value) -> String {
    redactor.shown_of(key, value).to_string()
}

/// The service page: the environment tree, the selected environment's own values, its view (each
/// key with the environment it comes from) and hosts; the pending changes as the text plan shows
/// them, drift, break-glass edits and view-integrity findings.
pub fn service(
    status: &Status,
    service: &ServiceStatus,
    model: Option<&Service>,
    env: &EnvPath,
    redactor: &Redactor,
) -> Markup {
    let target = status.target.as_deref();
    let name = &service.name;
    let base = format!("/ui/services/{}", encode(name));
    let plan = crate::plan::Plan {
        create_root: status.create_root,
        services: vec![service.plan.clone()],
        ..Default::default()
    };
    let plan_text = crate::plan::render::text::render(&plan, redactor, false);
    html! {
        h1 { (name) " " (badge(service)) }
        p {
            "Applied: "
            @if let Some(record) = &service.record {
                (commit(record.sha.as_deref(), commit_url(status))) " by " (record.actor) " at " (record.applied_at)
            } @else { "never" }
            " · branch head: " (commit(service.sha.as_deref(), commit_url(status)))
            " · " a href=(url(&format!("{base}/history"), &[("target", target)])) { "history" }
        }
        @if let Some(err) = service.last_error.as_ref().or(service.apply_error.as_ref()) {
            div.panel role="alert" { strong { "Error: " } (err) }
        }
        @if let Some(why) = &service.superseded {
            div.panel { strong { "Superseded. " } (why) }
        }
        @if !service.plan.break_glass.is_empty() {
            section.panel.glass aria-label="Break-glass edits" {
                h2 { "Break-glass edits" }
                ul {
                    @for kept in &service.plan.break_glass {
                        li {
                            code { (if kept.edit.env.is_empty() { "(root)" } else { kept.edit.env.as_str() }) } ": "
                            @if !kept.edit.set.is_empty() { "set " code { (kept.edit.set.join(", ")) } " " }
                            @if !kept.edit.deleted.is_empty() { "deleted " code { (kept.edit.deleted.join(", ")) } " " }
                            "by " (kept.edit.actor) " at " (kept.edit.at)
                            @if let Some(reason) = &kept.edit.reason { " — “" (reason) "”" }
                            @if kept.undone { " " span.badge.break-glass { "the commit in force would undo it" } }
                        }
                    }
                }
            }
        }
        div.columns {
            nav aria-label="Environments" {
                h2 { "Environments" }
                @if let Some(model) = model { ul.tree { (tree(model, &EnvPath::root(), env, &base, target)) } }
                @else { p.muted { "Not in the commit in force." } }
            }
            div {
                @if let Some(model) = model { (environment(model, env, redactor)) }
                h2 { "Pending changes" }
                @if service.in_sync() { p { "None: ZooKeeper holds what the commit in force says." } }
                @else {
                    @let drift = service.drift();
                    @if !drift.is_empty() {
                        p { strong { "Drift" } " (edited outside jones-sync since the last apply; the plan shows the live value before " code { "→" } "): " }
                        ul {
                            @for path in &drift {
                                li.drift-row {
                                    code { (path) }
                                    @if let Some(at) = service.drift_since.get(*path).and_then(|ms| jiff::Timestamp::from_millisecond(*ms).ok()) {
                                        span.muted { " edited at " (at.to_string()) }
                                    }
                                }
                            }
                        }
                    }
                    pre { (plan_text) }
                }
                @if !service.plan.view_integrity.is_empty() {
                    h2 { "View integrity" }
                    ul { @for finding in &service.plan.view_integrity { li { code { (finding.path) } ": " (integrity(&finding.problem)) } } }
                }
            }
        }
    }
}

/// A view-integrity finding in words.
fn integrity(problem: &crate::plan::integrity::Problem) -> String {
    use crate::plan::integrity::Problem;
    match problem {
        Problem::Differs { changes } => {
            let keys: Vec<&str> = changes.iter().map(|c| c.key()).collect();
            format!("the view differs from what its conf nodes make of it (keys: {})", keys.join(", "))
        }
        Problem::Missing => "the environment has a conf node but no view".into(),
        Problem::Orphan => "a view without a conf node for its environment".into(),
        Problem::UnreadableConf => "the conf node is not a JSON object, so the views below it cannot be checked".into(),
    }
}

/// The environment tree below `at`, `selected` marked.
fn tree(model: &Service, at: &EnvPath, selected: &EnvPath, base: &str, target: Option<&str>) -> Markup {
    let children: Vec<&EnvPath> =
        model.envs.keys().filter(|p| p.0.len() == at.0.len() + 1 && p.0.starts_with(&at.0)).collect();
    let hosts = model.envs.get(at).map_or(0, |e| e.hosts.len());
    let label = if at.is_root() { "(root)".to_string() } else { at.0.last().cloned().unwrap_or_default() };
    let env = if at.is_root() { None } else { Some(at.to_string()) };
    let link = html! {
        @if at == selected {
            a href=(url(base, &[("target", target), ("env", env.as_deref())])) aria-current="true" { (label) }
        } @else {
            a href=(url(base, &[("target", target), ("env", env.as_deref())])) { (label) }
        }
        " " span.muted { "· " (hosts) @if hosts == 1 { " host" } @else { " hosts" } }
    };
    html! {
        li {
            @if children.is_empty() { (link) }
            @else {
                details open {
                    summary { (link) }
                    ul { @for child in children { (tree(model, child, selected, base, target)) } }
                }
            }
        }
    }
}

/// The selected environment: its own values, its view with where each key comes from, its hosts.
fn environment(model: &Service, env: &EnvPath, redactor: &Redactor) -> Markup {
    let Some(own) = model.envs.get(env) else {
        return html! { p { "No environment " code { (env.to_string()) } "." } };
    };
    let mut view: BTreeMap<&str, (&Value, String)> = BTreeMap::new();
    for depth in 0..=env.0.len() {
        let ancestor = EnvPath(env.0[..depth].to_vec());
        if let Some(e) = model.envs.get(&ancestor) {
            for (key, value) in &e.values {
                view.insert(key, (value, ancestor.to_string()));
            }
        }
    }
    let here = env.to_string();
    html! {
        h2 { "Environment " code { (here) } }
        h3 { "Own values (" code { (own.dir) "/config.toml" } ")" }
        @if own.values.is_empty() { p.muted { "None." } }
        @else {
            div.table-wrap { table { thead { tr { th { "Key" } th { "Value" } } } tbody {
                @for (key, value) in &own.values { tr { td { code { (key) } } td.mono { (shown_value(redactor, key, value)) } } }
            } } }
        }
        h3 { "View: what its hosts read" }
        div.table-wrap { table #view { thead { tr { th { "Key" } th { "Value" } th { "From" } } } tbody {
            @for (key, (value, from)) in &view {
                tr { td { code { (key) } } td.mono { (shown_value(redactor, key, value)) } td { @if *from == here { "here" } @else { code { (from) } } } }
            }
        } } }
        h3 { "Hosts (" (own.hosts.len()) ")" }
        @if own.hosts.is_empty() { p.muted { "None." } }
        @else { ul { @for host in &own.hosts { li { a href=(format!("/ui/hosts/{}", encode(host))) { (host) } } } } }
    }
}

/// What one service gives a host: the environment it reads (`None`: no association, so the
/// root's values) and the config, redacted.
pub struct HostRead {
    pub target: Option<String>,
    pub service: String,
    pub env: Option<String>,
    pub values: Vec<(String, String)>,
    pub in_sync: bool,
}

/// What `host` reads from each service that associates it, as `jones-sync get --repo-only`
/// resolves it from the commit in force.
pub fn host(host: &str, reads: &[HostRead], services: usize) -> Markup {
    html! {
        h1 { "Host " code { (host) } }
        @if reads.is_empty() {
            p { "No service associates " code { (host) } ": it reads the root configuration of each of the " (services) " services." }
        } @else {
            p.muted { (reads.len()) " services associate it; every other service gives it its root configuration." }
            @for read in reads {
                section {
                    h2 {
                        a href=(url(&format!("/ui/services/{}", encode(&read.service)), &[("target", read.target.as_deref()), ("env", read.env.as_deref())])) { (read.service) }
                        @if let Some(t) = &read.target { span.muted { " in " (t) } }
                        " · environment " code { (read.env.as_deref().unwrap_or("(root)")) }
                        @if !read.in_sync { " " span.badge.pending { "changes pending: ZooKeeper may still hold other values" } }
                    }
                    div.table-wrap { table { thead { tr { th { "Key" } th { "Value" } } } tbody {
                        @for (key, value) in &read.values { tr { td { code { (key) } } td.mono { (value) } } }
                    } } }
                }
            }
        }
    }
}

/// The audit log of a service, newest first, with links to compare entries' content; `diff`:
/// the comparison asked for, already rendered.
pub fn history(status: &Status, name: &str, log: &[Logged], diff: Option<Markup>) -> Markup {
    let target = status.target.as_deref();
    let base = format!("/ui/services/{}/history", encode(name));
    let shas: Vec<Option<&str>> = log.iter().map(|l| l.entry.as_ref().and_then(|e| e.record.sha.as_deref())).collect();
    html! {
        h1 { "History of " a href=(url(&format!("/ui/services/{}", encode(name)), &[("target", target)])) { (name) } }
        @if let Some(diff) = diff { (diff) }
        @if log.is_empty() { p { "No audit log entries: jones-sync has not applied it yet." } }
        @else {
            div.table-wrap { table #history {
                thead { tr { th { "#" } th { "Applied at" } th { "Commit" } th { "Actor" } th { "Changes" } th { "Subject" } th { "Compare" } } }
                tbody {
                    @for (i, logged) in log.iter().enumerate() {
                        tr {
                            td { (logged.seq) }
                            @if let Some(entry) = &logged.entry {
                                td { (entry.record.applied_at) }
                                td { (commit(entry.record.sha.as_deref(), commit_url(status))) }
                                td { (entry.record.actor) }
                                td.mono { "+" (entry.counts.create) " ~" (entry.counts.update) " -" (entry.counts.delete) }
                                td {
                                    (entry.record.subject.as_deref().unwrap_or(""))
                                    @if entry.record.rollback { " " span.badge.pending { "rollback" } }
                                    @if entry.record.pinned { " " span.badge.pinned { "pinned" } }
                                    @if entry.record.dirty { " " span.badge.drift { "uncommitted changes" } }
                                }
                                td {
                                    @if let (Some(to), Some(Some(from))) = (shas[i], shas.get(i + 1)) {
                                        @if from != &to {
                                            a href=(url(&base, &[("target", target), ("from", Some(from)), ("to", Some(to))])) { "with the one before" }
                                        }
                                    }
                                }
                            } @else {
                                td colspan="6" { span.muted { "unreadable entry " code { (logged.node) } } }
                            }
                        }
                    }
                }
            } }
        }
    }
}

/// The difference between a service's content at two commits, as its environments' own values
/// (redacted), line by line.
pub fn diff(name: &str, from: &str, to: &str, before: &str, after: &str) -> Markup {
    let diff = similar::TextDiff::from_lines(before, after);
    let mut lines = String::new();
    for change in diff.iter_all_changes() {
        let (class, sign) = match change.tag() {
            similar::ChangeTag::Delete => ("del", '-'),
            similar::ChangeTag::Insert => ("add", '+'),
            similar::ChangeTag::Equal => ("", ' '),
        };
        let text = maud::html! { span class=(class) { (sign) (change.value()) } }.into_string();
        lines.push_str(&text);
    }
    html! {
        section.panel aria-label="Comparison" {
            h2 { code { (name) } ": " code { (short(Some(from))) } " → " code { (short(Some(to))) } }
            @if before == after { p { "No difference that can be shown (sensitive values are hidden)." } }
            @else { pre.diff { (PreEscaped(lines)) } }
        }
    }
}

/// A service's content as lines to compare: each environment's own values and hosts, redacted.
pub fn content_lines(model: &Service, redactor: &Redactor) -> String {
    let mut out = String::new();
    for (path, env) in &model.envs {
        let _ = writeln!(out, "[{path}]");
        for (key, value) in &env.values {
            let _ = writeln!(out, "{key} = {}", shown_value(redactor, key, value));
        }
        if !env.hosts.is_empty() {
            let _ = writeln!(out, "hosts = {}", serde_json::to_string(&env.hosts).unwrap_or_default());
        }
    }
    out
}

/// A page that says what is not there (a 404's content).
pub fn missing(what: &str) -> Markup {
    html! { h1 { "Not found" } p { (what) } p { a href="/" { "Back to the overview" } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_what_they_carry() {
        assert_eq!(encode("a b/<c>"), "a%20b%2F%3Cc%3E");
        assert_eq!(encode("web-1.example_com~"), "web-1.example_com~");
        assert_eq!(
            url("/ui/services/x", &[("target", None), ("env", Some("prod/eu"))]),
            "/ui/services/x?env=prod%2Feu"
        );
        assert_eq!(url("/", &[("target", Some("a&b")), ("q", Some("x"))]), "/?target=a%26b&q=x");
    }

    #[test]
    fn ages_read_as_people_say_them() {
        let now: jiff::Timestamp = "2026-01-02T12:00:00Z".parse().unwrap();
        assert_eq!(age("2026-01-02T11:59:30Z", now), "30 s ago");
        assert_eq!(age("2026-01-02T11:00:00Z", now), "1 h ago");
        assert_eq!(age("2025-12-30T12:00:00Z", now), "3 days ago");
        assert_eq!(age("not a time", now), "not a time");
    }

    #[test]
    fn a_page_escapes_its_title_and_links_every_target() {
        let targets = ["a".to_string(), "<b>".to_string()];
        let frame = Frame { title: "<x>", targets: &targets, target: Some("a"), path: "/", generation: 7 };
        let page = page(&frame, html! { p { "hi" } });
        assert!(page.contains("<title>&lt;x&gt; · jones-sync</title>"), "{page}");
        assert!(page.contains(r#"<a href="/?target=%3Cb%3E">&lt;b&gt;</a>"#), "{page}");
        assert!(page.contains(r#"<body data-generation="7">"#), "{page}");
    }
}
