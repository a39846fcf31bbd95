//! The f64 neuron update under any [`NeuronRule`]: one definition shared by the compiler's
//! reference executor and the simulator's exact mode, so the two agree bit for bit.
//!
//! ```text
//! Euler     LIF/LI  x = v + decay·(v_leak − v) + gain·I
//!           Cuba*   i ← i + syn_decay·(w_in·I − i);  x = v + decay·(v_leak − v) + gain·i
//! Multiply  LIF/LI  x = (1 − decay)·v + decay·v_leak + gain·I
//!           Cuba*   i ← (1 − syn_decay)·i + (syn_decay·w_in)·I;  x = (1 − decay)·v + decay·v_leak + gain·i
//! JumpThenEuler (Norse; r = gain/decay)
//!           LIF     x = v + decay·((r·I + v_leak) − v);   LI  x = v + decay·((v_leak − v) + r·I)
//!           Cuba*   i' = i + w_in·I;  x = v + decay·((v_leak − v) + r·i');  i ← i' − syn_decay·i'
//! JumpThenDecay (Rockpool)
//!           LIF     x = (1 − decay)·v + gain·I + decay·v_leak
//!           LI      x = (1 − decay)·(v + gain·I) + decay·v_leak       (ExpSynTorch)
//!           Cuba*   i ← (1 − syn_decay)·(i + w_in·I);  x = (1 − decay)·v + gain·i + decay·v_leak
//! CurrentLagged (Lava; LIF/LI as JumpThenDecay)
//!           Cuba*   x = (1 − decay)·v + gain·i + decay·v_leak;  then i ← (1 − syn_decay)·i + (syn_decay·w_in)·I
//! IF, I             x = v + gain·I
//! delayed reset     r = v[t−1] above θ;  ToVReset: v[t−1] ← v_reset before the update;
//!                   Subtract: x ← x − θ if r;  Discard: x ← v_reset if r
//! spike             one: s = x > θ (or ≥);  multi: n = trunc(x/θ) for x > 0
//! reset             immediate: Subtract x − n·θ, else v_reset;  delayed: none;
//!                   delayed-corrected: x − (s − r)·θ (Subtract) or x − (s − r)·x
//! ```
//!
//! No fused multiply-add is used (Rust never contracts).

use crate::coremap::{NeuronModel, NeuronRule, ResetRule, ResetTiming, SpikeTest, UpdateForm};
use crate::fixed::RealNeuron;

/// One step of one neuron. `state` is `(v, i)`; returns the output (spike count for spiking
/// models, `v` for LI/I/CubaLI, the input for Identity) and the number of spikes.
#[inline]
pub fn step_real(
    model: NeuronModel,
    rule: &NeuronRule,
    p: &RealNeuron,
    state: &mut (f64, f64),
    input: f64,
) -> (f64, u64) {
    let spiking = model.is_spiking();
    let above = |v: f64| match rule.spike_test {
        SpikeTest::Strict => v > p.v_threshold,
        SpikeTest::NonStrict => v >= p.v_threshold,
    };
    let r = spiking && rule.timing != ResetTiming::Immediate && above(state.0);
    if r && rule.reset == ResetRule::ToVReset {
        state.0 = p.v_reset;
    }
    let v = state.0;
    // Norse's bracketed form needs `r` itself; `gain = decay·r` (exact for r = 1).
    let r_in = if p.decay != 0.0 { p.gain / p.decay } else { 0.0 };
    let leaky = |v: f64, x: f64| match rule.form {
        UpdateForm::Euler => v + p.decay * (p.v_leak - v) + p.gain * x,
        UpdateForm::Multiply => (1.0 - p.decay) * v + p.decay * p.v_leak + p.gain * x,
        UpdateForm::JumpThenEuler if model == NeuronModel::LIF => v + p.decay * ((r_in * x + p.v_leak) - v),
        UpdateForm::JumpThenEuler => v + p.decay * ((p.v_leak - v) + r_in * x),
        // Rockpool's ExpSynTorch (an LI): the input jumps the state, then it decays.
        UpdateForm::JumpThenDecay if model == NeuronModel::LI => {
            (1.0 - p.decay) * (v + p.gain * x) + p.decay * p.v_leak
        }
        UpdateForm::JumpThenDecay | UpdateForm::CurrentLagged => (1.0 - p.decay) * v + p.gain * x + p.decay * p.v_leak,
    };
    let mut x = match model {
        NeuronModel::Input | NeuronModel::Identity => return (input, 0),
        NeuronModel::LIF | NeuronModel::LI => leaky(v, input),
        NeuronModel::IF | NeuronModel::I => v + p.gain * input,
        NeuronModel::CubaLIF | NeuronModel::CubaLI => {
            let c = state.1;
            // (the current the voltage step sees, the current stored for the next step)
            let (seen, kept) = match rule.form {
                UpdateForm::Euler => {
                    let c = c + p.syn_decay * (p.w_in * input - c);
                    (c, c)
                }
                UpdateForm::Multiply => {
                    let c = (1.0 - p.syn_decay) * c + (p.syn_decay * p.w_in) * input;
                    (c, c)
                }
                UpdateForm::JumpThenEuler => {
                    let jumped = c + p.w_in * input;
                    (jumped, jumped - p.syn_decay * jumped)
                }
                UpdateForm::JumpThenDecay => {
                    let c = (1.0 - p.syn_decay) * (c + p.w_in * input);
                    (c, c)
                }
                UpdateForm::CurrentLagged => (c, (1.0 - p.syn_decay) * c + (p.syn_decay * p.w_in) * input),
            };
            state.1 = kept;
            leaky(v, seen)
        }
    };
    if !spiking {
        state.0 = x;
        return (x, 0);
    }
    if r {
        x = match rule.reset {
            ResetRule::Subtract => x - p.v_threshold,
            ResetRule::Discard => p.v_reset,
            ResetRule::ToVReset => x,
        };
    }
    let n = if rule.multi_spike {
        if x > 0.0 {
            (x / p.v_threshold).trunc().max(0.0)
        } else {
            0.0
        }
    } else {
        above(x) as u8 as f64
    };
    let s = n > 0.0;
    state.0 = match rule.timing {
        ResetTiming::Delayed => x,
        ResetTiming::Immediate if !s => x,
        ResetTiming::Immediate => match rule.reset {
            ResetRule::Subtract => x - n * p.v_threshold,
            ResetRule::ToVReset | ResetRule::Discard => p.v_reset,
        },
        ResetTiming::DelayedCorrected => {
            let d = s as u8 as f64 - r as u8 as f64;
            match rule.reset {
                ResetRule::Subtract => x - d * p.v_threshold,
                ResetRule::ToVReset | ResetRule::Discard => x - d * x,
            }
        }
    };
    (n, n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lif(beta: f64) -> RealNeuron {
        RealNeuron { decay: 1.0 - beta, gain: 1.0, v_threshold: 1.0, ..Default::default() }
    }

    #[test]
    fn delayed_subtract_takes_the_threshold_off_after_the_decay() {
        // snnTorch Leaky, β = 0.5, θ = 1: v = 1.5 spikes; next step 0.5·1.5 + 0 − 1 = −0.25.
        let rule = NeuronRule {
            form: UpdateForm::Multiply,
            reset: ResetRule::Subtract,
            timing: ResetTiming::Delayed,
            ..NeuronRule::default()
        };
        let p = lif(0.5);
        let mut st = (0.0, 0.0);
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 1.5), (1.0, 1));
        assert_eq!(st.0, 1.5);
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 0.0), (0.0, 0));
        assert_eq!(st.0, -0.25);
        // NIR's immediate subtraction: (1.5 − 1)·0.5 = 0.25.
        let nir = NeuronRule { reset: ResetRule::Subtract, form: UpdateForm::Multiply, ..NeuronRule::default() };
        let mut st = (0.0, 0.0);
        step_real(NeuronModel::LIF, &nir, &p, &mut st, 1.5);
        step_real(NeuronModel::LIF, &nir, &p, &mut st, 0.0);
        assert_eq!(st.0, 0.25);
    }

    #[test]
    fn discard_drops_the_whole_update_after_a_spike() {
        let rule = NeuronRule {
            form: UpdateForm::Multiply,
            reset: ResetRule::Discard,
            timing: ResetTiming::Delayed,
            ..NeuronRule::default()
        };
        let p = lif(0.5);
        let mut st = (0.0, 0.0);
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 2.0).1, 1);
        // A large input the step after a spike is lost.
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 5.0).1, 0);
        assert_eq!(st.0, 0.0);
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 5.0).1, 1);
    }

    #[test]
    fn multi_spike_emits_the_count_and_subtracts_it() {
        let rule = NeuronRule {
            reset: ResetRule::Subtract,
            spike_test: SpikeTest::NonStrict,
            multi_spike: true,
            ..NeuronRule::default()
        };
        let p = RealNeuron { gain: 1.0, v_threshold: 1.0, ..Default::default() };
        let mut st = (0.0, 0.0);
        assert_eq!(step_real(NeuronModel::IF, &rule, &p, &mut st, 3.5), (3.0, 3));
        assert_eq!(st.0, 0.5);
        assert_eq!(step_real(NeuronModel::IF, &rule, &p, &mut st, -2.0), (0.0, 0));
        assert_eq!(st.0, -1.5);
    }

    /// A Cuba neuron with both decays 1/2 and θ = 10 (no spikes), r = w_in = 1.
    fn cuba() -> RealNeuron {
        RealNeuron { decay: 0.5, gain: 0.5, syn_decay: 0.5, w_in: 1.0, v_threshold: 10.0, ..Default::default() }
    }

    fn cuba_steps(form: UpdateForm, inputs: &[f64]) -> Vec<(f64, f64)> {
        let rule = NeuronRule { form, ..NeuronRule::default() };
        let mut st = (0.0, 0.0);
        inputs
            .iter()
            .map(|&x| {
                step_real(NeuronModel::CubaLIF, &rule, &cuba(), &mut st, x);
                st
            })
            .collect()
    }

    #[test]
    fn norse_jumps_the_current_before_the_voltage_step() {
        // i' = 0 + 4; v = 0 + 0.5·((0 − 0) + 4) = 2; i = 4 − 0.5·4 = 2.
        // i' = 2 + 0; v = 2 + 0.5·((0 − 2) + 2) = 2; i = 1.
        assert_eq!(cuba_steps(UpdateForm::JumpThenEuler, &[4.0, 0.0]), vec![(2.0, 2.0), (2.0, 1.0)]);
        // NIR's Euler: i = 0 + 0.5·(4 − 0) = 2; v = 0 + 0.5·2 = 1.
        assert_eq!(cuba_steps(UpdateForm::Euler, &[4.0]), vec![(1.0, 2.0)]);
    }

    #[test]
    fn rockpool_decays_the_jumped_current_and_lava_lags_it() {
        // Rockpool: i = 0.5·(0 + 4) = 2, v = 0.5·0 + 0.5·2 = 1 (gain as given); then
        // i = 0.5·(2 + 0) = 1, v = 0.5·1 + 0.5·1 = 1.
        assert_eq!(cuba_steps(UpdateForm::JumpThenDecay, &[4.0, 0.0]), vec![(1.0, 2.0), (1.0, 1.0)]);
        // Lava: v takes the stored current (0), then i = 0.5·0 + 0.5·1·4 = 2; next step
        // v = 0 + 0.5·2 = 1.
        assert_eq!(cuba_steps(UpdateForm::CurrentLagged, &[4.0, 0.0]), vec![(0.0, 2.0), (1.0, 1.0)]);
    }

    #[test]
    fn reset_delay_false_corrects_the_delayed_subtraction_in_the_same_step() {
        // snnTorch Leaky(β = 0.5, reset_delay=False): 1.5 spikes and is at once 0.5; then
        // 0.25 + 0 − (0 − 0)·θ.
        let rule = NeuronRule {
            form: UpdateForm::Multiply,
            reset: ResetRule::Subtract,
            timing: ResetTiming::DelayedCorrected,
            ..NeuronRule::default()
        };
        let p = lif(0.5);
        let mut st = (0.0, 0.0);
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 1.5), (1.0, 1));
        assert_eq!(st.0, 0.5);
        assert_eq!(step_real(NeuronModel::LIF, &rule, &p, &mut st, 0.0), (0.0, 0));
        assert_eq!(st.0, 0.25);
    }
}
