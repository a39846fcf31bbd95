//! Every op the mapper lowers, on every preset: linear chains multiplied out (with biases
//! carried through), source-side pooling with scaling, Conv1d, Threshold, every neuron
//! model, direct neuron-to-neuron edges, several inputs into one population, recurrent
//! edges, linear readouts. Maps are checked against the reference executor (weights are
//! dyadic, so sums are exact in any order) and, where no weight layers are multiplied
//! together, their synaptic events against the executor's SOP counts.

mod mapper_common;

use mapper_common::{check_limits, check_map, conv_kernels, golden, run_map, snn, target};
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{calibration_from_run, compile, CompileOptions, MapError, PlacementMethod};
use spikeforge_compiler::synth::{deep_conv_net, Rng};
use spikeforge_targets::coremap::{NeuronModel, ProjectionKind};
use spikeforge_targets::PRESETS;

/// Every op kind but Delay in one chain; the linear ops before `th` become one matrix.
const CHAIN: &str = r#"snn 1
in = Input<shape=[1, 6, 6]>()
c2 = Conv2d<weight=full([2, 1, 3, 3], 0.125), bias=[0.0, 0.5], padding=[1, 1]>(in)
sp = SumPool2d<kernel_size=[2, 2]>(c2)
ap = AvgPool2d<kernel_size=2, stride=1, padding=[0, 0]>(sp)
fl = Flatten<start_dim=1, end_dim=2>(ap)
c1 = Conv1d<weight=full([3, 2, 2], 0.25), stride=[1]>(fl)
fl2 = Flatten(c1)
aff = Affine<weight=full([8, 9], 0.0625), bias=0.125>(fl2)
sc = Scale<scale=full([8], 2.0)>(aff)
th = Threshold<threshold=[0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 2.0, 2.0]>(sc)
i = I<r=full([8], 1.0)>(th)
if = IF<r=full([8], 10000.0), v_threshold=1.0>(th, i)
li = LI<tau=full([8], 0.0002), r=2.0, v_leak=0.0>(if)
lif = LIF<tau=full([8], 0.0002), r=2.0, v_leak=0.0, v_threshold=0.75>(li, if)
cli = CubaLI<tau_syn=full([8], 0.0002), tau_mem=0.0002, r=2.0, v_leak=0.0>(lif)
clif = CubaLIF<tau_syn=full([8], 0.0002), tau_mem=0.0002, r=2.0, v_leak=0.0, v_threshold=0.5, w_in=0.5>(cli, lif)
lin = Linear<weight=full([4, 8], 0.25)>(clif)
out = Output<shape=[4]>(lin)
"#;

/// Scale and sum pooling after a population become its source pool; Conv1d after a Flatten.
const POOLED: &str = r#"snn 1
in = Input<shape=[2, 6, 6]>()
c = Conv2d<weight=full([3, 2, 3, 3], 0.125), bias=[0.0, 0.25, -0.25], padding=[1, 1]>(in)
l1 = LIF<tau=full([3, 6, 6], 0.0002), r=2.0, v_leak=0.0, v_threshold=0.5>(c)
sc = Scale<scale=full([3, 6, 6], 0.5)>(l1)
sp = SumPool2d<kernel_size=[2, 2]>(sc)
c2 = Conv2d<weight=full([4, 3, 2, 2], 0.25), bias=[0.5, 0.0, 0.0, 0.25]>(sp)
l2 = IF<r=full([4, 2, 2], 10000.0), v_threshold=1.0>(c2)
fl = Flatten<start_dim=1, end_dim=2>(l2)
c1 = Conv1d<weight=full([2, 4, 3], 0.25), padding=[1]>(fl)
l3 = CubaLIF<tau_syn=full([2, 4], 0.0002), tau_mem=0.0002, r=2.0, v_leak=0.0, v_threshold=0.5>(c1)
out = Output<shape=[8]>(l3)
"#;

/// Affine → Affine multiplied out, a recurrent Linear, a direct edge and two inputs.
const BRANCHES: &str = r#"snn 1
in = Input<shape=[6]>()
a = Affine<weight=[[0.5, 0.25, 0.0, 0.0, 0.5, 0.0], [0.0, 0.5, 0.5, 0.25, 0.0, 0.0], [0.25, 0.0, 0.0, 0.5, 0.5, 0.25],
                   [0.0, 0.0, 0.25, 0.0, 0.5, 1.0]], bias=full([4], 0.25)>(in)
b = Affine<weight=[[1.0, 0.5, 0.0, 0.0], [0.0, 1.0, 0.5, 0.0], [0.0, 0.0, 1.0, 0.5], [0.5, 0.0, 0.0, 1.0],
                   [0.25, 0.25, 0.25, 0.25]], bias=full([5], 0.125)>(a)
n1 = LIF<tau=full([5], 0.0002), r=2.0, v_leak=0.0, v_threshold=1.0>(b, r)
r = Linear<weight=[[0.0, 0.5, 0.0, 0.0, -0.5], [0.5, 0.0, 0.5, 0.0, 0.0], [0.0, 0.5, 0.0, 0.5, 0.0],
                   [0.0, 0.0, 0.5, 0.0, 0.5], [-0.5, 0.0, 0.0, 0.5, 0.0]]>(n1)
n2 = LIF<tau=full([5], 0.0002), r=2.0, v_leak=0.0, v_threshold=1.0>(n1, b)
o = Output<shape=[5]>(n2)
"#;

fn check_on_every_preset(name: &str, source: &str, sops_exact: bool) {
    let (g, v) = snn(source);
    let limits = Limits::default();
    let exec = Executor::new(&g, &v, Dynamics::default(), &limits).unwrap();
    let n_in = exec.input_shape().dims().iter().product::<usize>();
    let (n, t) = (3, 10);
    let x = Rng::new(5).spikes(n * t * n_in, 0.4);
    let want = exec.run(&x, n, t, 1);
    let mut mapped = 0;
    for preset in PRESETS.iter().copied().chain(["test_4x4"]) {
        let target = target(preset);
        match compile(&g, &v, &target, Dynamics::default(), &CompileOptions::default()) {
            Ok((map, report)) => {
                mapped += 1;
                check_map(&map);
                check_limits(&map, &conv_kernels(&g, &map));
                assert!(report.cores_lower_bound as usize <= map.cores.len());
                let got = run_map(&map, &x, n, t);
                assert_eq!(got.output, want.output, "{name} on {preset}: outputs differ from the executor");
                if sops_exact {
                    assert_eq!(got.weight_sops, want.sops_weight_layers(), "{name} on {preset}: weight SOPs");
                    assert_eq!(got.pool_sops, want.sops_pooling(), "{name} on {preset}: pooling SOPs");
                }
            }
            Err(
                e @ (MapError::DoesNotFit { .. } | MapError::FanInTooLarge { .. } | MapError::NotEnoughCores { .. }),
            ) => {
                eprintln!("{name} does not fit {preset}: {e}");
            }
            Err(e) => panic!("{name} on {preset}: {e}"),
        }
    }
    assert!(mapped >= 3, "{name} mapped on only {mapped} presets");
}

#[test]
fn chain_of_every_op_kind() {
    check_on_every_preset("chain", CHAIN, false);
    let (g, v) = snn(CHAIN);
    let (map, _) = compile(&g, &v, &target("loihi"), Dynamics::default(), &CompileOptions::default()).unwrap();
    let names: Vec<&str> = map.populations.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["in", "th", "i", "if", "li", "lif", "cli", "clif", "lin"]);
    let models: Vec<NeuronModel> = map.populations.iter().map(|p| p.model).collect();
    use NeuronModel::*;
    assert_eq!(models, [Input, LIF, I, IF, LI, LIF, CubaLI, CubaLIF, Identity]);
    let p = &map.projections[0];
    assert_eq!((p.name.as_str(), p.pool.is_none()), ("c2+sp+ap+fl+c1+fl2+aff+sc", true));
    // The direct edges between neurons are fixed one-to-one maps without weights or pooling
    // (no SOPs, as the executor counts them).
    let direct = map.projections.iter().find(|p| p.name == "th->i").expect("direct edge th → i");
    assert_eq!(direct.kind, ProjectionKind::Weightless);
}

#[test]
fn pooled_sources_and_conv1d() {
    check_on_every_preset("pooled", POOLED, true);
    let (g, v) = snn(POOLED);
    let (map, _) = compile(&g, &v, &target("loihi"), Dynamics::default(), &CompileOptions::default()).unwrap();
    let p = map.projections.iter().find(|p| p.name == "sc+sp+c2").expect("pooled projection");
    assert_eq!(p.kind, ProjectionKind::Conv);
    let pool = p.pool.as_ref().expect("scale and pooling before the conv are the source pool");
    assert_eq!((p.n_events, pool.event.len()), (3 * 3 * 3, 3 * 6 * 6));
    assert!(pool.factor.iter().all(|&f| f == 0.5));
    let c1 = map.projections.iter().find(|p| p.name == "fl+c1").expect("conv1d projection");
    assert_eq!((c1.kind, c1.pool.is_none()), (ProjectionKind::Conv, true));
}

#[test]
fn branches_recurrence_and_multiplied_layers() {
    check_on_every_preset("branches", BRANCHES, false);
    let (g, v) = snn(BRANCHES);
    let (map, _) = compile(&g, &v, &target("loihi"), Dynamics::default(), &CompileOptions::default()).unwrap();
    let names: Vec<(&str, bool)> = map.projections.iter().map(|p| (p.name.as_str(), p.recurrent)).collect();
    assert_eq!(names, [("a+b", false), ("r", true), ("n1->n2", false), ("a+b", false)]);
    // b's bias plus a's bias through b: 0.125 + 0.25·(row sums of b).
    let c = &map.cores[0];
    let n1 = c.groups.iter().scan(0, |off, g| {
        let o = *off;
        *off += g.2;
        Some((g.0, o))
    });
    let off = n1.into_iter().find(|(p, _)| *p == 1).unwrap().1 as usize;
    assert_eq!(&c.params.bias[off..off + 5], &[0.5, 0.5, 0.5, 0.5, 0.375]);
}

#[test]
fn golden_models_on_every_preset_fit_or_name_the_resource() {
    for case in ["digits_mlp", "digits_cnn", "rsnn_random"] {
        let (g, v) = golden(case);
        for preset in PRESETS {
            match compile(&g, &v, &target(preset), Dynamics::default(), &CompileOptions::default()) {
                Ok((map, _)) => {
                    check_map(&map);
                    check_limits(&map, &conv_kernels(&g, &map));
                }
                Err(MapError::DoesNotFit { .. } | MapError::FanInTooLarge { .. } | MapError::NotEnoughCores { .. }) => {
                }
                Err(e) => panic!("{case} on {preset}: {e}"),
            }
        }
    }
}

#[test]
fn speck_assigns_core_types_by_what_each_layer_needs() {
    // Layer 0: 64 feature maps of 32 × 32 = 65,536 neuron entries: only an n64 core holds it.
    // Layer 1: a 5 × 5 kernel from 64 channels, 64·32·16 entries = 262,144 bits: a k32 core
    // exactly (a k64 one would also do; the smaller is preferred).
    let g = deep_conv_net([2, 32, 32], &[64, 16], 5, 3).unwrap();
    let v = g.verify(&Limits::default()).unwrap();
    let speck = target("speck");
    let (map, _) = compile(&g, &v, &speck, Dynamics::default(), &CompileOptions::default()).unwrap();
    check_map(&map);
    check_limits(&map, &conv_kernels(&g, &map));
    let mut types: Vec<&str> = map.cores.iter().map(|c| speck.core(c.core).name.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["k16_n64", "k32_n32"], "{}", spikeforge_compiler::mapper::render_summary(&map));
}

#[test]
fn calibration_weights_traffic_by_spikes() {
    let (g, v) = golden("digits_cnn");
    let limits = Limits::default();
    let exec = Executor::new(&g, &v, Dynamics::default(), &limits).unwrap();
    let x = Rng::new(1).spikes(4 * 16 * 64, 0.3);
    let run = exec.run(&x, 4, 16, 1);
    let calib = calibration_from_run(&g, &run);
    let target = target("test_4x4");
    let seq =
        |calibration| CompileOptions { placement: PlacementMethod::Sequential, calibration, ..Default::default() };
    let (_, by_spikes) = compile(&g, &v, &target, Dynamics::default(), &seq(Some(calib))).unwrap();
    let (_, by_fanout) = compile(&g, &v, &target, Dynamics::default(), &seq(None)).unwrap();
    assert_eq!((by_spikes.traffic_source.as_str(), by_fanout.traffic_source.as_str()), ("calibration", "fan-out"));
    // Same placement; traffic differs by the spike rates of the source layers.
    assert_eq!(by_spikes.cores_used, by_fanout.cores_used);
    assert!(by_spikes.hop_traffic > 0.0 && by_spikes.hop_traffic != by_fanout.hop_traffic);
    let spikes: u64 = run.nodes.iter().filter(|n| n.kind.is_spiking()).map(|n| n.spikes).sum();
    assert!(by_spikes.hop_traffic <= spikes as f64 * 6.0 * 15.0, "at most every spike to every core, 6 hops away");
}

#[test]
fn short_core_type_is_named() {
    // test_grid's small cores pad a 6 × 6 feature map to 8 × 8 = 64 entries, more than
    // their 16: the conv layer only fits the 4 big cores. Each core is counted once: the
    // per-layer list (6 + 1 + 0) and the shared core add up to the 8 in all.
    let (g, v) = snn(POOLED);
    let e = compile(&g, &v, &target("test_grid"), Dynamics::default(), &CompileOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the model needs 6 cores of type `big` = 3 chips of `test_grid` (2 cores of type `big` each), but target \
         `test_grid` has 4 on a grid of 2 × 1 chips; 8 cores in all, by layer (cores holding only that layer): `l1` \
         6, `l2` 1, `l3` 0, cores shared by several layers 1; use --chips 2x2 or --chips auto, a target with larger \
         cores, or prune the model"
    );
}
