//! A small fluent helper: a temporary config repository, a chroot of its own on the shared
//! ZooKeeper, and the real `jones-sync` binary run against both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::zookeeper::{self, block_on};

pub struct Test {
    pub repo: tempfile::TempDir,
    /// Connect string including the chroot.
    pub zk: String,
}

#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Output {
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "exit code; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout(self, expected: &str) -> Self {
        assert_eq!(self.stdout, expected, "stdout; stderr:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr(self, expected: &str) -> Self {
        assert_eq!(self.stderr, expected, "stderr; stdout:\n{}", self.stdout);
        self
    }
}

impl Test {
    /// A test with an empty repository (only `services/`) and an empty chroot.
    pub fn new(name: &str) -> Test {
        let zk = zookeeper::server().chroot(name);
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join("services")).unwrap();
        Test { repo, zk }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.repo.path().join(rel)
    }

    /// Writes a file of the repository, creating its directories.
    pub fn write(&self, rel: &str, content: &str) -> &Self {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn mkdir(&self, rel: &str) -> &Self {
        std::fs::create_dir_all(self.path(rel)).unwrap();
        self
    }

    /// Removes a file or a whole directory of the repository.
    pub fn remove(&self, rel: &str) -> &Self {
        let path = self.path(rel);
        if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) }.unwrap();
        self
    }

    /// Runs `jones-sync ARGS` with `--repo` and `--zk` set by environment (so tests can also pass them).
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.repo.path(), &self.zk, args)
    }

    /// [`Test::run`] with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        run_in_env(self.repo.path(), &self.zk, args, env)
    }

    /// Every node of the chroot with its data as text, by path relative to the chroot.
    pub fn tree(&self) -> BTreeMap<String, String> {
        tree_at(&self.zk)
    }

    /// The text of the repository's file `rel`.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Every file of the repository's `services/`, by path: what a command wrote there.
    pub fn config_tree_files(&self) -> BTreeMap<String, String> {
        let root = self.path("services");
        walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                let rel = entry.path().strip_prefix(&root).unwrap().display().to_string();
                (rel, std::fs::read_to_string(entry.path()).unwrap())
            })
            .collect()
    }

    /// The tree without the `jones-sync` records (whose timestamps change with every apply).
    pub fn config_tree(&self) -> BTreeMap<String, String> {
        self.tree().into_iter().filter(|(path, _)| !path.contains("/jones-sync")).collect()
    }

    /// Writes `data` to `path` (in the chroot) as another writer would, creating it if needed.
    /// Deletes `path` and everything below it in the test's chroot.
    pub fn zk_delete_all(&self, path: &str) {
        let (connect, path) = (self.zk.clone(), path.to_string());
        block_on(async move {
            let zk = zookeeper::raw(&connect, Duration::from_secs(10)).await;
            let mut paths = vec![path];
            let mut index = 0;
            while index < paths.len() {
                let children = zk.list_children(&paths[index]).await.unwrap_or_default();
                let parent = paths[index].clone();
                paths.extend(children.into_iter().map(|child| format!("{}/{child}", parent.trim_end_matches('/'))));
                index += 1;
            }
            for path in paths.iter().rev() {
                let _ = zk.delete(path, None).await;
            }
        })
    }

    pub fn zk_write(&self, path: &str, data: &str) {
        let (connect, path, data) = (self.zk.clone(), path.to_string(), data.as_bytes().to_vec());
        block_on(async move {
            let zk = zookeeper::raw(&connect, Duration::from_secs(10)).await;
            let options = zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
            if zk.check_stat(&path).await.unwrap().is_none() {
                zk.mkdir(&path, &options).await.unwrap();
            }
            zk.set_data(&path, &data, None).await.unwrap();
        })
    }
}

/// Every node below the connect string `connect` (its chroot) with its data as text, by path.
pub fn tree_at(connect: &str) -> BTreeMap<String, String> {
    let connect = connect.to_string();
    block_on(async move {
        let zk = jones_sync::zk::Zk::connect(&connect, Duration::from_secs(10)).await.unwrap();
        let tree = zk.dump("/").await.unwrap();
        tree.into_iter()
            .filter(|(path, _)| path != "/")
            .map(|(path, data)| (path, String::from_utf8(data).unwrap()))
            .collect()
    })
}

/// Runs the binary in `dir` against `zk`.
pub fn run_in(dir: &Path, zk: &str, args: &[&str]) -> Output {
    run_in_env(dir, zk, args, &[])
}

/// Runs the binary in `dir` against `zk` with extra environment variables.
pub fn run_in_env(dir: &Path, zk: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = assert_cmd::Command::from_std(binary(dir, zk, args));
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.timeout(Duration::from_secs(120)).output().unwrap();
    Output {
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// The binary with `args`, reading the repository `dir` and ZooKeeper `zk`, in the environment
/// every test runs it in: a fixed user, no actor, credentials or TLS settings of the caller's, no
/// colour.
fn binary(dir: &Path, zk: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("jones-sync"));
    for var in ["JONES_SYNC_ZK_AUTH", "JONES_SYNC_ZK_AUTH_FILE", "JONES_SYNC_ZK_TLS_CA", "JONES_SYNC_ACTOR"]
        .into_iter()
        .chain(CI_ACTORS)
    {
        command.env_remove(var);
    }
    command.args(args).env("JONES_SYNC_REPO", dir).env("JONES_SYNC_ZK", zk).env("USER", "tester").env("NO_COLOR", "1");
    command.env("JONES_SYNC_CACHE", test_cache());
    command
}

/// The variables a CI system names its actor in, which the actor falls back to: a test's actor is
/// `tester` (`$USER`), wherever the tests run.
pub const CI_ACTORS: [&str; 5] =
    ["GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR", "BUILD_USER_ID", "CHANGE_AUTHOR"];

/// The parse cache every test's commands share (`JONES_SYNC_CACHE`), kept in cargo's target
/// directory across runs (`cargo clean` removes it): never the user's own
/// (`~/.cache/jones-sync`). Sharing is safe by design (entries are keyed by content and version,
/// [`jones_sync::cache`]), and every test exercises the cache this way.
pub fn test_cache() -> &'static Path {
    Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/jones-sync-test-cache"))
}

/// The binary started in the background, as `run_in` runs it.
pub struct Background {
    child: std::process::Child,
    output: Vec<std::thread::JoinHandle<String>>,
}

/// Starts the binary in `dir` against `zk` in the background.
pub fn spawn_in(dir: &Path, zk: &str, args: &[&str]) -> Background {
    use std::io::Read;
    let mut child = binary(dir, zk, args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let readers: Vec<Box<dyn Read + Send>> =
        vec![Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
    let output = readers
        .into_iter()
        .map(|mut reader| {
            std::thread::spawn(move || {
                let mut text = String::new();
                reader.read_to_string(&mut text).unwrap();
                text
            })
        })
        .collect();
    Background { child, output }
}

impl Background {
    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The process id (to send it a signal).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL: no chance to clean up).
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
    }

    /// Waits for the process to end (killing it after a generous deadline, and failing).
    pub fn finish(mut self) -> Output {
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("jones-sync did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut output = self.output.into_iter().map(|reader| reader.join().unwrap());
        let (stdout, stderr) = (output.next().unwrap(), output.next().unwrap());
        Output { stdout, stderr, code: status.code().unwrap_or(-1) }
    }
}

/// Creates a lock node on `service` for another holder, on a session of its own (kept alive
/// until the returned client is dropped); returns the client and the lock's id.
pub fn hold_lock(connect: &str, service: &str) -> (zookeeper_client::Client, String) {
    let connect = connect.to_string();
    let prefix = format!("/services/{service}/jones-sync/locks/lock-");
    block_on(async move {
        let zk = zookeeper::raw(&connect, Duration::from_secs(10)).await;
        let holder =
            r#"{"actor":"other-ci","host":"runner-9","pid":4242,"started_at":"2026-11-25T01:00:00Z","commit":null}"#;
        let options = zookeeper_client::CreateMode::EphemeralSequential.with_acls(zookeeper_client::Acls::anyone_all());
        let (_, sequence) = zk.create(&prefix, holder.as_bytes(), &options).await.unwrap();
        (zk, format!("lock-{sequence}"))
    })
}

impl Test {
    /// Runs `git ARGS` in the repository.
    pub fn git(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(self.repo.path())
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// The SHA `rev` names in the repository.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev])
    }

    /// Makes the repository a git work tree with everything committed; returns the commit's SHA.
    pub fn commit_all(&self, message: &str) -> String {
        if !self.path(".git").exists() {
            self.git(&["init", "-q", "-b", "main"]);
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs `jones-sync ARGS` on a pseudo-terminal (util-linux `script`), as a person would;
    /// `on_prompt` runs when the confirmation prompt appears and returns the answer to type.
    pub fn run_on_terminal(&self, args: &[&str], on_prompt: impl FnOnce() -> String) -> Output {
        use std::io::{Read, Write};
        let bin = assert_cmd::cargo::cargo_bin("jones-sync");
        let mut command = format!("{}", bin.display());
        for arg in args {
            command.push_str(&format!(" '{arg}'"));
        }
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("JONES_SYNC_REPO", self.repo.path())
            .env("JONES_SYNC_ZK", &self.zk)
            .env("USER", "tester")
            .env("NO_COLOR", "1")
            .envs(CI_ACTORS.iter().map(|name| (name, "")))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs the binary on a terminal");
        let mut stdout = child.stdout.take().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0; 4096];
        while !String::from_utf8_lossy(&seen).contains("Enter a value: ") {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "no prompt; output:\n{}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        let answer = on_prompt();
        child.stdin.as_mut().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdout.read_to_end(&mut seen).unwrap();
        let status = child.wait().unwrap();
        // A terminal writes CR LF, and stderr shares it.
        let text = String::from_utf8(seen).unwrap().replace("\r\n", "\n");
        Output { stdout: text, stderr: String::new(), code: status.code().unwrap_or(-1) }
    }
}

/// `text` with every RFC 3339 UTC timestamp (`2025-01-02T10:00:00Z`) replaced by `<time>`.
pub fn times(text: &str) -> String {
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let fits = bytes.len() - i >= shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(s, b)| if *s == b'd' { b.is_ascii_digit() } else { s == b });
        if fits {
            out.push_str("<time>");
            i += shape.len();
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// A SHA as jones-sync shows it.
pub fn short(sha: &str) -> &str {
    &sha[..12]
}

impl Test {
    /// Runs `jones-sync ARGS` with stdout on a pseudo-terminal (util-linux `script`) and no input;
    /// `NO_COLOR` is set only when `no_color`.
    pub fn run_tty(&self, args: &[&str], no_color: bool) -> Output {
        let bin = assert_cmd::cargo::cargo_bin("jones-sync");
        let mut command = format!("{}", bin.display());
        for arg in args {
            command.push_str(&format!(" '{arg}'"));
        }
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .env("JONES_SYNC_REPO", self.repo.path())
            .env("JONES_SYNC_ZK", &self.zk)
            .env("USER", "tester")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        if no_color {
            script.env("NO_COLOR", "1");
        }
        let output = script.output().expect("util-linux `script` runs the binary on a terminal");
        // A terminal writes CR LF, and stderr shares it.
        let text = String::from_utf8(output.stdout).unwrap().replace("\r\n", "\n");
        Output { stdout: text, stderr: String::new(), code: output.status.code().unwrap_or(-1) }
    }
}
