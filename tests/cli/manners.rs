//! The manners of a first-class CLI: `--version` with the commit and features, shell completions
//! and the manual page, finding the repository from a subdirectory, the CI system's actor, and
//! hints for likely mistakes.

use std::process::Command;

use crate::util::Test;

fn bin() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("jones-sync"));
    command.env_remove("JONES_SYNC_REPO").env("NO_COLOR", "1");
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn version_says_the_commit_and_the_features() {
    let (code, out, _) = run(bin().arg("--version"));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], concat!("jones-sync ", env!("CARGO_PKG_VERSION")));
    let commit = lines[1].strip_prefix("commit: ").unwrap();
    assert!(commit == "unknown" || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{out}");
    let features = if cfg!(feature = "tls") { "features: tls" } else { "features: (none; `tls` is off)" };
    assert_eq!(lines[2], features);
    assert_eq!(run(bin().arg("-V")).1, concat!("jones-sync ", env!("CARGO_PKG_VERSION"), "\n"));
}

#[test]
fn the_bash_completion_loads_and_completes_a_subcommand() {
    let (code, script, _) = run(bin().args(["completions", "bash"]));
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jones-sync.bash");
    std::fs::write(&file, script).unwrap();
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source '{}' && f=$(complete -p jones-sync | sed 's/.*-F \\([^ ]*\\).*/\\1/') && COMP_WORDS=({words}) && \
             COMP_CWORD={cword} && \"$f\" jones-sync \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\" && \
             echo \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let (code, out, err) = run(Command::new("bash").args(["-c", &program]));
        assert_eq!(code, 0, "{err}");
        out
    };
    assert_eq!(complete("jones-sync pl", 1).trim(), "plan");
    let mut s: Vec<String> = complete("jones-sync s", 1).split_whitespace().map(str::to_string).collect();
    s.sort();
    assert_eq!(s, ["schema", "serve", "set", "show", "status"]);
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let (code, out, _) = run(bin().args(["completions", shell]));
        assert!(code == 0 && out.contains("jones-sync"), "{shell}");
    }
    let (code, _, err) = run(bin().args(["completions", "tcsh"]));
    assert_eq!(code, 1);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
}

#[test]
fn the_manual_page_renders_with_man() {
    let (code, page, _) = run(bin().arg("man"));
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jones-sync.1");
    std::fs::write(&file, page).unwrap();
    let mut man = Command::new("man");
    man.arg("-l").arg(&file).env("MANWIDTH", "100").env("MANPAGER", "cat");
    let Ok(out) = man.output() else { panic!("`man` is not installed. Install it with: scripts/install-man.sh") };
    let (code, text, err) = (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in
        ["jones-sync - Keep Jones configuration in git", "JONES-SYNC PLAN", "--detailed-exitcode", "JONES-SYNC SERVE"]
    {
        assert!(text.contains(words), "`{words}` is not in the page:\n{text}");
    }
}

#[test]
fn commands_find_the_repository_from_a_subdirectory() {
    let t = Test::new("manners_discovery");
    t.write("services/shop/config.toml", "a = 1\n").write("services/shop/prod/config.toml", "b = 2\n");
    t.commit_all("first");
    let root = t.repo.path().canonicalize().unwrap();
    let (code, out, err) = run(bin().arg("validate").current_dir(root.join("services/shop/prod")));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("The repository is valid: 1 service"), "{out}");
    assert_eq!(err, format!("note: using the config repository at `{}`\n", root.display()));
    // At the root itself, nothing is said.
    let (code, _, err) = run(bin().arg("validate").current_dir(&root));
    assert_eq!((code, err.as_str()), (0, ""));
    // An environment named `services` is not taken for the root.
    t.write("services/shop/services/config.toml", "c = 3\n");
    let (code, _, err) = run(bin().arg("validate").current_dir(root.join("services/shop")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, format!("note: using the config repository at `{}`\n", root.display()));
}

#[test]
fn the_actor_of_a_ci_run_is_recorded_without_actor() {
    let t = Test::new("manners_actor");
    t.write("services/shop/config.toml", "a = 1\n");
    t.commit_all("first");
    t.run_env(&["apply", "--yes"], &[("GITHUB_ACTOR", "octocat")]).success();
    let history: serde_json::Value =
        serde_json::from_str(&t.run(&["history", "shop", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(history[0]["actor"], "octocat");
}

#[test]
fn a_hosts_key_in_config_toml_is_a_warning_pointing_at_hosts_toml() {
    let t = Test::new("manners_hosts_key");
    t.write("services/shop/config.toml", "a = 1\n").write("services/shop/prod/config.toml", "hosts = [\"web1\"]\n");
    let out = t.run(&["validate"]).success();
    assert!(
        out.stdout.contains(
            "warning: services/shop/prod/config.toml: `hosts` is a config key here, which every host reading this \
             environment gets as a value; to associate hosts with the environment, write `hosts = [...]` in \
             services/shop/prod/hosts.toml instead"
        ) || out.stderr.contains("services/shop/prod/config.toml: `hosts` is a config key here"),
        "{out:?}"
    );
    // A key that merely mentions hosts is no warning.
    t.write("services/shop/prod/config.toml", "allowed_hosts = [\"web1\"]\n");
    let out = t.run(&["validate"]).success();
    assert!(!out.stdout.contains("warning") && !out.stderr.contains("warning"), "{out:?}");
}

#[test]
fn init_starts_a_repository_that_validates_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("config");
    let (code, out, err) = run(bin().arg("init").arg(&repo));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("Created a config repository in `{}`:\n  jones-sync.toml\n", repo.display())),
        "{out}"
    );
    for file in [
        "jones-sync.toml",
        "services/example/config.toml",
        "services/example/production/config.toml",
        "services/example/production/hosts.toml",
        ".github/workflows/jones-sync.yml",
        "README.md",
    ] {
        assert!(repo.join(file).is_file(), "{file}");
    }
    let (code, out, err) = run(bin().arg("validate").current_dir(&repo));
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "The repository is valid: 1 service, 2 environments, 2 hosts.\n");
    let workflow = std::fs::read_to_string(repo.join(".github/workflows/jones-sync.yml")).unwrap();
    assert!(workflow.contains("head.repo.full_name != github.repository") && workflow.contains("actions/cache@v4"));
    // One file of its own is enough to refuse, and nothing is written.
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("services")).unwrap();
    std::fs::write(other.join("README.md"), "mine\n").unwrap();
    let (code, _, err) = run(bin().arg("init").arg(&other));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "error: `{}` already has `README.md`: init writes a new repository and never overwrites, so nothing was \
             written\n",
            other.display()
        )
    );
    assert_eq!(std::fs::read_to_string(other.join("README.md")).unwrap(), "mine\n");
    assert!(!other.join("jones-sync.toml").exists());
}

#[test]
fn a_long_step_shows_progress_on_a_terminal_and_never_on_a_pipe() {
    let t = Test::new("manners_progress");
    t.write("services/shop/config.toml", "a = 1\n");
    t.commit_all("first");
    t.run(&["apply", "--yes"]).success();
    t.write("services/shop/config.toml", "a = 2\n");
    t.commit_all("second");
    let (_holder, _lock) = crate::util::hold_lock(&t.zk, "shop");
    let args = ["apply", "--yes", "--lock-timeout", "2.5"];
    let out = t.run(&args).code(1);
    assert!(!out.stderr.contains("waiting for another apply") && !out.stdout.contains("waiting"), "{out:?}");
    // On a terminal (util-linux `script`), the wait shows after a second, then gives way to the error.
    let command = format!("{} {}", assert_cmd::cargo::cargo_bin("jones-sync").display(), args.join(" "));
    let (code, text, err) = run(Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("JONES_SYNC_REPO", t.repo.path())
        .env("JONES_SYNC_ZK", &t.zk)
        .env("USER", "tester")
        .env("JONES_SYNC_CACHE", crate::util::test_cache()));
    assert_eq!(code, 1, "{err}");
    assert!(text.contains("waiting for another apply's locks ("), "{text}");
    assert!(text.contains("error: "), "{text}");
}

#[test]
fn the_ci_recipe_in_the_docs_is_the_workflow_init_writes() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ci.md")).unwrap();
    let workflow = include_str!("../../src/commands/init/workflow.yml");
    assert!(
        docs.contains(&format!("```yaml\n{workflow}```\n")),
        "docs/ci.md does not show src/commands/init/workflow.yml as it is"
    );
}

#[test]
fn a_command_on_one_cluster_finds_the_targets_from_a_subdirectory() {
    let t = Test::new("manners_discovery_targets");
    t.write("jones-sync.toml", &format!("[targets.a]\nzk = \"{}\"\n[targets.b]\nzk = \"{}\"\n", t.zk, t.zk))
        .write("services/shop/config.toml", "a = 1\n");
    t.commit_all("first");
    let root = t.repo.path().canonicalize().unwrap();
    // `history` does not read the repository, but its targets: found from below, quietly.
    let (code, _, err) =
        run(bin().args(["history", "shop"]).current_dir(root.join("services/shop")).env("JONES_SYNC_ZK", &t.zk));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: `history` works on one ZooKeeper cluster, and jones-sync.toml has 2 targets"),
        "{err}"
    );
}
