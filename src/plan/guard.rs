//! The mass-deletion guard. A plan is flagged, for one managed service (one with a `jones-sync`
//! record), when it
//! - deletes more than half of the service's child environments (the root is not counted: it is
//!   never deleted while the service exists), or
//! - removes more than half of its associated hosts from the nodemap (a host that moves to another
//!   environment keeps an association and is not counted), or
//! - deletes the service whole (`--prune`).
//!
//! `apply` (and `apply FILE`, and `rollback`) refuses a flagged plan unless `--allow-mass-delete`,
//! naming what would go. "More than half" is strict: deleting one of two environments is not a
//! mass deletion, deleting the only one is. A service jones-sync does not manage yet is never
//! flagged: its first apply adopts whatever ZooKeeper holds, and the plan says so.
//!
//! [`assess`] works from the changes and the live state they were made from, which is all a plan
//! has, so the flag is part of the plan value: every rendering shows it, and a saved plan carries it
//! to `apply FILE`.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::render::rows as show;
use super::{Action, Change, Plan};
use crate::layout;
use crate::live::LiveService;

/// What a flagged plan deletes of one service; a service whose plan is not flagged has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MassDelete {
    /// The service is deleted whole (`--prune`).
    pub whole_service: bool,
    /// Child environments deleted (`prod/canary`), in path order.
    pub environments: Vec<String>,
    /// Child environments the service has now.
    pub environments_total: usize,
    /// Hosts whose association is removed from the nodemap, in name order.
    pub hosts: Vec<String>,
    /// Hosts associated now.
    pub hosts_total: usize,
}

/// The guard's verdict on one service's `changes`, made from `live`. `managed`: the service carries
/// a record; `whole`: the changes delete it whole.
pub fn assess(service: &str, managed: bool, whole: bool, live: &LiveService, changes: &[Change]) -> Option<MassDelete> {
    if !managed {
        return None;
    }
    // Child environments (`a/b`), by their conf node; read from the paths, without allocating:
    // every plan assesses every service.
    let environments: Vec<(&str, &str)> = live
        .nodes
        .keys()
        .filter_map(|path| Some((path.as_str(), layout::conf_env_name(service, path).filter(|env| !env.is_empty())?)))
        .collect();
    let deleted: BTreeSet<&str> =
        changes.iter().filter(|c| matches!(c.action, Action::Delete { .. })).map(|c| c.path.as_str()).collect();
    let gone_environments: Vec<String> =
        environments.iter().filter(|(conf, _)| deleted.contains(conf)).map(|(_, env)| env.to_string()).collect();

    let nodemap = layout::nodemaps(service);
    let before = live.nodes.get(&nodemap).map(|node| associations(&node.data)).unwrap_or_default();
    let after = match changes.iter().find(|c| c.path == nodemap).map(|c| &c.action) {
        Some(Action::Update { after, .. } | Action::Create { after }) => associations(after),
        Some(Action::Delete { .. }) => BTreeSet::new(),
        None => before.clone(),
    };
    let gone_hosts: Vec<String> = before.difference(&after).cloned().collect();

    let over_half = |gone: usize, total: usize| gone * 2 > total;
    let flagged =
        whole || over_half(gone_environments.len(), environments.len()) || over_half(gone_hosts.len(), before.len());
    flagged.then_some(MassDelete {
        whole_service: whole,
        environments: gone_environments,
        environments_total: environments.len(),
        hosts: gone_hosts,
        hosts_total: before.len(),
    })
}

/// The associations (host names) of nodemap data, in either format (JONES.md); none for an empty
/// or unreadable node.
fn associations(data: &[u8]) -> BTreeSet<String> {
    crate::nodemap::parse(data).map(|parsed| parsed.map.keys().cloned().collect()).unwrap_or_default()
}

impl MassDelete {
    /// `the whole service; 3 of 4 environments (a, a/b, c); 5 of 8 hosts (h1, ...)`, each name
    /// shown by `name`, at most `MAX_HOSTS` names per list.
    pub fn describe(&self, name: impl Fn(&str) -> String + Copy) -> String {
        let mut parts = Vec::new();
        if self.whole_service {
            parts.push("the whole service".to_string());
        }
        let mut list = |gone: &[String], total: usize, word: &str| {
            if !gone.is_empty() {
                let names = show::host_list(gone, name);
                parts.push(format!("{} of {} ({names})", gone.len(), show::count(total, word)));
            }
        };
        list(&self.environments, self.environments_total, "environment");
        list(&self.hosts, self.hosts_total, "host");
        parts.join("; ")
    }
}

/// The flagged services of a plan, by name.
pub fn flagged(plan: &Plan) -> Vec<(&str, &MassDelete)> {
    plan.services.iter().filter_map(|s| Some((s.name.as_str(), s.mass_delete.as_ref()?))).collect()
}

/// Why `apply` refuses a plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", refusal(.services))]
pub struct Refused {
    /// Each flagged service's name and what would go.
    pub services: Vec<(String, MassDelete)>,
}

fn refusal(services: &[(String, MassDelete)]) -> String {
    let mut message =
        String::from("refusing a mass deletion without --allow-mass-delete; nothing was written. What would go:");
    for (name, mass) in services {
        let _ = write!(message, "\n  {name}: {}", mass.describe(show::one_line));
    }
    message.push_str("\nreview the plan above, then pass --allow-mass-delete to apply it");
    message
}

/// Refuses a plan that the guard flags.
pub fn check(plan: &Plan) -> Result<(), Refused> {
    let services: Vec<(String, MassDelete)> =
        flagged(plan).into_iter().map(|(name, mass)| (name.to_string(), mass.clone())).collect();
    if services.is_empty() { Ok(()) } else { Err(Refused { services }) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::diff;
    use crate::plan::tests::{applied, service};

    type Envs<'a> = [(&'a str, serde_json::Value, &'a [&'a str])];

    /// The guard's verdict on changing `before` (applied, so managed) into `after`.
    fn verdict(before: &Envs, after: &Envs) -> Option<MassDelete> {
        let plan = diff(&[service("s", after)], &applied(&service("s", before)), &json!({}));
        plan.services[0].mass_delete.clone()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn deleting_more_than_half_of_the_child_environments_is_flagged() {
        let four: &Envs = &[
            ("", json!({}), &[]),
            ("a", json!({}), &[]),
            ("a/b", json!({}), &[]),
            ("c", json!({}), &[]),
            ("d", json!({}), &[]),
        ];
        // 2 of 4 (`a` and its child `a/b`): exactly half is not more than half.
        assert_eq!(verdict(four, &[("", json!({}), &[]), ("c", json!({}), &[]), ("d", json!({}), &[])]), None);
        // 3 of 4.
        assert_eq!(
            verdict(four, &[("", json!({}), &[]), ("d", json!({}), &[])]),
            Some(MassDelete {
                whole_service: false,
                environments: strings(&["a", "a/b", "c"]),
                environments_total: 4,
                hosts: vec![],
                hosts_total: 0,
            })
        );
        // The only environment of a service.
        let one: &Envs = &[("", json!({}), &[]), ("a", json!({}), &[])];
        assert_eq!(verdict(one, &[("", json!({}), &[])]).unwrap().environments, ["a"]);
        // A service without child environments has none to lose, whatever its root does.
        assert_eq!(verdict(&[("", json!({"k": 1}), &[])], &[("", json!({}), &[])]), None);
    }

    #[test]
    fn environments_are_matched_by_exact_path_not_by_prefix() {
        let before: &Envs =
            &[("", json!({}), &[]), ("a", json!({}), &[]), ("ab", json!({}), &[]), ("abc", json!({}), &[])];
        // `a` goes; `ab` and `abc` stay: 1 of 3.
        assert_eq!(verdict(before, &[("", json!({}), &[]), ("ab", json!({}), &[]), ("abc", json!({}), &[])]), None);
        let mass = verdict(before, &[("", json!({}), &[]), ("abc", json!({}), &[])]).unwrap();
        assert_eq!(mass.environments, ["a", "ab"]);
        assert_eq!(mass.environments_total, 3);
    }

    #[test]
    fn removing_more_than_half_of_the_hosts_is_flagged_and_moves_do_not_count() {
        let before: &Envs = &[("", json!({}), &[]), ("a", json!({}), &["h1", "h2", "h3"]), ("b", json!({}), &["h4"])];
        // Every host moves to `b`: nobody loses an association.
        assert_eq!(
            verdict(
                before,
                &[("", json!({}), &[]), ("a", json!({}), &[]), ("b", json!({}), &["h1", "h2", "h3", "h4"])]
            ),
            None
        );
        // 2 of 4 hosts removed (the others stay): not more than half.
        assert_eq!(
            verdict(before, &[("", json!({}), &[]), ("a", json!({}), &["h1"]), ("b", json!({}), &["h4"])]),
            None
        );
        // 3 of 4: h4 moves to `a`, the three others are removed.
        assert_eq!(
            verdict(before, &[("", json!({}), &[]), ("a", json!({}), &["h4"]), ("b", json!({}), &[])]),
            Some(MassDelete {
                whole_service: false,
                environments: vec![],
                environments_total: 2,
                hosts: strings(&["h1", "h2", "h3"]),
                hosts_total: 4,
            })
        );
        // Deleting an environment removes its hosts' associations too; both are named.
        let mass = verdict(before, &[("", json!({}), &[]), ("b", json!({}), &["h4"])]).unwrap();
        assert_eq!((mass.environments.as_slice(), mass.hosts.len()), (&strings(&["a"])[..], 3));
    }

    #[test]
    fn a_service_not_managed_yet_is_never_flagged() {
        let before = service("s", &[("", json!({}), &[]), ("a", json!({}), &["h1"]), ("b", json!({}), &[])]);
        let mut live = applied(&before);
        live.services.get_mut("s").unwrap().nodes.remove(&layout::record("s"));
        let plan = diff(&[service("s", &[("", json!({}), &[])])], &live, &json!({}));
        assert!(plan.services[0].changes.iter().filter(|c| matches!(c.action, Action::Delete { .. })).count() > 2);
        assert_eq!(plan.services[0].mass_delete, None);
        assert_eq!(check(&plan), Ok(()));
    }

    #[test]
    fn legacy_nodemaps_count_their_hosts() {
        assert_eq!(
            associations(b"a -> /services/s/views/x\nb -> /services/s/views/y"),
            BTreeSet::from(["a".to_string(), "b".to_string()])
        );
        assert!(associations(b"").is_empty());
        assert!(associations(b"[1]").is_empty());
    }

    #[test]
    fn the_refusal_names_what_would_go_with_counts_out_of_totals() {
        let before: &Envs = &[("", json!({}), &[]), ("a", json!({}), &["h1", "h2"]), ("b", json!({}), &[])];
        let plan = diff(&[service("s", &[("", json!({}), &[])])], &applied(&service("s", before)), &json!({}));
        assert_eq!(
            check(&plan).unwrap_err().to_string(),
            "refusing a mass deletion without --allow-mass-delete; nothing was written. What would go:\n  \
             s: 2 of 2 environments (a, b); 2 of 2 hosts (h1, h2)\n\
             review the plan above, then pass --allow-mass-delete to apply it"
        );
        let whole = MassDelete {
            whole_service: true,
            environments: vec![],
            environments_total: 0,
            hosts: (0..25).map(|i| format!("h{i:02}")).collect(),
            hosts_total: 25,
        };
        assert_eq!(
            whole.describe(show::one_line),
            "the whole service; 25 of 25 hosts (h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, \
             h13, h14, h15, h16, h17, h18, h19 and 5 more)"
        );
    }
}
