//! A three-server ZooKeeper ensemble on loopback, for tests that kill servers (one per test: it
//! is stopped when dropped).

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::zookeeper::{block_on, free_port, mode, spawn};

pub struct Ensemble {
    _dir: tempfile::TempDir,
    members: Vec<Member>,
}

struct Member {
    client_port: u16,
    config: PathBuf,
    log: PathBuf,
    processes: Option<[Child; 2]>,
}

impl Ensemble {
    pub fn start(size: usize) -> Ensemble {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16, u16)> = (0..size).map(|_| (free_port(), free_port(), free_port())).collect();
        let servers: String = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer, election))| format!("server.{}=127.0.0.1:{peer}:{election}\n", i + 1))
            .collect();
        let mut members = Vec::new();
        for (i, (client_port, _, _)) in ports.iter().enumerate() {
            let data = dir.path().join(format!("server{}", i + 1));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{}\n", i + 1)).unwrap();
            let config = data.join("zoo.cfg");
            std::fs::write(
                &config,
                format!(
                    "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\nclientPort={client_port}\n\
                     clientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n\
                     maxClientCnxns=0\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n{servers}",
                    data.display()
                ),
            )
            .unwrap();
            let log = data.join("zookeeper.log");
            members.push(Member { client_port: *client_port, config, log, processes: None });
        }
        let mut ensemble = Ensemble { _dir: dir, members };
        for i in 0..size {
            ensemble.start_member(i);
        }
        ensemble.wait_for_quorum();
        ensemble
    }

    fn start_member(&mut self, i: usize) {
        let member = &mut self.members[i];
        member.processes = Some(spawn(&member.config, &member.log));
    }

    /// Waits until a leader serves and every running member serves too.
    pub fn wait_for_quorum(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let modes: Vec<Option<String>> = self
                .members
                .iter()
                .map(|m| if m.processes.is_some() { mode(m.client_port) } else { Some("stopped".into()) })
                .collect();
            if modes.iter().all(Option::is_some) && modes.iter().any(|m| m.as_deref() == Some("leader")) {
                return;
            }
            assert!(Instant::now() < deadline, "no quorum: {modes:?}; logs in {:?}", self.members[0].log);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `host:port,host:port,...` plus `suffix` (a chroot).
    pub fn connect_string(&self, suffix: &str) -> String {
        let hosts: Vec<String> = self.members.iter().map(|m| format!("127.0.0.1:{}", m.client_port)).collect();
        format!("{}{suffix}", hosts.join(","))
    }

    /// The index of the current leader.
    pub fn leader(&self) -> usize {
        self.members.iter().position(|m| mode(m.client_port).as_deref() == Some("leader")).expect("a leader")
    }

    /// Kills a member at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        if let Some([mut server, mut watchdog]) = self.members[i].processes.take() {
            let _ = server.kill();
            let _ = server.wait();
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }

    pub fn restart(&mut self, i: usize) {
        self.start_member(i);
    }

    /// Creates `path` (a chroot for a test) through the ensemble.
    pub fn create(&self, path: &str) {
        let (connect, path) = (self.connect_string(""), path.to_string());
        block_on(async move {
            let zk = crate::zookeeper::raw(&connect, Duration::from_secs(30)).await;
            let options = zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
            zk.create(&path, b"", &options).await.unwrap();
        });
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}
