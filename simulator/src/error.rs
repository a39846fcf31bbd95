//! Why a simulation or a writer failed. Every message names the resource involved.

/// A simulation or trace-writing failure.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "input has {got} values; expected {samples} samples × {steps} steps × {neurons} input neurons = {expected}"
    )]
    InputShape { got: usize, expected: usize, samples: usize, steps: usize, neurons: usize },
    #[error("input value {value} at index {index} is not finite")]
    InputNotFinite { index: usize, value: f64 },
    #[error("invalid core map: {0}")]
    InvalidMap(String),
    #[error("projection `{name}` goes from population {from} to population {to} without being recurrent; populations update in order, so forward projections must go to a later population")]
    BackwardProjection { name: String, from: u32, to: u32 },
    #[error("hardware mode: {0}")]
    Quantization(String),
    #[error("deadlock at cycle {cycle} of sample {sample}, step {step}: {undelivered} packet deliveries pending, no event can make progress; blocked: {blocked}")]
    Deadlock { sample: usize, step: usize, cycle: u64, undelivered: u64, blocked: String },
    #[error("step {step} of sample {sample} has not finished after {cycles} cycles (limit `max_cycles_per_step`)")]
    StepTooLong { sample: usize, step: usize, cycles: u64 },
    #[error("packet conservation violated in sample {sample}, step {step}: {injected} destinations injected, {delivered} delivered")]
    Conservation { sample: usize, step: usize, injected: u64, delivered: u64 },
    #[error("{what} trace would take about {estimated} bytes, above the limit of {limit} bytes; trace fewer samples/steps or raise `max_bytes`")]
    TraceTooLarge { what: &'static str, estimated: u64, limit: u64 },
    #[error("{what} trace was not recorded: set `trace.{what}` in the options")]
    TraceNotRecorded { what: &'static str },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}
