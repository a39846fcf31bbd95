//! Output files of commands: paths checked against the inputs and each other before any
//! work, and JSON that records the core map it describes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// What a path refers to: an existing file by device and inode (so hard links, symlinks
/// and `./x` vs `x` agree), a file yet to be written by its canonical folder and name.
#[derive(PartialEq, Eq)]
enum FileIdentity {
    Existing(u64, u64),
    New(PathBuf),
}

fn identity(path: &Path) -> Option<FileIdentity> {
    if let Ok(meta) = std::fs::metadata(path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            return Some(FileIdentity::Existing(meta.dev(), meta.ino()));
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            return std::fs::canonicalize(path).ok().map(FileIdentity::New);
        }
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(FileIdentity::New(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()).join(name)))
}

/// Refuses, before any work, an output that is one of the command's inputs (a typo such
/// as `-o model.nir` would destroy it) or that two outputs share (only the last would
/// survive). Entries are (what the path is, e.g. `--output`, and the path if given).
pub fn check_output_paths(inputs: &[(&str, Option<&Path>)], outputs: &[(&str, Option<&Path>)]) -> Result<()> {
    let known = |list: &[(&str, Option<&Path>)]| -> Vec<(String, PathBuf, FileIdentity)> {
        list.iter()
            .filter_map(|(what, p)| {
                let p = (*p)?;
                identity(p).map(|id| (what.to_string(), p.to_path_buf(), id))
            })
            .collect()
    };
    let (ins, outs) = (known(inputs), known(outputs));
    for (i, (what, path, id)) in outs.iter().enumerate() {
        if let Some((input, in_path, _)) = ins.iter().find(|(_, _, x)| x == id) {
            bail!(
                "{what} {} is the {input} {}: refusing to overwrite an input (choose another output path)",
                path.display(),
                in_path.display()
            );
        }
        if let Some((other, other_path, _)) = outs[..i].iter().find(|(_, _, x)| x == id) {
            bail!(
                "{other} {} and {what} {} are the same file: each output needs its own path",
                other_path.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// The key of a core map's fingerprint ([`spikeforge_targets::CoreMap::fingerprint`]) in
/// the JSON files written about it (stats, compile report).
pub const MAP_FINGERPRINT_KEY: &str = "map_fingerprint";

/// `value` as pretty JSON with the map's fingerprint as its first field.
pub fn json_with_fingerprint(value: &impl serde::Serialize, fingerprint: &str) -> Result<String> {
    let mut json = serde_json::Map::new();
    json.insert(MAP_FINGERPRINT_KEY.to_string(), fingerprint.into());
    match serde_json::to_value(value)? {
        serde_json::Value::Object(fields) => json.extend(fields),
        other => bail!("serialised as {other}, not an object"),
    }
    Ok(serde_json::to_string_pretty(&json)? + "\n")
}
