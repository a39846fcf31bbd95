//! Options shared by commands that load and run models.

use clap::Args;
use spikeforge_compiler::exec::{Dynamics, ResetRule, SpikeTest, DEFAULT_DT};
use spikeforge_compiler::limits::{Limits, DEFAULT_MAX_MEMORY_BYTES};

/// How NIR's continuous-time neurons are discretised (NIR stores no time step).
#[derive(Args, Clone, Debug)]
pub struct DynamicsArgs {
    /// Time step in seconds (snnTorch's convention is 1e-4).
    #[arg(long, default_value_t = DEFAULT_DT, value_parser = parse_dt, allow_hyphen_values = true)]
    pub dt: f64,
    /// Reset after a spike: `to-v-reset` (v ← v_reset, NIR's definition) or `subtract`
    /// (v ← v − v_threshold).
    #[arg(long, default_value = "to-v-reset")]
    pub reset: ResetRule,
    /// Spike when v > threshold (`strict`, snnTorch) or v ≥ threshold (`non-strict`).
    #[arg(long, default_value = "strict")]
    pub spike_test: SpikeTest,
}

impl DynamicsArgs {
    pub fn dynamics(&self) -> Dynamics {
        Dynamics { dt: self.dt, reset: self.reset, spike_test: self.spike_test }
    }
}

fn parse_dt(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("the time step must be a positive number of seconds, got {s}"))
    }
}

/// Resource limits.
#[derive(Args, Clone, Debug)]
pub struct LimitArgs {
    /// Memory budget that sizes read from files are checked against before allocation
    /// (bytes; K, M, G, T suffixes are powers of 1024).
    #[arg(long, value_parser = parse_bytes, default_value_t = DEFAULT_MAX_MEMORY_BYTES)]
    pub max_memory: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits::from_max_memory(self.max_memory)
    }
}

pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return Err(format!("unknown size suffix in `{s}` (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a size"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("`{s}` is not a positive size"));
    }
    Ok((n * mult as f64).min(u64::MAX as f64) as u64)
}
