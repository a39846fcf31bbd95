//! Where a chip's fixed-point neuron cannot follow a model's leak: the decays that
//! [`crate::fixed::quantize_neuron`] drops or rounds far from the model's. Needs a validated
//! core map; establishes one message per population whose hardware-mode dynamics differ from
//! the model's by more than rounding, so `compile` and `simulate --numeric hardware` can say
//! why hardware spikes differ (a chip with only a linear leak integrates an LIF layer as
//! integrate-and-fire and fires more).

use crate::chip::DecayFormat;
use crate::coremap::{CoreMap, NeuronModel};
use crate::fixed::RealNeuron;
use crate::numerics::decay_from_factor;

/// The relative error of a per-step decay above which it is reported (10 %).
pub const DECAY_RELATIVE_ERROR: f64 = 0.10;

/// The largest per-step loss `1 − β` among a population's neurons and the worst relative
/// error of the hardware's loss against it.
#[derive(Default, Clone, Copy)]
struct Worst {
    loss: f64,
    hw_loss: f64,
    error: f64,
}

/// One sentence per population whose membrane or synaptic decay the target's numerics
/// cannot represent within [`DECAY_RELATIVE_ERROR`], naming the population, the model's
/// decay per step and what the chip does instead.
pub fn decay_approximations(map: &CoreMap) -> Vec<String> {
    let n = &map.target.numerics;
    let mut worst = vec![(Worst::default(), Worst::default()); map.populations.len()];
    for core in &map.cores {
        let mut local = 0usize;
        for &(pop, _, count) in &core.groups {
            let model = map.populations[pop as usize].model;
            let leaky =
                matches!(model, NeuronModel::LIF | NeuronModel::LI | NeuronModel::CubaLIF | NeuronModel::CubaLI);
            let cuba = matches!(model, NeuronModel::CubaLIF | NeuronModel::CubaLI);
            for l in local..local + count as usize {
                if !leaky {
                    break;
                }
                let p = RealNeuron::from_params(&core.params, l);
                let w = &mut worst[pop as usize];
                note(&mut w.0, p.decay, n);
                if cuba {
                    note(&mut w.1, p.syn_decay, n);
                }
            }
            local += count as usize;
        }
    }
    let chip = &map.target.name;
    let mut out = Vec::new();
    for (pop, (membrane, synapse)) in map.populations.iter().zip(&worst) {
        for (what, w) in [("membrane", membrane), ("synaptic current", synapse)] {
            if w.error <= DECAY_RELATIVE_ERROR {
                continue;
            }
            let instead = match n.decay {
                DecayFormat::Linear { .. } => {
                    format!(
                        "`{chip}` has only a constant (linear) leak, so hardware mode integrates without this decay"
                    )
                }
                _ if w.hw_loss == 0.0 => format!("`{chip}`'s decay rounds it to 0: hardware mode does not leak"),
                _ => format!("`{chip}`'s decay makes it {:.4}", w.hw_loss),
            };
            out.push(format!(
                "layer `{}` ({:?}): its {what} loses {:.4} of its value per step; {instead} (expect different spike counts with --numeric hardware)",
                pop.name, pop.model, w.loss
            ));
        }
    }
    out
}

/// Records the decay `loss = 1 − β` of one neuron when its hardware loss is the worst yet.
fn note(w: &mut Worst, loss: f64, n: &crate::Numerics) {
    if !(loss.is_finite() && loss > 0.0) {
        return;
    }
    let hw_loss = match n.decay {
        DecayFormat::Linear { .. } => 0.0,
        _ => 1.0 - decay_from_factor(1.0 - loss, n).factor(),
    };
    let error = (hw_loss - loss).abs() / loss;
    if error > w.error {
        *w = Worst { loss, hw_loss, error };
    }
}
