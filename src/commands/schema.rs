//! `jones-sync schema SERVICE [--env ENV]`: the schema in effect for a service
//! (`services/SERVICE/schema.json` of the work tree) and, with `--env`, that environment's view
//! checked against it rule by rule: the quick answer to "why does validate reject this".

use std::process::ExitCode;

use anyhow::{Context, bail};

use super::{Options, out};
use crate::cli::SchemaArgs;
use crate::model::EnvPath;

pub(crate) fn run(options: &Options, args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let service = args.service.as_str();
    let file = format!("services/{service}/{}", crate::repo::SCHEMA_FILE);
    let path = options.repo.join(&file);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if !options.repo.join("services").join(service).is_dir() {
                bail!("no service `{service}` (no `services/{service}/`)");
            }
            out(&format!("`{service}` has no schema: `{file}` does not exist, so its values are not checked.\n"));
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{file}` is not JSON (`jones-sync validate` says where)"))?;
    let Some(env) = &args.env else {
        out(&format!("{file}:\n{}", if text.ends_with('\n') { text.clone() } else { format!("{text}\n") }));
        return Ok(ExitCode::SUCCESS);
    };
    // The views are the repository's as it reads (a violation makes that fail, so read without it).
    let schema =
        crate::schema::Schema::compile(&value).map_err(|why| anyhow::anyhow!("`{file}`: invalid schema: {why}"))?;
    let Some(state) = super::report(crate::desired::load_unchecked(&options.repo)?)? else {
        return Ok(ExitCode::FAILURE);
    };
    let Some(model) = state.service(service) else { bail!("no service `{service}` (no `services/{service}/`)") };
    let env = EnvPath::parse(env);
    if !model.envs.contains_key(&env) {
        bail!("`{service}` has no environment `{env}`");
    }
    out(&crate::schema::report(&schema, &value, &model, &env, &file));
    Ok(ExitCode::SUCCESS)
}
