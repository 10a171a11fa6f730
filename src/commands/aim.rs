//! Which ZooKeeper clusters a command talks to. Without `[targets]` in jones-sync.toml, the one
//! of `--zk` (or `JONES_SYNC_ZK`, or the default). With `[targets]`, the targets `--target` names
//! (every one by default, [`crate::targets::select`]), each at its own connect string with its
//! own credentials (`JONES_SYNC_ZK_AUTH_<TARGET>`, else the common ones); `--zk` then replaces the
//! address of the one target named, and `JONES_SYNC_ZK` is not used (the targets' addresses are
//! in the repository). A command on one cluster (`history`, `get`, `set`, ...) needs one target:
//! `--target`, or the only one there is.

use anyhow::bail;

use super::{Options, ZkFrom};
use crate::repo::settings::{self, Settings};
use crate::targets::Selected;

/// One target, and the options aimed at it.
pub(crate) struct Aimed {
    pub target: Selected,
    pub options: Options,
}

/// With `[targets]` in `settings`, each target the command works on, in wave order, with
/// `options` aimed at it; `None` without.
pub(crate) fn targets(options: &Options, settings: &Settings) -> anyhow::Result<Option<Vec<Aimed>>> {
    let zk = (options.zk_from == ZkFrom::Flag).then_some(options.zk.as_str());
    let Some(selected) = crate::targets::select(settings, &options.targets, zk).map_err(anyhow::Error::msg)? else {
        return Ok(None);
    };
    let aimed = selected.into_iter().map(|target| aim(options, target)).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(aimed))
}

/// `options` aimed at `target`: its connect string, and its own credentials when
/// `JONES_SYNC_ZK_AUTH_<TARGET>` is set.
pub(crate) fn aim(options: &Options, target: Selected) -> anyhow::Result<Aimed> {
    let from = if options.zk_from == ZkFrom::Flag { ZkFrom::Flag } else { ZkFrom::Target };
    let mut aimed = options.aimed_at(&target.zk, from)?;
    let var = crate::zk::connect::target_auth_var(&target.name);
    aimed.connect = options.connect.clone().with_auth_var(&var, |name| std::env::var_os(name))?;
    aimed.targets = vec![target.name.clone()];
    Ok(Aimed { target, options: aimed })
}

/// `options` for `command`, which reads or writes one cluster: unchanged without `[targets]` in
/// the work tree's jones-sync.toml, else aimed at the one target named (or the only one).
pub(crate) fn one(options: &Options, command: &str) -> anyhow::Result<Options> {
    let settings = work_tree_settings(options)?;
    let Some(mut aimed) = targets(options, &settings)? else { return Ok(options.clone()) };
    match aimed.len() {
        1 => Ok(aimed.remove(0).options),
        _ => {
            let names: Vec<String> = aimed.iter().map(|a| format!("`{}`", a.target.name)).collect();
            bail!(
                "`{command}` works on one ZooKeeper cluster, and jones-sync.toml has {} targets ({}): name one with \
                 --target",
                names.len(),
                names.join(", ")
            )
        }
    }
}

/// The settings of the repository's work tree (`jones-sync.toml`), or the defaults without one.
pub(crate) fn work_tree_settings(options: &Options) -> anyhow::Result<Settings> {
    settings::read_work_tree(&options.repo).map_err(anyhow::Error::msg)
}

/// How many targets are read or written at once.
pub(crate) const PARALLEL: usize = 8;

/// `work` done for each target, [`PARALLEL`] at a time, in their order; a failure is the
/// target's alone (said with its error chain), the others go on.
pub(crate) async fn each<'a, T>(
    aims: &'a [Aimed],
    work: impl AsyncFn(&'a Aimed) -> anyhow::Result<T>,
) -> Vec<Result<T, String>> {
    use futures::StreamExt;
    let work = &work;
    futures::stream::iter(aims)
        .map(|aim| async move { work(aim).await.map_err(|err| format!("{err:#}")) })
        .buffered(PARALLEL)
        .collect()
        .await
}

/// `names` as `` `a`, `b` ``.
pub(crate) fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
