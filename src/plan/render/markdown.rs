//! The plan as GitHub-flavoured markdown for a pull-request comment (`plan --format markdown`):
//! the summary line, warnings, a table of the services that change, then one collapsible section
//! per service with its blast radius, view-integrity findings and changes (a `diff` code block, so
//! GitHub colours additions and removals).
//!
//! A comment holds at most 65,536 characters, so the output stays under [`LIMIT`]: sections are
//! added while they fit, and a larger plan is cut between two changes (every open code block and
//! section is closed) with a note that says how much is missing and where the full plan is.
//!
//! Names that come from users (services, hosts, environments) are shown in code spans, HTML-escaped
//! where they appear inside HTML, and every line of a code block starts with a sign or spaces, so
//! no value can end a block or section early.

use std::fmt::Write;

use super::rows::{self as show, DiffLine, Row};
use crate::layout::NodeKind;
use crate::plan::redact::Redactor;
use crate::plan::{Action, Change, Plan, Reach, ServicePlan, guard, integrity};

/// The longest output, in bytes (so also in characters).
pub const LIMIT: usize = 60_000;
/// Room kept for closing what is open and for the note when the plan is cut.
const RESERVE: usize = 2_500;
/// The marker on the first line, so a CI step can find and update its earlier comment.
pub const MARKER: &str = "<!-- jones-sync plan -->";

/// `full_plan` says where the full plan is, for the note on a cut plan (a sentence or two).
pub fn render(plan: &Plan, redactor: &Redactor, full_plan: &str) -> String {
    let mut w = Writer { out: String::new(), budget: LIMIT - RESERVE, cut: false };
    let reach = Reach::of(plan);
    w.push(&header(plan, &reach));
    let changing: Vec<&ServicePlan> =
        plan.services.iter().filter(|s| !s.is_empty() || !s.view_integrity.is_empty()).collect();
    if !changing.is_empty() {
        table(&mut w, &changing);
    }
    let unchanged: Vec<String> = plan.services.iter().filter(|s| s.is_empty()).map(|s| code(&s.name)).collect();
    if !unchanged.is_empty() {
        w.push(&format!("No changes: {}.\n\n", unchanged.join(", ")));
    }
    let unmanaged: Vec<String> =
        plan.unmanaged.iter().filter(|name| !plan.prunable.contains(name)).map(|n| code(n)).collect();
    if !unmanaged.is_empty() {
        w.push(&format!("Not in the repository (left untouched): {}.\n\n", unmanaged.join(", ")));
    }
    if !plan.prunable.is_empty() {
        let names: Vec<String> = plan.prunable.iter().map(|n| code(n)).collect();
        w.push(&format!(
            "Managed by jones-sync but no longer in the repository (left untouched; `--prune` deletes them): {}.\n\n",
            names.join(", ")
        ));
    }
    let total: usize = plan.services.iter().map(|s| s.changes.len()).sum();
    let mut shown = 0;
    for service in changing {
        if w.cut {
            break;
        }
        shown += section(&mut w, service, redactor);
    }
    if w.cut {
        let mut note = String::from("> [!NOTE]\n> **This plan is cut to fit in a comment");
        let _ = write!(note, ": {} of {} changes are not shown.** ", total - shown, total);
        let hint: String = full_plan.chars().take(1_000).collect();
        let _ = writeln!(note, "{}", hint.replace('\n', " "));
        w.out.push_str(&note);
    }
    debug_assert!(w.out.len() <= LIMIT, "markdown plan of {} bytes", w.out.len());
    w.out
}

/// Output that refuses what would not fit, and remembers that it did.
struct Writer {
    out: String,
    budget: usize,
    cut: bool,
}

impl Writer {
    /// Appends `text` if it fits; returns whether it did.
    fn push(&mut self, text: &str) -> bool {
        if !self.cut && self.out.len() + text.len() <= self.budget {
            self.out.push_str(text);
            true
        } else {
            self.cut = true;
            false
        }
    }

    /// Appends `text` whatever its size: what closes something opened (kept in the reserve).
    fn close(&mut self, text: &str) {
        self.out.push_str(text);
    }
}

fn header(plan: &Plan, reach: &Reach) -> String {
    let mut out = format!("{MARKER}\n### jones-sync plan\n\n");
    if plan.is_empty() {
        let (lead, rest) = super::text::no_changes(plan);
        let _ = writeln!(out, "**{lead}**{}", rest.replace("--prune", "`--prune`"));
    } else {
        let c = plan.counts();
        let reach = super::text::reach(plan, code);
        let acls = super::text::acl_count(plan.acl_count());
        let _ = writeln!(
            out,
            "**Plan: {} to create, {} to update, {} to delete{acls}.** {reach}",
            c.create, c.update, c.delete
        );
    }
    out.push('\n');
    if plan.create_root {
        out.push_str("Creates `/services`, the parent of every service.\n\n");
    }
    if reach.drift > 0 {
        let _ = write!(
            out,
            "> [!WARNING]\n> **Drift:** {} {} made outside jones-sync since the last apply (marked `drift` below).\n\n",
            show::count(reach.drift, "change"),
            if reach.drift == 1 { "reverts an edit" } else { "revert edits" },
        );
    }
    let flagged: Vec<String> = guard::flagged(plan).into_iter().map(|(name, _)| code(name)).collect();
    if !flagged.is_empty() {
        let _ = write!(
            out,
            "> [!CAUTION]\n> **Mass deletion:** {} (flagged below): applying this plan needs `--allow-mass-delete`.\n\n",
            flagged.join(", ")
        );
    }
    if reach.findings > 0 {
        let _ = write!(
            out,
            "> [!WARNING]\n> **View integrity:** {} (listed below): live views do not follow from the live conf. Applying brings both back in line with the repository.\n\n",
            show::count(reach.findings, "finding"),
        );
    }
    out
}

fn table(w: &mut Writer, services: &[&ServicePlan]) {
    if !w.push("| Service | Create | Update | Delete | Hosts reached | Drift |\n|:--|--:|--:|--:|:--|--:|\n") {
        return;
    }
    for service in services {
        let c = service.counts();
        let blast = &service.blast_radius;
        let mut hosts = match (blast.hosts().len(), blast.moving().len()) {
            (0, _) => String::new(),
            (n, 0) => n.to_string(),
            (n, m) => format!("{n} ({m} moving)"),
        };
        if blast.unassociated_hosts {
            hosts = if hosts.is_empty() { "all unassociated".into() } else { format!("{hosts} + all unassociated") };
        }
        if hosts.is_empty() {
            hosts = "none".into();
        }
        let drift = service.changes.iter().filter(|c| c.drift).count();
        let name = code(&service.name).replace('|', "\\|");
        let adopt = match (service.managed, service.prune) {
            (_, true) => " (deleted whole)",
            (true, false) => "",
            (false, false) => " (new to jones-sync)",
        };
        let mass = if service.mass_delete.is_some() { " **(mass deletion)**" } else { "" };
        let row = format!("| {name}{adopt}{mass} | {} | {} | {} | {hosts} | {drift} |\n", c.create, c.update, c.delete);
        if !w.push(&row) {
            w.close("\n");
            return;
        }
    }
    w.push("\n");
}

/// One service's collapsible section; returns how many of its changes were shown.
fn section(w: &mut Writer, service: &ServicePlan, redactor: &Redactor) -> usize {
    let c = service.counts();
    let whole = if service.prune { ", deleted whole: no longer in the repository (<code>--prune</code>)" } else { "" };
    let open = format!(
        "<details><summary><code>{}</code>: {} to create, {} to update, {} to delete{}{whole}</summary>\n\n",
        html(&service.name),
        c.create,
        c.update,
        c.delete,
        super::text::acl_count(service.acls.len())
    );
    if !w.push(&open) {
        return 0;
    }
    if let Some(mass) = &service.mass_delete
        && !w.push(&format!("**Mass deletion:** {}\n\n", mass.describe(code)))
    {
        w.close("</details>\n\n");
        return 0;
    }
    if let Some(reason) = &service.not_atomic
        && !w.push(&format!("> **Not atomic:** {}\n\n", html(reason)))
    {
        w.close("</details>\n\n");
        return 0;
    }
    for kept in service.break_glass.iter().filter(|kept| kept.undone) {
        let line = format!(
            "> **Break-glass edit:** {}: this plan undoes it (apply refuses without `--revert-break-glass`)\n\n",
            html(&kept.edit.describe())
        );
        if !w.push(&line) {
            w.close("</details>\n\n");
            return 0;
        }
    }
    let shown = blast_radius(w, service, redactor) && integrity(w, service, redactor);
    let shown = if shown { changes(w, service, redactor) } else { 0 };
    if !service.acls.is_empty() && w.push("ACLs to set (`[zookeeper] acl`):\n\n") {
        for acl in &service.acls {
            let line = format!(
                "- `{}`: {} → {}\n",
                acl.path,
                super::text::show_acl(&acl.before),
                super::text::show_acl(&acl.after)
            );
            if !w.push(&line) {
                break;
            }
        }
        w.push("\n");
    }
    w.close("</details>\n\n");
    shown
}

/// The blast radius; returns whether all of it fit.
fn blast_radius(w: &mut Writer, service: &ServicePlan, redactor: &Redactor) -> bool {
    let blast = &service.blast_radius;
    if blast.is_empty() {
        return true;
    }
    let head = show::blast_head(blast);
    let mut items = Vec::new();
    if blast.unassociated_hosts {
        items.push("- `(root)`: every host without an association\n".to_string());
    }
    for env in &blast.environments {
        let hosts = if env.hosts.is_empty() { "no hosts".to_string() } else { show::host_list(&env.hosts, host) };
        items.push(format!("- {} (view {}d): {hosts}\n", code(&env.environment), env.action));
    }
    let mut diffs = Vec::new();
    for group in &blast.moves {
        let from = show::association(&service.name, group.from.as_deref());
        let to = show::association(&service.name, group.to.as_deref());
        let verb = if group.hosts.len() == 1 { "moves" } else { "move" };
        items.push(format!("- {} {verb} from {} to {}\n", show::host_list(&group.hosts, host), code(&from), code(&to)));
        let mut diff = format!("@@ {} → {} @@\n", show::one_line(&from), show::one_line(&to));
        let rows = show::rows(&group.changes.get(), redactor);
        if rows.is_empty() {
            diff.push_str("    (the same values)\n");
        }
        rows_to_diff(&mut diff, &rows);
        diffs.push(diff);
    }
    if !w.push(&format!("**Blast radius:** {head}\n\n")) {
        return false;
    }
    for item in items {
        if !w.push(&item) {
            w.close("\n");
            return false;
        }
    }
    w.push("\n");
    fenced(w, &diffs)
}

/// View-integrity findings; returns whether all of them fit.
fn integrity(w: &mut Writer, service: &ServicePlan, redactor: &Redactor) -> bool {
    if service.view_integrity.is_empty() {
        return true;
    }
    if !w.push(
        "**View integrity:** live views that do not follow from the live conf (as Jones' web UI can leave them):\n\n",
    ) {
        return false;
    }
    let mut diffs = Vec::new();
    for finding in &service.view_integrity {
        let path = code(&finding.path);
        let item = match &finding.problem {
            integrity::Problem::Differs { changes } => {
                let mut diff = format!("@@ {} (live → materialized) @@\n", finding.path);
                rows_to_diff(&mut diff, &show::rows(changes, redactor));
                diffs.push(diff);
                format!("- {path} differs from the materialized conf\n")
            }
            integrity::Problem::Missing => format!("- {path} is missing, though its environment has a conf node\n"),
            integrity::Problem::Orphan => format!("- {path} has no conf node\n"),
            integrity::Problem::UnreadableConf => {
                format!("- {path} is not a JSON object, so the views at and below it cannot be checked\n")
            }
        };
        if !w.push(&item) {
            w.close("\n");
            return false;
        }
    }
    w.push("\n");
    fenced(w, &diffs)
}

/// `blocks` in one `diff` code block, as many as fit; returns whether all did.
fn fenced(w: &mut Writer, blocks: &[String]) -> bool {
    if blocks.is_empty() {
        return true;
    }
    if !w.push("```diff\n") {
        return false;
    }
    for block in blocks {
        if !w.push(block) {
            w.close("```\n\n");
            return false;
        }
    }
    w.close("```\n\n");
    true
}

/// The changes in a `diff` block, as many as fit; returns how many did.
fn changes(w: &mut Writer, service: &ServicePlan, redactor: &Redactor) -> usize {
    let blocks: Vec<String> = service.changes.iter().map(|c| change(c, redactor)).collect();
    if !w.push("**Changes:**\n\n```diff\n") {
        return 0;
    }
    let mut shown = 0;
    for block in &blocks {
        if !w.push(block) {
            break;
        }
        shown += 1;
    }
    w.close("```\n\n");
    shown
}

fn change(change: &Change, redactor: &Redactor) -> String {
    let (before, after) = change.action.data();
    let sign = match &change.action {
        Action::Create { .. } => '+',
        Action::Update { .. } => '~',
        Action::Delete { .. } => '-',
    };
    let note = match change.kind {
        NodeKind::View => " (view, derived)",
        NodeKind::Conf => " (conf)",
        NodeKind::Nodemap => " (nodemap)",
        NodeKind::Record if matches!(change.action, Action::Delete { .. }) => " (record)",
        NodeKind::Record => " (record of this apply)",
        NodeKind::Service => " (service)",
        NodeKind::Log => " (audit log entry)",
        NodeKind::Lock => " (lock)",
        NodeKind::Other => " (not written by jones-sync)",
        NodeKind::Root => "",
    };
    let drift = if change.drift { "  ⚠ drift: changed outside jones-sync since its last apply" } else { "" };
    let mut out = format!("{sign} {}{note}{drift}\n", change.path);
    if matches!(
        change.kind,
        NodeKind::Record | NodeKind::Service | NodeKind::Root | NodeKind::Log | NodeKind::Lock | NodeKind::Other
    ) {
        return out;
    }
    let rows = show::node_rows(change.kind, before, after, redactor);
    if rows.is_empty() && after.is_some() {
        out.push_str("    (empty)\n");
    }
    rows_to_diff(&mut out, &rows);
    out
}

/// Key-level rows as diff lines: the sign in the first column, so GitHub colours them.
fn rows_to_diff(out: &mut String, rows: &[Row]) {
    for row in rows {
        match row {
            Row::Added { key, value } => value_lines(out, '+', key, value),
            Row::Removed { key, value } => value_lines(out, '-', key, value),
            Row::Changed { key, before, after, hidden } => {
                let hidden = if *hidden { format!(" {}", show::HIDDEN) } else { String::new() };
                let _ = writeln!(out, "-   {key} = {before}");
                let _ = writeln!(out, "+   {key} = {after}{hidden}");
            }
            Row::ChangedSensitive { key } => {
                let _ = writeln!(out, "~   {key}: (a sensitive value inside changes)");
            }
            Row::ChangedLines { key, lines, hidden } => {
                let hidden = if *hidden { format!(" {}", show::HIDDEN) } else { String::new() };
                let _ = writeln!(out, "~   {key}:{hidden}");
                for line in lines {
                    let _ = match line {
                        DiffLine::Same(text) => writeln!(out, "      {text}"),
                        DiffLine::Removed(text) => writeln!(out, "-     {text}"),
                        DiffLine::Added(text) => writeln!(out, "+     {text}"),
                        DiffLine::Skipped => writeln!(out, "      ..."),
                    };
                }
            }
            Row::Whole { before, after } => {
                if let Some(before) = before {
                    let _ = writeln!(out, "-   (not a JSON object) {before}");
                }
                if let Some(after) = after {
                    let _ = writeln!(out, "+   (not a JSON object) {after}");
                }
            }
        }
    }
}

fn value_lines(out: &mut String, sign: char, key: &str, value: &[String]) {
    let mut lines = value.iter();
    let _ = writeln!(out, "{sign}   {key} = {}", lines.next().map_or("", String::as_str));
    for line in lines {
        let _ = writeln!(out, "{sign}   {line}");
    }
}

/// `text` as an inline code span, whatever backticks it holds.
/// A host name in code: quoted when it has white space at an end (which a code span would not
/// show) or a control character.
fn host(name: &str) -> String {
    code(&show::name(name))
}

fn code(text: &str) -> String {
    let text = show::one_line(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

fn html(text: &str) -> String {
    show::one_line(text).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
