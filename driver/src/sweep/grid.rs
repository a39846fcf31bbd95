//! The `--grid` language and the configurations it spans.
//!
//! `KEY=[V1, V2, …]; KEY=V; …` — axes separated by `;` (or newlines), each a target field
//! path (see `spikeforge_targets::overrides`) and its values. Configurations are numbered
//! like nested loops in the order written: the first axis varies slowest, the last fastest.
//! **Invariant:** configuration `i` is the same assignment whatever the shard or thread count.

use std::fmt;

use anyhow::{bail, Result};
use spikeforge_targets::{overrides, TargetSpec};

/// Most configurations one sweep may span.
pub const MAX_CONFIGS: usize = 1_000_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// Parses the grid text (syntax only; see [`Grid::check`]).
    pub fn parse(text: &str) -> Result<Grid> {
        let mut axes: Vec<Axis> = Vec::new();
        for part in text.split([';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, vals)) = part.split_once('=') else {
                bail!("--grid: `{part}` is not KEY=[V1, V2, …]");
            };
            let key = key.trim();
            if key.is_empty() {
                bail!("--grid: `{part}` has no key before `=`");
            }
            let vals = vals.trim();
            let values: Vec<String> = match vals.strip_prefix('[') {
                Some(inner) => {
                    let Some(inner) = inner.strip_suffix(']') else {
                        bail!("--grid: `{key}`: the list `{vals}` is missing its closing `]`");
                    };
                    inner.split(',').map(|v| v.trim().to_string()).collect()
                }
                None => vec![vals.to_string()],
            };
            if values.iter().any(|v| v.is_empty()) {
                bail!("--grid: `{key}` has an empty value in `{vals}`");
            }
            if let Some(dup) = values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)) {
                bail!("--grid: `{key}` lists the value {} twice", dup.1);
            }
            if axes.iter().any(|a| a.key == key) {
                bail!("--grid: `{key}` is given twice");
            }
            axes.push(Axis { key: key.to_string(), values });
        }
        if axes.is_empty() {
            bail!("--grid is empty: give at least one KEY=[V1, V2, …]");
        }
        let grid = Grid { axes };
        let n = grid.axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.values.len()));
        match n {
            Some(n) if n <= MAX_CONFIGS => Ok(grid),
            _ => bail!("--grid spans more than {MAX_CONFIGS} configurations; split it into several sweeps"),
        }
    }

    /// Checks every key names a field and every value can be written into it (applied to a
    /// copy of `base`). Whether the resulting target is valid is left to each configuration.
    pub fn check(&self, base: &TargetSpec) -> Result<()> {
        for a in &self.axes {
            overrides::check_key(&a.key).map_err(|e| anyhow::anyhow!("--grid: {e}"))?;
            for v in &a.values {
                overrides::apply(&mut base.clone(), &a.key, v).map_err(|e| anyhow::anyhow!("--grid: {e}"))?;
            }
        }
        Ok(())
    }

    /// Number of configurations.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// The values of configuration `index` (< [`Grid::len`]), one per axis.
    pub fn config(&self, index: usize) -> Vec<&str> {
        let mut rest = index;
        let mut out = vec![""; self.axes.len()];
        for (slot, a) in out.iter_mut().zip(&self.axes).rev() {
            *slot = &a.values[rest % a.values.len()];
            rest /= a.values.len();
        }
        out
    }
}

/// Canonical text: `key=[v1,v2]; …` (whitespace removed from around values).
impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.axes.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}=[{}]", a.key, a.values.join(","))?;
        }
        Ok(())
    }
}

/// `--shard K/N`: the K-th of N slices (1-based). Configuration `i` belongs to shard
/// `i mod N + 1` (round robin, so slices of a grid whose first axis changes the cost a lot
/// still take similar time).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not K/N, e.g. 2/8"))?;
        let num = |t: &str| t.trim().parse::<usize>().map_err(|_| format!("`{s}` is not K/N, e.g. 2/8"));
        let (k, n) = (num(k)?, num(n)?);
        if n == 0 || k == 0 || k > n {
            return Err(format!("--shard {s}: need 1 ≤ K ≤ N"));
        }
        Ok(Shard { k, n })
    }

    pub fn contains(&self, config: usize) -> bool {
        config % self.n == self.k - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_nested_loops_in_written_order() {
        let g = Grid::parse("a.x=[1, 2]; b.y = [p,q,r]\n c.z=7;").unwrap();
        assert_eq!(g.len(), 6);
        let all: Vec<Vec<&str>> = (0..6).map(|i| g.config(i)).collect();
        assert_eq!(all[0], ["1", "p", "7"]);
        assert_eq!(all[1], ["1", "q", "7"]);
        assert_eq!(all[3], ["2", "p", "7"]);
        assert_eq!(all[5], ["2", "r", "7"]);
        assert_eq!(g.to_string(), "a.x=[1,2]; b.y=[p,q,r]; c.z=[7]");
        assert_eq!(Grid::parse(&g.to_string()).unwrap(), g);
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        for (text, want) in [
            ("", "empty"),
            ("a.x", "not KEY=[V1"),
            ("=[1]", "no key"),
            ("a.x=[1,2", "closing"),
            ("a.x=[1,,2]", "empty value"),
            ("a.x=[1,1]", "twice"),
            ("a.x=[1]; a.x=[2]", "given twice"),
        ] {
            let e = Grid::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let big = (0..7).map(|i| format!("k{i}=[1,2,3,4,5,6,7,8]")).collect::<Vec<_>>().join(";");
        assert!(Grid::parse(&big).unwrap_err().to_string().contains("more than"));
    }

    #[test]
    fn shards_partition_the_configurations() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard::parse(&format!("{k}/3")).unwrap()).collect();
        for i in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.contains(i)).count(), 1, "config {i}");
        }
        for bad in ["0/2", "3/2", "1/0", "1", "a/b"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
