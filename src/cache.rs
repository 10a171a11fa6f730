//! The parse cache: what reading a service produced (its model without values, and its desired
//! confs), kept on disk so that a command parses only the services whose directory changed since
//! the commit the cache saw.
//!
//! An entry is keyed by ([`key`]): the format of this file and jones-sync's version, the service's
//! name, the git tree id of its directory (the hash of every file and directory below it), and
//! the settings that shape what parsing makes of it ([`shaping`]: the nodemap format and the node
//! and request size limits). A tree id names content, not a place, so entries are shared safely
//! by every clone and work tree (and any other repository holding the very same directory): two
//! directories share an entry only when they hold the same bytes, which parse the same. No entry
//! can be found for content that is not in a commit: the work tree's changed services are read
//! from their files ([`crate::desired`] decides which).
//!
//! Only what a successful load produced is written, so an entry never stands for a service with
//! problems: those are always read (and reported) from the files. A service with a symlink below
//! it is never cached either (its tree id does not cover what the link points to).
//!
//! Never trusted blindly: each file starts with a magic, the key it was written for and a SHA-256
//! of its content; a file that is cut short, changed, written for another key (copied from
//! elsewhere) or by another version is ignored with a warning on stderr, and the service is read
//! from its files (and the entry written again). Files are written to a temporary name and renamed,
//! so a reader never sees half a file, and concurrent writers of one entry write the same bytes.
//! A cache that cannot be written (read-only, full) is a warning, never a failure. The directory
//! can be deleted at any time; nothing prunes it (each commit adds only the services it changed).
//!
//! A long-running process (`jones-sync serve`) also holds entries in memory ([`Cache::in_memory`],
//! with or without a directory): the entries the last load used, so that the next commit takes
//! every unchanged service as it is, with no file read, decoded or checked. The memory holds one
//! commit's services at a time ([`Cache::keep_last_load`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::model::{EnvPath, Environment, Service};
use crate::repo::settings::Settings;
use crate::view::{ConfParts, DesiredConfs};

/// The start of every entry file; bumped with the encoding.
const MAGIC: &[u8; 16] = b"jones-sync-cache";
/// The entries' format. 2: services are checked against their `schema.json` when parsed, so
/// entries parsed before are not reused.
const FORMAT: u32 = 2;
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The environment variable naming the cache directory.
pub const ENV: &str = "JONES_SYNC_CACHE";

/// A service as parsing and [`crate::view::checked`] made it: the model without values, and its
/// desired confs.
pub type Parsed = (Arc<Service>, DesiredConfs);

/// A cache directory, an in-memory cache, or both.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
    memory: Option<Arc<Mutex<Memory>>>,
    /// A failure to write was reported already (it is said once per command).
    write_warned: Arc<std::sync::atomic::AtomicBool>,
}

/// The entries held in memory, each with the load that last used it.
#[derive(Debug, Default)]
struct Memory {
    entries: HashMap<[u8; 32], (u64, Parsed)>,
    load: u64,
}

/// The default cache directory: `$XDG_CACHE_HOME/jones-sync`, else `~/.cache/jones-sync`; `None`
/// without either variable (then nothing is cached).
pub fn default_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    let base =
        non_empty("XDG_CACHE_HOME").filter(|p| p.is_absolute()).or_else(|| Some(non_empty("HOME")?.join(".cache")));
    base.map(|base| base.join("jones-sync"))
}

/// What of the settings shapes a parsed service (nodemap format, limits), as text for [`key`]. The
/// ACL only rides along ([`DesiredConfs::acl`]): it is set from the settings in force on reading.
pub fn shaping(settings: &Settings) -> String {
    format!(
        "nodemap_format={:?};max_node_bytes={};max_request_bytes={};schema_require={}",
        settings.sync.nodemap_format,
        settings.zookeeper.max_node_bytes,
        settings.zookeeper.max_request_bytes,
        settings.schema.require
    )
}

/// Where the entry of `key` is kept in the cache directory `dir` (for tests and tools).
pub fn entry_path(dir: &Path, key: &[u8; 32]) -> PathBuf {
    Cache::path(dir, key)
}

/// The key of the entry of `service` whose directory is the git tree `tree` (hex), parsed under
/// the settings `shaping` describes.
pub fn key(service: &str, tree: &str, shaping: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in
        [&MAGIC[..], &FORMAT.to_le_bytes(), VERSION.as_bytes(), service.as_bytes(), tree.as_bytes(), shaping.as_bytes()]
    {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Cache {
    /// The cache in the directory `dir`.
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir: Some(dir), memory: None, write_warned: Default::default() }
    }

    /// A cache held in memory only.
    pub fn memory() -> Cache {
        Cache { dir: None, memory: Some(Default::default()), write_warned: Default::default() }
    }

    /// This cache, also holding the entries of the last load in memory.
    pub fn in_memory(mut self) -> Cache {
        self.memory.get_or_insert_with(Default::default);
        self
    }

    /// The directory, if the cache has one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn held_entries(&self) -> Option<std::sync::MutexGuard<'_, Memory>> {
        // A panic while holding the lock leaves whole entries: the map is still good.
        self.memory.as_ref().map(|memory| memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Forgets the entries held in memory that no load used since the last call: what is held
    /// is what the load just done used (read or written).
    pub fn keep_last_load(&self) {
        if let Some(mut memory) = self.held_entries() {
            let load = memory.load;
            memory.entries.retain(|_, (used, _)| *used == load);
            memory.load += 1;
        }
    }

    /// How many entries are held in memory.
    pub fn held(&self) -> usize {
        self.held_entries().map_or(0, |memory| memory.entries.len())
    }

    fn remember(&self, key: [u8; 32], parsed: &Parsed) {
        if let Some(mut memory) = self.held_entries() {
            let load = memory.load;
            memory.entries.insert(key, (load, parsed.clone()));
        }
    }

    fn path(dir: &Path, key: &[u8; 32]) -> PathBuf {
        let name = hex(key);
        dir.join(format!("v{FORMAT}")).join(&name[..2]).join(&name[2..])
    }

    /// The entry of `service` at tree `tree` under `settings`; `None` when there is none, or
    /// (with a warning on stderr) when the file there is not a valid entry for that key.
    pub fn get(&self, service: &str, tree: &str, settings: &Settings) -> Option<Parsed> {
        let key = key(service, tree, &shaping(settings));
        if let Some(mut memory) = self.held_entries() {
            let load = memory.load;
            if let Some((used, (model, confs))) = memory.entries.get_mut(&key) {
                *used = load;
                let mut confs = confs.clone();
                confs.acl.clone_from(&settings.zookeeper.acl);
                return Some((model.clone(), confs));
            }
        }
        let parsed = self.read(service, &key, settings)?;
        self.remember(key, &parsed);
        Some(parsed)
    }

    /// The entry file of `key`, checked.
    fn read(&self, service: &str, key: &[u8; 32], settings: &Settings) -> Option<Parsed> {
        let path = Self::path(self.dir.as_ref()?, key);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if matches!(err.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
                return None;
            }
            Err(err) => {
                eprintln!(
                    "warning: cannot read the cache entry `{}` ({err}): reading `services/{service}/`",
                    path.display()
                );
                return None;
            }
        };
        match decode(Bytes::from(bytes), key, service) {
            Ok((model, mut confs)) => {
                confs.acl.clone_from(&settings.zookeeper.acl);
                Some((model, confs))
            }
            Err(why) => {
                eprintln!(
                    "warning: ignoring the cache entry `{}` ({why}): reading `services/{service}/` instead",
                    path.display()
                );
                None
            }
        }
    }

    /// Writes the entry of `parsed` at tree `tree` under `settings`. A failure is a warning (once).
    pub fn put(&self, tree: &str, settings: &Settings, parsed: &Parsed) {
        let key = key(&parsed.0.name, tree, &shaping(settings));
        self.remember(key, parsed);
        let Some(dir) = &self.dir else { return };
        if let Err(err) = write_atomically(&Self::path(dir, &key), &encode(&key, parsed))
            && !self.write_warned.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            eprintln!("warning: cannot write to the cache `{}` ({err}): parsing is not cached", dir.display());
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("entries are in a directory");
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().expect("entries have a name").to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.{}", std::process::id(), uuid::Uuid::new_v4().simple()));
    std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path)).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// An entry file: [`MAGIC`], the key, the SHA-256 of the content, the content.
pub fn encode(key: &[u8; 32], (service, confs): &Parsed) -> Vec<u8> {
    let mut content = Vec::new();
    let (parts, nodemap) = confs.parts();
    put_u32(&mut content, service.envs.len());
    for ((path, env), conf) in service.envs.iter().zip(&parts) {
        debug_assert_eq!(path, &conf.env);
        put_u32(&mut content, path.0.len());
        for part in &path.0 {
            put_bytes(&mut content, part.as_bytes());
        }
        put_bytes(&mut content, env.dir.as_bytes());
        put_u32(&mut content, env.hosts.len());
        for host in &env.hosts {
            put_bytes(&mut content, host.as_bytes());
        }
        put_bytes(&mut content, &conf.bytes);
        put_u32(&mut content, conf.entries.len());
        for &(key_end, end) in &conf.entries {
            content.extend_from_slice(&key_end.to_le_bytes());
            content.extend_from_slice(&end.to_le_bytes());
        }
    }
    put_bytes(&mut content, &nodemap);
    let mut out = Vec::with_capacity(MAGIC.len() + 64 + content.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key);
    out.extend_from_slice(&Sha256::digest(&content));
    out.extend_from_slice(&content);
    out
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).expect("cached parts are smaller than 4 GiB").to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads an entry file written for `key` (of `service`), or says why it is not one.
pub fn decode(file: Bytes, key: &[u8; 32], service: &str) -> Result<Parsed, String> {
    let header = MAGIC.len() + 64;
    if file.len() < header || &file[..MAGIC.len()] != MAGIC {
        return Err("not a jones-sync cache entry".into());
    }
    if &file[MAGIC.len()..MAGIC.len() + 32] != key {
        return Err("written for another service, tree or version".into());
    }
    let content = file.slice(header..);
    if Sha256::digest(&content)[..] != file[MAGIC.len() + 32..header] {
        return Err("its checksum does not match: the file is damaged".into());
    }
    let damaged = |what: &str| format!("damaged: {what}");
    let mut reader = Reader { bytes: content, at: 0 };
    let mut envs = BTreeMap::new();
    let mut parts = Vec::new();
    let mut hosts = BTreeMap::new();
    for _ in 0..reader.u32()? {
        let path = EnvPath((0..reader.u32()?).map(|_| reader.string()).collect::<Result<_, _>>()?);
        let dir = reader.string()?;
        let env_hosts: Vec<String> = (0..reader.u32()?).map(|_| reader.string()).collect::<Result<_, _>>()?;
        let bytes = reader.bytes()?;
        let entries = (0..reader.u32()?).map(|_| Ok((reader.u32()?, reader.u32()?))).collect::<Result<_, String>>()?;
        // The model's invariants: the root first, every parent before its children, each
        // environment's directory where its path says.
        let expected = std::iter::once(format!("services/{service}")).chain(path.0.iter().cloned()).collect::<Vec<_>>();
        let parent_known = path.parent().is_none_or(|parent| envs.contains_key(&parent));
        if dir != expected.join("/") || !parent_known || (envs.is_empty() != path.is_root()) {
            return Err(damaged("its environments are not a service's"));
        }
        for host in &env_hosts {
            if hosts.insert(host.clone(), path.clone()).is_some() {
                return Err(damaged("a host is associated twice"));
            }
        }
        if envs.insert(path.clone(), Environment { dir, values: Default::default(), hosts: env_hosts }).is_some() {
            return Err(damaged("an environment is there twice"));
        }
        parts.push(ConfParts { env: path, bytes, entries });
    }
    let nodemap = reader.bytes()?;
    if reader.at != reader.bytes.len() || envs.is_empty() {
        return Err(damaged("it does not end where its content does"));
    }
    let confs =
        DesiredConfs::from_parts(service.to_string(), parts, nodemap, hosts, None).map_err(|why| damaged(&why))?;
    Ok((Arc::new(Service { name: service.to_string(), envs }), confs))
}

struct Reader {
    bytes: Bytes,
    at: usize,
}

impl Reader {
    fn take(&mut self, n: usize) -> Result<Bytes, String> {
        if self.bytes.len() - self.at < n {
            return Err("damaged: cut short".into());
        }
        self.at += n;
        Ok(self.bytes.slice(self.at - n..self.at))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes[..].try_into().expect("four bytes")))
    }

    fn bytes(&mut self) -> Result<Bytes, String> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "damaged: a name is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed() -> Parsed {
        let env = |dir: &str, values: serde_json::Value, hosts: &[&str]| Environment {
            dir: dir.into(),
            values: values.as_object().unwrap().clone(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        };
        let mut envs = BTreeMap::new();
        envs.insert(EnvPath::root(), env("services/shop", json!({"a": 1, "b\"q": {"x": [1, 2]}}), &[]));
        envs.insert(EnvPath(vec!["prod".into()]), env("services/shop/prod", json!({"a": 2}), &["web1", "web2"]));
        envs.insert(EnvPath(vec!["prod".into(), "eu".into()]), env("services/shop/prod/eu", json!({}), &["web3"]));
        let service = Service { name: "shop".into(), envs };
        let mut problems = Vec::new();
        let confs = crate::view::checked(&service, &Settings::default(), &mut problems);
        assert!(problems.is_empty());
        (service.into(), confs)
    }

    fn key_of(parsed: &Parsed) -> [u8; 32] {
        key(&parsed.0.name, "0123abcd", &shaping(&Settings::default()))
    }

    #[test]
    fn an_entry_reads_back_as_the_very_desired_nodes() {
        let parsed = parsed();
        let key = key_of(&parsed);
        let (service, confs) = decode(encode(&key, &parsed).into(), &key, "shop").unwrap();
        assert_eq!(confs.materialize().nodes, parsed.1.materialize().nodes);
        assert_eq!(confs.hosts, parsed.1.hosts);
        let strip =
            |s: &Service| s.envs.iter().map(|(p, e)| (p.clone(), e.dir.clone(), e.hosts.clone())).collect::<Vec<_>>();
        assert_eq!(strip(&service), strip(&parsed.0));
    }

    #[test]
    fn the_key_changes_with_every_part() {
        let settings = Settings::default();
        let base = key("shop", "aa", &shaping(&settings));
        let mut legacy = settings.clone();
        legacy.sync.nodemap_format = crate::nodemap::Format::Legacy;
        let mut small = settings.clone();
        small.zookeeper.max_node_bytes = 10;
        for other in [
            key("shop2", "aa", &shaping(&settings)),
            key("shop", "ab", &shaping(&settings)),
            key("shop", "aa", &shaping(&legacy)),
            key("shop", "aa", &shaping(&small)),
            // Parts are length-prefixed: moving a byte from one to the next is another key.
            key("sho", "paa", &shaping(&settings)),
        ] {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn an_entry_for_another_key_is_refused() {
        let parsed = parsed();
        let file = encode(&key_of(&parsed), &parsed);
        let other = key("shop", "ffff", &shaping(&Settings::default()));
        assert_eq!(decode(file.into(), &other, "shop").unwrap_err(), "written for another service, tree or version");
    }

    #[test]
    fn every_damaged_byte_and_every_cut_is_refused() {
        let parsed = parsed();
        let key = key_of(&parsed);
        let file = encode(&key, &parsed);
        for at in 0..file.len() {
            let mut damaged = file.clone();
            damaged[at] ^= 0x20;
            assert!(decode(damaged.into(), &key, "shop").is_err(), "byte {at} changed");
            assert!(decode(file[..at].to_vec().into(), &key, "shop").is_err(), "cut at {at}");
        }
    }

    #[test]
    fn malformed_content_with_a_valid_checksum_is_refused_not_trusted() {
        // As a file written by hand (or by a bug) with a checksum of its own would be.
        let parsed = parsed();
        let key = key_of(&parsed);
        let file = encode(&key, &parsed);
        let header = MAGIC.len() + 64;
        let mut rng_state = 7u32;
        for _ in 0..2000 {
            let mut content = file[header..].to_vec();
            rng_state = rng_state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = rng_state as usize % content.len();
            content[at] = (rng_state >> 16) as u8;
            let mut forged = file[..MAGIC.len() + 32].to_vec();
            forged.extend_from_slice(&Sha256::digest(&content));
            forged.extend_from_slice(&content);
            // Either refused, or (a change that keeps the structure) read without a panic.
            if let Ok((_, confs)) = decode(forged.into(), &key, "shop") {
                let _ = confs.materialize();
            }
        }
    }

    #[test]
    fn memory_holds_what_the_last_load_used_and_no_more() {
        let settings = Settings::default();
        let cache = Cache::memory();
        let shop = parsed();
        let mut cart = parsed();
        Arc::make_mut(&mut cart.0).name = "cart".into();
        cache.put("t1", &settings, &shop);
        cache.put("t2", &settings, &cart);
        cache.keep_last_load();
        assert_eq!(cache.held(), 2);
        // The next load uses only `shop`: `cart` is forgotten once it is done.
        let (_, confs) = cache.get("shop", "t1", &settings).expect("held in memory");
        assert_eq!(confs.materialize().nodes, shop.1.materialize().nodes);
        assert!(cache.get("shop", "t9", &settings).is_none(), "another tree is another entry");
        cache.keep_last_load();
        assert_eq!(cache.held(), 1);
        assert!(cache.get("cart", "t2", &settings).is_none());
        assert!(cache.get("shop", "t1", &settings).is_some());
        // Other shaping settings are another key; the ACL in force rides along.
        let mut other = Settings::default();
        other.zookeeper.max_node_bytes /= 2;
        assert!(cache.get("shop", "t1", &other).is_none());
    }

    #[test]
    fn memory_comes_before_the_directory_which_fills_it() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::default();
        let on_disk = Cache::new(dir.path().to_path_buf());
        on_disk.put("t1", &settings, &parsed());
        let cache = Cache::new(dir.path().to_path_buf()).in_memory();
        assert!(cache.get("shop", "t1", &settings).is_some(), "read from the directory");
        std::fs::remove_dir_all(dir.path()).unwrap();
        assert!(cache.get("shop", "t1", &settings).is_some(), "then held in memory");
        assert!(Cache::new(dir.path().to_path_buf()).get("shop", "t1", &settings).is_none());
    }
}
