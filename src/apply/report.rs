//! What an apply says when it is done: a line per service (how many transactions, what it wrote,
//! and how a lost connection was resolved), then the totals. The figures are the plan's
//! ([`crate::plan::Counts`]): a service's nodes and its record as the plan lists them, and
//! `/services` on its own line, so the totals equal the plan's summary when everything applied.

use super::{ApplyError, Outcome, Recovery};
use crate::plan::Counts;

/// The report for people, on stdout.
pub fn render(outcomes: &[Outcome]) -> String {
    let mut report = String::from("\n");
    let mut total = Counts::default();
    for outcome in outcomes {
        if outcome.created_root {
            report.push_str("/services: created\n");
            total.create += 1;
        }
        let c = outcome.counts;
        let how = if outcome.transactions == 1 {
            "in one transaction".to_string()
        } else {
            format!("in {} transactions", outcome.transactions)
        };
        let recovered = recovery_note(&outcome.recovery);
        let Ok(zxid) = &outcome.result else { continue };
        if outcome.by_another {
            report.push_str(&format!(
                "{}: already written: another apply of the same content created it first; nothing written\n",
                outcome.service
            ));
            continue;
        }
        total.add(&c);
        let zxid = zxid.map(|z| format!(", zxid 0x{z:x}")).unwrap_or_default();
        let acls = match outcome.acls {
            0 => String::new(),
            1 => ", 1 ACL set".to_string(),
            n => format!(", {n} ACLs set"),
        };
        if c.total() == 0 {
            report.push_str(&format!("{}: ACLs only{acls}\n", outcome.service));
        } else {
            report.push_str(&format!(
                "{}: applied {how}: {} created, {} updated, {} deleted{zxid}{recovered}{acls}\n",
                outcome.service, c.create, c.update, c.delete
            ));
        }
    }
    report.push_str(&format!(
        "Apply {}: {} created, {} updated, {} deleted.\n",
        if failures(outcomes).is_empty() { "complete" } else { "incomplete" },
        total.create,
        total.update,
        total.delete
    ));
    report
}

/// The services that failed, with why.
pub fn failures(outcomes: &[Outcome]) -> Vec<(&str, &ApplyError)> {
    outcomes.iter().filter_map(|o| Some((o.service.as_str(), o.result.as_ref().err()?))).collect()
}

/// What the report says about commits whose reply was lost: what reading ZooKeeper showed, and
/// what was done about it (never a guess).
fn recovery_note(recovery: &Recovery) -> String {
    if recovery.is_empty() {
        return String::new();
    }
    let found = match (recovery.found_applied, recovery.resent) {
        (1, 0) => "it had been applied, so it was not sent again".to_string(),
        (0, 1) => "it had not been applied, so it was sent again".to_string(),
        (applied, resent) => {
            format!("{applied} of those commits had been applied (not sent again) and {resent} had not (sent again)")
        }
    };
    let session = if recovery.new_sessions > 0 { "; the session had expired, so a new one was made" } else { "" };
    format!(" (the connection dropped before ZooKeeper answered; ZooKeeper shows {found}{session})")
}
