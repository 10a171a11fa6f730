//! Several ZooKeeper clusters from one repository (`[targets]`, `[rollout] waves`), against three
//! real ZooKeeper servers: plans per target with equal ones folded, rollouts wave by wave that
//! stop at the first failure, saved plans judged per target, per-target credentials, the status
//! matrix, and the commands that work on one cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::proxy::{Fault, Proxy};
use crate::util::{Test, short};
use crate::zookeeper::{self, block_on};

/// A repository with `shop` and `search`, and three targets on three servers: `canary` (wave 1),
/// `use1` and `euw1` (wave 2; `euw1` only takes `shop`).
struct Fleet {
    t: Test,
    /// The connect strings of canary, use1 and euw1 (a chroot of its own on each server).
    zk: [String; 3],
}

impl Fleet {
    fn new(name: &str) -> Fleet {
        let t = Test::new(name);
        let [b, c] = zookeeper::others();
        let zk = [t.zk.clone(), b.chroot(name), c.chroot(name)];
        let fleet = Fleet { t, zk };
        fleet.settings(&fleet.zk.clone());
        fleet
            .t
            .write("services/shop/config.toml", "timeout = 30\n")
            .write("services/shop/prod/config.toml", "timeout = 10\n")
            .write("services/shop/prod/hosts.toml", "hosts = [\"web1\"]\n")
            .write("services/search/config.toml", "shards = 4\n");
        fleet.t.commit_all("first");
        fleet
    }

    /// Writes jones-sync.toml with the targets at `zk`.
    fn settings(&self, zk: &[String; 3]) {
        self.t.write(
            "jones-sync.toml",
            &format!(
                "[targets.canary]\nzk = \"{}\"\n\n[targets.use1]\nzk = \"{}\"\n\n[targets.euw1]\nzk = \"{}\"\n\
                 services = [\"shop\"]\n\n[rollout]\nwaves = [[\"canary\"], [\"use1\", \"euw1\"]]\n",
                zk[0], zk[1], zk[2]
            ),
        );
    }

    fn run(&self, args: &[&str]) -> crate::util::Output {
        self.t.run(args)
    }

    /// The config nodes of target `i` (no records), by path.
    fn tree(&self, i: usize) -> BTreeMap<String, String> {
        tree_at(&self.zk[i])
    }

    /// The commit each service's record names in target `i`.
    fn commits(&self, i: usize) -> BTreeMap<String, String> {
        let tree = full_tree_at(&self.zk[i]);
        let mut commits = BTreeMap::new();
        for (path, data) in tree {
            if let Some(service) = path.strip_prefix("/services/").and_then(|p| p.strip_suffix("/jones-sync")) {
                let record: serde_json::Value = serde_json::from_str(&data).unwrap();
                commits.insert(service.to_string(), record["sha"].as_str().unwrap().to_string());
            }
        }
        commits
    }
}

fn full_tree_at(connect: &str) -> BTreeMap<String, String> {
    crate::util::tree_at(connect).into_iter().filter(|(path, _)| !path.contains("/jones-sync/")).collect()
}

fn tree_at(connect: &str) -> BTreeMap<String, String> {
    full_tree_at(connect).into_iter().filter(|(path, _)| !path.contains("/jones-sync")).collect()
}

#[test]
fn a_rollout_plans_every_target_at_once_and_applies_wave_by_wave() {
    let f = Fleet::new("targets-rollout");
    // One plan: canary and use1 get the same changes, shown once; euw1 only shop.
    let plan = f.run(&["plan", "--detailed-exitcode"]).code(2);
    let headings: Vec<&str> = plan.stdout.lines().filter(|l| l.starts_with("── ")).collect();
    assert_eq!(
        headings,
        [
            "── Targets `canary`, `use1` (waves 1, 2 of 2): the same plan for each ──",
            "── Target `euw1` (wave 2 of 2) ──"
        ],
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.ends_with(
            "By target:\n  canary  wave 1 of 2  13 to create, 0 to update, 0 to delete\n  \
             use1    wave 2 of 2  13 to create, 0 to update, 0 to delete\n  \
             euw1    wave 2 of 2  8 to create, 0 to update, 0 to delete\n"
        ),
        "{}",
        plan.stdout
    );
    // JSON has every target's plan, and says which are the same.
    let json: serde_json::Value = serde_json::from_str(&f.run(&["plan", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json["format_version"], "1.5.0");
    assert_eq!(json["summary"]["create"], 34);
    let targets: Vec<(&str, u64, &str, &str)> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["wave"].as_u64().unwrap(),
                t["same_as"].as_str().unwrap_or("-"),
                t["zookeeper"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("canary", 1, "-", f.zk[0].as_str()),
            ("use1", 2, "canary", f.zk[1].as_str()),
            ("euw1", 2, "-", f.zk[2].as_str())
        ]
    );
    let services: Vec<&str> =
        json["targets"][2]["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(services, ["shop"]);
    // Markdown: a table of targets, then a section per plan.
    let markdown = f.run(&["plan", "--format", "markdown"]).success().stdout;
    assert!(markdown.contains("| `euw1` | 2 of 2 | 8 to create, 0 to update, 0 to delete |"), "{markdown}");
    assert!(markdown.contains("#### Targets `canary`, `use1` (waves 1, 2 of 2): the same plan for each"), "{markdown}");

    let apply = f.run(&["apply", "--yes"]).success();
    let order: Vec<&str> =
        apply.stdout.lines().filter(|l| l.starts_with("Wave ") || l.starts_with("── Target `")).collect();
    assert_eq!(
        &order[order.len() - 5..],
        [
            "Wave 1 of 2: `canary`",
            "── Target `canary` ──",
            "Wave 2 of 2: `use1`, `euw1`",
            "── Target `use1` ──",
            "── Target `euw1` ──"
        ],
        "{}",
        apply.stdout
    );
    assert!(apply.stdout.ends_with("\nApplied to 3 targets in 2 waves.\n"), "{}", apply.stdout);
    // Each target holds what goes to it, and only that.
    assert_eq!(f.tree(0), f.tree(1));
    assert_eq!(f.tree(0).keys().filter(|p| p.starts_with("/services/search")).count(), 4);
    assert!(f.tree(2).keys().all(|p| !p.starts_with("/services/search")), "{:?}", f.tree(2));
    assert_eq!(f.tree(2)["/services/shop/views/prod"], f.tree(0)["/services/shop/views/prod"]);
    f.run(&["plan", "--detailed-exitcode"]).success();

    // `--target` narrows a rollout; the others keep what they hold.
    let first = f.t.rev("HEAD");
    f.t.write("services/shop/config.toml", "timeout = 31\n");
    let second = f.t.commit_all("second");
    let out = f.run(&["apply", "--yes", "--target", "euw1"]).success();
    assert!(out.stdout.contains("Wave 2 of 2: `euw1`") && !out.stdout.contains("Wave 1"), "{}", out.stdout);
    assert_eq!(f.commits(2)["shop"], second);
    assert_eq!(f.commits(0)["shop"], first);
}

#[test]
fn a_target_down_stops_the_rollout_before_later_waves() {
    let f = Fleet::new("targets-down");
    let proxy = Proxy::start(&zookeeper::server().address());
    let through_proxy = proxy.connect_string(&f.zk[0][f.zk[0].find('/').unwrap()..]);
    let mut zk = f.zk.clone();
    zk[0] = through_proxy;
    f.settings(&zk);
    f.t.commit_all("canary through a proxy");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    f.run(&["plan", "--out", file]).success();

    // Canary goes down after the plan: wave 1 fails within the connect timeout, wave 2 is not
    // touched, and the output says what each target holds.
    proxy.refuse();
    let started = std::time::Instant::now();
    let out = f.run(&["apply", file, "--connect-timeout", "2"]).code(1);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(out.stdout.contains("Wave 1 of 2: `canary`") && !out.stdout.contains("Wave 2"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\nWhat each target holds now:\n  canary  wave 1 of 2  FAILED       unknown: cannot connect"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "\n  use1    wave 2 of 2  not started  not applied (2 services)\n  \
             euw1    wave 2 of 2  not started  not applied (1 service)\n"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stderr.starts_with("error: target `canary`: cannot connect to ZooKeeper"), "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            "error: the rollout stopped: 1 target failed (`canary`); 2 targets of later waves not started\n"
        ),
        "{}",
        out.stderr
    );
    assert!(f.tree(1).is_empty() && f.tree(2).is_empty());

    // A target down before anything is planned: nothing is applied anywhere.
    let out = f.run(&["apply", "--yes", "--connect-timeout", "2"]).code(1);
    assert!(
        out.stderr.contains(
            "1 of 3 targets could not be planned, so nothing was applied anywhere:\n  canary: cannot connect"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.ends_with("(to apply to the others meanwhile, name them with --target)\n"), "{}", out.stderr);
    assert!(f.tree(1).is_empty() && f.tree(2).is_empty());
    let out = f.run(&["plan", "--connect-timeout", "2"]).code(1);
    assert!(out.stdout.contains("  canary  wave 1 of 2  could not be planned (below)\n"), "{}", out.stdout);
    // The others can go on without it.
    f.run(&["apply", "--yes", "--target", "use1", "--target", "euw1"]).success();
    assert!(!f.tree(1).is_empty() && !f.tree(2).is_empty());
    drop(proxy);
}

#[test]
fn a_stale_target_of_a_saved_plan_stops_the_rollout_at_its_wave() {
    let f = Fleet::new("targets-stale");
    let first = f.t.rev("HEAD");
    f.run(&["apply", "--yes"]).success();
    f.t.write("services/shop/prod/config.toml", "timeout = 11\n");
    let second = f.t.commit_all("second");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    let out = f.run(&["plan", "--out", file]).success();
    assert!(
        out.stdout.ends_with(&format!(
            "\nSaved the plan of 3 targets to `{file}`. To apply exactly these changes, wave by wave: jones-sync apply {file}\n"
        )),
        "{}",
        out.stdout
    );
    // Someone edits use1 (wave 2) meanwhile.
    block_on(async {
        let zk = zookeeper::raw(&f.zk[1], Duration::from_secs(10)).await;
        zk.set_data("/services/shop/conf/prod", br#"{"timeout": 99}"#, None).await.unwrap();
    });
    let out = f.run(&["apply", file]).code(1);
    assert!(out.stdout.contains("Wave 2 of 2: `use1`, `euw1`"), "{}", out.stdout);
    assert!(out.stderr.contains("error: target `use1`: the plan `"), "{}", out.stderr);
    assert!(out.stderr.contains("is stale: 1 node it relies on changed since it was made"), "{}", out.stderr);
    assert!(out.stderr.contains("/services/shop/conf/prod"), "{}", out.stderr);
    // Canary (wave 1) and euw1 (same wave) applied; use1 holds the first commit.
    assert_eq!(f.commits(0)["shop"], second);
    assert_eq!(f.commits(2)["shop"], second);
    assert_eq!(f.commits(1)["shop"], first);
    let (s1, s2) = (short(&first), short(&second));
    assert!(
        out.stdout.ends_with(&format!(
            "\nWhat each target holds now:\n  \
             canary  wave 1 of 2  applied      {s1} (1 service), {s2} (1 service)\n  \
             use1    wave 2 of 2  FAILED       {s1} (2 services)\n  \
             euw1    wave 2 of 2  applied      {s2} (1 service)\n"
        )) || out.stdout.ends_with(&format!(
            "\nWhat each target holds now:\n  \
             canary  wave 1 of 2  applied      {s2} (1 service), {s1} (1 service)\n  \
             use1    wave 2 of 2  FAILED       {s1} (2 services)\n  \
             euw1    wave 2 of 2  applied      {s2} (1 service)\n"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stderr.ends_with("error: the rollout stopped: 1 target failed (`use1`)\n"), "{}", out.stderr);
}

#[test]
fn each_target_authenticates_with_its_own_credentials() {
    let f = Fleet::new("targets-auth");
    // use1's chroot admits only the digest user `u1`.
    let id = jones_sync::zk::Credentials::parse("u1:p1", "test").unwrap().digest_id();
    let chroot = f.zk[1][f.zk[1].find('/').unwrap()..].to_string();
    let address = zookeeper::others()[0].address();
    block_on(async move {
        let zk = zookeeper::raw(&address, Duration::from_secs(10)).await;
        let acl =
            zookeeper_client::Acl::new(zookeeper_client::Permission::ALL, zookeeper_client::AuthId::new("digest", &id));
        zk.set_acl(&chroot, &[acl][..], None).await.unwrap();
    });
    // The common credentials are another user's: planning use1 needs no permission (it has no
    // `/services` yet), applying to it does, so the rollout stops in wave 2.
    let common = ("JONES_SYNC_ZK_AUTH", "other:secret");
    let out = f.t.run_env(&["apply", "--yes"], &[common]).code(1);
    assert!(
        out.stderr.contains("error: target `use1`: 2 of 2 services failed to apply:\n  search: `/services` cannot be created: its parent's ACL does not let this session create children (ZooKeeper NoAuth)"),
        "{}",
        out.stderr
    );
    assert!(!f.tree(0).is_empty() && !f.tree(2).is_empty());
    let use1 = [("JONES_SYNC_ZK_AUTH_USE1", "u1:p1")];
    let out = f.t.run_env(&["plan", "--target", "use1"], &use1).success();
    assert!(out.stdout.ends_with("  use1  wave 2 of 2  13 to create, 0 to update, 0 to delete\n"), "{}", out.stdout);
    // use1's own variable wins for use1.
    let out = f.t.run_env(&["apply", "--yes"], &[common, ("JONES_SYNC_ZK_AUTH_USE1", "u1:p1")]).success();
    assert!(!out.stdout.contains("p1") && !out.stderr.contains("p1"), "credentials are never printed");
    f.t.run_env(&["plan", "--detailed-exitcode", "--target", "use1"], &use1).success();
    // A malformed per-target variable is named, before anything is contacted.
    let out = f.t.run_env(&["plan"], &[("JONES_SYNC_ZK_AUTH_USE1", "nopassword")]).code(1);
    assert_eq!(out.stderr, "error: JONES_SYNC_ZK_AUTH_USE1 must hold `user:password` (both non-empty)\n");
}

#[test]
fn status_is_a_matrix_of_services_and_targets() {
    let f = Fleet::new("targets-status");
    let first = f.t.rev("HEAD");
    f.run(&["apply", "--yes"]).success();
    f.t.write("services/shop/config.toml", "timeout = 31\n");
    let second = f.t.commit_all("second");
    f.run(&["apply", "--yes", "--target", "canary"]).success();
    let (s1, s2) = (short(&first), short(&second));
    let out = f.run(&["status"]).success();
    assert_eq!(
        out.stdout,
        format!(
            "HEAD is {s2} second\n\n\
             SERVICE  CANARY          USE1                     EUW1\n\
             search   {s1} =  {s1} =           -\n\
             shop     {s2} =  {s1} 3 to apply  {s1} 3 to apply\n\n\
             Each cell: the commit applied, then `=` when the service matches HEAD, or the changes an apply would \
             make. `-`: the service does not go to that target; `?`: the target could not be read.\n"
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&f.run(&["status", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json["targets"][1]["target"], "use1");
    assert_eq!(json["targets"][1]["services"][1]["matches_head"], false);
    assert_eq!(json["targets"][0]["services"][1]["sha"], second.as_str());
}

#[test]
fn a_command_on_one_cluster_needs_one_target() {
    let f = Fleet::new("targets-one");
    f.run(&["apply", "--yes"]).success();
    let out = f.run(&["history", "shop"]).code(1);
    assert_eq!(
        out.stderr,
        "error: `history` works on one ZooKeeper cluster, and jones-sync.toml has 3 targets (`canary`, `use1`, \
         `euw1`): name one with --target\n"
    );
    let out = f.run(&["history", "shop", "--target", "euw1"]).success();
    assert!(out.stdout.contains(" first\n"), "{}", out.stdout);
    let out = f.run(&["get", "shop", "--host", "web1", "--target", "use1", "--key", "timeout"]).success();
    assert_eq!(out.stdout, "10\n");
    let out = f.run(&["tree", "search", "--target", "euw1"]).code(1);
    assert!(out.stderr.contains("search"), "{}", out.stderr);
    // --zk replaces the address of the one target named, and is refused otherwise.
    let out = f.run(&["plan", "--zk", &f.zk[2]]).code(1);
    assert!(out.stderr.starts_with("error: --zk with `[targets]` needs exactly one --target"), "{}", out.stderr);
    let out = f.run(&["plan", "--target", "use1", "--zk", &f.zk[0], "--detailed-exitcode"]).success();
    assert!(out.stdout.ends_with("By target:\n  use1  wave 2 of 2  no changes\n"), "{}", out.stdout);
    let out = f.run(&["plan", "--target", "usel"]).code(1);
    assert_eq!(
        out.stderr,
        "error: unknown target `usel`: jones-sync.toml has `canary`, `use1`, `euw1`; did you mean `use1`?\n"
    );
    // Without `[targets]`, --target is refused.
    let t = Test::new("targets-none");
    t.write("services/s/config.toml", "a = 1\n");
    let out = t.run(&["plan", "--target", "use1"]).code(1);
    assert_eq!(
        out.stderr,
        "error: --target `use1`: jones-sync.toml has no `[targets]`, so every command works on the one cluster of --zk\n"
    );
    let out = t.run(&["apply", "--yes", "--wave-pause", "5"]).code(1);
    assert_eq!(
        out.stderr,
        "error: --wave-pause: jones-sync.toml has no `[targets]`, so there are no waves to pause between\n"
    );
}

#[test]
fn a_wave_pause_waits_between_waves() {
    let f = Fleet::new("targets-pause");
    let started = std::time::Instant::now();
    let out = f.run(&["apply", "--yes", "--wave-pause", "2"]).success();
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    let lines: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("Wa")).collect();
    assert_eq!(
        lines,
        [
            "Wave 1 of 2: `canary`",
            "Waiting 2s before wave 2 of 2 (Ctrl-C stops here, writing nothing more)...",
            "Wave 2 of 2: `use1`, `euw1`"
        ]
    );
}

#[test]
fn ctrl_c_during_a_wave_pause_stops_before_the_next_wave() {
    let f = Fleet::new("targets-interrupt");
    let mut apply = crate::util::spawn_in(f.t.repo.path(), &f.t.zk, &["apply", "--yes", "--wave-pause", "120"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while f.commits(0).len() < 2 {
        assert!(std::time::Instant::now() < deadline && apply.running(), "wave 1 never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Canary is applied; the process is in its pause (give it a moment to print and wait).
    std::thread::sleep(Duration::from_millis(500));
    let started = std::time::Instant::now();
    assert!(std::process::Command::new("kill").args(["-INT", &apply.pid().to_string()]).status().unwrap().success());
    let out = apply.finish().code(1);
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(out.stdout.contains("Waiting 120s before wave 2 of 2"), "{}", out.stdout);
    assert!(!out.stdout.contains("Wave 2 of 2"), "{}", out.stdout);
    assert!(
        out.stderr
            .ends_with("error: interrupted before the next wave: 2 targets not started, nothing more was written\n"),
        "{}",
        out.stderr
    );
    assert!(f.tree(1).is_empty() && f.tree(2).is_empty());
}

#[test]
fn a_process_killed_mid_wave_leaves_every_service_of_every_target_at_one_commit() {
    let f = Fleet::new("targets-kill");
    let first = f.t.rev("HEAD");
    f.run(&["apply", "--yes"]).success();
    // use1 is reached through a proxy that holds its first transaction.
    let proxy = Proxy::start(&zookeeper::others()[0].address());
    let mut zk = f.zk.clone();
    zk[1] = proxy.connect_string(&f.zk[1][f.zk[1].find('/').unwrap()..]);
    f.settings(&zk);
    f.t.write("services/shop/config.toml", "timeout = 31\n").write("services/search/config.toml", "shards = 5\n");
    let second = f.t.commit_all("second");
    proxy.arm(Fault::Pause, 0);
    let mut apply = crate::util::spawn_in(f.t.repo.path(), &f.t.zk, &["apply", "--yes"]);
    proxy.wait_paused();
    apply.kill();
    let _ = apply.finish();
    // The held transaction reaches ZooKeeper after the process is gone, as a late packet would.
    proxy.resume();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(f.commits(0).values().collect::<Vec<_>>(), [&second, &second]);
    // Every service of every target is wholly at the commit its record names.
    let mut seen = Vec::new();
    for (i, target) in ["canary", "use1", "euw1"].iter().enumerate() {
        for (service, sha) in f.commits(i) {
            assert!(sha == first || sha == second, "{target} {service} {sha}");
            let args = ["plan", "--rev", &sha, "--target", target, "--service", &service, "--detailed-exitcode"];
            f.run(&args).success();
            seen.push(format!("{target}/{service}"));
        }
    }
    assert_eq!(seen, ["canary/search", "canary/shop", "use1/search", "use1/shop", "euw1/shop"]);
    drop(proxy);
}

#[test]
fn a_plan_file_for_several_targets_is_shown_as_plan_showed_it() {
    let f = Fleet::new("targets-show");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    let planned = f.run(&["plan", "--out", file]).success().stdout;
    let shown = f.run(&["show", file, "--detailed-exitcode"]).code(2).stdout;
    let (head, rest) = shown.split_once("\n\n").unwrap();
    assert!(head.starts_with("Saved plan, made ") && head.ends_with(", for every target."), "{head}");
    let sections = |text: &str| text[..text.find("By target:").unwrap()].to_string();
    assert_eq!(sections(rest), sections(&planned));
    assert!(rest.ends_with(&format!("\nTo apply exactly these changes, wave by wave: jones-sync apply {file}\n")));
    let markdown = f.run(&["show", file, "--format", "markdown"]).success().stdout;
    assert!(markdown.starts_with("<!-- jones-sync plan -->\n\n### jones-sync plan\n\n| Target | Wave | Plan |\n"));
    let json: serde_json::Value =
        serde_json::from_str(&f.run(&["show", file, "--format", "json"]).success().stdout).unwrap();
    let same: Vec<&serde_json::Value> = json["targets"].as_array().unwrap().iter().map(|t| &t["same_as"]).collect();
    assert_eq!(same, [&serde_json::Value::Null, &serde_json::json!("canary"), &serde_json::Value::Null]);
    // A plan file for one cluster takes no --target.
    let t = Test::new("targets-show-one");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["plan", "--out", file]).success();
    let out = t.run(&["apply", file, "--target", "use1"]).code(1);
    assert_eq!(
        out.stderr,
        format!("error: --target: the plan `{file}` was made for one cluster, not for `[targets]`\n")
    );
}

#[test]
fn a_target_changed_after_the_plan_was_confirmed_is_not_written() {
    let f = Fleet::new("targets-confirm");
    let zk = f.zk[1].clone();
    let out = f.t.run_on_terminal(&["apply"], move || {
        // Another writer creates a node of use1 while the person reads the plan.
        block_on(async move {
            let zk = zookeeper::raw(&zk, Duration::from_secs(10)).await;
            let options = zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
            zk.create("/services", b"", &options).await.unwrap();
        });
        "yes".into()
    });
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("By target:\n  canary  wave 1 of 2  13 to create"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "error: target `use1`: ZooKeeper changed since the plan you confirmed was read, so nothing was written to \
             this target: run apply again to see the plan as it is now"
        ),
        "{}",
        out.stdout
    );
    // Canary (wave 1) and euw1 (same wave as use1) applied; use1 holds only what the other wrote.
    assert!(!f.tree(0).is_empty() && !f.tree(2).is_empty());
    assert_eq!(f.tree(1).keys().collect::<Vec<_>>(), ["/services"]);
    assert!(out.stdout.contains("error: the rollout stopped: 1 target failed (`use1`)"), "{}", out.stdout);
}
