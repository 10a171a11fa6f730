//! The documentation agrees with the binary and with itself. In `README.md` and `docs/*.md`:
//!
//! - every `jones-sync <command> ...` in a heading, an inline code span or a fenced code block
//!   (and every inline span that starts with a command's name, as `plan --out FILE`) names a
//!   command the binary has, options its `--help` lists, and only values it accepts where it lists
//!   them (`--format text|json`);
//! - every command has a heading, and its headings name every option of its own (all but the
//!   options every command shares), so a new command or option cannot go undocumented;
//! - every relative link (`](path)`, `](path#anchor)`, `](#anchor)`) points at a file that exists
//!   and, for an anchor, at a heading of that file whose GitHub slug it is;
//! - the README links every page of `docs/`, and each page links back to the README at its top.
//!
//! All mismatches are reported at once. Needs no ZooKeeper: only `--help` is run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `README.md` and `docs/*.md`, as (path from the root, text).
fn documents() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".md"))
                .map(|name| format!("docs/{name}"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    names.extend(docs);
    names.into_iter().map(|name| (name.clone(), std::fs::read_to_string(root().join(&name)).unwrap())).collect()
}

/// What one `--help` says: the long options it defines, and the values of those that list them.
struct Help {
    options: BTreeMap<String, Option<BTreeSet<String>>>,
}

/// `jones-sync ARGS --help`, or `None` when it fails (no such command).
fn help_text(args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("jones-sync"))
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    output.status.success().then(|| String::from_utf8(output.stdout).unwrap())
}

/// The long option a help line defines (`  -y, --yes`, `      --format <FORMAT>`), if it is one.
fn defined_option(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if !trimmed.starts_with('-') || line.len() - trimmed.len() > 6 {
        return None;
    }
    let start = trimmed.find("--")?;
    let name: String = trimmed[start + 2..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (!name.is_empty()).then(|| format!("--{name}"))
}

fn parse_help(text: &str) -> Help {
    let mut options = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut listing = false; // inside a "Possible values:" list
    for line in text.lines() {
        if let Some(name) = defined_option(line) {
            options.entry(name.clone()).or_insert(None);
            current = Some(name);
            listing = false;
            continue;
        }
        let Some(name) = &current else { continue };
        let trimmed = line.trim();
        if let Some(list) = trimmed.strip_prefix("[possible values: ").and_then(|rest| rest.strip_suffix(']')) {
            let values = list.split(", ").map(str::to_string);
            options.get_mut(name).unwrap().get_or_insert_with(BTreeSet::new).extend(values);
        } else if trimmed == "Possible values:" {
            listing = true;
        } else if listing && let Some(item) = trimmed.strip_prefix("- ") {
            let value = item.split(':').next().unwrap().trim().to_string();
            options.get_mut(name).unwrap().get_or_insert_with(BTreeSet::new).insert(value);
        } else if !line.starts_with(' ') && !trimmed.is_empty() {
            current = None; // a section after the options (`Exit status:`)
        }
    }
    Help { options }
}

/// The binary's commands and each one's `--help` (`""` for the options before a command).
struct Binary {
    commands: BTreeSet<String>,
    helps: BTreeMap<String, Option<Help>>,
}

impl Binary {
    fn new() -> Binary {
        let top = help_text(&[]).expect("jones-sync --help fails");
        let commands = top
            .lines()
            .skip_while(|line| *line != "Commands:")
            .skip(1)
            .take_while(|line| !line.trim().is_empty())
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_string)
            .collect();
        let mut helps = BTreeMap::new();
        helps.insert(String::new(), Some(parse_help(&top)));
        Binary { commands, helps }
    }

    /// `None` when `command` is not a command of the binary.
    fn help(&mut self, command: &str) -> Option<&Help> {
        self.helps
            .entry(command.to_string())
            .or_insert_with(|| help_text(&[command]).map(|text| parse_help(&text)))
            .as_ref()
    }
}

/// Where a mention was found, for the failure message.
struct Place<'a> {
    file: &'a str,
    line: usize,
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The options given to one command, each with the literal value written after it.
type Options = Vec<(String, Option<String>)>;

/// A mention of the command line: the command, and the options given before it (to `""`) and to
/// it.
#[derive(Debug, PartialEq)]
struct Invocation {
    command: String,
    options: Vec<(String, Options)>,
}

/// The long option a token names (`[--format`, `--rev]`, `--format=json`), if any.
fn option_token(token: &str) -> Option<String> {
    let token = token.trim_start_matches(['[', '(', '|']);
    let rest = token.strip_prefix("--")?;
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (name.starts_with(|c: char| c.is_ascii_lowercase())).then(|| format!("--{name}"))
}

/// A value as documented after an option, when it is one the binary may list: lowercase words,
/// alternatives separated by `|` (`text|markdown|json]`).
fn literal_values(token: &str) -> Option<String> {
    let token = token.replace('\\', "");
    let token = token.trim_end_matches([']', ')', ',', '.', ';', ':']);
    let literal = !token.is_empty() && token.chars().all(|c| c.is_ascii_lowercase() || c == '|' || c == '-');
    (literal && !token.starts_with('-')).then(|| token.to_string())
}

fn is_command_word(token: &str) -> bool {
    !token.is_empty()
        && token.starts_with(|c: char| c.is_ascii_lowercase())
        && token.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

/// Reads `tokens` (what follows `jones-sync`, or a span starting with a command's name): options
/// before the command go to `""`, the rest to the command. With `prefix_options` (the commands of
/// the binary), options may come before the command (`jones-sync --zk X plan`); a lowercase word
/// right after such an option is its value (`--color never plan`) unless it names a command.
fn invocation(tokens: &[&str], prefix_options: Option<&BTreeSet<String>>) -> Option<Invocation> {
    let mut groups: Vec<(String, Options)> = vec![(String::new(), Vec::new())];
    let mut command = None;
    for (i, token) in tokens.iter().enumerate() {
        if let Some(option) = option_token(token) {
            let value = option_token_value(token).or_else(|| tokens.get(i + 1).and_then(|next| literal_values(next)));
            groups.last_mut().unwrap().1.push((option, value));
        } else if command.is_none() && is_command_word(token) {
            let Some(commands) = prefix_options else {
                if i > 0 {
                    return None;
                }
                command = Some(token.to_string());
                groups.push((token.to_string(), Vec::new()));
                continue;
            };
            let after_option = i > 0 && option_token(tokens[i - 1]).is_some();
            if after_option && !commands.contains(*token) {
                continue;
            }
            command = Some(token.to_string());
            groups.push((token.to_string(), Vec::new()));
        }
    }
    let command = command?;
    groups.retain(|(name, options)| !name.is_empty() || !options.is_empty());
    Some(Invocation { command, options: groups })
}

/// The value of `--format=json`.
fn option_token_value(token: &str) -> Option<String> {
    token.split_once('=').and_then(|(_, value)| literal_values(value))
}

/// Everything a document says about the command line and its links.
#[derive(Default)]
struct Scan {
    /// (line, invocation, from a heading)
    invocations: Vec<(usize, Invocation, bool)>,
    /// (line, target)
    links: Vec<(usize, String)>,
    /// The headings' GitHub slugs.
    slugs: BTreeSet<String>,
}

/// GitHub's anchor for a heading: lowercased, punctuation dropped, spaces made `-`, and `-1`,
/// `-2`, ... appended to repeats.
fn slug(heading: &str, seen: &mut BTreeMap<String, usize>) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // A link in a heading counts by its text.
    while let Some(start) = rest.find("](") {
        text.push_str(&rest[..start]);
        rest = rest[start..].find(')').map_or("", |end| &rest[start + end + 1..]);
    }
    text.push_str(rest);
    let base: String = text
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect();
    let count = seen.entry(base.clone()).or_insert(0);
    let slug = if *count == 0 { base.clone() } else { format!("{base}-{count}") };
    *count += 1;
    slug
}

/// The code spans of a block of Markdown (CommonMark: a run of N backticks up to the next run of
/// exactly N), each with its offset, line breaks inside made spaces.
fn code_spans(block: &str) -> Vec<(usize, String)> {
    let bytes = block.as_bytes();
    let run = |at: usize| bytes[at..].iter().take_while(|b| **b == b'`').count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run(i);
        let mut j = i + n;
        let mut end = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let m = run(j);
                if m == n {
                    end = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match end {
            Some(end) => {
                spans.push((i, block[i + n..end].replace('\n', " ").trim().to_string()));
                i = end + n;
            }
            None => i += n,
        }
    }
    spans
}

/// Link targets of a block outside its code spans: `](target)` and `[label]: target`.
fn link_targets(block: &str) -> Vec<(usize, String)> {
    let mut outside = block.to_string();
    for (at, _) in code_spans(block).into_iter().rev() {
        // Blank out the span (keeping offsets), so `](` inside code is not a link.
        let n = block[at..].bytes().take_while(|b| *b == b'`').count();
        let end = block[at + n..].find(&"`".repeat(n)).map_or(block.len(), |e| at + n + e + n);
        outside.replace_range(at..end, &" ".repeat(end - at));
    }
    let mut targets = Vec::new();
    let mut from = 0;
    while let Some(found) = outside[from..].find("](") {
        let start = from + found + 2;
        let mut depth = 0;
        let end = outside[start..]
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return true,
                    ')' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map_or(outside.len(), |(e, _)| start + e);
        let target = outside[start..end].split_whitespace().next().unwrap_or("").trim_matches(['<', '>']);
        targets.push((start, target.to_string()));
        from = end;
    }
    for (offset, line) in line_offsets(&outside) {
        if let Some(rest) = line.strip_prefix('[')
            && let Some((_, target)) = rest.split_once("]:")
        {
            targets.push((offset, target.split_whitespace().next().unwrap_or("").to_string()));
        }
    }
    targets
}

fn line_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').scan(0, |offset, line| {
        let at = *offset;
        *offset += line.len() + 1;
        Some((at, line))
    })
}

/// The mentions of `jones-sync <command>` in a line of a code block (a shell line, a YAML `run:`,
/// a comment), each up to the end of its command (`|`, `>`, `;`, `&&`, `#`).
fn code_line_invocations(line: &str) -> Vec<Invocation> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find("jones-sync ") {
        let start = from + at;
        from = start + "jones-sync ".len();
        let before = line[..start].chars().next_back();
        if before.is_some_and(|c| !(c.is_whitespace() || "/\"'(`".contains(c))) {
            continue;
        }
        let tokens: Vec<&str> = line[from..]
            .split_whitespace()
            .take_while(|t| !(t.starts_with(['|', '>', '#', '&', ';']) || t.ends_with(';')))
            .collect();
        // A command must come first: `.../jones-sync --tag v1 jones-sync` is `cargo install`'s.
        if let Some(invocation) = invocation(&tokens, None) {
            found.push(invocation);
        }
    }
    found
}

/// The code blocks whose `jones-sync` lines are commands. A block without a language is output
/// or a file tree (`Drift: ... outside jones-sync since the last apply`), and is not read.
const COMMAND_LANGUAGES: [&str; 8] = ["sh", "bash", "shell", "console", "yaml", "yml", "ini", "nginx"];

fn scan(text: &str, commands: &BTreeSet<String>) -> Scan {
    let mut scan = Scan::default();
    let mut seen = BTreeMap::new();
    // The open fence (its backticks) and whether its block holds commands (a shell, a CI or
    // service file) rather than output or data.
    let mut fence: Option<(String, bool)> = None;
    // The current block of prose: its first line number and its lines.
    let mut block: (usize, Vec<&str>) = (0, Vec::new());
    let flush = |block: &mut (usize, Vec<&str>), scan: &mut Scan, heading: bool| {
        if block.1.is_empty() {
            return;
        }
        let joined = block.1.join("\n");
        let line_of = |offset: usize| block.0 + joined[..offset].matches('\n').count();
        for (offset, span) in code_spans(&joined) {
            let tokens: Vec<&str> = span.split_whitespace().collect();
            let found = match tokens.first() {
                Some(&"jones-sync") => invocation(&tokens[1..], Some(commands)),
                // `plan --out FILE`: a command's name, then options.
                Some(first) if commands.contains(*first) && tokens.iter().any(|t| option_token(t).is_some()) => {
                    invocation(&tokens, None)
                }
                _ => None,
            };
            if let Some(found) = found {
                scan.invocations.push((line_of(offset), found, heading));
            }
        }
        for (offset, target) in link_targets(&joined) {
            scan.links.push((line_of(offset), target));
        }
        block.1.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = line.trim_start();
        if let Some((open, commands)) = &fence {
            if trimmed.starts_with(open.as_str())
                && trimmed.trim_start_matches(open.chars().next().unwrap()).trim().is_empty()
            {
                fence = None;
            } else if *commands {
                for found in code_line_invocations(line) {
                    scan.invocations.push((number, found, false));
                }
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut block, &mut scan, false);
            let c = trimmed.chars().next().unwrap();
            let open: String = trimmed.chars().take_while(|x| *x == c).collect();
            let language = trimmed[open.len()..].trim();
            fence = Some((open, COMMAND_LANGUAGES.contains(&language)));
            continue;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && line[level..].starts_with(' ') {
            flush(&mut block, &mut scan, false);
            let heading = line[level..].trim();
            scan.slugs.insert(slug(heading, &mut seen));
            block = (number, vec![heading]);
            flush(&mut block, &mut scan, true);
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut block, &mut scan, false);
        } else {
            if block.1.is_empty() {
                block.0 = number;
            }
            block.1.push(line);
        }
    }
    flush(&mut block, &mut scan, false);
    scan
}

/// Every problem the documents have, one line each.
fn problems(documents: &[(String, String)], binary: &mut Binary) -> Vec<String> {
    let mut problems = Vec::new();
    let scans: BTreeMap<&str, Scan> =
        documents.iter().map(|(name, text)| (name.as_str(), scan(text, &binary.commands))).collect();

    // Commands and options.
    let shared: BTreeSet<String> = binary.help("").unwrap().options.keys().cloned().collect();
    let mut in_headings: BTreeMap<String, (BTreeSet<String>, String)> = BTreeMap::new();
    for (file, scan) in &scans {
        for (line, invocation, heading) in &scan.invocations {
            let place = Place { file, line: *line };
            if *heading {
                let entry = in_headings
                    .entry(invocation.command.clone())
                    .or_insert_with(|| (BTreeSet::new(), place.to_string()));
                entry
                    .0
                    .extend(invocation.options.iter().flat_map(|(_, options)| options.iter().map(|(o, _)| o.clone())));
            }
            for (command, options) in &invocation.options {
                let shown = if command.is_empty() { "jones-sync".to_string() } else { format!("jones-sync {command}") };
                let Some(help) = binary.help(command) else {
                    problems.push(format!("{place}: `{shown}` is not a command (`{shown} --help` fails)"));
                    continue;
                };
                for (option, value) in options {
                    match help.options.get(option) {
                        None => problems.push(format!("{place}: `{shown} --help` has no `{option}`")),
                        Some(Some(allowed)) => {
                            for value in value.iter().flat_map(|v| v.split('|')).filter(|v| !v.is_empty()) {
                                if !allowed.contains(value) {
                                    problems.push(format!(
                                        "{place}: `{shown} {option}` does not take `{value}` (it takes {})",
                                        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                                    ));
                                }
                            }
                        }
                        Some(None) => {}
                    }
                }
            }
        }
    }
    // Every command has a heading, and its headings name every option of its own.
    for command in binary.commands.iter().filter(|c| !in_headings.contains_key(*c)) {
        problems.push(format!("no heading of README.md or docs/*.md is `jones-sync {command} ...`"));
    }
    for (command, (named, place)) in &in_headings {
        if let Some(help) = binary.help(command) {
            for option in help.options.keys().filter(|o| !shared.contains(*o) && !named.contains(*o)) {
                problems.push(format!(
                    "{place}: `jones-sync {command} --help` lists `{option}`, which no heading of `{command}` names"
                ));
            }
        }
    }

    // Links.
    for (file, scan) in &scans {
        let dir = Path::new(file).parent().unwrap();
        for (line, target) in &scan.links {
            let place = Place { file, line: *line };
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').map_or((target.as_str(), None), |(p, a)| (p, Some(a)));
            let resolved = if path.is_empty() { PathBuf::from(file) } else { normalize(&dir.join(path)) };
            if !root().join(&resolved).exists() {
                problems.push(format!(
                    "{place}: the link `{target}` points at `{}`, which does not exist",
                    resolved.display()
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            match scans.get(resolved.to_str().unwrap()) {
                Some(linked) if linked.slugs.contains(anchor) => {}
                Some(_) => problems.push(format!(
                    "{place}: the link `{target}`: `{}` has no heading whose anchor is `#{anchor}`",
                    resolved.display()
                )),
                None => problems.push(format!(
                    "{place}: the link `{target}` has an anchor into a file that is not one of the documents"
                )),
            }
        }
    }
    // The README links every page of docs/, and every page links back to it at its top.
    for file in scans.keys().filter(|f| **f != "README.md") {
        let linked = |from: &str, to: &str, within: usize| {
            let dir = Path::new(from).parent().unwrap();
            scans[from].links.iter().any(|(line, target)| {
                *line <= within && normalize(&dir.join(target.split('#').next().unwrap())) == Path::new(to)
            })
        };
        if scans.contains_key("README.md") && !linked("README.md", file, usize::MAX) {
            problems.push(format!("README.md does not link {file}"));
        }
        if !linked(file, "README.md", 5) {
            problems.push(format!("{file}: no link back to the README in its first 5 lines"));
        }
    }
    problems
}

/// `docs/../README.md` as `README.md`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn the_documents_name_real_commands_options_and_values_and_their_links_resolve() {
    let documents = documents();
    let mut binary = Binary::new();
    assert!(binary.commands.len() > 10, "the commands of `jones-sync --help`: {:?}", binary.commands);
    let problems = problems(&documents, &mut binary);
    assert!(problems.is_empty(), "{} problems in README.md and docs/*.md:\n{}", problems.len(), problems.join("\n"));
}

/// The checks themselves catch what they are for, on a small document.
#[test]
fn the_checks_find_a_wrong_command_option_value_and_link() {
    let document = "\
# Title

## `jones-sync plan [--format text|yaml] [--no-such-option]`

Run `jones-sync frobnicate --yes`, or `apply --bogus`, or `jones-sync --zk X plan --out F`,
or `jones-sync --color never status --format json`.

```sh
jones-sync history svc --limit 3 --colour never | head
```

See [the plan](#jones-sync-plan---format-textyaml---no-such-option), [nothing](#nowhere) and
[a file](docs/missing.md).
";
    let mut binary = Binary::new();
    let problems = problems(&[("README.md".to_string(), document.to_string())], &mut binary);
    let expected = [
        "README.md:3: `jones-sync plan --format` does not take `yaml` (it takes json, markdown, text)",
        "README.md:3: `jones-sync plan --help` has no `--no-such-option`",
        "README.md:5: `jones-sync frobnicate` is not a command (`jones-sync frobnicate --help` fails)",
        "README.md:5: `jones-sync apply --help` has no `--bogus`",
        "README.md:9: `jones-sync history --help` has no `--colour`",
        "README.md:3: `jones-sync plan --help` lists `--detailed-exitcode`, which no heading of `plan` names",
        "no heading of README.md or docs/*.md is `jones-sync serve ...`",
        "README.md:12: the link `#nowhere`: `README.md` has no heading whose anchor is `#nowhere`",
        "README.md:13: the link `docs/missing.md` points at `docs/missing.md`, which does not exist",
    ];
    for line in expected {
        assert!(problems.iter().any(|p| p == line), "missing {line:?} in:\n{}", problems.join("\n"));
    }
    // `--zk X` and `--color never` before the command and `--out` after it are right, and so is the
    // first link.
    assert!(
        !problems.iter().any(|p| p.contains("has no `--zk`")
            || p.contains("has no `--out`")
            || p.contains("`jones-sync never`")
            || p.starts_with("README.md:6:")
            || p.contains("#jones-sync-plan")),
        "{problems:#?}"
    );
}
