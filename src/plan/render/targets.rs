//! The plans of several targets (`[targets]`) as one: for people a section per distinct plan
//! (a plan the same for several targets is shown once, naming them all, so a 12-region change
//! stays readable) and a line per target; for machines every target's plan
//! ([`super::json::render_targets`]).
//!
//! Two targets' plans are the same when their text renderings are (a record's `apply_id` differs
//! from target to target, and the text shows no record), notes included.

use super::{json, markdown, text};
use crate::plan::Plan;
use crate::plan::redact::Redactor;

/// One target's plan, or why it could not be made.
pub struct TargetPlan<'a> {
    pub name: &'a str,
    /// From 0.
    pub wave: usize,
    pub zookeeper: &'a str,
    pub plan: Result<&'a Plan, &'a str>,
    /// Prose the text rendering adds after the plan (notes on pins, skipped services).
    pub notes: String,
}

/// The plans of several targets, in wave order, with what the text rendering shows of each.
pub struct Targets<'a> {
    targets: Vec<TargetPlan<'a>>,
    /// The text of each plan (with its notes); `None` for a target that could not be planned.
    shown: Vec<Option<String>>,
    /// For each target, the first target before it with the same plan.
    same_as: Vec<Option<usize>>,
    waves: usize,
}

impl<'a> Targets<'a> {
    pub fn new(targets: Vec<TargetPlan<'a>>, redactor: &Redactor, colour: bool) -> Targets<'a> {
        let shown: Vec<Option<String>> =
            targets.iter().map(|t| t.plan.ok().map(|plan| text::render(plan, redactor, colour) + &t.notes)).collect();
        // Targets that could not be planned are not the same as anything.
        let same_as: Vec<Option<usize>> = crate::targets::same_as(&shown)
            .into_iter()
            .zip(&shown)
            .map(|(same, s)| same.filter(|_| s.is_some()))
            .collect();
        let waves = targets.iter().map(|t| t.wave + 1).max().unwrap_or(0);
        Targets { targets, shown, same_as, waves }
    }

    /// The text plan: a section per distinct plan, then a line per target.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, section) in self.shown.iter().enumerate() {
            let (Some(section), None) = (section, self.same_as[i]) else { continue };
            out.push_str(&format!("── {} ──\n\n{section}\n", self.heading(i)));
        }
        out.push_str("By target:\n");
        let width = self.targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in &self.targets {
            let wave = t.wave + 1;
            out.push_str(&format!("  {:width$}  wave {wave} of {}  {}\n", t.name, self.waves, counts(&t.plan)));
        }
        out
    }

    /// The markdown plan: a table of targets, then a section per distinct plan.
    pub fn markdown(&self, redactor: &Redactor, full_plan: &str) -> String {
        let mut out =
            format!("{}\n\n### jones-sync plan\n\n| Target | Wave | Plan |\n|---|---|---|\n", markdown::MARKER);
        for t in &self.targets {
            out.push_str(&format!("| `{}` | {} of {} | {} |\n", t.name, t.wave + 1, self.waves, counts(&t.plan)));
        }
        out.push('\n');
        for (i, t) in self.targets.iter().enumerate() {
            let (Ok(plan), None) = (t.plan, self.same_as[i]) else { continue };
            let section = markdown::render(plan, redactor, full_plan);
            let section = section.strip_prefix(markdown::MARKER).unwrap_or(&section).trim_start();
            let section = section.strip_prefix("### jones-sync plan").unwrap_or(section).trim_start();
            out.push_str(&format!("#### {}\n\n{section}\n", self.heading(i)));
        }
        out
    }

    /// The JSON plan: every target's plan, each saying which earlier one it is the same as.
    pub fn json(&self, redactor: &Redactor) -> String {
        let plans: Vec<json::TargetPlan> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| json::TargetPlan {
                name: t.name,
                wave: t.wave,
                zookeeper: t.zookeeper,
                same_as: self.same_as[i].map(|j| self.targets[j].name),
                plan: t.plan,
            })
            .collect();
        json::render_targets(&plans, redactor)
    }

    /// Some target's plan has changes.
    pub fn has_changes(&self) -> bool {
        self.targets.iter().any(|t| t.plan.is_ok_and(|p| !p.is_empty()))
    }

    /// `Target `a` (wave 1 of 2)`, or `Targets `a`, `b` (waves 1, 2 of 2): the same plan for each`:
    /// target `i` and those whose plan is the same as its.
    fn heading(&self, i: usize) -> String {
        let alike: Vec<&TargetPlan> = self
            .targets
            .iter()
            .enumerate()
            .filter(|(j, _)| *j == i || self.same_as[*j] == Some(i))
            .map(|(_, t)| t)
            .collect();
        let names: Vec<String> = alike.iter().map(|t| format!("`{}`", t.name)).collect();
        let mut in_waves: Vec<usize> = alike.iter().map(|t| t.wave + 1).collect();
        in_waves.dedup();
        let in_waves: Vec<String> = in_waves.iter().map(usize::to_string).collect();
        let wave = if in_waves.len() == 1 { "wave" } else { "waves" };
        let at = format!("({wave} {} of {})", in_waves.join(", "), self.waves);
        match alike.len() {
            1 => format!("Target {} {at}", names[0]),
            _ => format!("Targets {} {at}: the same plan for each", names.join(", ")),
        }
    }
}

/// A target's changes in a few words, or why it has none.
fn counts(plan: &Result<&Plan, &str>) -> String {
    match plan {
        Err(_) => "could not be planned (below)".into(),
        Ok(plan) if plan.is_empty() => "no changes".into(),
        Ok(plan) => {
            let c = plan.counts();
            format!("{} to create, {} to update, {} to delete", c.create, c.update, c.delete)
        }
    }
}
