//! Which ZooKeeper clusters a command works on: with `[targets]` in `jones-sync.toml`, the targets
//! `--target` names (every one by default), each at its connect string (or `--zk`, when exactly
//! one target is named), in its wave; without `[targets]`, the one cluster of `--zk`.
//!
//! Pure: the connect strings are checked by the settings' reader, the credentials read by
//! [`crate::zk::connect`] under the name [`crate::zk::connect::target_auth_var`] gives.

use crate::repo::settings::Settings;

/// One target a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub name: String,
    /// Its connect string (`--zk` when it overrides the settings').
    pub zk: String,
    /// Only these services go to it; `None`: every service.
    pub services: Option<Vec<String>>,
    /// Its wave, from 0.
    pub wave: usize,
}

/// The targets of `settings` named by `wanted` (every one when empty), in wave order then file
/// order; `zk` overrides the address of the one target named. `None` without `[targets]`.
pub fn select(settings: &Settings, wanted: &[String], zk: Option<&str>) -> Result<Option<Vec<Selected>>, String> {
    if settings.targets.is_empty() {
        if let Some(name) = wanted.first() {
            return Err(format!(
                "--target `{name}`: jones-sync.toml has no `[targets]`, so every command works on the one cluster \
                 of --zk"
            ));
        }
        return Ok(None);
    }
    let known: Vec<&str> = settings.targets.iter().map(|t| t.name.get_ref().as_str()).collect();
    for name in wanted {
        if !known.contains(&name.as_str()) {
            let closest = known
                .iter()
                .map(|k| (strsim::damerau_levenshtein(name, k), *k))
                .filter(|(distance, _)| *distance <= (name.len() / 3).max(1) && *distance < name.len())
                .min();
            let hint = closest.map(|(_, k)| format!("; did you mean `{k}`?")).unwrap_or_default();
            return Err(format!("unknown target `{name}`: jones-sync.toml has {}{hint}", list(&known)));
        }
    }
    if zk.is_some() && wanted.len() != 1 {
        return Err(format!(
            "--zk with `[targets]` needs exactly one --target (its address is what --zk replaces); the targets are \
             {}",
            list(&known)
        ));
    }
    let waves = settings.waves();
    let mut selected = Vec::new();
    for (wave, names) in waves.iter().enumerate() {
        for name in names {
            if !wanted.is_empty() && !wanted.contains(name) {
                continue;
            }
            let target = settings.targets.iter().find(|t| t.name.get_ref() == name).expect("waves name targets");
            selected.push(Selected {
                name: name.clone(),
                zk: zk.map_or_else(|| target.zk.get_ref().clone(), str::to_string),
                services: target.services.as_ref().map(|s| s.iter().map(|n| n.get_ref().clone()).collect()),
                wave,
            });
        }
    }
    Ok(Some(selected))
}

/// For each of `items`, the index of the first item before it that is equal to it: what a plan
/// of several targets shows once (`None`: the first of its kind).
pub fn same_as<T: PartialEq>(items: &[T]) -> Vec<Option<usize>> {
    items.iter().enumerate().map(|(i, item)| items[..i].iter().position(|earlier| earlier == item)).collect()
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        crate::repo::settings::parse(
            "[targets.canary]\nzk = \"zk1:2181/canary\"\n[targets.use1]\nzk = \"zk1:2181\"\n\
             [targets.euw1]\nzk = \"zk9:2181\"\nservices = [\"shop\"]\n\
             [rollout]\nwaves = [[\"canary\"], [\"euw1\", \"use1\"]]\n",
        )
        .unwrap()
    }

    fn names(selected: &[Selected]) -> Vec<(&str, usize)> {
        selected.iter().map(|s| (s.name.as_str(), s.wave)).collect()
    }

    #[test]
    fn every_target_by_wave_or_the_ones_named() {
        let all = select(&settings(), &[], None).unwrap().unwrap();
        assert_eq!(names(&all), [("canary", 0), ("euw1", 1), ("use1", 1)]);
        assert_eq!(all[1].services, Some(vec!["shop".to_string()]));
        let one = select(&settings(), &["use1".into()], Some("zk7:2181")).unwrap().unwrap();
        assert_eq!((one[0].name.as_str(), one[0].zk.as_str()), ("use1", "zk7:2181"));
        assert_eq!(select(&Settings::default(), &[], None), Ok(None));
    }

    #[test]
    fn a_wrong_target_or_zk_is_said_before_anything_is_contacted() {
        assert!(select(&settings(), &["use2".into()], None).unwrap_err().contains("unknown target `use2`"));
        assert!(select(&settings(), &[], Some("zk7:2181")).unwrap_err().contains("needs exactly one --target"));
        assert!(select(&Settings::default(), &["a".into()], None).unwrap_err().contains("has no `[targets]`"));
    }

    #[test]
    fn equal_plans_point_at_the_first_of_their_kind() {
        assert_eq!(same_as(&["a", "b", "a", "b", "c"]), [None, None, Some(0), Some(1), None]);
        assert_eq!(same_as::<u8>(&[]), []);
    }
}
