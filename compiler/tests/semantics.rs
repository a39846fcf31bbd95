//! Named semantics: the rules each framework's name resolves to, the `.snn` header field,
//! the infinite-τ import, `check`'s advice, and the executor against the frameworks'
//! own spikes (`fixtures/frameworks`, see `generate.py` there).

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::semantics::parse_reset_timing;
use spikeforge_compiler::exec::{advice, Dynamics, Executor, NeuronKind, ResetRule, Semantics};
use spikeforge_compiler::ir::Op;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::text::{parse_snn, print_snn, PrintOptions};
use spikeforge_targets::coremap::{self as m, ResetTiming, UpdateForm};

fn fixture(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/frameworks").join(case)
}

#[test]
fn snntorch_rules_follow_its_neuron_classes() {
    let d = Dynamics::of(Semantics::SnnTorch);
    assert_eq!(d.reset, ResetRule::Subtract, "snnTorch's default reset");
    // Leaky: subtract after the decay, one step late.
    let leaky = d.rule(NeuronKind::LIF, false);
    assert_eq!(
        (leaky.form, leaky.reset, leaky.timing),
        (UpdateForm::Multiply, m::ResetRule::Subtract, ResetTiming::Delayed)
    );
    let zero = Dynamics { reset: ResetRule::ToVReset, ..d };
    // Leaky "zero" keeps the input (an immediate reset to 0); RLeaky and Synaptic drop it.
    assert_eq!(zero.rule(NeuronKind::LIF, false).timing, ResetTiming::Immediate);
    assert_eq!(zero.rule(NeuronKind::LIF, true).reset, m::ResetRule::Discard);
    assert_eq!(zero.rule(NeuronKind::CubaLIF, false).reset, m::ResetRule::Discard);
    // reset_delay=False.
    let corrected = Dynamics { reset_timing: Some(ResetTiming::DelayedCorrected), ..d };
    assert_eq!(corrected.rule(NeuronKind::LIF, false).timing, ResetTiming::DelayedCorrected);
    // Sinabs: time step 1, several spikes per step.
    let s = Dynamics::of(Semantics::Sinabs);
    assert_eq!(s.dt, 1.0);
    assert!(s.rule(NeuronKind::IF, false).multi_spike);
    // NIR is today's behaviour.
    assert_eq!(Dynamics::default().rule(NeuronKind::LIF, false), m::NeuronRule::default());
    assert!("SNNTorch".parse::<Semantics>().is_ok());
    assert!("brian".parse::<Semantics>().unwrap_err().contains("snntorch"));
}

#[test]
fn snn_header_declares_semantics_and_prints_it_back() {
    let src = "snn 1 semantics=sinabs\ninput = Input<shape=[2]>()\nn = IF<r=[1.0, 1.0], v_threshold=[1.0, 1.0]>(input)\noutput = Output<shape=[2]>(n)\n";
    let g = parse_snn(src, "t.snn", Path::new("."), &Limits::default()).unwrap();
    assert_eq!(g.semantics, Some(Semantics::Sinabs));
    let printed = print_snn(&g, &PrintOptions::default());
    assert!(printed.text.starts_with("snn 1 semantics=sinabs\n"), "{}", printed.text);
    let bad = src.replace("sinabs", "brian");
    let e = parse_snn(&bad, "t.snn", Path::new("."), &Limits::default()).unwrap_err();
    let text = e.render(false);
    assert!(text.contains("unknown semantics `brian`"), "{text}");
}

#[test]
fn infinite_tau_lif_imports_as_if() {
    // snnTorch's Leaky(beta=1) writes tau = r = inf.
    let g = read_nir(&fixture("snntorch/leaky_beta1/model.nir"), &Limits::default()).unwrap();
    let ifs: Vec<&Op> = g.node_ids().map(|n| g.op(n)).filter(|op| matches!(op, Op::IF { .. })).collect();
    assert_eq!(ifs.len(), 1);
    let Op::IF { r, .. } = ifs[0] else { unreachable!() };
    assert!(r.data().iter().all(|&r| r == 1e4));
}

#[test]
fn advice_names_the_framework_and_the_flag() {
    let g = read_nir(&fixture("sinabs/iaf_multispike/model.nir"), &Limits::default()).unwrap();
    let w = advice::warnings(&g, &Dynamics::default());
    assert!(w.iter().any(|w| w.contains("--semantics sinabs") && w.contains("never spike")), "{w:?}");
    assert!(advice::warnings(&g, &Dynamics::of(Semantics::Sinabs)).is_empty());
    let g = read_nir(&fixture("snntorch/leaky_subtract/model.nir"), &Limits::default()).unwrap();
    let w = advice::warnings(&g, &Dynamics::default());
    assert!(w.iter().any(|w| w.contains("--semantics snntorch")), "{w:?}");
    for (case, name) in [
        ("norse/lifbox", Semantics::Norse),
        ("norse/lif_cuba", Semantics::Norse),
        ("rockpool/lif_cuba_multispike", Semantics::Rockpool),
        ("rockpool/lif_multispike", Semantics::Rockpool),
    ] {
        let g = read_nir(&fixture(&format!("{case}/model.nir")), &Limits::default()).unwrap();
        let w = advice::warnings(&g, &Dynamics::default());
        assert!(w.iter().any(|w| w.contains(&format!("--semantics {name}"))), "{case}: {w:?}");
        assert!(advice::warnings(&g, &Dynamics::of(name)).is_empty(), "{case}");
    }
}

/// The executor against every fixture, and NIR's rule against the snnTorch ones it cannot
/// express (they must differ, or the fixture would not test anything).
#[test]
fn executor_reproduces_the_frameworks() {
    let limits = Limits::default();
    let root = fixture("");
    let mut report = Vec::new();
    for fw in ["snntorch", "spikingjelly", "sinabs", "norse", "rockpool", "lava"] {
        let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join(fw)).unwrap().map(|e| e.unwrap().path()).collect();
        cases.sort();
        for case in cases {
            let spec: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
            let mut d = Dynamics::of(spec["semantics"].as_str().unwrap().parse().unwrap());
            let flags: Vec<&str> = spec["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
            for pair in flags.chunks(2) {
                match pair {
                    ["--reset", r] => d.reset = r.parse().unwrap(),
                    ["--reset-timing", t] => d.reset_timing = Some(parse_reset_timing(t).unwrap()),
                    other => panic!("flag {other:?} not handled by this test"),
                }
            }
            let g = read_nir(&case.join("model.nir"), &limits).unwrap();
            let v = g.verify(&limits).unwrap();
            let x = read_npy_f64(&case.join("input.npy"), &limits).unwrap();
            let want = read_npy_f64(&case.join("output.npy"), &limits).unwrap();
            let (n, t) = (x.shape[0], x.shape[1]);
            let run = |d: Dynamics| {
                let r = Executor::new(&g, &v, d, &limits).unwrap().run(&x.data, n, t, 1);
                // A membrane output (LI) to 1e-12: the framework sums synapses in another order.
                let same = |a: f64, b: f64| a == b || (b.fract() != 0.0 && (a - b).abs() <= 1e-12 * b.abs().max(1.0));
                r.output.iter().zip(&want.data).filter(|(a, b)| !same(**a, **b)).count()
            };
            let name = case.strip_prefix(&root).unwrap().display().to_string();
            let exact = run(d);
            let nir = run(Dynamics { semantics: Semantics::Nir, reset_timing: None, ..d });
            report.push(format!("{name}: {exact} mismatches ({nir} with NIR's rule)"));
            assert_eq!(exact, 0, "{name}");
            // snnTorch's Leaky "zero" (with or without reset_delay) is NIR's immediate reset to 0.
            let nir_equivalent = name.ends_with("leaky_zero") || name.ends_with("leaky_zero_nodelay");
            if ["snntorch", "norse", "rockpool", "lava"].contains(&fw) && !nir_equivalent {
                assert!(nir > 0, "{name}: NIR's rule also reproduces it; the fixture tests nothing");
            }
        }
    }
    println!("{}", report.join("\n"));
}
