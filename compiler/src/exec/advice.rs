//! Which framework a model's parameters suggest, and warnings when the chosen dynamics
//! probably misread it (`spikeforge check`).
//!
//! Needs: a verified graph and the dynamics a run would use. Establishes: one line per
//! suspicious neuron node, naming the node, the evidence and the flag that fixes it. The
//! patterns are the exporters' own formulas (see [`super::semantics`]):
//!
//! | pattern | exporter |
//! |---|---|
//! | LIF `r = τ/1e-4` (input gain exactly 1 at dt = 1e-4) | snnTorch `Leaky` / `RLeaky` |
//! | CubaLIF `w_in = τ_syn/1e-4`, `r = τ_mem/1e-4` | snnTorch `Synaptic` / `RSynaptic` |
//! | IF `r = 1e4` | snnTorch `Leaky(beta=1)` (infinite τ, imported as IF) or SpikingJelly `IFNode` |
//! | IF `r = 1`, LIF `r = 1` with `τ ≥ 1` | Sinabs (time step 1); Norse's `IAFCell` also writes IF `r = 1` |
//! | LIF / CubaLIF `r = 1` (`w_in = 1`) with `τ ≤ 1e-3` | Norse (`τ = dt/τ⁻¹` at its dt = 1e-3) |
//! | LIF / CubaLIF `r = τ_mem·exp(−1e-3/τ_mem)/1e-3` | Rockpool (dt = 1e-3) |
//!
//! Independently of the source, a spiking node whose input gain at `dt` is below 1e-3
//! barely moves its membrane: nothing may ever spike, silently.

use super::dynamics::Dynamics;
use super::neuron::{NeuronCoefficients, NeuronKind};
use super::semantics::Semantics;
use crate::ir::{Graph, Op};

/// snnTorch's and SpikingJelly's exporters write their parameters with this time step.
const EXPORT_DT: f64 = 1e-4;
/// Norse's and Rockpool's default time step.
const NORSE_ROCKPOOL_DT: f64 = 1e-3;

/// Norse writes `r = 1` and `τ = dt/τ⁻¹`, far below its own time step for any τ⁻¹ ≥ 1/s.
fn norse_like(tau: &crate::ir::Tensor, r: &crate::ir::Tensor) -> bool {
    all(r, |_, r| r == 1.0) && all(tau, |_, t| t > 0.0 && t <= NORSE_ROCKPOOL_DT)
}

/// Rockpool writes `r = τ·exp(−dt/τ)/dt`.
fn rockpool_like(tau: &crate::ir::Tensor, r: &crate::ir::Tensor) -> bool {
    all(r, |i, r| {
        let t = tau.data()[i];
        close(r, t * (-NORSE_ROCKPOOL_DT / t).exp() / NORSE_ROCKPOOL_DT)
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1e-300)
}

fn all(v: &crate::ir::Tensor, f: impl Fn(usize, f64) -> bool) -> bool {
    v.data().iter().enumerate().all(|(i, &x)| f(i, x))
}

/// The semantics a node's parameters suggest, if any.
pub fn suggested(op: &Op) -> Option<Semantics> {
    match op {
        Op::LIF { tau, r, .. } => {
            if all(r, |i, r| close(r, tau.data()[i] / EXPORT_DT)) {
                Some(Semantics::SnnTorch)
            } else if all(r, |_, r| r == 1.0) && all(tau, |_, t| t >= 1.0) {
                Some(Semantics::Sinabs)
            } else if norse_like(tau, r) {
                Some(Semantics::Norse)
            } else if rockpool_like(tau, r) {
                Some(Semantics::Rockpool)
            } else {
                None
            }
        }
        Op::CubaLIF { tau_syn, tau_mem, r, w_in, .. } => {
            let syn = all(w_in, |i, w| close(w, tau_syn.data()[i] / EXPORT_DT));
            if syn && all(r, |i, r| close(r, tau_mem.data()[i] / EXPORT_DT)) {
                Some(Semantics::SnnTorch)
            } else if all(w_in, |_, w| w == 1.0) && norse_like(tau_mem, r) {
                Some(Semantics::Norse)
            } else if rockpool_like(tau_mem, r) {
                Some(Semantics::Rockpool)
            } else {
                None
            }
        }
        Op::IF { r, .. } if all(r, |_, r| r == 1.0) => Some(Semantics::Sinabs),
        _ => None,
    }
}

/// Warnings for `graph` run with `d`: each names the node and the flag that fixes it.
pub fn warnings(graph: &Graph, d: &Dynamics) -> Vec<String> {
    collect(graph, d, true)
}

/// Only the warnings about nodes that may never spike at `d` (what `run` prints).
pub fn silence_warnings(graph: &Graph, d: &Dynamics) -> Vec<String> {
    collect(graph, d, false)
}

fn collect(graph: &Graph, d: &Dynamics, hints: bool) -> Vec<String> {
    let mut out = Vec::new();
    for node in graph.node_ids() {
        let op = graph.op(node);
        let name = graph.name(node);
        let Some(kind) = NeuronKind::of(op) else { continue };
        if let Some(s) = suggested(op).filter(|_| hints) {
            if s != d.semantics {
                let why = match s {
                    Semantics::SnnTorch => "r = τ/1e-4 is how snnTorch exports Leaky/Synaptic (its default Leaky subtracts the threshold after the decay, one step late)",
                    Semantics::Sinabs => "r = 1 with a time constant in steps is how Sinabs exports IAF/LIF (time step 1, several spikes per step; Norse's IAFCell also writes r = 1: --semantics norse)",
                    Semantics::Norse => "r = 1 with τ ≤ 1e-3 s is how Norse exports LIF cells (it writes τ = dt/τ⁻¹, so its simulator decays by dt·(dt/τ))",
                    Semantics::Rockpool => "r = τ·exp(−dt/τ)/dt at dt = 1e-3 is how Rockpool exports LIFTorch (exponential decays, current added unscaled, several spikes per step)",
                    _ => "the parameters follow another framework's exporter",
                };
                out.push(format!("node `{name}`: {why}; run with --semantics {s} to reproduce that framework"));
            }
        }
        if matches!(kind, NeuronKind::LIF | NeuronKind::IF | NeuronKind::CubaLIF) {
            if let Some(c) = NeuronCoefficients::for_dynamics(op, d) {
                let gain = c.gain.iter().fold(0.0f64, |m, g| m.max(g.abs()));
                if gain < 1e-3 {
                    let hint = match suggested(op) {
                        Some(s) if s != d.semantics => format!("--semantics {s}"),
                        _ => format!("a larger --dt (now {:e} s)", d.dt),
                    };
                    out.push(format!(
                        "node `{name}`: at dt = {:e} s the input gain is at most {gain:.3e}, so its membrane barely moves and it may never spike; use {hint}",
                        d.dt
                    ));
                }
            }
        }
    }
    out
}
