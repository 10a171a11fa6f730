//! The benchmark's other contestants, which `scripts/bench.sh` runs side by side with jones-sync
//! so that every figure is a ratio measured on the same machine at the same moment:
//!
//! - **one znode per round trip** (how Jones' own server and a plain kazoo script work): `plan` and
//!   `apply` do jones-sync's work through the library (the same repository read, views, diff and
//!   rendering; for apply also the locks, records and audit entries), but with one request at a
//!   time, each awaited before the next is sent: a `getData` and a `getChildren` per node read, a
//!   `create`, `setData` or `delete` per node written, a lock per service;
//! - **ZooKeeper's own limit**: `read`, `write` and `change` do nothing but the ZooKeeper work for
//!   the same nodes (taken from a dump): pipelined multi-reads of every node, pipelined multi-writes
//!   creating every node, or both reading every node and setting the ones that differ. No repository,
//!   no diff, no locks, no output;
//! - **jones-sync's ZooKeeper layer alone**: `jones-read` is its live read ([`Zk::snapshot`]) of
//!   the dump's services, `jones-write` its apply (locks, diff, transactions) of the dump's nodes.
//!
//! Setup helpers (not measured): `dump` writes the nodes below `/services` to a file, `reset`
//! empties a chroot (creating it when missing).
//!
//! ```text
//! bench-zk plan        --zk CONNECT --repo DIR   baseline no-op plan / plan of a change
//! bench-zk apply       --zk CONNECT --repo DIR   baseline apply (no confirmation)
//! bench-zk read        --zk CONNECT --file DUMP  limit: read every node of DUMP
//! bench-zk write       --zk CONNECT --file DUMP  limit: create every node of DUMP (an empty chroot)
//! bench-zk change      --zk CONNECT --file DUMP  limit: read every node, set those that differ
//! bench-zk jones-read  --zk CONNECT --file DUMP  jones-sync's live read of DUMP's services
//! bench-zk jones-write --zk CONNECT --file DUMP  jones-sync's apply of DUMP's nodes
//! bench-zk dump        --zk CONNECT --file DUMP  write the nodes below /services to DUMP
//! bench-zk reset       --zk CONNECT              delete everything in the chroot of CONNECT
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::try_join_all;
use jones_sync::layout;
use jones_sync::live::{LiveNode, LiveService, Snapshot};
use jones_sync::zk::lock::{Holder, Locks};
use jones_sync::zk::{Op, Zk};
use zookeeper_client as zk;

/// Limits of one pipelined request of the limit: far from `jute.maxbuffer`, large enough that a
/// request costs much more than its round trip.
const REQUEST_BYTES: usize = 512 * 1024;
const REQUEST_OPS: usize = 1000;

struct Args {
    command: String,
    zk: String,
    repo: Option<PathBuf>,
    file: Option<PathBuf>,
    /// `set`: the nodes to write, one every `every` milliseconds (an out-of-band edit each).
    paths: Vec<String>,
    every: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut iter = std::env::args().skip(1);
    let command = iter.next().context("usage: bench-zk COMMAND --zk CONNECT [--repo DIR] [--file DUMP]")?;
    let mut args = Args { command, zk: String::new(), repo: None, file: None, paths: Vec::new(), every: 100 };
    while let Some(flag) = iter.next() {
        let value = iter.next().with_context(|| format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--zk" => args.zk = value,
            "--repo" => args.repo = Some(value.into()),
            "--file" => args.file = Some(value.into()),
            "--path" => args.paths.push(value),
            "--every" => args.every = value.parse()?,
            _ => bail!("unknown argument `{flag}`"),
        }
    }
    if args.zk.is_empty() {
        bail!("`--zk CONNECT` is required");
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // One worker for the ZooKeeper client's session task, as jones-sync has (its `commands`):
    // the session is served while this thread prints a large plan.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let repo = || args.repo.clone().context("`--repo DIR` is required");
        let file = || args.file.clone().context("`--file DUMP` is required");
        match args.command.as_str() {
            "plan" => plan(&args.zk, &repo()?, false).await,
            "apply" => plan(&args.zk, &repo()?, true).await,
            "read" => limit_read(&raw(&args.zk).await?, &load_dump(&file()?)?).await.map(drop),
            "write" => limit_write(&raw(&args.zk).await?, &load_dump(&file()?)?).await,
            "change" => limit_change(&raw(&args.zk).await?, &load_dump(&file()?)?).await,
            "jones-read" => jones_read(&connect(&args.zk).await?, &load_dump(&file()?)?).await,
            "jones-write" => jones_write(connect(&args.zk).await?, &load_dump(&file()?)?).await,
            "dump" => dump(&connect(&args.zk).await?, &file()?).await,
            "reset" => reset(&args.zk).await,
            "set" => edits(&raw(&args.zk).await?, &args.paths, Duration::from_millis(args.every)).await,
            other => bail!("unknown command `{other}`"),
        }
    })
}

async fn connect(connect: &str) -> anyhow::Result<Zk> {
    Ok(Zk::connect(connect, Duration::from_secs(10)).await?)
}

/// A plain client of the benchmark's own, for the contestants that are not jones-sync.
async fn raw(connect: &str) -> anyhow::Result<zk::Client> {
    Ok(zk::Client::connector().with_session_timeout(Duration::from_secs(10)).connect(connect).await?)
}

/// Out-of-band edits, as the Jones web UI makes them: each of `paths` set to new JSON, one every
/// `every` (for the server's drift detection, measured by its own histogram).
async fn edits(zk: &zk::Client, paths: &[String], every: Duration) -> anyhow::Result<()> {
    for (i, path) in paths.iter().enumerate() {
        zk.set_data(path, format!("{{\"edited\": {i}}}").as_bytes(), None).await?;
        tokio::time::sleep(every).await;
    }
    Ok(())
}

// ---- the one-at-a-time baseline ----------------------------------------------------------------

/// jones-sync's plan (and apply: locks, writes, audit entries) with one request per round trip:
/// the same repository read, and each service planned by the pipeline's own pure step
/// ([`jones_sync::sync::plan_service`]), but live state read and written one node at a time.
async fn plan(connect_string: &str, repo: &std::path::Path, apply: bool) -> anyhow::Result<()> {
    let state = jones_sync::desired::load(repo, None)?.map_err(|p| anyhow::anyhow!("{} problems", p.len()))?;
    let repo_settings = &state.repo.settings;
    let settings = jones_sync::apply::Settings::new(repo_settings, Duration::from_secs(10));
    let names: Vec<String> = state.confs.iter().map(|d| d.name.clone()).collect();
    let zk = connect(connect_string).await?;
    let client = raw(connect_string).await?;
    // Locks one service at a time, and the plan is made under them, as apply does.
    let holder = Holder::me("bench", None);
    let mut locks = Vec::new();
    if apply {
        for name in &names {
            locks.push(Locks::acquire(&zk, std::slice::from_ref(name), &holder, settings.lock_timeout).await?);
        }
    }
    let created: Vec<String> = locks.iter().flat_map(Locks::created).collect();
    let snapshot = serial_snapshot(&client, &names).await?.without(&created);
    let mut plan = jones_sync::plan::Plan { create_root: !snapshot.root_exists, ..Default::default() };
    for desired in &state.confs {
        let record = jones_sync::audit::record::Record::new(state.origin(&desired.name), "bench".into()).to_json();
        plan.services.push(jones_sync::sync::plan_service(desired, &snapshot, &record, &settings));
    }
    let redactor = jones_sync::plan::redact::Redactor::new(&repo_settings.plan.sensitive_keys(), false)?;
    print!("{}", jones_sync::plan::render::text::render(&plan, &redactor, false));
    if !apply {
        return Ok(());
    }
    let (keep, limit) = (settings.keep, settings.max_request_bytes);
    let now = jones_sync::clock::now();
    let mut create_root = plan.create_root;
    for (service, locks) in plan.services.iter().zip(&locks) {
        if service.is_empty() {
            continue;
        }
        let transactions = jones_sync::apply::transactions::transactions(service, create_root, keep, limit, &now);
        for op in transactions.into_iter().flatten() {
            for op in locks.adopt(vec![op]) {
                serial_write(&client, &op).await.with_context(|| format!("`{}`", op.path()))?;
            }
        }
        create_root = false;
    }
    for mut locks in locks {
        locks.release(&zk).await;
    }
    println!("Apply complete.");
    Ok(())
}

/// Reads what [`Zk::snapshot`] reads, one request at a time.
async fn serial_snapshot(client: &zk::Client, services: &[String]) -> anyhow::Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    match client.list_children(layout::SERVICES).await {
        Ok(mut children) => {
            children.sort();
            snapshot.root_exists = true;
            snapshot.all_services = children;
        }
        Err(zk::Error::NoNode) => {}
        Err(err) => return Err(err.into()),
    }
    for svc in services {
        let mut service = LiveService::default();
        if snapshot.all_services.contains(svc) {
            for path in [layout::service(svc), layout::nodemaps(svc), layout::record(svc)] {
                if let Some(node) = get(client, &path).await? {
                    service.nodes.insert(path, node);
                }
            }
            match client.list_children(&layout::record(svc)).await {
                Ok(mut children) => {
                    children.sort();
                    service.log = children.into_iter().filter(|c| layout::is_entry(c)).collect();
                }
                Err(zk::Error::NoNode) => {}
                Err(err) => return Err(err.into()),
            }
            for top in ["conf", "views"] {
                let mut stack = vec![format!("{}/{top}", layout::service(svc))];
                while let Some(path) = stack.pop() {
                    let Some(node) = get(client, &path).await? else { continue };
                    service.nodes.insert(path.clone(), node);
                    match client.list_children(&path).await {
                        Ok(children) => stack.extend(children.into_iter().map(|child| format!("{path}/{child}"))),
                        Err(zk::Error::NoNode) => {}
                        Err(err) => return Err(err.into()),
                    }
                }
            }
        }
        snapshot.services.insert(svc.clone(), service);
    }
    Ok(snapshot)
}

async fn get(client: &zk::Client, path: &str) -> anyhow::Result<Option<LiveNode>> {
    match client.get_data(path).await {
        Ok((data, stat)) => {
            Ok(Some(LiveNode { data: data.into(), version: stat.version, mzxid: stat.mzxid, czxid: stat.czxid }))
        }
        Err(zk::Error::NoNode) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

async fn serial_write(client: &zk::Client, op: &Op) -> anyhow::Result<()> {
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let sequential = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    match op {
        Op::Create { path, data } => drop(client.create(path, data, &options).await?),
        Op::CreateSequential { prefix, data } => drop(client.create(prefix, data, &sequential).await?),
        Op::Set { path, data, version } => drop(client.set_data(path, data, Some(*version)).await?),
        Op::Delete { path, version } => client.delete(path, Some(*version)).await?,
        Op::Check { path, version } => {
            let stat = client.check_stat(path).await?;
            if stat.map(|s| s.version) != Some(*version) {
                bail!("changed since it was read");
            }
        }
    }
    Ok(())
}

// ---- ZooKeeper's own limit ---------------------------------------------------------------------

/// Nodes by path (parents sort first), as `dump` wrote them.
type Dump = BTreeMap<String, Vec<u8>>;

/// Splits `nodes` into requests of at most [`REQUEST_BYTES`] and [`REQUEST_OPS`].
fn chunks<'a>(nodes: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) -> Vec<Vec<(&'a String, &'a Vec<u8>)>> {
    let mut chunks = vec![Vec::new()];
    let mut bytes = 0;
    for (path, data) in nodes {
        let size = path.len() + data.len() + 100;
        let last = chunks.last_mut().expect("never empty");
        if !last.is_empty() && (bytes + size > REQUEST_BYTES || last.len() == REQUEST_OPS) {
            chunks.push(Vec::new());
            bytes = 0;
        }
        chunks.last_mut().expect("never empty").push((path, data));
        bytes += size;
    }
    chunks
}

/// Every node of `dump`, read with pipelined multi-reads: data and version by path.
async fn limit_read(zk: &zk::Client, dump: &Dump) -> anyhow::Result<BTreeMap<String, (Vec<u8>, i32)>> {
    let chunks = chunks(dump.iter());
    let mut requests = Vec::new();
    for chunk in &chunks {
        let mut reader = zk.new_multi_reader();
        for (path, _) in chunk {
            reader.add_get_data(path)?;
        }
        requests.push(reader.commit());
    }
    let mut nodes = BTreeMap::new();
    for (chunk, results) in chunks.iter().zip(try_join_all(requests).await?) {
        for ((path, _), result) in chunk.iter().zip(results) {
            if let zk::MultiReadResult::Data { data, stat } = result {
                nodes.insert(path.to_string(), (data, stat.version));
            }
        }
    }
    Ok(nodes)
}

/// Creates every node of `dump` with pipelined multi-writes (parents first: ZooKeeper runs one
/// session's requests in order).
async fn limit_write(zk: &zk::Client, dump: &Dump) -> anyhow::Result<()> {
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let mut requests = Vec::new();
    for chunk in chunks(dump.iter()) {
        let mut writer = zk.new_multi_writer();
        for (path, data) in chunk {
            writer.add_create(path, data, &options)?;
        }
        requests.push(writer.commit());
    }
    for result in futures::future::join_all(requests).await {
        result.map_err(|err| anyhow::anyhow!("{err}"))?;
    }
    Ok(())
}

/// Reads every node of `dump` and sets (version-guarded) those whose data differ, pipelined.
async fn limit_change(zk: &zk::Client, dump: &Dump) -> anyhow::Result<()> {
    let live = limit_read(zk, dump).await?;
    let changed: Vec<(&String, &Vec<u8>)> =
        dump.iter().filter(|(path, data)| live.get(*path).is_none_or(|(live, _)| live != *data)).collect();
    let mut requests = Vec::new();
    for chunk in chunks(changed.into_iter()) {
        let mut writer = zk.new_multi_writer();
        for (path, data) in chunk {
            let version = live.get(path).map(|(_, version)| *version).context("the dump has nodes the tree lacks")?;
            writer.add_set_data(path, data, Some(version))?;
        }
        requests.push(writer.commit());
    }
    for result in futures::future::join_all(requests).await {
        result.map_err(|err| anyhow::anyhow!("{err}"))?;
    }
    Ok(())
}

// ---- jones-sync's ZooKeeper layer alone --------------------------------------------------------

/// Services of a dump: the children of `/services`.
fn dump_services(dump: &Dump) -> Vec<String> {
    let prefix = format!("{}/", layout::SERVICES);
    dump.keys()
        .filter_map(|path| path.strip_prefix(&prefix))
        .filter(|rest| !rest.contains('/'))
        .map(String::from)
        .collect()
}

/// jones-sync's live read ([`Zk::snapshot`]) of the services of `dump`, nothing else.
async fn jones_read(zk: &Zk, dump: &Dump) -> anyhow::Result<()> {
    let snapshot = zk.snapshot(&dump_services(dump)).await?;
    let nodes: usize = snapshot.services.values().map(|s| s.nodes.len()).sum();
    // The dump also has what a snapshot does not read: the audit entries and locks below records.
    if nodes == 0 && dump.len() > 1 {
        bail!("read no node below /services, the dump has {}", dump.len() - 1);
    }
    Ok(())
}

/// jones-sync's write path for the nodes of `dump`, without the repository (the desired tree is
/// the dump's): locks, the live read under them, the diff, [`jones_sync::apply::apply`] (its
/// transactions, records and audit entries), and the locks' release.
async fn jones_write(zk: Zk, dump: &Dump) -> anyhow::Result<()> {
    use jones_sync::layout::NodeKind;
    use jones_sync::view::{DesiredNode, DesiredService};
    let names = dump_services(dump);
    let mut desired = Vec::new();
    for name in &names {
        let mut nodes = BTreeMap::new();
        let base = layout::service(name);
        let record = layout::record(name);
        for (path, data) in dump.range(base.clone()..) {
            if !(path == &base || path.starts_with(&format!("{base}/"))) {
                break;
            }
            let kind = if path == &base {
                NodeKind::Service
            } else if *path == layout::nodemaps(name) {
                NodeKind::Nodemap
            } else if path.starts_with(&record) {
                continue; // the record, its audit entries and locks: the apply writes its own
            } else if path.starts_with(&format!("{base}/conf")) {
                NodeKind::Conf
            } else {
                NodeKind::View
            };
            nodes.insert(path.clone(), DesiredNode { kind, bytes: data.clone().into() });
        }
        desired.push(DesiredService { name: name.clone(), nodes, hosts: Default::default(), acl: None });
    }
    let settings =
        jones_sync::apply::Settings { max_request_bytes: 1_000_000, keep: 100, lock_timeout: Duration::from_secs(10) };
    let holder = Holder::me("bench", None);
    let record = jones_sync::audit::record::Record::new(&Default::default(), "bench".into()).to_json();
    let outcomes = jones_sync::sync::locked(zk, &names, holder, &settings, async |session| {
        let snapshot = session.zk.snapshot(&names).await?.without(&session.locks.nodes());
        let plan = jones_sync::plan::diff(&desired, &snapshot, &record);
        anyhow::Ok(jones_sync::apply::execute(session, &plan, &settings).await)
    })
    .await?;
    for outcome in outcomes {
        outcome.result.with_context(|| outcome.service.clone())?;
    }
    Ok(())
}

// ---- setup helpers -----------------------------------------------------------------------------

/// Writes every node below `/services` (inclusive) but the records' children (audit entries and
/// locks, which an apply makes anew): `u32` path length, path, `u32` data length, data,
/// little-endian, parents first.
async fn dump(zk: &Zk, file: &std::path::Path) -> anyhow::Result<()> {
    let mut tree = zk.dump(layout::SERVICES).await?;
    // Below each record: audit entries (sequential, different after every apply) and locks.
    tree.retain(|path, _| !path.contains("/jones-sync/"));
    let mut out = Vec::new();
    for (path, data) in &tree {
        out.extend((path.len() as u32).to_le_bytes());
        out.extend(path.as_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    std::fs::write(file, out).with_context(|| format!("cannot write `{}`", file.display()))?;
    eprintln!("{} nodes dumped to {}", tree.len(), file.display());
    Ok(())
}

fn load_dump(file: &std::path::Path) -> anyhow::Result<Dump> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let mut rest = bytes.as_slice();
    let take = |rest: &mut &[u8]| -> anyhow::Result<Vec<u8>> {
        let (len, tail) = rest.split_at_checked(4).context("truncated dump")?;
        let len = u32::from_le_bytes(len.try_into().expect("four bytes")) as usize;
        let (item, tail) = tail.split_at_checked(len).context("truncated dump")?;
        *rest = tail;
        Ok(item.to_vec())
    };
    let mut dump = Dump::new();
    while !rest.is_empty() {
        let path = String::from_utf8(take(&mut rest)?)?;
        dump.insert(path, take(&mut rest)?);
    }
    Ok(dump)
}

/// Deletes every node below the chroot of `connect_string` (which is created when missing).
async fn reset(connect_string: &str) -> anyhow::Result<()> {
    let (servers, chroot) = match connect_string.find('/') {
        Some(at) => connect_string.split_at(at),
        None => bail!("`reset` needs a chroot in the connect string"),
    };
    let zk = connect(servers).await?;
    let client = raw(servers).await?;
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match client.create(chroot, &[], &options).await {
        Ok(_) => return Ok(()),
        Err(zk::Error::NodeExists) => {}
        Err(err) => return Err(err.into()),
    }
    let tree = zk.dump(chroot).await?;
    let mut requests = Vec::new();
    let below: Vec<&String> = tree.keys().rev().filter(|path| path.as_str() != chroot).collect();
    for chunk in below.chunks(REQUEST_OPS) {
        let mut writer = client.new_multi_writer();
        for path in chunk {
            writer.add_delete(path, None)?;
        }
        requests.push(writer.commit());
    }
    for result in futures::future::join_all(requests).await {
        result.map_err(|err| anyhow::anyhow!("{err}"))?;
    }
    Ok(())
}
