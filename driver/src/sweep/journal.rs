//! The sweep journal: rows written as they finish, so a killed sweep loses nothing it
//! finished, and `--resume` carries on where it stopped.
//!
//! The journal is `OUTPUT.partial` beside the results: the results CSV's header, then one
//! row per finished configuration, in the order they finished, each line flushed when it is
//! complete. When the sweep ends, the results are written whole (rows in configuration
//! order, Pareto front marked) and the journal is removed.
//!
//! **Resuming** reads the journal, or the results themselves when an earlier run finished,
//! keeps the rows of this very sweep (same grid keys, configuration count and sweep id:
//! every input and option that changes a row is in the id) and evaluates only the rest.
//! A line cut short by a kill is dropped, and that configuration is evaluated again.
//! **Invariant:** a resumed sweep writes the same bytes as one that ran without a break.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

use super::table::{Row, Table};

/// Where the journal of `output` lives.
pub fn journal_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

/// Rows of an earlier run of the same sweep, read from `path` (a journal or a results CSV).
/// `None` when there is no such file.
pub fn read_finished(path: &Path, like: &Table, max_bytes: u64) -> Result<Option<Vec<Row>>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    if meta.len() > max_bytes {
        bail!(
            "{}: {} bytes, above the memory limit of {max_bytes} (raise it with --max-memory)",
            path.display(),
            meta.len()
        );
    }
    let mut bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    // A kill can cut the last line short: keep whole lines only.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(whole);
    if bytes.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let earlier = Table::from_csv(&bytes, path)?;
    if earlier.keys != like.keys {
        bail!(
            "{}: grid keys [{}] differ from this sweep's [{}]: not the same sweep (remove the file or drop --resume)",
            path.display(),
            earlier.keys.join(", "),
            like.keys.join(", ")
        );
    }
    if !earlier.rows.is_empty() && (earlier.sweep_id != like.sweep_id || earlier.configs != like.configs) {
        bail!(
            "{}: rows of sweep {} ({} configurations), this is sweep {} ({}): the grid, model, input, target \
             or options changed (remove the file or drop --resume)",
            path.display(),
            earlier.sweep_id,
            earlier.configs,
            like.sweep_id,
            like.configs
        );
    }
    Ok(Some(earlier.rows))
}

/// Appends finished rows to the journal; shared by the worker threads.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    table: Table,
}

impl Journal {
    /// Starts a journal at `path` holding `done` (rows carried over from an earlier run).
    /// `table` gives the keys, configuration count and sweep id of every row.
    pub fn create(path: &Path, table: &Table, done: &[Row]) -> Result<Journal> {
        let head = Table { rows: done.to_vec(), ..table.clone() };
        let bytes = head.to_csv()?;
        let mut file =
            File::create(path).with_context(|| format!("{}: cannot create the sweep journal", path.display()))?;
        file.write_all(&bytes).and_then(|_| file.flush()).with_context(|| format!("writing {}", path.display()))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            table: Table { rows: Vec::new(), ..table.clone() },
        })
    }

    /// Writes one finished row as one line.
    pub fn append(&self, row: &Row) -> Result<()> {
        let line = self.table.record_line(row)?;
        let mut f = self.file.lock().map_err(|_| anyhow::anyhow!("the sweep journal's lock was poisoned"))?;
        f.write_all(&line).and_then(|_| f.flush()).with_context(|| format!("writing {}", self.path.display()))
    }

    /// Removes the journal once the results are written.
    pub fn finish(self) -> Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path).with_context(|| format!("removing {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::table::Status;

    fn row(config: usize) -> Row {
        Row {
            config,
            params: vec![format!("{}", 4 << config)],
            status: Status::DoesNotFit,
            reason: "layer `x` needs 3 cores, \"2\" available".into(),
            cores_available: Some(2),
            cores_used: None,
            silicon_cost_bits: Some(100),
            sops_weight_layers_per_sample: None,
            energy_pj_per_sample: None,
            energy_unavailable: String::new(),
            latency_us_per_step: None,
            cycles_per_step: None,
            max_link_utilisation: None,
            pareto: false,
        }
    }

    fn table() -> Table {
        Table { keys: vec!["core.max_neurons".into()], configs: 3, sweep_id: "00ff".into(), rows: Vec::new() }
    }

    #[test]
    fn journal_lines_read_back_and_a_cut_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.partial");
        let j = Journal::create(&path, &table(), &[row(2)]).unwrap();
        j.append(&row(0)).unwrap();
        let rows = read_finished(&path, &table(), 1 << 20).unwrap().unwrap();
        assert_eq!(rows, vec![row(2), row(0)]);
        // A kill in the middle of a line: that row is dropped, the others stay.
        j.append(&row(1)).unwrap();
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 5]).unwrap();
        let rows = read_finished(&path, &table(), 1 << 20).unwrap().unwrap();
        assert_eq!(rows, vec![row(2), row(0)]);
        j.finish().unwrap();
        assert!(!path.exists());
        assert!(read_finished(&path, &table(), 1 << 20).unwrap().is_none());
    }

    #[test]
    fn rows_of_another_sweep_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.partial");
        Journal::create(&path, &table(), &[row(1)]).unwrap();
        let mut other = table();
        other.sweep_id = "1234".into();
        let e = read_finished(&path, &other, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("rows of sweep 00ff") && e.contains("--resume"), "{e}");
        other = table();
        other.keys = vec!["noc.mesh".into()];
        let e = read_finished(&path, &other, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("grid keys"), "{e}");
    }

    #[test]
    fn journal_sits_beside_the_results() {
        assert_eq!(journal_path(Path::new("out/r.csv")), Path::new("out/r.csv.partial"));
        assert_eq!(journal_path(Path::new("r.csv")), Path::new("r.csv.partial"));
    }
}
