//! A locked-down ZooKeeper: digest authentication from the environment, ACLs on created nodes,
//! ACL drift in plan, and NoAuth named per node with nothing written. ZooKeeper's digest scheme
//! works on the stock server: a session that authenticates as `user:password` holds the identity
//! `digest:user:<base64 SHA-1 of user:password>`.

use std::time::Duration;

use zookeeper_client as zk;

use crate::util::Test;
use crate::zookeeper::block_on;

/// `echo -n deploy:secret | openssl dgst -binary -sha1 | openssl base64`
pub(crate) const DEPLOY: &str = "digest:deploy:rSpU/XyHmx21xPS/a6gMkHIbvkE=";
pub(crate) const AUTH: (&str, &str) = ("JONES_SYNC_ZK_AUTH", "deploy:secret");

/// A repository whose nodes must carry `deploy`'s ACL: one service `s` with an environment `e`.
pub(crate) fn locked(name: &str) -> Test {
    let t = Test::new(name);
    t.write("jones-sync.toml", &format!("[zookeeper]\nacl = [\"world:anyone:r\", \"{DEPLOY}:cdrwa\"]\n"))
        .write("services/s/config.toml", "a = 1\n")
        .write("services/s/e/hosts.toml", "hosts = [\"h\"]\n");
    t
}

/// A client of the test's own, authenticated as `deploy`.
pub(crate) fn as_deploy(connect: &str) -> zk::Client {
    let connector = || zk::Client::connector().with_session_timeout(Duration::from_secs(10));
    block_on(connector().with_auth("digest", b"deploy:secret").connect(connect)).unwrap()
}

/// The ACL of `path` as `scheme:id:perms` entries, sorted, as `deploy` (an admin) sees it: ZooKeeper
/// hides digest hashes from sessions without the admin permission.
pub(crate) fn acl(t: &Test, path: &str) -> Vec<String> {
    let (zk, path) = (as_deploy(&t.zk), path.to_string());
    block_on(async move {
        let (acl, _) = zk.get_acl(&path).await.unwrap();
        let mut acl: Vec<String> = acl.iter().map(|a| jones_sync::zk::acl::from_client(a).to_string()).collect();
        acl.sort();
        acl
    })
}

#[test]
fn created_nodes_carry_the_acl_and_writes_without_permission_fail_whole() {
    let t = locked("acl");
    t.run_env(&["apply", "--yes"], &[AUTH]).success();
    let expected = [format!("{DEPLOY}:cdrwa"), "world:anyone:r".to_string()];
    for path in [
        "/services",
        "/services/s",
        "/services/s/conf",
        "/services/s/views/e",
        "/services/s/nodemaps",
        "/services/s/jones-sync",
    ] {
        assert_eq!(acl(&t, path), expected, "{path}");
    }
    // Anyone can read (plan), and ACLs match: no changes, with or without credentials.
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    t.run_env(&["plan", "--detailed-exitcode"], &[AUTH]).code(0);

    // Without credentials, the apply could not use what it creates: refused before connecting,
    // nothing written.
    t.write("services/s/config.toml", "a = 2\n").write("services/s/new/config.toml", "b = 1\n");
    let before = t.tree();
    let refused = |who: &str| {
        format!(
            "error: `[zookeeper] acl` would lock this session out of the nodes it creates: it {who}, so it would lack `cdw`, which only `digest:deploy` gets. jones-sync needs `r` to read them, `w` to write their data, `c` to add environments, audit entries and locks, and `d` to remove them; only an identity with the admin permission `a` (or a ZooKeeper superuser) could undo that. Set JONES_SYNC_ZK_AUTH to the `user:password` of an identity the ACL gives `cdrw`, or change the ACL; nothing was written\n"
        )
    };
    t.run(&["apply", "--yes"]).code(1).stderr(&refused("connects without credentials"));
    assert_eq!(t.tree(), before);
    // A wrong password is another identity: refused the same way, and never shown.
    let out = t.run_env(&["apply", "--yes"], &[("JONES_SYNC_ZK_AUTH", "deploy:wrong-password")]).code(1);
    assert_eq!(out.stderr, refused("authenticates as `deploy` with another password than the ACL's `digest:deploy`"));
    assert!(!out.stdout.contains("wrong-password"));
    assert_eq!(t.tree(), before);
    // A node of the transaction that this identity may not write (deploy keeps only read and
    // admin on it): the transaction names it and writes nothing, not even the create ordered first.
    let zk = as_deploy(&t.zk);
    let deploy = |permission| zk::Acl::new(permission, zk::AuthId::new("digest", &DEPLOY["digest:".len()..]));
    let no_write = [
        zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()),
        deploy(zk::Permission::READ | zk::Permission::ADMIN),
    ];
    block_on(zk.set_acl("/services/s/conf", &no_write, None)).unwrap();
    let before = t.tree();
    let out = t.run_env(&["apply", "--yes"], &[AUTH]).code(1);
    assert_eq!(
        out.stderr,
        "error: s: `/services/s/conf` cannot be written: its ACL does not let this session write it (ZooKeeper NoAuth); nothing was written\n\
         error: 1 of 1 services failed to apply: s\n"
    );
    assert!(
        out.stdout.contains(&format!("  ~ /services/s/conf (ACL)\n      {DEPLOY}:ra, world:anyone:r → ")),
        "{}",
        out.stdout
    );
    assert_eq!(t.tree(), before);
    let all = [zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()), deploy(zk::Permission::ALL)];
    block_on(zk.set_acl("/services/s/conf", &all, None)).unwrap();
    // The right credentials, from a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk-auth");
    std::fs::write(&file, "deploy:secret\n").unwrap();
    t.run_env(&["apply", "--yes"], &[("JONES_SYNC_ZK_AUTH_FILE", file.to_str().unwrap())]).success();
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":2}"#);
}

#[test]
fn plan_shows_acl_drift_and_apply_repairs_it() {
    let t = locked("acldrift");
    t.run_env(&["apply", "--yes"], &[AUTH]).success();
    // Someone opens a view up.
    let zk = as_deploy(&t.zk);
    block_on(async move {
        zk.set_acl("/services/s/views/e", &zk::Acls::anyone_all(), None).await.unwrap();
    });
    let plan = t.run_env(&["plan", "--detailed-exitcode"], &[AUTH]).code(2);
    assert_eq!(
        plan.stdout,
        format!(
            "s: 0 to create, 0 to update, 0 to delete, 1 ACL to set\n  ~ /services/s/views/e (ACL)\n      world:anyone:cdrwa → {DEPLOY}:cdrwa, world:anyone:r\n\nPlan: 0 to create, 0 to update, 0 to delete, 1 ACL to set. Reaches no hosts.\n"
        )
    );
    // Without the setting, ACLs are not read at all (and not compared).
    let settings = std::fs::read_to_string(t.path("jones-sync.toml")).unwrap();
    t.remove("jones-sync.toml");
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    t.write("jones-sync.toml", &settings);
    let applied = t.run_env(&["apply", "--yes"], &[AUTH]).success();
    assert!(
        applied.stdout.ends_with("s: ACLs only, 1 ACL set\nApply complete: 0 created, 0 updated, 0 deleted.\n"),
        "{}",
        applied.stdout
    );
    assert_eq!(acl(&t, "/services/s/views/e"), [format!("{DEPLOY}:cdrwa"), "world:anyone:r".to_string()]);
    t.run_env(&["plan", "--detailed-exitcode"], &[AUTH]).code(0);
}

#[test]
fn credentials_are_never_printed() {
    let t = Test::new("secret");
    t.write("services/s/config.toml", "a = 1\n");
    let unreachable = format!("127.0.0.1:{}", crate::zookeeper::free_port());
    let out = t.run_env(
        &["plan", "--zk", &unreachable, "--connect-timeout", "3"],
        &[("JONES_SYNC_ZK_AUTH", "deploy:hunter2")],
    );
    assert_eq!(out.code, 1);
    assert!(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"), "{out:?}");
    let out = t.run_env(&["plan"], &[("JONES_SYNC_ZK_AUTH", "hunter2")]).code(1);
    assert_eq!(out.stderr, "error: JONES_SYNC_ZK_AUTH must hold `user:password` (both non-empty)\n");
    let help = t.run(&["--help"]).success();
    assert!(help.stdout.contains("JONES_SYNC_ZK_AUTH "), "{}", help.stdout);
    // A malformed ACL is a repository problem with its place, before anything is contacted.
    t.write("jones-sync.toml", "[zookeeper]\nacl = [\"digest:deploy:hunter2:cdrwa\"]\n");
    let out = t.run(&["validate"]).code(1);
    assert!(
        out.stderr.starts_with(
            "error: jones-sync.toml:2:8: invalid settings: invalid ACL `digest:deploy:hunter2:cdrwa`: a digest id is"
        ),
        "{}",
        out.stderr
    );
}

/// Without the `tls` feature (as CI builds), a `tcp+tls://` host is refused with the way out.
#[cfg(not(feature = "tls"))]
#[test]
fn tls_hosts_need_the_tls_feature() {
    let t = Test::new("notls");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["plan", "--zk", "tcp+tls://127.0.0.1:2281"]).code(1).stderr(
        "error: cannot connect to ZooKeeper at `tcp+tls://127.0.0.1:2281` with TLS: this jones-sync was built without TLS support: build it with `--features tls`\n",
    );
}
