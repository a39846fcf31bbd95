//! Attribution (stats `cores` and `layers`, the per-step `critical_core`): on the golden
//! models, per-layer counts add up to the run's totals, per-layer energy to the run's
//! energy less static, the critical core ends the critical path, exact-mode spikes are
//! unchanged and everything is the same for any thread count.

mod golden_map;

use golden_map::root;
use spikeforge_simulator::{bottleneck, perfetto_json, simulate, vcd_text, SimOptions, SimResult, TraceOptions};
use spikeforge_targets::{load_target, preset, CoreMap, Target};

fn compiled(case: &str, target: &Target) -> (CoreMap, Vec<f64>, usize, usize) {
    golden_map::compiled(case, target, 12)
}

fn targets() -> Vec<Target> {
    vec![preset("loihi").unwrap().unwrap(), load_target(root().join("targets/test_4x4.ron")).unwrap()]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check_sums(r: &SimResult) {
    let s = &r.stats;
    let sum = |f: &dyn Fn(&spikeforge_simulator::LayerActivity) -> u64| s.layers.iter().map(f).sum::<u64>();
    assert_eq!(sum(&|l| l.sops_weight_layers), s.sops_weight_layers_total);
    assert_eq!(sum(&|l| l.sops_pooling), s.sops_pooling_total);
    assert_eq!(sum(&|l| l.synapse_reads), s.synapse_reads);
    assert_eq!(sum(&|l| l.neuron_updates), s.neuron_updates);
    assert_eq!(sum(&|l| l.spikes), s.spikes_per_layer.iter().map(|l| l.spikes).sum::<u64>());
    assert_eq!(sum(&|l| l.packets), s.packets);
    assert_eq!(sum(&|l| l.loopback_packets), s.loopback_packets);
    // Per core as well.
    assert_eq!(s.cores.len(), s.memory.len());
    for (c, m) in s.cores.iter().zip(&s.memory) {
        assert_eq!(c.core, m.core);
    }
    assert_eq!(s.cores.iter().map(|c| c.synapse_reads).sum::<u64>(), s.synapse_reads);
    assert_eq!(s.cores.iter().map(|c| c.neuron_updates).sum::<u64>(), s.neuron_updates);
    assert_eq!(s.cores.iter().map(|c| c.packets).sum::<u64>(), s.packets);
    assert_eq!(s.cores.iter().map(|c| c.busy_cycles).sum::<u64>(), s.layers.iter().map(|l| l.busy_cycles).sum::<u64>());
    // Every step with a critical core counts once per core.
    let with_core = r.steps.iter().filter(|r| !r.critical_core.is_empty()).count() as u64;
    assert_eq!(s.cores.iter().map(|c| c.critical_path_steps).sum::<u64>(), with_core);
    // Energy: the layers' known components add up to the run's, static left out.
    let e = &s.energy_pj;
    for (k, run) in [e.synapse, e.neuron, e.spike_out, e.routing].into_iter().enumerate() {
        let parts: Vec<Option<f64>> = s.layers.iter().map(|l| l.energy_pj.components()[k]).collect();
        match run {
            Some(run) => assert!(close(parts.iter().map(|p| p.unwrap()).sum(), run), "component {k}"),
            None => assert!(parts.iter().any(|p| p.is_none()), "component {k} unknown in the run but known per layer"),
        }
    }
    assert!(s.layers.iter().all(|l| l.energy_pj.static_.is_none()));
    if !e.partial {
        let layers: f64 = s.layers.iter().map(|l| l.energy_pj.total.unwrap()).sum();
        assert!(close(layers, e.total.unwrap() - e.static_.unwrap()), "{layers} vs {:?}", e);
    }
}

#[test]
fn layers_add_up_to_the_run_and_the_critical_core_ends_the_critical_path() {
    for case in ["digits_mlp", "digits_cnn"] {
        for target in targets() {
            let (map, x, n, t) = compiled(case, &target);
            let r = simulate(&map, &x, n, t, &SimOptions::default()).unwrap();
            check_sums(&r);
            assert_eq!(r.stats.layers.len(), map.populations.len() - 1, "every population but the input");
            assert!(bottleneck(&r.stats.layers).is_some(), "{case} on {}", target.spec().name);
            for row in &r.steps {
                assert!(!row.critical_core.is_empty(), "step {} of sample {}", row.step, row.sample);
                assert!(r.stats.cores.iter().any(|c| c.core == row.critical_core));
            }
        }
    }
}

#[test]
fn attribution_does_not_change_spikes_and_is_the_same_for_any_thread_count() {
    for target in targets() {
        let (map, x, n, t) = compiled("digits_cnn", &target);
        // Threads 1, 2, 3 and 5 time rounds of 1, 3, 4 and 4 steps; traces of sample 1
        // (a round holding one of its steps is timed in order, the others in parallel).
        let opts = |threads: usize| SimOptions {
            threads,
            trace: TraceOptions { vcd: true, perfetto: true, sample: 1, max_bytes: 1 << 22 },
            ..SimOptions::default()
        };
        let one = simulate(&map, &x, n, t, &opts(1)).unwrap();
        assert!(!one.trace.spikes().expect("the VCD fits").pulses.is_empty(), "sample 1 spikes");
        for threads in [2, 3, 5] {
            let other = simulate(&map, &x, n, t, &opts(threads)).unwrap();
            assert_eq!(one.outputs, other.outputs);
            assert_eq!(one.layer_spikes, other.layer_spikes);
            assert_eq!(one.stats, other.stats);
            assert_eq!(one.steps, other.steps);
            assert_eq!(vcd_text(&one).unwrap(), vcd_text(&other).unwrap(), "{threads} threads");
            assert_eq!(perfetto_json(&one).unwrap(), perfetto_json(&other).unwrap(), "{threads} threads");
        }
        let per_layer: Vec<u64> = one.stats.spikes_per_layer.iter().map(|l| l.spikes).collect();
        for l in &one.stats.spikes_per_layer {
            let a =
                one.stats.layers.iter().find(|a| a.population == l.population).expect("a layer per spiking population");
            assert_eq!(a.spikes, l.spikes);
        }
        assert!(per_layer.iter().sum::<u64>() > 0);
    }
}
