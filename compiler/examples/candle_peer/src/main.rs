//! Candle autograd peer of spikeforge's `train_bench` (compiler/examples/train_bench.rs).
//!
//! Measures samples per second of one surrogate-gradient training step — forward over T
//! steps, backpropagation through time by candle's autograd, Adam (lr 1e-3) — at batch 64,
//! float64, on one thread, on the same two networks and training sets as `train_bench` and
//! its PyTorch peer `train_bench_torch.py`:
//!
//! * digits_mlp: Linear 64→128, LIF, Linear 128→10, LIF; T = 20
//!   (`digits_train/mlp_t20_input.npy` [N, 20, 64], `mlp_t20_labels.npy`);
//! * digits_cnn: Conv 1→8 3×3 pad 1, LIF, avgpool 2, Conv 8→16 3×3 pad 1, LIF,
//!   flatten 256 → Linear 10, LIF; T = 16 (`cnn_t16_input.npy` [N, 16, 1, 8, 8]).
//!
//! LIF: v ← 0.9 v + I, s = H(v − 1), detached reset v ← v − detach(s)·v; the loss is
//! cross-entropy on the output spike counts. The spike's surrogate gradient is atan,
//! ∂s/∂u = 1/(1 + (πu)²). Candle 0.11 has no `atan` op, so it comes from a custom op either
//! way; two mechanisms are offered:
//!
//! * `op` (default): a `CustomOp1` whose forward is the Heaviside step and whose backward
//!   multiplies the incoming gradient by the surrogate (one fused `CustomOp2`);
//! * `ste`: the straight-through identity s = H(u) + (f(u) − detach(f(u))) with
//!   f(u) = atan(πu)/π, itself a `CustomOp1` with the same fused backward.
//!
//! The rate is the best of three timings of `BATCHES` batches (default 10); weights are
//! candle's default initialisation (speed does not depend on them). One thread: set
//! `RAYON_NUM_THREADS`/`CANDLE_NUM_THREADS`, else both default to 1 here.
//!
//!     cd compiler/examples/candle_peer && cargo run --release -- [BATCHES] [--ste] [--check]
//!
//! A project of its own (not in the workspace: candle is a benchmark peer, not a
//! dependency); the golden data is read from `../shared/golden` beside the repository, or
//! `SHARED_GOLDEN`. Run `train_bench` right after (or before) it for the same-run ratio.
//!
//! `--check` also trains 20 steps on the first batch of each network and prints the loss
//! before and after (a sanity check that the gradients are finite and descend).

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Device, Layout, Module, Result, Shape, Tensor, bail};
use candle_nn::{AdamW, Conv2dConfig, Optimizer, ParamsAdamW, Sequential, VarBuilder, VarMap};

const PI: f64 = std::f64::consts::PI;
const BATCH: usize = 64;

/// The contiguous f64 data of a custom op's argument.
fn f64s<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f64]> {
    let CpuStorage::F64(v) = s else { bail!("spike ops are float64 only") };
    let Some((a, b)) = l.contiguous_offsets() else { bail!("spike ops need contiguous input") };
    Ok(&v[a..b])
}

/// grad ⋅ 1/(1 + (πu)²) in one pass: the backward of both spike mechanisms.
struct AtanSurrogateGrad;

impl CustomOp2 for AtanSurrogateGrad {
    fn name(&self) -> &'static str {
        "atan-surrogate-grad"
    }
    fn cpu_fwd(&self, g: &CpuStorage, gl: &Layout, u: &CpuStorage, ul: &Layout) -> Result<(CpuStorage, Shape)> {
        let (g, u) = (f64s(g, gl)?, f64s(u, ul)?);
        let out = g.iter().zip(u).map(|(g, u)| g / (1.0 + (PI * u) * (PI * u))).collect();
        Ok((CpuStorage::F64(out), gl.shape().clone()))
    }
}

fn surrogate_backward(u: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
    Ok(Some(grad.contiguous()?.apply_op2_no_bwd(&u.contiguous()?, &AtanSurrogateGrad)?))
}

/// Forward: Heaviside step H(u) = [u > 0]; backward: the atan surrogate.
struct Spike;

impl CustomOp1 for Spike {
    fn name(&self) -> &'static str {
        "spike-atan"
    }
    fn cpu_fwd(&self, u: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = f64s(u, l)?.iter().map(|&u| if u > 0.0 { 1.0 } else { 0.0 }).collect();
        Ok((CpuStorage::F64(out), l.shape().clone()))
    }
    fn bwd(&self, u: &Tensor, _s: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        surrogate_backward(u, grad)
    }
}

/// f(u) = atan(πu)/π, the antiderivative of the surrogate, for the straight-through form.
struct AtanPi;

impl CustomOp1 for AtanPi {
    fn name(&self) -> &'static str {
        "atan-pi"
    }
    fn cpu_fwd(&self, u: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = f64s(u, l)?.iter().map(|&u| (PI * u).atan() / PI).collect();
        Ok((CpuStorage::F64(out), l.shape().clone()))
    }
    fn bwd(&self, u: &Tensor, _f: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        surrogate_backward(u, grad)
    }
}

#[derive(Clone, Copy)]
enum Mechanism {
    Op,
    Ste,
}

fn spike(u: &Tensor, m: Mechanism) -> Result<Tensor> {
    let u = u.contiguous()?;
    match m {
        Mechanism::Op => u.apply_op1(Spike),
        Mechanism::Ste => {
            let f = u.apply_op1(AtanPi)?;
            u.gt(0.0)?.to_dtype(DType::F64)? + (&f - f.detach())?
        }
    }
}

/// One LIF step: v ← 0.9 v + i, s = H(v − 1), v ← v − detach(s)·v (v starts at 0).
fn lif(v: Option<&Tensor>, i: &Tensor, m: Mechanism) -> Result<(Tensor, Tensor)> {
    let v = match v {
        Some(v) => ((v * 0.9)? + i)?,
        None => i.clone(),
    };
    let s = spike(&(&v - 1.0)?, m)?;
    let v = (&v - (s.detach() * &v)?)?;
    Ok((v, s))
}

/// A feed-forward SNN: each stage is a synapse (candle modules) followed by a LIF layer.
struct Snn {
    stages: Vec<Sequential>,
}

impl Snn {
    fn mlp(vb: VarBuilder) -> Result<Self> {
        let fc1 = candle_nn::linear(64, 128, vb.pp("fc1"))?;
        let fc2 = candle_nn::linear(128, 10, vb.pp("fc2"))?;
        Ok(Self { stages: vec![candle_nn::seq().add(fc1), candle_nn::seq().add(fc2)] })
    }

    fn cnn(vb: VarBuilder) -> Result<Self> {
        let cfg = Conv2dConfig { padding: 1, ..Default::default() };
        let c1 = candle_nn::conv2d(1, 8, 3, cfg, vb.pp("c1"))?;
        let c2 = candle_nn::conv2d(8, 16, 3, cfg, vb.pp("c2"))?;
        let fc = candle_nn::linear(256, 10, vb.pp("fc"))?;
        Ok(Self {
            stages: vec![
                candle_nn::seq().add(c1),
                candle_nn::seq().add_fn(|x| x.avg_pool2d(2)).add(c2),
                candle_nn::seq().add_fn(|x| x.flatten_from(1)).add(fc),
            ],
        })
    }

    /// Output spike counts [B, classes] for time-major input x [T, B, ...].
    fn forward(&self, x: &Tensor, m: Mechanism) -> Result<Tensor> {
        let mut v: Vec<Option<Tensor>> = vec![None; self.stages.len()];
        let mut count: Option<Tensor> = None;
        for t in 0..x.dim(0)? {
            let mut s = x.get(t)?;
            for (stage, v) in self.stages.iter().zip(v.iter_mut()) {
                let (v_new, s_new) = lif(v.as_ref(), &stage.forward(&s)?, m)?;
                (*v, s) = (Some(v_new), s_new);
            }
            count = Some(match count {
                Some(c) => (c + s)?,
                None => s,
            });
        }
        Ok(count.expect("T > 0"))
    }
}

/// A training set: inputs [N, T, features...] as read, labels [N].
struct Data {
    x: Vec<u8>,
    shape: Vec<usize>,
    labels: Vec<i64>,
}

fn read_data(dir: &Path, prefix: &str) -> std::io::Result<Data> {
    let open = |name: String| -> std::io::Result<npyz::NpyFile<std::io::BufReader<std::fs::File>>> {
        npyz::NpyFile::new(std::io::BufReader::new(std::fs::File::open(dir.join(name))?))
    };
    let x = open(format!("{prefix}_input.npy"))?;
    let shape = x.shape().iter().map(|&d| d as usize).collect();
    Ok(Data { x: x.into_vec::<u8>()?, shape, labels: open(format!("{prefix}_labels.npy"))?.into_vec::<i64>()? })
}

/// Batch `b` (samples (64b + i) mod N) as a time-major [T, B, features...] tensor and labels.
fn batch(d: &Data, b: usize, dev: &Device) -> Result<(Tensor, Tensor)> {
    let (n, t_steps, feat) = (d.shape[0], d.shape[1], d.shape[2..].iter().product::<usize>());
    let samples: Vec<usize> = (0..BATCH).map(|i| (b * BATCH + i) % n).collect();
    let mut x = Vec::with_capacity(t_steps * BATCH * feat);
    for t in 0..t_steps {
        for &s in &samples {
            let start = (s * t_steps + t) * feat;
            x.extend(d.x[start..start + feat].iter().map(|&v| v as f64));
        }
    }
    let mut shape = vec![t_steps, BATCH];
    shape.extend_from_slice(&d.shape[2..]);
    let y: Vec<u32> = samples.iter().map(|&s| d.labels[s] as u32).collect();
    Ok((Tensor::from_vec(x, shape, dev)?, Tensor::from_vec(y, BATCH, dev)?))
}

fn train_step(net: &Snn, opt: &mut AdamW, x: &Tensor, y: &Tensor, m: Mechanism) -> Result<f64> {
    let loss = candle_nn::loss::cross_entropy(&net.forward(x, m)?, y)?;
    opt.backward_step(&loss)?;
    loss.to_scalar::<f64>()
}

fn new_net(cnn: bool, dev: &Device) -> Result<(Snn, AdamW)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, dev);
    let net = if cnn { Snn::cnn(vb)? } else { Snn::mlp(vb)? };
    let params = ParamsAdamW { lr: 1e-3, weight_decay: 0.0, ..Default::default() };
    Ok((net, AdamW::new(varmap.all_vars(), params)?))
}

/// Best-of-three samples/s over `batches` training steps of batch 64.
fn rate(d: &Data, cnn: bool, batches: usize, m: Mechanism, dev: &Device) -> Result<f64> {
    let (net, mut opt) = new_net(cnn, dev)?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        for b in 0..batches {
            let (x, y) = batch(d, b, dev)?;
            train_step(&net, &mut opt, &x, &y, m)?;
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok((batches * BATCH) as f64 / best)
}

/// Loss on the first batch before and after 20 steps on it.
fn check(d: &Data, cnn: bool, m: Mechanism, dev: &Device) -> Result<(f64, f64)> {
    let (net, mut opt) = new_net(cnn, dev)?;
    let (x, y) = batch(d, 0, dev)?;
    let first = train_step(&net, &mut opt, &x, &y, m)?;
    for _ in 0..19 {
        train_step(&net, &mut opt, &x, &y, m)?;
    }
    let last = candle_nn::loss::cross_entropy(&net.forward(&x, m)?, &y)?.to_scalar::<f64>()?;
    Ok((first, last))
}

fn main() -> Result<()> {
    for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            // SAFETY: no other thread exists yet.
            unsafe { std::env::set_var(var, "1") };
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let batches: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10);
    let m = if args.iter().any(|a| a == "--ste") { Mechanism::Ste } else { Mechanism::Op };
    let shared = std::env::var_os("SHARED_GOLDEN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/golden"))
        .join("digits_train");
    let dev = Device::Cpu;
    let threads = candle_core::utils::get_num_threads();
    let how = match m {
        Mechanism::Op => "custom op",
        Mechanism::Ste => "straight-through atan",
    };
    for (name, prefix, cnn) in [("digits_mlp", "mlp_t20", false), ("digits_cnn", "cnn_t16", true)] {
        let d = read_data(&shared, prefix)?;
        if args.iter().any(|a| a == "--check") {
            let (first, last) = check(&d, cnn, m, &dev)?;
            println!("check       {name}  first-batch loss {first:.4} → {last:.4} after 20 steps");
        }
        let r = rate(&d, cnn, batches, m, &dev)?;
        println!(
            "candle      {name}  {r:8.0} samples/s  (candle-core 0.11.1, autograd, {how}, batch 64, f64, {threads} thread)"
        );
    }
    Ok(())
}
