//! TLS to ZooKeeper (feature `tls`): a server with a secure client port and a certificate signed
//! by a test CA (both made with `openssl`), reached through `tcp+tls://` with the CA from
//! `JONES_SYNC_ZK_TLS_CA`.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{Output, run_in_env};
use crate::zookeeper::{free_port, serving, spawn_with_jars};

struct TlsServer {
    secure_port: u16,
    dir: tempfile::TempDir,
    _processes: [std::process::Child; 2],
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`<name>.pem`, `<name>.key`) in `dir`.
fn ca(dir: &Path, name: &str) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem, "-days", "2", "-subj",
            &subject,
        ],
    );
}

fn server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ca(d, "ca");
        ca(d, "other-ca");
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
        let key_and_cert = std::fs::read_to_string(d.join("server.key")).unwrap()
            + &std::fs::read_to_string(d.join("server.crt")).unwrap();
        std::fs::write(d.join("server.pem"), key_and_cert).unwrap();
        let (port, secure_port) = (free_port(), free_port());
        let config = d.join("zoo.cfg");
        std::fs::write(
            &config,
            format!(
                "tickTime=500\ndataDir={0}/data\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 secureClientPort={secure_port}\nsecureClientPortAddress=127.0.0.1\n\
                 serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
                 ssl.keyStore.location={0}/server.pem\nssl.keyStore.type=PEM\n\
                 ssl.trustStore.location={0}/ca.pem\nssl.trustStore.type=PEM\nssl.clientAuth=none\n\
                 admin.enableServer=false\n4lw.commands.whitelist=srvr\n",
                d.display()
            ),
        )
        .unwrap();
        let jars = ["/usr/share/java/netty-codec.jar", "/usr/share/java/netty-resolver.jar"];
        let processes = spawn_with_jars(&config, &d.join("zookeeper.log"), &jars);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !serving(port) {
            assert!(Instant::now() < deadline, "the TLS ZooKeeper did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        TlsServer { secure_port, dir, _processes: processes }
    })
}

fn run(repo: &Path, zk: &str, args: &[&str], ca: Option<&Path>) -> Output {
    let ca = ca.map(|p| p.to_str().unwrap().to_string());
    let env: Vec<(&str, &str)> = ca.iter().map(|ca| ("JONES_SYNC_ZK_TLS_CA", ca.as_str())).collect();
    run_in_env(repo, zk, args, &env)
}

#[test]
fn apply_plan_and_get_over_tls() {
    let server = server();
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("services/s/e")).unwrap();
    std::fs::write(repo.path().join("services/s/config.toml"), "a = 1\n").unwrap();
    std::fs::write(repo.path().join("services/s/e/hosts.toml"), "hosts = [\"h\"]\n").unwrap();
    let zk = format!("tcp+tls://localhost:{}", server.secure_port);
    let ca = server.dir.path().join("ca.pem");
    run(repo.path(), &zk, &["apply", "--yes"], Some(&ca)).success();
    run(repo.path(), &zk, &["plan", "--detailed-exitcode"], Some(&ca)).code(0);
    run(repo.path(), &zk, &["get", "s", "--host", "h", "--format", "json"], Some(&ca)).success().stdout("{\"a\":1}\n");
    run(repo.path(), &zk, &["plan"], None).code(1).stderr(&format!(
        "error: cannot connect to ZooKeeper at `{zk}` with TLS: set JONES_SYNC_ZK_TLS_CA to the PEM file of the CA that signed the servers' certificates\n"
    ));
    // A server whose certificate another CA signed is not trusted.
    let other = server.dir.path().join("other-ca.pem");
    run(repo.path(), &zk, &["plan", "--connect-timeout", "3"], Some(&other)).code(1).stderr(&format!(
        "error: cannot connect to ZooKeeper at `{zk}`: no server is reachable within 3s (is ZooKeeper running, and does its certificate match the CA?)\n"
    ));
}
