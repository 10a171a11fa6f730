//! The parse cache (`--cache DIR`): a warm run plans exactly what a cold one does, a damaged or
//! foreign entry is ignored with a warning, and what changed (in a commit or in the work tree) is
//! read from the files.

use std::path::{Path, PathBuf};

use crate::util::{Output, Test};

/// A committed repository of three services, with a cache directory of its own.
fn repo(name: &str) -> (Test, tempfile::TempDir) {
    let t = Test::new(name);
    t.write("services/a/config.toml", "port = 1\nname = \"a\"\n")
        .write("services/a/prod/config.toml", "port = 2\n")
        .write("services/a/prod/hosts.toml", "hosts = [\"web1\"]\n")
        .write("services/b/config.toml", "[db]\nurl = \"x\"\n")
        .write("services/c/config.toml", "on = true\n");
    t.commit_all("init");
    (t, tempfile::tempdir().unwrap())
}

fn plan(t: &Test, cache: &Path) -> Output {
    t.run(&["plan", "--cache", cache.to_str().unwrap()])
}

/// Every entry file of the cache `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walkdir(dir);
    found.sort();
    found
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let Ok(listing) = std::fs::read_dir(dir) else { return Vec::new() };
    listing
        .flatten()
        .flat_map(|entry| if entry.path().is_dir() { walkdir(&entry.path()) } else { vec![entry.path()] })
        .collect()
}

/// The entry of `service` at `HEAD` under the default settings.
fn entry_of(t: &Test, cache: &Path, service: &str) -> PathBuf {
    let tree = t.git(&["rev-parse", &format!("HEAD:services/{service}")]);
    let settings = jones_sync::repo::settings::Settings::default();
    let key = jones_sync::cache::key(service, &tree, &jones_sync::cache::shaping(&settings));
    jones_sync::cache::entry_path(cache, &key)
}

#[test]
fn a_warm_plan_prints_exactly_what_a_cold_one_does() {
    let (t, cache) = repo("cachewarm");
    let uncached = t.run(&["plan", "--no-cache"]).success();
    let cold = plan(&t, cache.path()).success();
    assert_eq!(entries(cache.path()).len(), 3, "one entry per service");
    let warm = plan(&t, cache.path()).success();
    assert_eq!((&cold.stdout, &cold.stderr), (&uncached.stdout, &uncached.stderr));
    assert_eq!((&warm.stdout, &warm.stderr), (&cold.stdout, &cold.stderr));
    assert!(warm.stdout.contains("\"url\":\"x\"") || warm.stdout.contains("url"), "{}", warm.stdout);
    // Every command that reads the repository goes through the cache.
    t.run(&["validate", "--cache", cache.path().to_str().unwrap()]).success().stderr("");
}

#[test]
fn a_matching_entry_is_used_instead_of_the_files() {
    // An entry written for service `b`'s tree holding other content (as only a forger could)
    // proves the warm run reads the entry, not the files: what a cache is for.
    let (t, cache) = repo("cacheused");
    plan(&t, cache.path()).success();
    let tree = t.git(&["rev-parse", "HEAD:services/b"]);
    let other = Test::new("cacheused-other");
    other.write("services/b/config.toml", "forged = 1\n");
    let state = jones_sync::desired::load(other.repo.path(), None).unwrap().unwrap();
    let parsed = (state.repo.services["b"].clone(), state.confs[0].clone());
    jones_sync::cache::Cache::new(cache.path().to_path_buf()).put(&tree, &state.repo.settings, &parsed);
    let warm = plan(&t, cache.path()).success();
    assert!(warm.stdout.contains("forged"), "{}", warm.stdout);
    // Without the cache, the files say what they say.
    let files = t.run(&["plan", "--no-cache"]).success();
    assert!(!files.stdout.contains("forged"), "{}", files.stdout);
}

#[test]
fn a_damaged_cache_entry_is_ignored_with_a_warning_and_the_plan_is_right() {
    let (t, cache) = repo("cachedamaged");
    let cold = plan(&t, cache.path()).success();
    let entry = entry_of(&t, cache.path(), "a");
    let mut bytes = std::fs::read(&entry).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&entry, &bytes).unwrap();
    let warm = plan(&t, cache.path()).success();
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(
        warm.stderr,
        format!(
            "warning: ignoring the cache entry `{}` (its checksum does not match: the file is damaged): reading \
             `services/a/` instead\n",
            entry.display()
        )
    );
    // The entry was written again: the next run is quiet.
    plan(&t, cache.path()).success().stdout(&cold.stdout).stderr("");
    // A file cut short, and one that is not an entry at all.
    for damage in [&bytes[..10], &b"hello"[..]] {
        std::fs::write(&entry, damage).unwrap();
        let run = plan(&t, cache.path()).success().stdout(&cold.stdout);
        assert!(run.stderr.starts_with("warning: ignoring the cache entry"), "{}", run.stderr);
    }
}

#[test]
fn an_entry_of_another_service_is_ignored_with_a_warning() {
    // A foreign entry: a file copied (or synced) to another entry's name.
    let (t, cache) = repo("cacheforeign");
    let cold = plan(&t, cache.path()).success();
    std::fs::copy(entry_of(&t, cache.path(), "c"), entry_of(&t, cache.path(), "b")).unwrap();
    let warm = plan(&t, cache.path()).success();
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(
        warm.stderr,
        format!(
            "warning: ignoring the cache entry `{}` (written for another service, tree or version): reading \
             `services/b/` instead\n",
            entry_of(&t, cache.path(), "b").display()
        )
    );
}

#[test]
fn a_service_changed_in_a_commit_is_read_again() {
    let (t, cache) = repo("cachecommit");
    plan(&t, cache.path()).success();
    t.write("services/a/prod/config.toml", "port = 3\n");
    t.commit_all("change a");
    let warm = plan(&t, cache.path()).success();
    assert_eq!(warm.stdout, t.run(&["plan", "--no-cache"]).success().stdout);
    assert!(warm.stdout.contains("\"port\":3") || warm.stdout.contains("port = 3"), "{}", warm.stdout);
    assert_eq!(entries(cache.path()).len(), 4, "the new tree of `a` is cached too");
}

#[test]
fn a_dirty_work_tree_reads_its_changed_services_from_the_files() {
    let (t, cache) = repo("cachedirty");
    plan(&t, cache.path()).success();
    // A changed file, a new environment git does not track yet, and an empty directory (an
    // environment to jones-sync, unknown to git): each in a cached service.
    t.write("services/a/prod/config.toml", "port = 4\n");
    t.write("services/b/new/config.toml", "fresh = 1\n");
    t.mkdir("services/c/empty");
    let warm = plan(&t, cache.path()).success();
    let files = t.run(&["plan", "--no-cache"]).success();
    assert_eq!((&warm.stdout, &warm.stderr), (&files.stdout, &files.stderr));
    assert!(warm.stdout.contains("fresh") && warm.stdout.contains("empty"), "{}", warm.stdout);
    assert_eq!(entries(cache.path()).len(), 3, "what is not committed is never cached");
}

#[test]
fn a_change_of_the_settings_that_shape_a_service_is_a_new_entry() {
    let (t, cache) = repo("cachesettings");
    plan(&t, cache.path()).success();
    t.write("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n");
    t.commit_all("legacy nodemaps");
    let warm = plan(&t, cache.path()).success();
    assert_eq!(warm.stdout, t.run(&["plan", "--no-cache"]).success().stdout);
    assert_eq!(entries(cache.path()).len(), 6);
}

#[test]
fn the_default_cache_is_under_xdg_cache_home_and_no_cache_writes_nothing() {
    let (t, _) = repo("cachedefault");
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().to_str().unwrap();
    let run = |args: &[&str], cache: Option<&str>| {
        let mut env = vec![("XDG_CACHE_HOME", xdg)];
        env.extend(cache.map(|dir| ("JONES_SYNC_CACHE", dir)));
        let mut command = assert_cmd::Command::cargo_bin("jones-sync").unwrap();
        command.args(args).env("JONES_SYNC_REPO", t.repo.path()).env_remove("JONES_SYNC_CACHE");
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    assert!(run(&["validate", "--no-cache"], None).status.success());
    assert!(entries(home.path()).is_empty());
    assert!(run(&["validate"], None).status.success());
    assert_eq!(entries(&home.path().join("jones-sync")).len(), 3);
    // The environment variable, and an empty one (a CI variable not defined) said to be so.
    let other = tempfile::tempdir().unwrap();
    assert!(run(&["validate"], Some(other.path().to_str().unwrap())).status.success());
    assert_eq!(entries(other.path()).len(), 3);
    let empty = run(&["validate"], Some(""));
    assert_eq!(empty.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&empty.stderr),
        "error: JONES_SYNC_CACHE is set but empty (a CI variable that is not defined?): set it to a directory, or \
         unset it to use the default cache directory\n"
    );
}

#[test]
fn a_cache_that_cannot_be_written_is_a_warning_not_a_failure() {
    let (t, _) = repo("cachereadonly");
    let file = tempfile::NamedTempFile::new().unwrap();
    // A file where the directory should be: nothing can be written below it.
    let run = t.run(&["validate", "--cache", file.path().to_str().unwrap()]).success();
    assert_eq!(
        run.stderr,
        format!(
            "warning: cannot write to the cache `{}` (Not a directory (os error 20)): parsing is not cached\n",
            file.path().display()
        )
    );
}

#[test]
fn a_warm_plan_of_a_revision_prints_exactly_what_a_cold_one_does() {
    let (t, cache) = repo("cacherev");
    t.write("services/a/config.toml", "port = 9\n");
    t.commit_all("second");
    let rev = |cache: Option<&Path>| {
        let caching =
            cache.map_or(vec!["--no-cache".to_string()], |dir| vec!["--cache".into(), dir.display().to_string()]);
        let mut args = vec!["plan", "--rev", "HEAD~1"];
        args.extend(caching.iter().map(String::as_str));
        t.run(&args).success()
    };
    let uncached = rev(None);
    let cold = rev(Some(cache.path()));
    assert_eq!(entries(cache.path()).len(), 3);
    let warm = rev(Some(cache.path()));
    assert_eq!((&cold.stdout, &cold.stderr), (&uncached.stdout, &uncached.stderr));
    assert_eq!((&warm.stdout, &warm.stderr), (&cold.stdout, &cold.stderr));
    // The work tree (HEAD) shares the entries of the services it did not change.
    plan(&t, cache.path()).success().stdout(&t.run(&["plan", "--no-cache"]).success().stdout);
    assert_eq!(entries(cache.path()).len(), 4);
    // A damaged entry of a revision's service is read again from git.
    let entry = entry_of(&t, cache.path(), "b");
    std::fs::write(&entry, b"junk").unwrap();
    let again = rev(Some(cache.path()));
    assert_eq!(again.stdout, cold.stdout);
    assert!(again.stderr.starts_with("warning: ignoring the cache entry"), "{}", again.stderr);
}

#[test]
fn a_service_with_a_symlink_is_never_cached() {
    // Its tree id holds the link, not what it points to: the target may change alone.
    let (t, cache) = repo("cachelink");
    t.write("shared/config.toml", "shared = 1\n");
    std::os::unix::fs::symlink("../../shared", t.path("services/c/linked")).unwrap();
    t.commit_all("link");
    plan(&t, cache.path()).success();
    t.run(&["plan", "--rev", "HEAD", "--cache", cache.path().to_str().unwrap()]).success();
    assert_eq!(entries(cache.path()).len(), 2, "a and b only");
    t.write("shared/config.toml", "shared = 2\n");
    t.commit_all("the target changes, the service's tree does not");
    let warm = plan(&t, cache.path()).success();
    assert!(warm.stdout.contains("\"shared\":2") || warm.stdout.contains("shared = 2"), "{}", warm.stdout);
}
