//! A real ZooKeeper server for the tests: Debian's `zookeeper` package, started once per test
//! binary on a free loopback port with a temporary data directory, and stopped when the test
//! process ends (a watchdog shell kills it). Each test gets its own chroot.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const JAR: &str = "/usr/share/java/zookeeper.jar";
const INSTALL: &str = "sudo apt-get install -y zookeeper   (or: scripts/install-zookeeper.sh)";

pub struct ZooKeeper {
    pub port: u16,
    _data: tempfile::TempDir,
    /// The server and its watchdog, kept so they can be waited for; the watchdog ends the server.
    _processes: [std::process::Child; 2],
}

static SERVER: OnceLock<ZooKeeper> = OnceLock::new();
static OTHERS: OnceLock<[ZooKeeper; 2]> = OnceLock::new();
static CHROOTS: AtomicUsize = AtomicUsize::new(0);

/// The shared server, started on first use.
pub fn server() -> &'static ZooKeeper {
    SERVER.get_or_init(ZooKeeper::start)
}

/// Two more servers besides [`server`], for tests of several clusters (`[targets]`), started on
/// first use.
pub fn others() -> &'static [ZooKeeper; 2] {
    OTHERS.get_or_init(|| [ZooKeeper::start(), ZooKeeper::start()])
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl ZooKeeper {
    fn start() -> ZooKeeper {
        assert!(
            Path::new(JAR).exists(),
            "ZooKeeper is not installed ({JAR} is missing). Install it with:\n    {INSTALL}"
        );
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = data.path().join("zoo.cfg");
        std::fs::write(
            &config,
            format!(
                "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\nmaxClientCnxns=0\n\
                 minSessionTimeout=1000\nmaxSessionTimeout=60000\n",
                data.path().join("data").display()
            ),
        )
        .unwrap();
        let [child, watchdog] = spawn(&config, &data.path().join("zookeeper.log"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !serving(port) {
            assert!(
                Instant::now() < deadline,
                "ZooKeeper did not start on port {port}; its log:\n{}",
                std::fs::read_to_string(data.path().join("zookeeper.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ZooKeeper { port, _data: data, _processes: [child, watchdog] }
    }

    /// The connect string of the server itself.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A new, empty chroot for one test: returns the connect string with it.
    pub fn chroot(&self, name: &str) -> String {
        let n = CHROOTS.fetch_add(1, Ordering::SeqCst);
        let chroot = format!("/{name}-{n}");
        let address = self.address();
        let path = chroot.clone();
        block_on(async move {
            let zk = raw(&address, Duration::from_secs(10)).await;
            let options = zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
            zk.create(&path, b"", &options).await.unwrap();
        });
        format!("{}{chroot}", self.address())
    }
}

/// Starts one ZooKeeper server process with `config`, logging to `log`, plus a watchdog that
/// stops it when this test process ends, however it ends.
pub fn spawn(config: &Path, log: &Path) -> [std::process::Child; 2] {
    spawn_with_jars(config, log, &[])
}

/// [`spawn`] with more jars on the class path (Debian's `zookeeper.jar` names netty's handler
/// but not its codec, which a TLS server needs).
pub fn spawn_with_jars(config: &Path, log: &Path, jars: &[&str]) -> [std::process::Child; 2] {
    let log = std::fs::File::create(log).unwrap();
    let classpath = std::iter::once(JAR).chain(jars.iter().copied()).collect::<Vec<_>>().join(":");
    let child = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", &classpath])
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start java for ZooKeeper ({err}); is Java installed? {INSTALL}"));
    let watchdog = format!(
        "while kill -0 {} 2>/dev/null; do sleep 0.3; done; kill {} 2>/dev/null; sleep 2; kill -9 {} 2>/dev/null",
        std::process::id(),
        child.id(),
        child.id()
    );
    let watchdog = Command::new("sh").args(["-c", &watchdog]).stdin(Stdio::null()).spawn().unwrap();
    [child, watchdog]
}

/// Whether the server accepts sessions: `srvr` answers with its mode only once it serves requests
/// (`ruok` answers earlier, while sessions are still refused).
pub fn serving(port: u16) -> bool {
    mode(port).is_some()
}

/// The server's mode (`standalone`, `leader`, `follower`) once it serves requests.
pub fn mode(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = String::new();
    stream.write_all(b"srvr").ok()?;
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().find_map(|line| line.strip_prefix("Mode: ")).map(|mode| mode.trim().to_string())
}

/// Runs `future` on the tests' shared runtime: clients made in one call keep working in the next
/// (their session task lives on this runtime).
/// A plain ZooKeeper client of the test's own, to set up or tamper (jones-sync's own seam,
/// `jones_sync::zk`, does not lend its client): retries while no server answers, up to `timeout`.
pub async fn raw(connect: &str, timeout: Duration) -> zookeeper_client::Client {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let connector = zookeeper_client::Client::connector().with_session_timeout(Duration::from_secs(10));
        match tokio::time::timeout_at(deadline, connector.connect(connect)).await {
            Ok(Ok(client)) => return client,
            Ok(Err(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Err(err)) => panic!("cannot connect to ZooKeeper at {connect}: {err}"),
            Err(_) => panic!("cannot connect to ZooKeeper at {connect} within {timeout:?}"),
        }
    }
}

pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    runtime().block_on(future)
}

/// The tests' shared runtime (its workers also run the fault proxies).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
}
