//! Loading a target (a .ron file or a preset name) with `--set` and `--chips` applied,
//! checked against the memory limits; every command that takes a target uses it.

use std::path::Path;

use anyhow::{bail, Result};
use spikeforge_compiler::limits::Limits;
use spikeforge_targets::{parse_spec, preset_spec, Target, TargetError, TargetSpec, PRESETS};

use crate::options::TargetArgs;

/// Loads a target from a path, or from a preset name when no such file exists, with
/// `--set` and `--chips CxR` applied (`--chips auto` is refused: it needs a model, see
/// [`load_spec`]); its cores and neurons per core are checked against `limits` before the
/// cores are numbered.
pub fn load_with(spec: &str, args: &TargetArgs, limits: &Limits) -> Result<Target> {
    args.refuse_auto("loading a target alone")?;
    let (parsed, file) = load_spec(spec, args, limits)?;
    Ok(Target::from_spec(parsed, &file)?)
}

/// The target's spec with `--set` and `--chips CxR` applied, and the file name that
/// names it in messages; checked against `limits`, not yet validated.
pub fn load_spec(spec: &str, args: &TargetArgs, limits: &Limits) -> Result<(TargetSpec, String)> {
    let path = Path::new(spec);
    let (parsed, file) = if path.exists() || spec.ends_with(".ron") {
        let file = path.display().to_string();
        let len = std::fs::metadata(path).map_err(|source| TargetError::Io { file: file.clone(), source })?.len();
        if len > limits.max_memory_bytes() {
            bail!(
                "{file}: {len} bytes, above the memory limit of {} (raise it with --max-memory)",
                limits.max_memory_bytes()
            );
        }
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Io { file: file.clone(), source })?;
        (parse_spec(&text, &file)?, file)
    } else {
        match preset_spec(spec) {
            Some(parsed) => (parsed?, format!("{spec}.ron")),
            None => bail!("`{spec}` is neither a target file nor a preset (presets: {})", PRESETS.join(", ")),
        }
    };
    let mut parsed = parsed;
    args.apply(&mut parsed, &file)?;
    limits.check_target(&parsed, &file)?;
    Ok((parsed, file))
}
