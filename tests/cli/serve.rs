//! `jones-sync serve`: the real binary started as a server on a free port, against a real
//! ZooKeeper, read through its HTTP endpoints.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::proxy::{Event, Fault, Proxy};
use crate::util::{Background, Test, spawn_in};
use crate::zookeeper::free_port;

/// A response's headers: lower-cased names and values.
pub(crate) type Headers = Vec<(String, String)>;

/// A server started by [`start`].
pub(crate) struct Server {
    process: Option<Background>,
    pub(crate) port: u16,
}

/// Starts `serve` on the repository of `t` (or `dir`), following its branch every 0.2 s, and
/// waits until `/readyz` says it is ready.
pub(crate) fn start_in(t: &Test, dir: &std::path::Path, extra: &[&str]) -> Server {
    start_with(dir, &t.zk, extra)
}

/// Starts `serve` on the repository `dir` and ZooKeeper `zk`.
pub(crate) fn start_with(dir: &std::path::Path, zk: &str, extra: &[&str]) -> Server {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen, "--interval", "0.2"];
    args.extend_from_slice(extra);
    let mut server = Server { process: Some(spawn_in(dir, zk, &args)), port };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = server.try_get("/readyz") {
            return server;
        }
        if !server.process.as_mut().unwrap().running() || Instant::now() > deadline {
            let output = server.stop();
            panic!("the server did not become ready: code {}\nstderr:\n{}", output.code, output.stderr);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn start(t: &Test, extra: &[&str]) -> Server {
    start_in(t, t.repo.path(), extra)
}

impl Server {
    /// `GET path`: the status code and the body.
    pub(crate) fn try_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        self.request("GET", path, &[]).map(|(code, _, body)| (code, body))
    }

    /// `METHOD path` with extra `headers`: the status code, the response's headers (lower-cased
    /// names) and the body.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<(u16, Headers, String)> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n{extra}\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        Ok((code, headers, body.to_string()))
    }

    #[track_caller]
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path).unwrap()
    }

    #[track_caller]
    pub(crate) fn json(&self, path: &str) -> Value {
        let (code, body) = self.get(path);
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The samples of `/metrics`, parsed by a Prometheus text parser.
    fn metrics(&self) -> prometheus_parse::Scrape {
        let (code, body) = self.get("/metrics");
        assert_eq!(code, 200);
        prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap()
    }

    /// The value of metric `name` (with `label` = `value`, when given).
    fn metric(&self, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
        self.metrics()
            .samples
            .into_iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("{name} is not a number: {other:?}"),
            })
    }

    /// Sends SIGTERM and waits for the process to end.
    pub(crate) fn stop(&mut self) -> crate::util::Output {
        let process = self.process.take().unwrap();
        let _ = std::process::Command::new("kill").args(["-TERM", &process.pid().to_string()]).status();
        process.finish()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

/// Waits up to 10 s for `done`, failing with `what`.
#[track_caller]
pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// A repository with one service `shop`, committed and applied.
fn applied(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/shop/config.toml", "timeout = 30\n")
        .write("services/shop/prod/config.toml", "timeout = 45\n")
        .write("services/shop/prod/hosts.toml", "hosts = [\"web1\"]\n");
    t.commit_all("first");
    t.run(&["apply", "--yes"]).success();
    t
}

#[test]
fn serve_sees_an_out_of_band_edit_as_drift() {
    let t = applied("serve_drift");
    let server = start(&t, &[]);
    let shop = Some(("service", "shop"));
    assert_eq!(server.metric("jones_sync_service_in_sync", shop), Some(1.0));
    assert_eq!(server.metric("jones_sync_service_drift_nodes", shop), Some(0.0));
    assert_eq!(server.metric("jones_sync_service_pending_changes", shop), Some(0.0));
    let api = server.json("/api/v1/services/shop");
    assert_eq!(api["in_sync"], true);
    assert_eq!(api["applied"]["sha"], t.rev("HEAD").as_str());
    assert_eq!(api["head"]["sha"], t.rev("HEAD").as_str());

    t.zk_write("/services/shop/conf/prod", "{\"timeout\": 99}");
    let took = wait_for("the drift in /metrics", || server.metric("jones_sync_service_drift_nodes", shop) == Some(1.0));
    assert!(took < Duration::from_secs(2), "drift took {took:?} to show");
    assert_eq!(server.metric("jones_sync_service_in_sync", shop), Some(0.0));
    // The conf node, and the record an apply would write.
    assert_eq!(server.metric("jones_sync_service_pending_changes", shop), Some(2.0));
    assert_eq!(server.metric("jones_sync_drift_detect_seconds_count", None), Some(1.0));
    let api = server.json("/api/v1/services/shop");
    assert_eq!(api["in_sync"], false);
    assert_eq!(api["drift"], serde_json::json!(["/services/shop/conf/prod"]));
    let plan = &api["plan"];
    assert_eq!(plan["summary"]["drift"], 1);
    let changes = &plan["services"][0]["changes"];
    let conf = changes.as_array().unwrap().iter().find(|c| c["path"] == "/services/shop/conf/prod").unwrap();
    assert_eq!(conf["drift"], true, "{conf}");
    // The list has every service, without plans.
    let list = server.json("/api/v1/services");
    assert_eq!(list["services"][0]["name"], "shop");
    assert_eq!(list["services"][0]["drift_nodes"], 1);
    assert!(list["services"][0].get("plan").is_none());

    // Put back by hand: in sync again.
    t.zk_write("/services/shop/conf/prod", "{\"timeout\": 45}");
    wait_for("in sync again", || server.metric("jones_sync_service_in_sync", shop) == Some(1.0));
}

#[test]
fn serve_redacts_sensitive_values_in_the_api_as_plan_does() {
    let t = applied("serve_redact");
    t.write("services/shop/config.toml", "timeout = 30\ndb_password = \"hunter2\"\n");
    t.commit_all("add a secret");
    let server = start(&t, &[]);
    let (code, body) = server.get("/api/v1/services/shop");
    assert_eq!(code, 200);
    assert!(!body.contains("hunter2"), "{body}");
    let plan: Value = serde_json::from_str(&t.run(&["plan", "--format", "json"]).success().stdout).unwrap();
    let api: Value = serde_json::from_str(&body).unwrap();
    // The same changes as `plan --format json` shows (the records differ in time and apply id).
    let without_record = |plan: &Value| -> Vec<Value> {
        plan["services"][0]["changes"].as_array().unwrap().iter().filter(|c| c["kind"] != "record").cloned().collect()
    };
    assert_eq!(without_record(&api["plan"]), without_record(&plan));
}

#[test]
fn serve_plans_a_new_commit_of_the_local_branch() {
    let t = applied("serve_commit");
    let server = start(&t, &[]);
    let shop = Some(("service", "shop"));
    let first = t.rev("HEAD");
    assert_eq!(server.metric("jones_sync_repo_commit_info", Some(("sha", &first))), Some(1.0));
    t.write("services/shop/prod/config.toml", "timeout = 50\n");
    let second = t.commit_all("longer timeout");
    wait_for("the new commit", || server.json("/api/v1/services")["head"]["sha"] == second.as_str());
    assert_eq!(server.metric("jones_sync_repo_commit_info", Some(("sha", &second))), Some(1.0));
    assert_eq!(server.metric("jones_sync_repo_commit_info", Some(("sha", &first))), None);
    assert_eq!(server.metric("jones_sync_service_in_sync", shop), Some(0.0));
    // conf/prod, views/prod and the record; none of it drift.
    assert_eq!(server.metric("jones_sync_service_pending_changes", shop), Some(3.0));
    let changed: Vec<Value> = server.json("/api/v1/services/shop")["plan"]["services"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].clone())
        .collect();
    assert_eq!(
        changed,
        ["/services/shop/conf/prod", "/services/shop/jones-sync", "/services/shop/views/prod"].map(Value::from)
    );
    assert_eq!(server.metric("jones_sync_service_drift_nodes", shop), Some(0.0));
    let api = server.json("/api/v1/services/shop");
    assert_eq!(api["applied"]["sha"], first.as_str());
    assert_eq!(api["head_sha"], second.as_str());

    // A service added by a commit is read and planned.
    t.write("services/cart/config.toml", "a = 1\n");
    t.commit_all("cart");
    wait_for("the new service", || server.get("/api/v1/services/cart").0 == 200);
    // As many changes as `plan` shows.
    let plan: Value =
        serde_json::from_str(&t.run(&["plan", "--format", "json", "--service", "cart"]).success().stdout).unwrap();
    let summary = &plan["summary"];
    let planned = summary["create"].as_u64().unwrap() + summary["update"].as_u64().unwrap();
    assert_eq!(server.json("/api/v1/services/cart")["pending_changes"], planned);
    // An apply by someone else shows as in sync, through the watch alone.
    t.run(&["apply", "--yes"]).success();
    wait_for("in sync after the apply", || {
        server.metric("jones_sync_service_in_sync", shop) == Some(1.0)
            && server.metric("jones_sync_service_in_sync", Some(("service", "cart"))) == Some(1.0)
    });
    let api = server.json("/api/v1/services/shop");
    assert_eq!(api["applied"]["sha"], t.rev("HEAD").as_str());
    assert!(server.metric("jones_sync_last_apply_timestamp_seconds", shop).unwrap() > 1.7e9);

    // A service the repository drops loses its status and its series.
    t.remove("services/cart");
    t.commit_all("no cart");
    wait_for("the dropped service", || server.get("/api/v1/services/cart").0 == 404);
    assert_eq!(server.metric("jones_sync_service_in_sync", Some(("service", "cart"))), None);
    assert_eq!(server.metric("jones_sync_service_in_sync", shop), Some(1.0));
}

/// The `event` JSON log lines of a stopped server's stderr.
fn logged(stderr: &str, event: &str) -> Vec<Value> {
    let lines =
        stderr.lines().map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}")));
    lines.filter(|line| line["event"] == event).collect()
}

#[test]
fn serve_plans_again_only_the_services_a_commit_changes() {
    let t = Test::new("serve_incremental");
    for svc in ["cart", "search", "shop"] {
        t.write(&format!("services/{svc}/config.toml"), "timeout = 30\n")
            .write(&format!("services/{svc}/prod/hosts.toml"), &format!("hosts = [\"{svc}1\"]\n"));
    }
    t.commit_all("three services");
    t.run(&["apply", "--yes"]).success();
    let mut server = start(&t, &["--log-format", "json", "--no-cache"]);
    let service = |name: &str| server.json(&format!("/api/v1/services/{name}"));
    // One service changed: it alone is planned again; the others stand, at the new commit.
    t.write("services/shop/prod/config.toml", "timeout = 45\n");
    let second = t.commit_all("shop: longer timeout in prod");
    wait_for("the new commit", || server.json("/api/v1/services")["head"]["sha"] == second.as_str());
    // conf/prod, views/prod and the record.
    assert_eq!(service("shop")["pending_changes"], 3, "{}", service("shop"));
    for svc in ["cart", "search"] {
        let status = service(svc);
        assert_eq!(
            (status["in_sync"].clone(), status["head_sha"].clone()),
            (Value::from(true), Value::from(second.as_str()))
        );
    }
    // An edit of a service whose plan stood is seen as ever.
    t.zk_write("/services/cart/conf", "{\"timeout\": 31}");
    wait_for("cart's drift", || service("cart")["drift_nodes"] == 1);
    // A commit that changes no service plans none again: the record a plan with changes would
    // write names the new commit. A commit of the settings plans everything again.
    t.write("README.md", "notes\n");
    let third = t.commit_all("notes");
    wait_for("the third commit", || service("shop")["head_sha"] == third.as_str());
    assert_eq!(service("cart")["drift_nodes"], 1);
    let changes = service("shop")["plan"]["services"][0]["changes"].clone();
    let record = changes.as_array().unwrap().iter().find(|c| c["kind"] == "record").unwrap();
    assert_eq!(
        (record["after"]["sha"].as_str(), record["after"]["subject"].as_str()),
        (Some(third.as_str()), Some("notes"))
    );
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"password\"]\n");
    let fourth = t.commit_all("settings");
    wait_for("the fourth commit", || service("search")["head_sha"] == fourth.as_str());
    let plan_lines = logged(&server.stop().stderr, "plan");
    let again: Vec<(String, u64)> = plan_lines
        .iter()
        .filter(|line| line["sha"].is_string())
        .map(|line| (line["sha"].as_str().unwrap().to_string(), line["planned_again"].as_u64().unwrap()))
        .collect();
    assert_eq!(again, [(second, 1), (third, 0), (fourth, 3)]);
}

#[test]
fn serve_is_not_ready_until_the_branch_has_a_valid_commit() {
    let t = Test::new("serve_first_invalid");
    t.write("services/shop/config.toml", "timeout = \n");
    let bad = t.commit_all("broken from the start");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = ["serve", "--listen", &listen, "--interval", "0.2"];
    let server = Server { process: Some(spawn_in(t.repo.path(), &t.zk, &args)), port };
    wait_for("the invalid commit reported", || {
        server.try_get("/api/v1/services").is_ok_and(|(_, body)| body.contains(&bad))
    });
    let (code, body) = server.get("/readyz");
    assert_eq!(
        (code, body.as_str()),
        (503, "not ready: no valid commit of the branch loaded; live state not read yet\n")
    );
    assert_eq!(server.json("/api/v1/services")["head"], Value::Null);
    t.write("services/shop/config.toml", "timeout = 1\n");
    t.commit_all("fixed");
    wait_for("ready", || server.get("/readyz").0 == 200);
    assert_eq!(server.json("/api/v1/services/shop")["in_sync"], false);
}

#[test]
fn serve_needs_a_git_clone() {
    let t = Test::new("serve_not_git");
    t.write("services/shop/config.toml", "timeout = 1\n");
    let out = t.run(&["serve", "--listen", "127.0.0.1:0"]).code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: `{}` is not a git repository: `serve` follows a branch, so --repo must be a clone\n",
            t.repo.path().display()
        )
    );
}

#[test]
fn serve_never_uses_an_invalid_commit_and_resumes_at_a_valid_one() {
    let t = applied("serve_invalid");
    let server = start(&t, &[]);
    let good = t.rev("HEAD");
    t.write("services/shop/prod/config.toml", "timeout = \n");
    let bad = t.commit_all("broken");
    wait_for("the invalid commit reported", || {
        server.json("/api/v1/services")["invalid_commit"]["sha"] == bad.as_str()
    });
    let api = server.json("/api/v1/services");
    assert_eq!(api["head"]["sha"], good.as_str());
    let problems = api["invalid_commit"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = problems[0].as_str().unwrap();
    assert!(problem.contains("services/shop/prod/config.toml:1:"), "{problem}");
    assert_eq!(server.metric("jones_sync_repo_commit_info", Some(("sha", &good))), Some(1.0));
    assert_eq!(server.metric("jones_sync_service_in_sync", Some(("service", "shop"))), Some(1.0));
    assert_eq!(server.get("/readyz").0, 200, "the last good commit stays in force");

    t.write("services/shop/prod/config.toml", "timeout = 46\n");
    let fixed = t.commit_all("fixed");
    wait_for("the fixed commit", || server.json("/api/v1/services")["head"]["sha"] == fixed.as_str());
    assert_eq!(server.json("/api/v1/services")["invalid_commit"], Value::Null);
    assert_eq!(server.metric("jones_sync_service_in_sync", Some(("service", "shop"))), Some(0.0));
}

#[test]
fn serve_fetches_the_branch_from_a_remote_and_reports_failed_fetches() {
    let t = applied("serve_remote");
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("config.git");
    let clone = remote.path().join("clone");
    t.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    t.git(&["clone", "-q", bare.to_str().unwrap(), clone.to_str().unwrap()]);
    t.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let server = start_in(&t, &clone, &[]);
    assert_eq!(server.json("/api/v1/services")["branch"], "origin/main");

    t.write("services/shop/prod/config.toml", "timeout = 50\n");
    let pushed = t.commit_all("longer timeout");
    t.git(&["push", "-q", "origin", "main"]);
    wait_for("the pushed commit", || server.json("/api/v1/services")["head"]["sha"] == pushed.as_str());
    assert_eq!(server.metric("jones_sync_service_in_sync", Some(("service", "shop"))), Some(0.0));
    assert_eq!(server.metric("jones_sync_git_fetch_errors_total", None), Some(0.0));
    // The clone's work tree and local branch are left alone.
    assert_eq!(std::fs::read_to_string(clone.join("services/shop/prod/config.toml")).unwrap(), "timeout = 45\n");

    // The remote goes away: fetches fail, are counted and reported, and the commit stays.
    std::fs::rename(&bare, remote.path().join("gone.git")).unwrap();
    wait_for("a failed fetch", || server.metric("jones_sync_git_fetch_errors_total", None) >= Some(1.0));
    let api = server.json("/api/v1/services");
    assert!(api["fetch_error"].as_str().unwrap().contains("git fetch"), "{api}");
    assert_eq!(api["head"]["sha"], pushed.as_str());
    std::fs::rename(remote.path().join("gone.git"), &bare).unwrap();
    wait_for("a fetch that works again", || server.json("/api/v1/services")["fetch_error"] == Value::Null);
}

#[test]
fn serve_metrics_parse_as_prometheus_text() {
    let t = applied("serve_metrics");
    let server = start(&t, &[]);
    let scrape = server.metrics();
    let names: std::collections::BTreeSet<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    for name in [
        "jones_sync_service_in_sync",
        "jones_sync_service_drift_nodes",
        "jones_sync_service_pending_changes",
        "jones_sync_last_apply_timestamp_seconds",
        "jones_sync_repo_commit_info",
        "jones_sync_git_fetch_errors_total",
        "jones_sync_reconcile_errors_total",
        "jones_sync_leader",
        "jones_sync_drift_detect_seconds_count",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert_eq!(server.metric("jones_sync_leader", None), Some(0.0));
    let (_, text) = server.get("/metrics");
    assert!(text.contains("# TYPE jones_sync_drift_detect_seconds histogram"), "{text}");
}

#[test]
fn serve_readyz_healthz_and_unknown_services() {
    let t = applied("serve_endpoints");
    let server = start(&t, &[]);
    assert_eq!(server.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(server.get("/readyz"), (200, "ready\n".to_string()));
    let (code, body) = server.get("/api/v1/services/nope");
    assert_eq!(code, 404);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "the commit in force has no service `nope`");
    assert_eq!(body["format_version"], "1.2.0");
    let list = server.json("/api/v1/services");
    assert_eq!(
        [&list["format_version"], &list["mode"], &list["leader"], &list["ready"], &list["branch"]],
        [&Value::from("1.2.0"), &Value::from("observe"), &Value::from(false), &Value::from(true), &Value::from("main")]
    );
}

#[test]
fn serve_follows_the_branch_it_is_given() {
    let t = applied("serve_branch");
    let first = t.rev("HEAD");
    t.git(&["branch", "release"]);
    let server = start(&t, &["--branch", "release"]);
    assert_eq!(server.json("/api/v1/services")["branch"], "release");
    // A commit on the branch checked out is not followed.
    t.write("services/shop/prod/config.toml", "timeout = 50\n");
    let second = t.commit_all("on main");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(server.json("/api/v1/services")["head"]["sha"], first.as_str());
    t.git(&["branch", "-f", "release", "main"]);
    wait_for("the release branch moved", || server.json("/api/v1/services")["head"]["sha"] == second.as_str());
}

#[test]
fn serve_reports_a_branch_that_does_not_exist() {
    let t = applied("serve_no_branch");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = ["serve", "--listen", &listen, "--interval", "0.2", "--branch", "nope"];
    let server = Server { process: Some(spawn_in(t.repo.path(), &t.zk, &args)), port };
    wait_for("the error", || server.try_get("/api/v1/services").is_ok_and(|(_, body)| body.contains("does not exist")));
    assert_eq!(server.json("/api/v1/services")["fetch_error"], "the branch `nope` does not exist in the clone");
    assert_eq!(server.get("/readyz").0, 503);
}

#[test]
fn serve_stops_cleanly_on_sigterm_with_json_logs() {
    let t = applied("serve_sigterm");
    let mut server = start(&t, &["--log-format", "json"]);
    let started = Instant::now();
    let output = server.stop();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(output.code, 0, "{}", output.stderr);
    let events: Vec<String> = output
        .stderr
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            value["event"].as_str().unwrap().to_string()
        })
        .collect();
    for event in ["start", "commit", "sync", "stop"] {
        assert!(events.iter().any(|e| e == event), "{event} missing from {events:?}");
    }
}

#[test]
fn serve_in_apply_mode_applies_each_new_commit_and_never_a_mass_deletion() {
    let t = applied("serve_apply");
    t.write("services/shop/dev/config.toml", "timeout = 5\n").write("services/shop/qa/config.toml", "timeout = 6\n");
    t.commit_all("dev and qa");
    let server = start(&t, &["--mode", "apply"]);
    let shop = Some(("service", "shop"));
    // At start, the leader brings ZooKeeper to the commit in force.
    wait_for("the first commit applied", || server.metric("jones_sync_service_in_sync", shop) == Some(1.0));
    assert_eq!(server.metric("jones_sync_leader", None), Some(1.0));
    assert_eq!(server.json("/api/v1/services")["leader"], true);
    t.write("services/shop/prod/config.toml", "timeout = 50\n");
    let second = t.commit_all("longer timeout");
    wait_for("the new commit applied", || t.tree()["/services/shop/conf/prod"] == r#"{"timeout":50}"#);
    wait_for("in sync", || server.json("/api/v1/services/shop")["applied"]["sha"] == second.as_str());
    let history: Value =
        serde_json::from_str(&t.run(&["history", "shop", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(history[0]["actor"], "jones-sync serve");
    assert_eq!(history[0]["sha"], second.as_str());
    // Drift is not put back in apply mode.
    t.zk_write("/services/shop/conf/prod", r#"{"timeout": 99}"#);
    wait_for("drift seen", || server.metric("jones_sync_service_drift_nodes", shop) == Some(1.0));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(t.tree()["/services/shop/conf/prod"], r#"{"timeout": 99}"#);
    // A commit that needs --allow-mass-delete is not applied, and says so.
    t.remove("services/shop/prod").remove("services/shop/dev").remove("services/shop/qa");
    let third = t.commit_all("drop three of four environments");
    wait_for("the commit in force", || server.json("/api/v1/services")["head"]["sha"] == third.as_str());
    wait_for("the refusal reported", || {
        server.json("/api/v1/services/shop")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refusing a mass deletion without --allow-mass-delete"))
    });
    assert!(t.tree().contains_key("/services/shop/conf/dev"), "nothing deleted");
    assert!(server.metric("jones_sync_reconcile_errors_total", None).unwrap() >= 1.0);
    // The refusal stays shown while the service waits, however often it is planned again.
    t.zk_write("/services/shop/conf/dev", r#"{"timeout": 6}"#);
    wait_for("the edit planned", || server.metric("jones_sync_service_drift_nodes", shop) == Some(2.0));
    let shop_status = server.json("/api/v1/services/shop");
    assert!(shop_status["last_error"].as_str().is_some_and(|e| e.contains("--allow-mass-delete")), "{shop_status}");
}

#[test]
fn serve_in_heal_mode_puts_drift_back_after_the_grace_period() {
    let t = applied("serve_heal");
    let server = start(&t, &["--mode", "heal", "--heal-after", "1"]);
    let shop = Some(("service", "shop"));
    wait_for("leading", || server.metric("jones_sync_leader", None) == Some(1.0));
    let entries = |t: &Test| t.tree().keys().filter(|p| p.starts_with("/services/shop/jones-sync/log-")).count();
    let before = entries(&t);
    let edited = Instant::now();
    t.zk_write("/services/shop/conf/prod", r#"{"timeout": 99}"#);
    wait_for("drift seen", || server.metric("jones_sync_service_drift_nodes", shop) == Some(1.0));
    wait_for("drift put back", || t.tree()["/services/shop/conf/prod"] == r#"{"timeout":45}"#);
    assert!(edited.elapsed() >= Duration::from_secs(1), "not before the grace period");
    wait_for("in sync", || server.metric("jones_sync_service_in_sync", shop) == Some(1.0));
    assert_eq!(entries(&t), before + 1, "the heal is in the audit log");
    let history: Value =
        serde_json::from_str(&t.run(&["history", "shop", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(history[0]["actor"], "jones-sync serve");
}

#[test]
fn serve_never_heals_away_a_break_glass_edit_nor_applies_a_commit_that_undoes_it() {
    let t = applied("serve_break_glass");
    let server = start(&t, &["--mode", "heal", "--heal-after", "0.2"]);
    wait_for("leadership", || server.metric("jones_sync_leader", None) == Some(1.0));
    t.run(&["set", "shop", "--env", "prod", "timeout=5", "--reason", "incident", "--yes"]).success();
    wait_for("the edit seen", || server.json("/api/v1/services/shop")["break_glass"][0]["undone"] == true);
    assert_eq!(server.json("/api/v1/services/shop")["drift_nodes"], 0, "an emergency edit is not drift");
    // Not healed away: well past the grace period, the edit stands.
    std::thread::sleep(Duration::from_millis(1000));
    assert!(t.tree()["/services/shop/views/prod"].contains("\"timeout\":5"));
    // A commit that would undo it is not applied to that service, and says why; the others are.
    t.write("services/shop/config.toml", "timeout = 31\n").write("services/cart/config.toml", "a = 1\n");
    let second = t.commit_all("root timeout, and cart");
    wait_for("the refusal", || {
        server.json("/api/v1/services/shop")["last_error"].as_str().is_some_and(|e| e.contains("break-glass"))
    });
    wait_for("cart applied", || {
        server.get("/api/v1/services/cart").0 == 200 && server.json("/api/v1/services/cart")["in_sync"] == true
    });
    assert_eq!(server.json("/api/v1/services")["head"]["sha"], second.as_str());
    assert!(t.tree()["/services/shop/views/prod"].contains("\"timeout\":5"));
    assert_eq!(t.tree()["/services/shop/conf"], r#"{"timeout":30}"#);
}

#[test]
fn two_replicas_elect_one_writer_and_the_other_takes_over_when_it_dies() {
    let t = applied("serve_ha");
    let first = start(&t, &["--mode", "apply"]);
    wait_for("a leader", || first.metric("jones_sync_leader", None) == Some(1.0));
    let mut second = start(&t, &["--mode", "apply"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(second.metric("jones_sync_leader", None), Some(0.0), "one writer");
    assert_eq!(second.json("/api/v1/services")["leader"], false);
    // The leader dies without resigning: the other leads within a session timeout, and applies.
    let mut first = first;
    first.process.as_mut().unwrap().kill();
    first.process = None;
    let started = Instant::now();
    let deadline = Duration::from_secs(30);
    while second.metric("jones_sync_leader", None) != Some(1.0) {
        assert!(started.elapsed() < deadline, "the second replica never took over");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(started.elapsed() < Duration::from_secs(15), "took over within a session timeout: {:?}", started.elapsed());
    t.write("services/shop/prod/config.toml", "timeout = 60\n");
    t.commit_all("after failover");
    wait_for("applied by the new leader", || t.tree()["/services/shop/conf/prod"] == r#"{"timeout":60}"#);
    // A clean stop resigns: nothing is left in the election.
    second.stop();
    assert!(!t.tree().keys().any(|p| p.starts_with("/jones-sync/leader/candidate-")), "{:?}", t.tree().keys());
}

/// `t`'s chroot, reached through `proxy`.
fn proxied(t: &Test, proxy: &Proxy) -> String {
    proxy.connect_string(&t.zk[t.zk.find('/').unwrap()..])
}

#[test]
fn serve_reads_nothing_from_zookeeper_while_idle() {
    let t = applied("serve_idle");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    let server = start_with(t.repo.path(), &proxied(&t, &proxy), &[]);
    std::thread::sleep(Duration::from_millis(300));
    let before = proxy.requests();
    // Several fetch intervals (0.2 s) and scrapes: git is read, ZooKeeper is not.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(300));
        server.metrics();
        server.json("/api/v1/services/shop");
    }
    assert_eq!(proxy.requests(), before, "requests while idle");
    // One edit: one read, of the node that changed.
    t.zk_write("/services/shop/conf/prod", "{\"timeout\": 99}");
    wait_for("the drift", || server.metric("jones_sync_service_drift_nodes", Some(("service", "shop"))) == Some(1.0));
    assert_eq!(proxy.requests(), before + 1);
}

#[test]
fn serve_reads_everything_again_on_a_new_session_after_expiry() {
    let t = applied("serve_expiry");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    let mut server = start_with(t.repo.path(), &proxied(&t, &proxy), &[]);
    proxy.expire_session();
    t.zk_write("/services/shop/conf/prod", "{\"timeout\": 99}");
    wait_for("the drift, on a new session", || {
        server.metric("jones_sync_service_drift_nodes", Some(("service", "shop"))) == Some(1.0)
    });
    wait_for("ready again", || server.get("/readyz").0 == 200);
    assert!(server.metric("jones_sync_reconcile_errors_total", None) >= Some(1.0));
    let output = server.stop();
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stderr.contains("the ZooKeeper session ended (Expired)"), "{}", output.stderr);
    assert!(output.stderr.contains("new session established"), "{}", output.stderr);
    assert_eq!(output.stderr.matches("read 1 service in full").count(), 2, "{}", output.stderr);
}

#[test]
fn serve_apply_whose_session_expires_takes_its_lock_again_on_a_new_session_and_completes() {
    let t = applied("serve_apply_expiry");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    let server = start_with(t.repo.path(), &proxied(&t, &proxy), &["--mode", "apply"]);
    wait_for("leadership", || server.metric("jones_sync_leader", None) == Some(1.0));
    // The apply's transaction never reaches ZooKeeper, and its session (its lock) is gone.
    proxy.arm(Fault::ExpireBefore, 0);
    t.write("services/shop/prod/config.toml", "timeout = 50\n");
    let second = t.commit_all("longer timeout");
    wait_for("the commit applied", || {
        let shop = server.json("/api/v1/services/shop");
        shop["applied"]["sha"] == second.as_str() && shop["in_sync"] == true
    });
    assert_eq!(proxy.fired(), [Fault::ExpireBefore]);
    // Nothing is written on the lost session: the transaction is sent again only on a new
    // session, under the lock taken again (version guards as read then).
    let events = proxy.events();
    let cut = events.iter().position(|e| matches!(e, Event::Multi(_, Some(Fault::ExpireBefore)))).unwrap();
    let after: Vec<&Event> =
        events[cut + 1..].iter().filter(|e| !matches!(e, Event::Create(p) if p.contains("/leader"))).collect();
    assert!(
        matches!(after[..], [Event::Expired, Event::Session(_), Event::Create(lock), Event::Multi(_, None), ..] if lock.ends_with("/locks/lock-")),
        "{after:#?}"
    );
    assert_eq!(t.tree()["/services/shop/views/prod"], r#"{"timeout":50}"#);
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0);
    // One audit entry for the commit, by the server.
    let history: Value =
        serde_json::from_str(&t.run(&["history", "shop", "--format", "json"]).success().stdout).unwrap();
    let entries: Vec<&Value> = history.as_array().unwrap().iter().filter(|e| e["sha"] == second.as_str()).collect();
    assert_eq!(entries.len(), 1, "{history}");
    assert_eq!(entries[0]["actor"], "jones-sync serve");
}

#[test]
fn serve_follows_a_first_apply_into_an_empty_zookeeper() {
    let t = Test::new("serve_empty");
    t.write("services/shop/config.toml", "timeout = 30\n");
    t.commit_all("first");
    let server = start(&t, &[]);
    let api = server.json("/api/v1/services/shop");
    assert_eq!(api["in_sync"], false);
    assert_eq!(api["plan"]["create_root"], true);
    assert_eq!(api["applied"], Value::Null);
    let first_apply = api["pending_changes"].clone();
    t.run(&["apply", "--yes"]).success();
    wait_for("in sync after the first apply", || {
        server.metric("jones_sync_service_in_sync", Some(("service", "shop"))) == Some(1.0)
    });
    assert_eq!(server.json("/api/v1/services/shop")["plan"]["create_root"], false);
    // The whole service deleted by hand: everything to create again.
    t.zk_delete_all("/services/shop");
    wait_for("the deletion", || server.json("/api/v1/services/shop")["pending_changes"] == first_apply);
    assert_eq!(server.json("/api/v1/services/shop")["applied"], Value::Null);
}

#[test]
fn serve_reads_everything_again_every_resync_period() {
    let t = applied("serve_resync");
    let mut server = start(&t, &["--resync", "0.3"]);
    std::thread::sleep(Duration::from_millis(1000));
    let output = server.stop();
    assert_eq!(output.code, 0, "{}", output.stderr);
    let reads = output.stderr.matches("read 1 service in full").count();
    assert!((2..=6).contains(&reads), "{reads} full reads in 1 s with --resync 0.3:\n{}", output.stderr);
}

#[test]
fn serve_refuses_periods_that_are_not_positive() {
    let t = applied("serve_periods");
    t.run(&["serve", "--interval", "0"])
        .code(1)
        .stderr("error: --interval must be a positive number of seconds, not 0\n");
    t.run(&["serve", "--resync=-1"]).code(1).stderr("error: --resync must be a positive number of seconds, not -1\n");
}

#[test]
fn serve_answers_concurrent_requests_while_the_state_changes() {
    let t = applied("serve_load");
    let server = start(&t, &[]);
    let port = server.port;
    // 8 clients at once, `rounds` requests each, across every endpoint: all answered.
    let load = |rounds: usize| {
        let clients: Vec<_> = (0..8)
            .map(|client| {
                std::thread::spawn(move || {
                    let server = Server { process: None, port };
                    let paths = ["/metrics", "/api/v1/services", "/api/v1/services/shop", "/readyz", "/healthz"];
                    for request in 0..rounds {
                        let path = paths[(client + request) % paths.len()];
                        assert_eq!(server.get(path).0, 200, "{path}");
                    }
                })
            })
            .collect::<Vec<_>>();
        clients
    };
    let clients = load(40);
    // Meanwhile the state changes under the readers.
    for value in 0..10 {
        t.zk_write("/services/shop/conf/prod", &format!("{{\"timeout\": {value}}}"));
    }
    for client in clients {
        client.join().unwrap();
    }
    wait_for("the last edit", || {
        server.json("/api/v1/services/shop")["plan"]["services"][0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "/services/shop/conf/prod" && c["before"] == serde_json::json!({"timeout": 9}))
    });
    // No growth in memory: 4,000 more requests leave the resident set where warm-up left it
    // (a leak of 1 KiB a request would add 4 MB).
    let pid = server.process.as_ref().unwrap().pid();
    let resident = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().to_string();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
    };
    load(100).into_iter().for_each(|c| c.join().unwrap());
    let warm = resident();
    load(500).into_iter().for_each(|c| c.join().unwrap());
    let after = resident();
    assert!(after < warm + 2048, "resident memory grew from {warm} KiB to {after} KiB over 4,000 requests");
}

#[test]
fn serve_says_which_address_it_cannot_listen_on() {
    let t = applied("serve_listen");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = t.run(&["serve", "--listen", &address]).code(1);
    assert!(out.stderr.starts_with(&format!("error: cannot listen on `{address}`: ")), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn serve_rides_out_a_dropped_connection_within_its_session() {
    let t = applied("serve_dropped");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    let mut server = start_with(t.repo.path(), &proxied(&t, &proxy), &["--resync", "0.5"]);
    // The next full read's connection is cut: the client reconnects within its session.
    proxy.arm_read(crate::proxy::Fault::CutBefore, 0);
    wait_for("the cut", || proxy.fired().len() == 1);
    // An edit made around the gap is seen all the same.
    t.zk_write("/services/shop/conf/prod", "{\"timeout\": 99}");
    wait_for("the drift", || server.metric("jones_sync_service_drift_nodes", Some(("service", "shop"))) == Some(1.0));
    wait_for("ready again", || server.get("/readyz").0 == 200);
    let output = server.stop();
    assert!(output.stderr.contains("connection lost; the client reconnects"), "{}", output.stderr);
    assert!(output.stderr.contains("connection re-established"), "{}", output.stderr);
    assert!(!output.stderr.contains("new session"), "the session survived:\n{}", output.stderr);
}

#[test]
fn sigterm_during_an_apply_lets_it_finish_and_leaves_no_partial_service() {
    let t = applied("serve_term");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    let mut server = start_with(t.repo.path(), &proxied(&t, &proxy), &["--mode", "apply"]);
    wait_for("leading", || server.metric("jones_sync_leader", None) == Some(1.0));
    // A commit the server applies in several transactions; it is stopped during the second.
    t.write("jones-sync.toml", "[zookeeper]\nmax_request_bytes = 1500\n");
    for env in ["a", "b", "c"] {
        t.write(&format!("services/shop/{env}/config.toml"), &format!("blob = \"{}\"\n", "x".repeat(300)));
    }
    proxy.arm(crate::proxy::Fault::Pause, 1);
    t.commit_all("three big environments");
    proxy.wait_paused();
    let process = server.process.take().unwrap();
    let _ = std::process::Command::new("kill").args(["-TERM", &process.pid().to_string()]).status();
    std::thread::sleep(Duration::from_millis(300));
    proxy.resume();
    let out = process.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("shop: applied"), "the apply in flight completed:\n{}", out.stderr);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn serve_reconciles_the_target_it_is_given_labelled_in_its_metrics_and_api() {
    let t = Test::new("serve_target");
    let other = crate::zookeeper::others()[0].chroot("serve_target");
    t.write(
        "jones-sync.toml",
        &format!("[targets.main]\nzk = \"{}\"\n[targets.euw1]\nzk = \"{other}\"\nservices = [\"shop\"]\n", t.zk),
    )
    .write("services/shop/config.toml", "timeout = 30\n")
    .write("services/search/config.toml", "shards = 4\n");
    t.commit_all("first");
    // --target narrows a server to the targets named.
    let server = start(&t, &["--mode", "apply", "--target", "euw1"]);
    let shop = Some(("service", "shop"));
    wait_for("shop applied to euw1", || server.metric("jones_sync_service_in_sync", shop) == Some(1.0));
    // Every sample carries the target; only the target's services are there.
    let scrape = server.metrics();
    assert!(scrape.samples.iter().all(|s| s.labels.get("target") == Some("euw1")), "{:?}", scrape.samples);
    let services = server.json("/api/v1/services");
    assert_eq!(services["target"], "euw1");
    let names: Vec<&str> =
        services["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shop"]);
    assert_eq!(server.json("/api/v1/services/shop")["target"], "euw1");
    let euw1 = crate::util::tree_at(&other);
    assert!(euw1.contains_key("/services/shop/conf") && !euw1.keys().any(|p| p.contains("search")), "{euw1:?}");
    assert!(t.tree().is_empty(), "the other target is not touched");
}

#[test]
fn serve_reconciles_every_target_and_applies_a_new_commit_wave_by_wave() {
    let t = Test::new("serve_waves");
    let other = crate::zookeeper::others()[1].chroot("serve_waves");
    t.write(
        "jones-sync.toml",
        &format!(
            "[targets.canary]\nzk = \"{}\"\n[targets.euw1]\nzk = \"{other}\"\n\n[rollout]\nwaves = [[\"canary\"], [\"euw1\"]]\n",
            t.zk
        ),
    )
    .write("services/shop/config.toml", "timeout = 30\n");
    t.commit_all("first");
    t.run(&["apply", "--yes"]).success();
    // An emergency edit in canary: the next commit would undo it, so the server holds shop back
    // there, and canary is not in sync with it.
    t.run(&["set", "shop", "--target", "canary", "flag=true", "--yes", "--reason", "test"]).success();
    let server = start(&t, &["--mode", "apply"]);
    let list = server.json("/api/v1/services");
    let targets: Vec<&str> =
        list["targets"].as_array().unwrap().iter().map(|t| t["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["canary", "euw1"]);
    t.write("services/shop/config.toml", "timeout = 31\n");
    let second = t.commit_all("second");
    let euw1 = || server.json("/api/v1/targets/euw1/services");
    wait_for("euw1 waits for canary", || euw1()["waiting_for"] == serde_json::json!(["canary"]));
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(server.json("/api/v1/targets/euw1/services/shop")["applied"]["sha"], t.rev("HEAD~1").as_str());
    // Canary gets the commit (the edit undone on purpose): euw1 follows, by itself.
    t.run(&["apply", "--yes", "--target", "canary", "--revert-break-glass"]).success();
    wait_for("euw1 applied", || server.json("/api/v1/targets/euw1/services/shop")["applied"]["sha"] == second.as_str());
    assert_eq!(euw1()["waiting_for"], serde_json::json!([]));
    // One service, two targets: its document lists both.
    let shop = server.json("/api/v1/services/shop");
    let shas: Vec<&str> =
        shop["targets"].as_array().unwrap().iter().map(|t| t["applied"]["sha"].as_str().unwrap()).collect();
    assert_eq!(shas, [second.as_str(), second.as_str()]);
    // Metrics: one exposition, every sample labelled with its target.
    let in_sync = |target| Some(("target", target));
    assert_eq!(server.metric("jones_sync_service_in_sync", in_sync("euw1")), Some(1.0));
    assert_eq!(server.metric("jones_sync_service_in_sync", in_sync("canary")), Some(1.0));
    let (code, body) = server.get("/api/v1/targets/use9/services");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("no target `use9` is served (targets: canary, euw1)"), "{body}");
}
