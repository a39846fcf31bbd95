//! Compiler passes over the IR and the pipeline that runs them.
//!
//! A pipeline comes from the `--passes` language ([`spec`]): `quantize(bits=4,
//! scheme=rescaw); …`, with named pipelines `@name(…)` among the passes ([`named`]). Each pass is its
//! own file opening with what it needs and establishes; [`run_pipeline`] verifies the IR
//! after every pass, so a pass that breaks an invariant is caught at that pass.

pub mod args;
pub mod calib;
pub mod channel;
pub mod cleanup;
pub mod fanout;
pub mod finetune;
pub mod gptq;
pub mod mask;
pub mod named;
pub mod prune;
pub mod quantize;
pub mod quantizers;
pub mod regrow;
pub mod sop_cost;
pub mod spec;
pub mod weight_crit;

use crate::exec::Dynamics;
use crate::ir::{Graph, IrError};
use crate::limits::Limits;

pub use calib::Calibration;
pub use finetune::TrainingData;
pub use spec::SpecError;

/// What a pass may use besides the graph.
pub struct PassContext<'a> {
    pub limits: &'a Limits,
    pub dynamics: Dynamics,
    /// Calibration input (`--calib`), for passes that need activity statistics.
    pub calib: Option<&'a Calibration>,
    /// Training data (`--train-input`, `--train-labels`), for passes that train.
    pub train: Option<&'a TrainingData>,
    /// The numerics of the target the model is compiled for (`--target`): `finetune`
    /// then trains on the target's weight grid.
    pub target: Option<&'a spikeforge_targets::Numerics>,
}

/// What a pass did, in lines a user reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassReport {
    pub pass: String,
    pub lines: Vec<String>,
    /// Bits per stored weight of the layers the pass quantized: (node name, bits).
    pub weight_bits: Vec<(String, u32)>,
    /// Scores a pruning pass ranked by, keyed by weight-layer name: one per weight
    /// (unstructured methods) or one per output channel (structured ones).
    pub scores: Vec<(String, crate::ir::Tensor)>,
}

impl PassReport {
    pub fn new(pass: &str) -> Self {
        PassReport { pass: pass.into(), lines: Vec::new(), weight_bits: Vec::new(), scores: Vec::new() }
    }
    pub fn line(&mut self, s: String) {
        self.lines.push(s);
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PassError {
    #[error("{pass} needs calibration input: pass --calib X.npy")]
    NeedsCalibration { pass: String },
    #[error("{pass} needs training data: pass --train-input X.npy --train-labels Y.npy")]
    NeedsTrainingData { pass: String },
    #[error("{pass}: {reason}")]
    Failed { pass: String, reason: String },
    #[error("{pass} left an invalid graph: {}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Verify { pass: String, errors: Vec<IrError> },
}

pub trait Pass {
    fn name(&self) -> &'static str;
    fn needs_calibration(&self) -> bool {
        false
    }
    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError>;
}

pub use named::NAMED_PIPELINES;

/// Parses the pipeline into passes, expanding each `@name(…)` ([`named`]).
pub fn build_pipeline(src: &str) -> Result<Vec<Box<dyn Pass>>, SpecError> {
    let mut out = Vec::new();
    for p in spec::parse_pipeline(src)? {
        if p.name.value.starts_with('@') {
            let text = named::expand(&p)?;
            // The expansion is ours; a problem in it is reported at the `@name(…)`.
            let inner = build_pipeline(&text)
                .map_err(|e| SpecError::new(format!("{} (in its expansion `{text}`)", e.message), p.span.clone()))?;
            out.extend(inner);
        } else {
            out.push(build_pass(&p)?);
        }
    }
    Ok(out)
}

fn build_pass(p: &spec::PassSpec) -> Result<Box<dyn Pass>, SpecError> {
    match p.name.value.as_str() {
        "quantize" => Ok(Box::new(quantize::Quantize::from_spec(p)?)),
        "prune" => Ok(Box::new(prune::Prune::from_spec(p)?)),
        "cleanup" => Ok(Box::new(cleanup::Cleanup::from_spec(p)?)),
        "mask" => Ok(Box::new(mask::Mask::from_spec(p)?)),
        "finetune" => Ok(Box::new(finetune::Finetune::from_spec(p)?)),
        "regrow" => Ok(Box::new(regrow::Regrow::from_spec(p)?)),
        other => Err(SpecError::new(
            format!("unknown pass `{other}` (passes: quantize, prune, cleanup, mask, finetune, regrow; named pipelines start with @)"),
            p.name.span.clone(),
        )),
    }
}

/// Runs passes in order, verifying the graph after each.
pub fn run_pipeline(
    graph: &mut Graph,
    passes: &[Box<dyn Pass>],
    ctx: &PassContext,
) -> Result<Vec<PassReport>, PassError> {
    let mut reports = Vec::with_capacity(passes.len());
    for p in passes {
        if p.needs_calibration() && ctx.calib.is_none() {
            return Err(PassError::NeedsCalibration { pass: p.name().into() });
        }
        reports.push(p.run(graph, ctx)?);
        graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: p.name().into(), errors })?;
    }
    Ok(reports)
}
