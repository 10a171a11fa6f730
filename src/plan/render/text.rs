//! The plan as text for people: per service, each node to create (`+`), update (`~`) or delete
//! (`-`), with the keys that change; then the blast radius and any view-integrity findings; then a
//! summary line that counts changes and the hosts they reach, and warnings for drift.
//!
//! Colour is optional (the caller decides: `--color`, `NO_COLOR`, a terminal); without it the
//! output is plain text. Sensitive values are redacted by the [`Redactor`] given.

use std::borrow::Cow;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::rows::{self as show, DiffLine, Row};
use crate::layout::NodeKind;
use crate::plan::redact::Redactor;
use crate::plan::{Action, Change, KeyChange, Plan, ServicePlan, guard, integrity};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();
const WARN: Style = AnsiColor::Magenta.on_default().bold();

/// Applies styles only when colour is on.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn paint(self, style: Style, text: &str) -> Cow<'_, str> {
        if self.0 {
            Cow::Owned(format!("{}{text}{}", style.render(), style.render_reset()))
        } else {
            Cow::Borrowed(text)
        }
    }
}

/// The plan as text, whole (for tests and small plans; commands write it with [`render_to`]).
pub fn render(plan: &Plan, redactor: &Redactor, colour: bool) -> String {
    let mut out = String::new();
    render_to(&mut out, plan, redactor, colour);
    out
}

/// Writes the plan as text to `out` as it goes: the plan of a large first apply is tens of
/// megabytes of text, which a writer to stdout never holds whole. Write errors are the writer's
/// to keep (rendering just goes on).
pub fn render_to(out: &mut impl Write, plan: &Plan, redactor: &Redactor, colour: bool) {
    let p = Paint(colour);
    if plan.create_root {
        let _ = writeln!(out, "{} /services (the parent of every service)\n", p.paint(GREEN, "+"));
    }
    for service in &plan.services {
        render_service(out, service, redactor, p);
    }
    let _ = out.write_str(&untouched(plan));
    let _ = out.write_str(&summary(plan));
    let drift = plan.services.iter().flat_map(|s| &s.changes).filter(|c| c.drift).count();
    if drift > 0 {
        let _ = writeln!(
            out,
            "{} {} {} made outside jones-sync since the last apply (marked `drift` above).",
            p.paint(WARN, "Drift:"),
            show::count(drift, "change"),
            if drift == 1 { "reverts an edit" } else { "revert edits" },
        );
    }
    let findings: usize = plan.services.iter().map(|s| s.view_integrity.len()).sum();
    if findings > 0 {
        let _ = writeln!(
            out,
            "{} {} (listed above): live views do not follow from the live conf. Applying brings both back in line with the repository.",
            p.paint(WARN, "View integrity:"),
            show::count(findings, "finding"),
        );
    }
    let flagged: Vec<&str> = guard::flagged(plan).into_iter().map(|(name, _)| name).collect();
    if !flagged.is_empty() {
        let _ = writeln!(
            out,
            "{} {} (flagged above): applying this plan needs --allow-mass-delete.",
            p.paint(WARN, "Mass deletion:"),
            flagged.join(", ")
        );
    }
}

/// The services ZooKeeper holds and the repository does not, which the plan leaves untouched:
/// those jones-sync does not manage, then those it does (which `--prune` would delete).
pub(crate) fn untouched(plan: &Plan) -> String {
    let mut out = String::new();
    let unmanaged: Vec<&str> =
        plan.unmanaged.iter().filter(|name| !plan.prunable.contains(name)).map(String::as_str).collect();
    if !unmanaged.is_empty() {
        let _ = writeln!(out, "Not in the repository (left untouched): {}\n", unmanaged.join(", "));
    }
    if !plan.prunable.is_empty() {
        let _ = writeln!(
            out,
            "Managed by jones-sync but no longer in the repository (left untouched; --prune deletes them): {}\n",
            plan.prunable.join(", ")
        );
    }
    out
}

/// `Plan: 1 to create, 2 to update, 0 to delete. Reaches 3 hosts (1 moving) and all unassociated
/// hosts of shop.`, or `No changes. ...` ([`no_changes`]).
pub fn summary(plan: &Plan) -> String {
    if plan.is_empty() {
        let (lead, rest) = no_changes(plan);
        return format!("{lead}{rest}\n");
    }
    let c = plan.counts();
    format!(
        "Plan: {} to create, {} to update, {} to delete{}. {}\n",
        c.create,
        c.update,
        c.delete,
        acl_count(plan.acl_count()),
        reach(plan, show::one_line)
    )
}

/// The summary of a plan without changes, as a lead (`No changes.`) and the rest of the sentence.
/// It says that ZooKeeper matches the repository only when it holds no service the repository
/// lacks: services that jones-sync manages and the repository no longer has (left untouched
/// without `--prune`) mean it does not, and services it does not manage are mentioned.
pub(crate) fn no_changes(plan: &Plan) -> (&'static str, String) {
    let others = plan.unmanaged.iter().filter(|name| !plan.prunable.contains(name)).count();
    let prunable = plan.prunable.len();
    if others == 0 && prunable == 0 {
        return ("No changes.", " ZooKeeper matches the repository.".to_string());
    }
    let lead = if plan.services.is_empty() {
        "No changes: the repository has no services"
    } else {
        "No changes to the repository's services"
    };
    let others_text = show::count(others, "service") + " that jones-sync does not manage (left untouched)";
    let rest = if prunable == 0 {
        format!(". ZooKeeper also has {others_text}.")
    } else {
        let also = if others == 0 { String::new() } else { format!(", and {others_text}") };
        format!(
            ", but ZooKeeper does not match the repository: it still has {} that the repository no longer \
             has (left untouched; --prune deletes {}){also}.",
            show::count(prunable, "managed service"),
            if prunable == 1 { "it" } else { "them" },
        )
    };
    (lead, rest)
}

/// `Reaches 3 hosts (1 moving) and all unassociated hosts of shop.`, with service names shown by `name`.
pub(crate) fn reach(plan: &Plan, name: impl Fn(&str) -> String) -> String {
    let reach = crate::plan::Reach::of(plan);
    let hosts = match (reach.hosts, reach.moving) {
        (0, _) => None,
        (n, 0) => Some(show::count(n, "host")),
        (n, m) => Some(format!("{} ({m} moving)", show::count(n, "host"))),
    };
    let unassociated = match reach.unassociated.as_slice() {
        [] => None,
        services if services.len() <= 3 => {
            let names: Vec<String> = services.iter().map(|s| name(s)).collect();
            Some(format!("all unassociated hosts of {}", names.join(", ")))
        }
        services => Some(format!("all unassociated hosts of {} services", services.len())),
    };
    match (hosts, unassociated) {
        (None, None) => "Reaches no hosts.".to_string(),
        (Some(h), None) => format!("Reaches {h}."),
        (None, Some(u)) => format!("Reaches {u}."),
        (Some(h), Some(u)) => format!("Reaches {h} and {u}."),
    }
}

fn render_service(out: &mut impl Write, service: &ServicePlan, redactor: &Redactor, p: Paint) {
    if service.is_empty() {
        let _ = writeln!(out, "{}: no changes\n", p.paint(BOLD, &service.name));
        return;
    }
    let c = service.counts();
    let adopt = match (service.managed, service.prune) {
        (_, true) => ", deleted whole: no longer in the repository (--prune)",
        (true, false) => "",
        (false, false) => ", not managed by jones-sync yet",
    };
    let _ = writeln!(
        out,
        "{}: {} to create, {} to update, {} to delete{}{adopt}",
        p.paint(BOLD, &service.name),
        c.create,
        c.update,
        c.delete,
        acl_count(service.acls.len())
    );
    if let Some(mass) = &service.mass_delete {
        let _ = writeln!(out, "  {} {}", p.paint(WARN, "Mass deletion:"), mass.describe(show::one_line));
    }
    if let Some(reason) = &service.not_atomic {
        let _ = writeln!(out, "  {} {reason}", p.paint(WARN, "Not atomic:"));
    }
    for kept in service.break_glass.iter().filter(|kept| kept.undone) {
        let _ = writeln!(
            out,
            "  {} {}: this plan undoes it (apply refuses without --revert-break-glass)",
            p.paint(WARN, "Break-glass edit:"),
            kept.edit.describe()
        );
    }
    for change in &service.changes {
        render_change(out, change, redactor, p);
    }
    for acl in &service.acls {
        let _ = writeln!(
            out,
            "  {} {} (ACL)\n      {} → {}",
            p.paint(YELLOW, "~"),
            acl.path,
            show_acl(&acl.before),
            show_acl(&acl.after)
        );
    }
    render_blast_radius(out, service, redactor, p);
    render_integrity(out, service, redactor, p);
    let _ = out.write_char('\n');
}

fn render_change(out: &mut impl Write, change: &Change, redactor: &Redactor, p: Paint) {
    let (before, after) = change.action.data();
    let (sign, style) = match &change.action {
        Action::Create { .. } => ("+", GREEN),
        Action::Update { .. } => ("~", YELLOW),
        Action::Delete { .. } => ("-", RED),
    };
    let note = match change.kind {
        NodeKind::View => p.paint(DIM, " (view, derived)"),
        NodeKind::Conf => Cow::Borrowed(" (conf)"),
        NodeKind::Nodemap => Cow::Borrowed(" (nodemap)"),
        NodeKind::Record if matches!(change.action, Action::Delete { .. }) => Cow::Borrowed(" (record)"),
        NodeKind::Record => Cow::Borrowed(" (record of this apply)"),
        NodeKind::Service => Cow::Borrowed(" (service)"),
        NodeKind::Log => Cow::Borrowed(" (audit log entry)"),
        NodeKind::Lock => Cow::Borrowed(" (lock)"),
        NodeKind::Other => Cow::Borrowed(" (not written by jones-sync)"),
        NodeKind::Root => Cow::Borrowed(""),
    };
    let drift = if change.drift {
        Cow::Owned(format!(
            " {}",
            p.paint(WARN, "drift: changed outside jones-sync since its last apply; applying reverts that")
        ))
    } else {
        Cow::Borrowed("")
    };
    let _ = writeln!(out, "  {} {}{note}{drift}", p.paint(style, sign), change.path);
    if matches!(
        change.kind,
        NodeKind::Record | NodeKind::Service | NodeKind::Root | NodeKind::Log | NodeKind::Lock | NodeKind::Other
    ) {
        return;
    }
    let changes = crate::plan::key_changes(change.kind, before, after);
    if changes.is_empty() && after.is_some() {
        let _ = writeln!(out, "      (empty)");
    }
    // Added and removed keys (every key of a created or deleted node) are written straight out;
    // the others go through a [`Row`], as everywhere else.
    let (added, removed) = (p.paint(GREEN, "+"), p.paint(RED, "-"));
    let mut buf = Vec::new();
    for key_change in &changes {
        match key_change {
            KeyChange::Added { key, value } | KeyChange::Removed { key, value } => {
                let sign = if matches!(key_change, KeyChange::Added { .. }) { &added } else { &removed };
                let text = show::value_text(key, value, redactor, &mut buf);
                value_lines(out, "      ", sign, &show::name(key), text.lines());
            }
            other => render_rows(out, &[show::row(other, redactor)], "      ", p),
        }
    }
}

/// A host name as listed: quoted when it has white space at an end or a control character.
fn host(name: &str) -> String {
    show::name(name).into_owned()
}

/// Key-level rows, each line starting with `indent`.
fn render_rows(out: &mut impl Write, rows: &[Row], indent: &str, p: Paint) {
    for row in rows {
        match row {
            Row::Added { key, value } => {
                value_lines(out, indent, &p.paint(GREEN, "+"), key, value.iter().map(String::as_str))
            }
            Row::Removed { key, value } => {
                value_lines(out, indent, &p.paint(RED, "-"), key, value.iter().map(String::as_str))
            }
            Row::Changed { key, before, after, hidden } => {
                let hidden = if *hidden { format!(" {}", show::HIDDEN) } else { String::new() };
                let _ = writeln!(out, "{indent}{} {key}: {before} → {after}{hidden}", p.paint(YELLOW, "~"));
            }
            Row::ChangedSensitive { key } => {
                let _ = writeln!(out, "{indent}{} {key}: (a sensitive value inside changes)", p.paint(YELLOW, "~"));
            }
            Row::ChangedLines { key, lines, hidden } => {
                let hidden = if *hidden { format!(" {}", show::HIDDEN) } else { String::new() };
                let _ = writeln!(out, "{indent}{} {key}:{hidden}", p.paint(YELLOW, "~"));
                for line in lines {
                    let _ = match line {
                        DiffLine::Same(text) => writeln!(out, "{indent}    {text}"),
                        DiffLine::Removed(text) => writeln!(out, "{indent}  {} {text}", p.paint(RED, "-")),
                        DiffLine::Added(text) => writeln!(out, "{indent}  {} {text}", p.paint(GREEN, "+")),
                        DiffLine::Skipped => writeln!(out, "{indent}    {}", p.paint(DIM, "...")),
                    };
                }
            }
            Row::Whole { before, after } => {
                let text = |t: &Option<String>| t.clone().unwrap_or_else(|| "(none)".into());
                let _ = writeln!(
                    out,
                    "{indent}{} whole value (not a JSON object): {} → {}",
                    p.paint(YELLOW, "~"),
                    text(before),
                    text(after)
                );
            }
        }
    }
}

/// `+ key = value`, a long value continuing on the following lines.
fn value_lines<'a>(
    out: &mut impl Write,
    indent: &str,
    sign: &str,
    key: &str,
    mut lines: impl Iterator<Item = &'a str>,
) {
    let _ = writeln!(out, "{indent}{sign} {key} = {}", lines.next().unwrap_or(""));
    for line in lines {
        let _ = writeln!(out, "{indent}  {line}");
    }
}

fn render_blast_radius(out: &mut impl Write, service: &ServicePlan, redactor: &Redactor, p: Paint) {
    let blast = &service.blast_radius;
    if blast.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {} {}", p.paint(BOLD, "Blast radius:"), show::blast_head(blast));
    if blast.unassociated_hosts {
        let _ = writeln!(out, "    (root): every host without an association");
    }
    for env in &blast.environments {
        let hosts = if env.hosts.is_empty() { "no hosts".to_string() } else { show::host_list(&env.hosts, host) };
        let _ = writeln!(out, "    {} (view {}d): {hosts}", env.environment, env.action);
    }
    for group in &blast.moves {
        let from = show::association(&service.name, group.from.as_deref());
        let to = show::association(&service.name, group.to.as_deref());
        let verb = if group.hosts.len() == 1 { "moves" } else { "move" };
        let _ = writeln!(out, "    {} {verb} from {from} to {to}", show::host_list(&group.hosts, host));
        let rows = show::rows(&group.changes.get(), redactor);
        if rows.is_empty() {
            let _ = writeln!(out, "        (the same values)");
        }
        render_rows(out, &rows, "        ", p);
    }
}

fn render_integrity(out: &mut impl Write, service: &ServicePlan, redactor: &Redactor, p: Paint) {
    if service.view_integrity.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {} live views that do not follow from the live conf (as Jones' web UI can leave them):",
        p.paint(WARN, "View integrity:")
    );
    for finding in &service.view_integrity {
        let path = &finding.path;
        match &finding.problem {
            integrity::Problem::Differs { changes } => {
                let _ = writeln!(out, "    {path} differs from the materialized conf (live → materialized):");
                render_rows(out, &show::rows(changes, redactor), "        ", p);
            }
            integrity::Problem::Missing => {
                let _ = writeln!(out, "    {path} is missing, though its environment has a conf node");
            }
            integrity::Problem::Orphan => {
                let _ = writeln!(out, "    {path} has no conf node");
            }
            integrity::Problem::UnreadableConf => {
                let _ =
                    writeln!(out, "    {path} is not a JSON object, so the views at and below it cannot be checked");
            }
        }
    }
}

/// `, N ACLs to set` when there are any (so plans without ACL drift read as before).
pub(crate) fn acl_count(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => ", 1 ACL to set".into(),
        n => format!(", {n} ACLs to set"),
    }
}

pub(crate) fn show_acl(acl: &[crate::acl::AclEntry]) -> String {
    if acl.is_empty() { "(none)".into() } else { crate::acl::show(acl) }
}
