//! Gradients of every op kind against central finite differences, on models without
//! spikes (leaky integrators as the nonlinearity-free state), where the loss is smooth:
//! grouped, strided, dilated, padded Conv2d and Conv1d, AvgPool2d and SumPool2d, Scale,
//! Flatten, Delay, LI, I and CubaLI, Affine and Linear, and a recurrent back edge.

use std::path::Path;

use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::synth::Rng;
use spikeforge_compiler::text::parse_snn;
use spikeforge_compiler::train::{batch_gradient, Batch, Loss, Net, Surrogate};

/// A nested list literal of `dims` with seeded values in [−0.5, 0.5).
fn tensor(dims: &[usize], rng: &mut Rng) -> String {
    if dims.is_empty() {
        return format!("{:.6}", rng.uniform() - 0.5);
    }
    let inner: Vec<String> = (0..dims[0]).map(|_| tensor(&dims[1..], rng)).collect();
    format!("[{}]", inner.join(", "))
}

fn check(src: &str, input_len: usize, t_steps: usize, loss: Loss) {
    let limits = Limits::default();
    let graph = parse_snn(src, "fd.snn", Path::new("."), &limits).unwrap_or_else(|e| panic!("{e:?}"));
    let verified = graph.verify(&limits).unwrap();
    let mut net = Net::new(&graph, &verified, &Dynamics::default(), &limits).unwrap();
    let mut rng = Rng::new(7);
    let n = 3;
    let input: Vec<f64> = (0..n * t_steps * input_len)
        .map(|_| match rng.next_u64() % 3 {
            0 => 0.0,
            1 => 1.0,
            _ => rng.uniform(),
        })
        .collect();
    let labels: Vec<usize> = (0..n).map(|i| i % net.output_len).collect();
    let samples: Vec<usize> = (0..n).collect();
    let batch = Batch { input: &input, labels: &labels, t_steps, samples: &samples };
    let sg = Surrogate::default();
    let r = batch_gradient(&net, sg, loss, &batch, 1);
    for p in 0..net.params.len() {
        for k in 0..net.values[p].len() {
            let h = 1e-6;
            let w = net.values[p][k];
            net.values[p][k] = w + h;
            let up = batch_gradient(&net, sg, loss, &batch, 1).loss;
            net.values[p][k] = w - h;
            let down = batch_gradient(&net, sg, loss, &batch, 1).loss;
            net.values[p][k] = w;
            let fd = (up - down) / (2.0 * h);
            let g = r.grads[p][k];
            assert!(
                (fd - g).abs() <= 1e-6 * (1.0 + g.abs()),
                "{} element {k}: finite difference {fd} vs gradient {g}",
                net.params[p].name
            );
        }
    }
}

#[test]
fn conv2d_pooling_scale_flatten_and_a_recurrent_cuba_readout() {
    let mut rng = Rng::new(1);
    let src = format!(
        "snn 1
input = Input<shape=[2, 4, 4]>()
conv = Conv2d<weight={w1}, bias={b1}, stride=[1, 1], padding=[1, 1], dilation=[2, 2], groups=2>(input)
li1 = LI<tau=full([4, 4, 4], 0.0005), r=3.0, v_leak=0.1>(conv)
pool = AvgPool2d<kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]>(li1)
conv2 = Conv2d<weight={w2}, bias={b2}, stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1>(pool)
sum = SumPool2d<kernel_size=[1, 1], stride=[1, 1], padding=[0, 0]>(conv2)
scale = Scale<scale=full([3, 2, 2], 0.7)>(sum)
flat = Flatten<start_dim=0, end_dim=-1>(scale)
fc = Affine<weight={w3}, bias={b3}>(flat)
li2 = CubaLI<tau_syn=full([3], 0.0003), tau_mem=full([3], 0.0008), r=2.0, v_leak=0.0, w_in=1.5>(fc, rec)
rec = Linear<weight={w4}>(li2)
output = Output<shape=[3]>(li2)
",
        w1 = tensor(&[4, 1, 2, 2], &mut rng),
        b1 = tensor(&[4], &mut rng),
        w2 = tensor(&[3, 4, 3, 3], &mut rng),
        b2 = tensor(&[3], &mut rng),
        w3 = tensor(&[3, 12], &mut rng),
        b3 = tensor(&[3], &mut rng),
        w4 = tensor(&[3, 3], &mut rng),
    );
    check(&src, 32, 5, Loss::CeMembrane);
}

#[test]
fn conv1d_and_integrators_under_mse_and_ce_of_sums() {
    let mut rng = Rng::new(2);
    let src = format!(
        "snn 1
input = Input<shape=[4, 7]>()
conv = Conv1d<weight={w1}, bias={b1}, stride=[2], padding=[2], dilation=[2], groups=2>(input)
i1 = I<r=full([4, 4], 3000.0)>(conv)
flat = Flatten<start_dim=0, end_dim=-1>(i1)
fc = Linear<weight={w2}>(flat)
delay = Delay<delay=[0.0002, 0.0, 0.0001]>(fc)
li = LI<tau=full([3], 0.0004), r=2.0, v_leak=0.0>(delay)
output = Output<shape=[3]>(li)
",
        w1 = tensor(&[4, 2, 3], &mut rng),
        b1 = tensor(&[4], &mut rng),
        w2 = tensor(&[3, 16], &mut rng),
    );
    check(&src, 28, 4, Loss::from_name("mse_count").unwrap());
    check(&src, 28, 4, Loss::CeCount);
}
