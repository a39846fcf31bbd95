//! Time discretisation: the choices NIR leaves open, made explicit.
//!
//! NIR describes neurons in continuous time and stores no time step. spikeforge discretises
//! with forward Euler at step `dt` (default 1e-4 s, snnTorch's convention), in f64:
//!
//! ```text
//! LIF      a = dt/tau;  v ← v + a·(v_leak − v) + (a·r)·I
//! LI       the same, no spike; output is v
//! IF, I    v ← v + (dt·r)·I            (NIR: dv/dt = R·I)
//! CubaLIF  i ← i + a_syn·(w_in·I − i);  v ← v + a_mem·(v_leak − v) + (a_mem·r)·i   (new i)
//! CubaLI   the same, no spike; output is v
//! spike    s = v > v_threshold  (SpikeTest::Strict; NonStrict uses ≥)
//! reset    if s: v ← v_reset   (ResetRule::ToVReset; Subtract: v ← v − v_threshold)
//! Delay    y[t] = x[t − round(delay/dt)]
//! ```
//!
//! With snnTorch's export (tau = dt/(1−β), r = tau/dt) the LIF rule is v ← β·v + I, which
//! is what reproduces `../shared/golden` spike for spike.
//!
//! That table is the `nir` semantics, the default. Other frameworks' update orders, reset
//! timings and multi-spike neurons are named semantics ([`super::semantics`]); a
//! [`Dynamics`] resolves one [`NeuronRule`] per neuron node from them.

use std::fmt;
use std::str::FromStr;

use spikeforge_targets::coremap::{NeuronRule, ResetTiming};

use super::neuron::NeuronKind;
use super::semantics::{Semantics, SemanticsRules};

/// How the membrane potential is reset after a spike.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ResetRule {
    /// `v ← v_reset` (snnTorch `reset_mechanism="zero"` with v_reset = 0; NIR's definition).
    #[default]
    ToVReset,
    /// `v ← v − v_threshold` (snnTorch `reset_mechanism="subtract"`).
    Subtract,
}

/// When a neuron spikes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum SpikeTest {
    /// `v > v_threshold` (snnTorch's Heaviside).
    #[default]
    Strict,
    /// `v ≥ v_threshold`.
    NonStrict,
}

impl ResetRule {
    pub fn name(self) -> &'static str {
        match self {
            ResetRule::ToVReset => "to-v-reset",
            ResetRule::Subtract => "subtract",
        }
    }
}

impl SpikeTest {
    pub fn name(self) -> &'static str {
        match self {
            SpikeTest::Strict => "strict",
            SpikeTest::NonStrict => "non-strict",
        }
    }
}

impl fmt::Display for ResetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for SpikeTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ResetRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "to-v-reset" | "zero" => Ok(ResetRule::ToVReset),
            "subtract" => Ok(ResetRule::Subtract),
            _ => Err(format!("unknown reset rule `{s}` (use to-v-reset or subtract)")),
        }
    }
}

impl FromStr for SpikeTest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strict" | ">" => Ok(SpikeTest::Strict),
            "non-strict" | ">=" => Ok(SpikeTest::NonStrict),
            _ => Err(format!("unknown spike test `{s}` (use strict or non-strict)")),
        }
    }
}

/// The discretisation used to run a model.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Dynamics {
    /// Time step in seconds.
    pub dt: f64,
    pub reset: ResetRule,
    pub spike_test: SpikeTest,
    /// Whose update order and reset timing ([`super::semantics`]).
    pub semantics: Semantics,
    /// Overrides the semantics' reset timing.
    pub reset_timing: Option<ResetTiming>,
}

/// snnTorch's convention.
pub const DEFAULT_DT: f64 = 1e-4;

impl Default for Dynamics {
    fn default() -> Self {
        Dynamics::of(Semantics::Nir)
    }
}

impl Dynamics {
    /// A semantics with its own time step, reset and spike test.
    pub fn of(semantics: Semantics) -> Dynamics {
        Dynamics {
            dt: semantics.default_dt(),
            reset: semantics.default_reset(),
            spike_test: semantics.default_spike_test(),
            semantics,
            reset_timing: None,
        }
    }

    /// The rule of a neuron of `kind`; `recurrent` when its node is on a cycle.
    pub fn rule(&self, kind: NeuronKind, recurrent: bool) -> NeuronRule {
        self.semantics.rule(kind, recurrent, self.reset, self.spike_test, self.reset_timing)
    }

    /// The same choices in the core map's vocabulary (`spikeforge_targets::coremap`).
    pub fn to_map(&self) -> spikeforge_targets::coremap::MapDynamics {
        use spikeforge_targets::coremap as m;
        m::MapDynamics {
            dt_s: self.dt,
            reset: match self.reset {
                ResetRule::ToVReset => m::ResetRule::ToVReset,
                ResetRule::Subtract => m::ResetRule::Subtract,
            },
            spike_test: match self.spike_test {
                SpikeTest::Strict => m::SpikeTest::Strict,
                SpikeTest::NonStrict => m::SpikeTest::NonStrict,
            },
            semantics: self.semantics,
        }
    }
}

impl fmt::Display for Dynamics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "semantics {}, dt = {:e} s, reset {}, spike test {}",
            self.semantics, self.dt, self.reset, self.spike_test
        )?;
        if let Some(t) = self.reset_timing {
            write!(f, ", reset timing {}", super::semantics::reset_timing_name(t))?;
        }
        Ok(())
    }
}
