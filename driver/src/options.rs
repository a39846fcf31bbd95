//! Options shared by commands that load and run models.

#[cfg(feature = "clap")]
use spikeforge_compiler::exec::semantics::parse_reset_timing;
use spikeforge_compiler::exec::{Dynamics, ResetRule, Semantics, SpikeTest};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::{Limits, DEFAULT_MAX_MEMORY_BYTES};
use spikeforge_targets::coremap::ResetTiming;

/// How NIR's continuous-time neurons are discretised (NIR stores no time step) and whose
/// update rules they follow.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct DynamicsArgs {
    /// Whose simulator to reproduce: nir (the default), snntorch, spikingjelly, sinabs,
    /// norse, rockpool or lava. Sets the time step, reset, spike test, reset timing and
    /// multi-spike neurons per neuron type (table: compiler/src/exec/semantics.rs); a
    /// `.snn` header `semantics=NAME` is used when this flag is absent.
    #[cfg_attr(feature = "clap", arg(long))]
    pub semantics: Option<Semantics>,
    /// Time step in seconds (default: the semantics', 1e-4 for nir and snnTorch).
    #[cfg_attr(feature = "clap", arg(long, value_parser = parse_dt, allow_hyphen_values = true))]
    pub dt: Option<f64>,
    /// Reset after a spike: `to-v-reset` (v ← v_reset, NIR's definition; snnTorch's "zero")
    /// or `subtract` (v ← v − v_threshold). Default: the semantics'.
    #[cfg_attr(feature = "clap", arg(long))]
    pub reset: Option<ResetRule>,
    /// Spike when v > threshold (`strict`, snnTorch) or v ≥ threshold (`non-strict`).
    /// Default: the semantics'.
    #[cfg_attr(feature = "clap", arg(long))]
    pub spike_test: Option<SpikeTest>,
    /// When the reset applies: `immediate` (in the spike's step), `delayed` (snnTorch's
    /// `reset_delay=True`) or `delayed-corrected` (snnTorch's `reset_delay=False`).
    /// Default: the semantics' rule per neuron type.
    #[cfg_attr(feature = "clap", arg(long, value_parser = parse_reset_timing))]
    pub reset_timing: Option<ResetTiming>,
}

impl DynamicsArgs {
    /// The dynamics for a model: the flag's semantics, else the model's declared one,
    /// else `nir`; explicit flags override the semantics' choices.
    pub fn resolve(&self, graph: &Graph) -> Dynamics {
        self.with_default(graph.semantics)
    }

    /// The dynamics without a model (`declared`: a bundle's semantics).
    pub fn with_default(&self, declared: Option<Semantics>) -> Dynamics {
        let base = Dynamics::of(self.semantics.or(declared).unwrap_or_default());
        Dynamics {
            dt: self.dt.unwrap_or(base.dt),
            reset: self.reset.unwrap_or(base.reset),
            spike_test: self.spike_test.unwrap_or(base.spike_test),
            reset_timing: self.reset_timing.or(base.reset_timing),
            ..base
        }
    }
}

#[cfg_attr(not(feature = "clap"), allow(dead_code))]
fn parse_dt(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("the time step must be a positive number of seconds, got {s}"))
    }
}

/// Resource limits.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct LimitArgs {
    /// Memory budget that sizes read from files are checked against before allocation
    /// (bytes; K, M, G, T suffixes are powers of 1024).
    #[cfg_attr(feature = "clap", arg(long, value_parser = parse_bytes, default_value_t = DEFAULT_MAX_MEMORY_BYTES))]
    pub max_memory: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        LimitArgs { max_memory: DEFAULT_MAX_MEMORY_BYTES }
    }
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

/// The grid of chips a target is used with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chips {
    /// `CxR`: `grid.chips = [C, R]`.
    Grid([u32; 2]),
    /// The smallest near-square grid the model maps onto.
    Auto,
}

impl Chips {
    pub fn parse(s: &str) -> Result<Chips, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(Chips::Auto);
        }
        let bad = || format!("`{s}` is not a grid of chips: write CxR (e.g. 4x3) or auto");
        let (x, y) = t.split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let x: u32 = x.trim().parse().map_err(|_| bad())?;
        let y: u32 = y.trim().parse().map_err(|_| bad())?;
        if x == 0 || y == 0 {
            return Err(format!("`{s}`: a grid needs at least one chip each way"));
        }
        Ok(Chips::Grid([x, y]))
    }
}

/// How the target named by `--target` is changed for this run: field overrides and the
/// grid of chips. Shared by every command that takes a target.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TargetArgs {
    /// Grid of chips: `CxR` (e.g. `4x3`) replaces the target's `grid.chips`; `auto` (where
    /// a model is mapped: compile, sweep) picks the smallest near-square grid the model
    /// fits on, starting from the chips lower bound, and says so on stderr.
    #[cfg_attr(feature = "clap", arg(long, value_name = "CxR|auto", value_parser = Chips::parse))]
    pub chips: Option<Chips>,
    /// Set a target field before use, `FIELD=VALUE` with the field paths of `sweep --grid`
    /// (`core.synapse_memory_kib=256`, `noc.mesh=4x4`, `core_types[NAME].in_axons=8192`);
    /// repeatable, applied in order, then `--chips`.
    #[cfg_attr(feature = "clap", arg(long = "set", value_name = "FIELD=VALUE"))]
    pub set: Vec<String>,
}

impl TargetArgs {
    pub fn is_auto(&self) -> bool {
        self.chips == Some(Chips::Auto)
    }

    /// Whether the flags change the target at all.
    pub fn changes_target(&self) -> bool {
        self.chips.is_some() || !self.set.is_empty()
    }

    /// Applies `--set` then a `--chips CxR` grid to `spec` (`auto` leaves the grid to the
    /// mapping). `file` names the target in messages.
    pub fn apply(&self, spec: &mut spikeforge_targets::TargetSpec, file: &str) -> anyhow::Result<()> {
        for a in &self.set {
            spikeforge_targets::overrides::apply_assignment(spec, a)
                .map_err(|e| anyhow::anyhow!("{file}: --set {e}"))?;
        }
        if let Some(Chips::Grid(g)) = self.chips {
            spec.grid.chips = g;
        }
        Ok(())
    }

    /// Refuses `--chips auto` where no model is mapped (`what` names the command).
    pub fn refuse_auto(&self, what: &str) -> anyhow::Result<()> {
        if self.is_auto() {
            anyhow::bail!(
                "--chips auto picks the grid a model maps onto; {what} maps no model (use --chips CxR, or \
                 `spikeforge compile --chips auto` to find the grid)"
            );
        }
        Ok(())
    }
}
