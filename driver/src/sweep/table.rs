//! The results CSV: one row per configuration, written and read back (for `sweep merge`).
//!
//! Columns: `config` (index in the whole grid), one column per grid key (the value applied),
//! then [`TAIL`]. Empty cells are figures that do not exist for the row (a configuration
//! that does not fit has no energy). `configs` and `sweep_id` repeat on every row so that
//! slices written by `--shard` can be checked to belong together.
//! **Invariant:** writing what was read gives the same bytes (reals are printed in Rust's
//! shortest round-trip form), so a merged CSV equals the unsharded one.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::pareto;

/// Columns after the grid keys.
pub const TAIL: [&str; 14] = [
    "status",
    "reason",
    "cores_available",
    "cores_used",
    "silicon_cost_bits",
    "sops_weight_layers_per_sample",
    "energy_pj_per_sample",
    "energy_unavailable",
    "latency_us_per_step",
    "cycles_per_step",
    "max_link_utilisation",
    "pareto",
    "configs",
    "sweep_id",
];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Compiled and simulated.
    Fits,
    /// The mapper's not-fit error (a layer exceeds a core, too few cores, routing tables).
    DoesNotFit,
    /// The overrides make the target break its own validation rules.
    InvalidTarget,
    /// The simulator refused or failed (e.g. a deadlock with small buffers).
    SimFailed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Fits => "fits",
            Status::DoesNotFit => "does_not_fit",
            Status::InvalidTarget => "invalid_target",
            Status::SimFailed => "sim_failed",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        [Status::Fits, Status::DoesNotFit, Status::InvalidTarget, Status::SimFailed].into_iter().find(|x| x.name() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub config: usize,
    /// The value of each grid key, in key order.
    pub params: Vec<String>,
    pub status: Status,
    /// Why it does not fit (the mapper's or the validator's message); empty when it fits.
    pub reason: String,
    pub cores_available: Option<u64>,
    pub cores_used: Option<u64>,
    /// Σ over the target's cores of synapse memory bits + max_neurons × neuron_state_bits.
    pub silicon_cost_bits: Option<u64>,
    pub sops_weight_layers_per_sample: Option<f64>,
    pub energy_pj_per_sample: Option<f64>,
    /// Energy components the target has no figure for (`;`-separated).
    pub energy_unavailable: String,
    /// Mean over samples and steps.
    pub latency_us_per_step: Option<f64>,
    pub cycles_per_step: Option<f64>,
    pub max_link_utilisation: Option<f64>,
    pub pareto: bool,
}

impl Row {
    /// The objectives, all minimised: energy per sample, latency per step, silicon cost.
    pub fn objectives(&self) -> Option<[f64; 3]> {
        match (self.status, self.energy_pj_per_sample, self.latency_us_per_step, self.silicon_cost_bits) {
            (Status::Fits, Some(e), Some(l), Some(c)) => Some([e, l, c as f64]),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub keys: Vec<String>,
    /// Configurations in the whole grid (a shard holds some of them).
    pub configs: usize,
    pub sweep_id: String,
    pub rows: Vec<Row>,
}

impl Table {
    /// Sets `pareto` on the rows that fit and that no other fitting row dominates.
    pub fn mark_pareto(&mut self) {
        let with: Vec<(usize, [f64; 3])> =
            self.rows.iter().enumerate().filter_map(|(i, r)| r.objectives().map(|o| (i, o))).collect();
        let points: Vec<[f64; 3]> = with.iter().map(|(_, o)| *o).collect();
        let on = pareto::front(&points);
        for r in &mut self.rows {
            r.pareto = false;
        }
        for ((i, _), on) in with.iter().zip(on) {
            self.rows[*i].pareto = on;
        }
    }

    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> =
            std::iter::once("config").chain(self.keys.iter().map(String::as_str)).chain(TAIL).collect();
        w.write_record(&header)?;
        for r in &self.rows {
            w.write_record(&self.record(r))?;
        }
        w.into_inner().map_err(|e| anyhow::anyhow!("formatting the CSV: {e}"))
    }

    /// One row as one CSV line, as [`Table::to_csv`] writes it (for the sweep journal).
    pub fn record_line(&self, r: &Row) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.record(r))?;
        w.into_inner().map_err(|e| anyhow::anyhow!("formatting the CSV: {e}"))
    }

    fn record(&self, r: &Row) -> Vec<String> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let mut rec = vec![r.config.to_string()];
        rec.extend(r.params.iter().cloned());
        rec.extend([
            r.status.name().to_string(),
            r.reason.clone(),
            opt(r.cores_available.map(|v| v.to_string())),
            opt(r.cores_used.map(|v| v.to_string())),
            opt(r.silicon_cost_bits.map(|v| v.to_string())),
            opt(r.sops_weight_layers_per_sample.map(|v| v.to_string())),
            opt(r.energy_pj_per_sample.map(|v| v.to_string())),
            r.energy_unavailable.clone(),
            opt(r.latency_us_per_step.map(|v| v.to_string())),
            opt(r.cycles_per_step.map(|v| v.to_string())),
            opt(r.max_link_utilisation.map(|v| v.to_string())),
            r.pareto.to_string(),
            self.configs.to_string(),
            self.sweep_id.clone(),
        ]);
        rec
    }

    /// Reads a CSV written by [`Table::to_csv`] (bytes of a file named `path`).
    pub fn from_csv(bytes: &[u8], path: &Path) -> Result<Table> {
        let name = path.display();
        let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
        let header: Vec<String> =
            r.headers().with_context(|| format!("{name}: not a CSV"))?.iter().map(str::to_string).collect();
        let n_keys = header.len().checked_sub(1 + TAIL.len());
        let ok = n_keys.is_some_and(|k| header[0] == "config" && header[1 + k..].iter().eq(TAIL.iter()));
        let Some(n_keys) = n_keys.filter(|_| ok) else {
            bail!("{name}: not a sweep results CSV (expected columns config, the grid keys, {})", TAIL.join(", "));
        };
        let keys = header[1..1 + n_keys].to_vec();
        let (mut configs, mut sweep_id) = (None, None);
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.with_context(|| format!("{name}: malformed CSV"))?;
            let line = rec.position().map_or(0, |p| p.line());
            let cell = |col: &str| -> &str {
                let i = header.iter().position(|h| h == col).unwrap_or(0);
                rec.get(i).unwrap_or("")
            };
            let ctx = |col: &str| format!("{name}:{line}: column `{col}` = `{}`", cell(col));
            let int = |col: &str| -> Result<Option<u64>> {
                let c = cell(col);
                (!c.is_empty()).then(|| c.parse::<u64>().with_context(|| ctx(col))).transpose()
            };
            let real = |col: &str| -> Result<Option<f64>> {
                let c = cell(col);
                (!c.is_empty()).then(|| c.parse::<f64>().with_context(|| ctx(col))).transpose()
            };
            let config = cell("config").parse::<usize>().with_context(|| ctx("config"))?;
            let status = Status::parse(cell("status")).with_context(|| ctx("status"))?;
            let pareto = cell("pareto").parse::<bool>().with_context(|| ctx("pareto"))?;
            let n = cell("configs").parse::<usize>().with_context(|| ctx("configs"))?;
            let id = cell("sweep_id").to_string();
            if *configs.get_or_insert(n) != n || *sweep_id.get_or_insert_with(|| id.clone()) != id {
                bail!("{name}:{line}: rows of different sweeps in one file (configs or sweep_id differ)");
            }
            rows.push(Row {
                config,
                params: (1..=n_keys).map(|i| rec.get(i).unwrap_or("").to_string()).collect(),
                status,
                reason: cell("reason").to_string(),
                cores_available: int("cores_available")?,
                cores_used: int("cores_used")?,
                silicon_cost_bits: int("silicon_cost_bits")?,
                sops_weight_layers_per_sample: real("sops_weight_layers_per_sample")?,
                energy_pj_per_sample: real("energy_pj_per_sample")?,
                energy_unavailable: cell("energy_unavailable").to_string(),
                latency_us_per_step: real("latency_us_per_step")?,
                cycles_per_step: real("cycles_per_step")?,
                max_link_utilisation: real("max_link_utilisation")?,
                pareto,
            });
        }
        Ok(Table { keys, configs: configs.unwrap_or(0), sweep_id: sweep_id.unwrap_or_default(), rows })
    }
}

/// Joins slices of one sweep: same grid keys and sweep id, every configuration exactly
/// once; rows in configuration order, Pareto recomputed over all of them.
pub fn merge(parts: Vec<(String, Table)>) -> Result<Table> {
    let Some((first_name, first)) = parts.iter().find(|(_, t)| !t.rows.is_empty()) else {
        bail!("the files to merge hold no rows");
    };
    let mut owner: Vec<Option<&str>> = vec![None; first.configs];
    for (name, t) in &parts {
        if t.keys != first.keys {
            bail!("{name} has grid keys [{}], {first_name} has [{}]", t.keys.join(", "), first.keys.join(", "));
        }
        if t.rows.is_empty() {
            continue;
        }
        if t.sweep_id != first.sweep_id || t.configs != first.configs {
            bail!(
                "{name} and {first_name} come from different sweeps (sweep_id {} of {} configurations vs {} of {}): \
                 the grid, model, input, target or options differ",
                t.sweep_id,
                t.configs,
                first.sweep_id,
                first.configs
            );
        }
        for r in &t.rows {
            match owner.get_mut(r.config) {
                None => bail!("{name}: config {} is outside the grid's {} configurations", r.config, first.configs),
                Some(Some(other)) => bail!("config {} appears twice (in {other} and {name})", r.config),
                Some(slot) => *slot = Some(name),
            }
        }
    }
    let missing: Vec<String> =
        owner.iter().enumerate().filter(|(_, o)| o.is_none()).map(|(i, _)| i.to_string()).collect();
    if !missing.is_empty() {
        let shown = missing.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
        let more = if missing.len() > 20 { ", …" } else { "" };
        bail!(
            "{} of {} configurations are missing: {shown}{more} (a shard not run or not given?)",
            missing.len(),
            first.configs
        );
    }
    let mut out =
        Table { keys: first.keys.clone(), configs: first.configs, sweep_id: first.sweep_id.clone(), rows: Vec::new() };
    out.rows = parts.into_iter().flat_map(|(_, t)| t.rows).collect();
    out.rows.sort_by_key(|r| r.config);
    out.mark_pareto();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(config: usize, status: Status, obj: Option<(f64, f64, u64)>) -> Row {
        Row {
            config,
            params: vec![format!("v{config}"), "a, \"quoted\"".to_string()],
            status,
            reason: if status == Status::Fits { String::new() } else { "layer `x` does not fit: 3 > 2".into() },
            cores_available: Some(4),
            cores_used: obj.map(|_| 2),
            silicon_cost_bits: obj.map(|o| o.2),
            sops_weight_layers_per_sample: obj.map(|_| 873.8),
            energy_pj_per_sample: obj.map(|o| o.0),
            energy_unavailable: String::new(),
            latency_us_per_step: obj.map(|o| o.1),
            cycles_per_step: obj.map(|o| o.1 * 100.0),
            max_link_utilisation: obj.map(|_| 0.1 + 0.2),
            pareto: false,
        }
    }

    fn table(rows: Vec<Row>) -> Table {
        let mut t =
            Table { keys: vec!["core.max_neurons".into(), "noc.x".into()], configs: 4, sweep_id: "ab12".into(), rows };
        t.mark_pareto();
        t
    }

    #[test]
    fn csv_round_trips_byte_for_byte() {
        let t = table(vec![
            row(0, Status::Fits, Some((1.0 / 3.0, 2.0, 10))),
            row(1, Status::DoesNotFit, None),
            row(2, Status::Fits, Some((1.0, 1.0, 10))),
            row(3, Status::Fits, Some((2.0, 3.0, 10))),
        ]);
        assert_eq!(t.rows.iter().map(|r| r.pareto).collect::<Vec<_>>(), [true, false, true, false]);
        let bytes = t.to_csv().unwrap();
        let back = Table::from_csv(&bytes, Path::new("t.csv")).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.to_csv().unwrap(), bytes);
    }

    #[test]
    fn merge_joins_slices_and_rejects_gaps_duplicates_and_strangers() {
        let all = [
            row(0, Status::Fits, Some((1.0, 2.0, 10))),
            row(1, Status::DoesNotFit, None),
            row(2, Status::Fits, Some((2.0, 1.0, 10))),
            row(3, Status::Fits, Some((3.0, 3.0, 5))),
        ];
        let whole = table(all.to_vec());
        let a = table(vec![all[0].clone(), all[2].clone()]);
        let b = table(vec![all[1].clone(), all[3].clone()]);
        let m = merge(vec![("b".into(), b.clone()), ("a".into(), a.clone())]).unwrap();
        assert_eq!(m, whole);

        let e = merge(vec![("a".into(), a.clone())]).unwrap_err().to_string();
        assert!(e.contains("2 of 4 configurations are missing: 1, 3"), "{e}");
        let e = merge(vec![("a".into(), a.clone()), ("b".into(), b.clone()), ("a2".into(), a.clone())]).unwrap_err();
        assert!(e.to_string().contains("config 0 appears twice (in a and a2)"), "{e}");
        let mut other = b.clone();
        other.sweep_id = "ffff".into();
        let e = merge(vec![("a".into(), a.clone()), ("c".into(), other)]).unwrap_err().to_string();
        assert!(e.contains("different sweeps"), "{e}");
        let mut keys = b;
        keys.keys[1] = "noc.y".into();
        let e = merge(vec![("a".into(), a), ("k".into(), keys)]).unwrap_err().to_string();
        assert!(e.contains("grid keys"), "{e}");
    }

    #[test]
    fn reading_rejects_other_csvs() {
        let e = Table::from_csv(b"a,b\n1,2\n", Path::new("x.csv")).unwrap_err().to_string();
        assert!(e.contains("x.csv: not a sweep results CSV"), "{e}");
        let mut bytes = table(vec![row(0, Status::Fits, Some((1.0, 1.0, 1)))]).to_csv().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap().replace(",fits,", ",maybe,");
        bytes = text.into_bytes();
        let e = Table::from_csv(&bytes, Path::new("x.csv")).unwrap_err().to_string();
        assert!(e.contains("x.csv:2: column `status` = `maybe`"), "{e}");
    }
}
