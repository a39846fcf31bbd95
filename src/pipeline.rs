//! `--passes`, `--calib`, `--calib-samples`: the pass pipeline every command that takes a
//! model runs before its own work.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::passes::spec::SpecError;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport};

use crate::inputs::{parse_range, read_samples};
use crate::Rendered;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct PassArgs {
    /// Pass pipeline run on the model first, e.g. "quantize(bits=4, scheme=gptq,
    /// granularity=channel)" or a named pipeline such as @int8.
    #[arg(long)]
    pub passes: Option<String>,
    /// Calibration input `[N, T, *input_shape]` for passes that need activity statistics
    /// (and, for `compile`, spike counts that weight placement).
    #[arg(long)]
    pub calib: Option<PathBuf>,
    /// Use these samples of the calibration input only, e.g. 0..120.
    #[arg(long, value_parser = parse_range)]
    pub calib_samples: Option<Range<usize>>,
}

impl PassArgs {
    /// Reads the calibration input (`--calib`, else `fallback`), checked against the model.
    pub fn calibration(
        &self,
        graph: &Graph,
        verified: &Verified,
        fallback: Option<&Path>,
        dynamics: Dynamics,
        limits: &Limits,
    ) -> Result<Option<Calibration>> {
        let Some(path) = self.calib.as_deref().or(fallback) else { return Ok(None) };
        let exec = Executor::new(graph, verified, dynamics, limits)?;
        let c = read_samples(path, &self.calib_samples, limits)?;
        let (n, t) = exec.check_input(&c.shape).with_context(|| path.display().to_string())?;
        exec.check_run_size(n, t, limits).with_context(|| path.display().to_string())?;
        Ok(Some(Calibration { data: c.data, n_samples: n, n_steps: t }))
    }

    /// Runs the pipeline (if any) on `graph` and re-verifies it; prints what each pass did.
    pub fn apply(
        &self,
        graph: &mut Graph,
        verified: &mut Verified,
        calib: Option<&Calibration>,
        dynamics: Dynamics,
        limits: &Limits,
    ) -> Result<Vec<PassReport>> {
        let Some(src) = &self.passes else { return Ok(Vec::new()) };
        let passes = check_list_nesting(src)
            .and_then(|()| build_pipeline(src))
            .map_err(|e| anyhow::Error::new(Rendered(render_spec_error(&e, src))))?;
        let ctx = PassContext { limits, dynamics, calib };
        let reports = run_pipeline(graph, &passes, &ctx)?;
        for r in &reports {
            for line in &r.lines {
                eprintln!("{}: {line}", r.pass);
            }
        }
        *verified = graph.verify(limits).map_err(|e| anyhow::anyhow!("after --passes: {e:?}"))?;
        Ok(reports)
    }
}

/// Renders a `--passes` error with its span widened to whole characters first:
/// `SpecError::render` slices the pipeline string by the span, and spans of one byte at a
/// non-ASCII character (`quantize(bits=4é)`) would split it and panic (found by fuzzing
/// `passes_spec`; the parser's spans should be fixed in `compiler/src/passes/spec.rs`).
pub fn render_spec_error(e: &SpecError, src: &str) -> String {
    let mut e = e.clone();
    let (mut start, mut end) = (e.span.start.min(src.len()), e.span.end.min(src.len()));
    while !src.is_char_boundary(start) {
        start -= 1;
    }
    while !src.is_char_boundary(end) {
        end += 1;
    }
    e.span = start..end.max(start);
    e.render(src)
}

/// Deepest `[` nesting accepted in a `--passes` string.
const MAX_LIST_NESTING: usize = 32;

/// Refuses deeply nested lists before parsing: the pipeline parser recurses once per `[`,
/// and `quantize(bits=[[[…` with tens of thousands of them overflowed the stack (found by
/// fuzzing `passes_spec`; a depth limit belongs in `compiler/src/passes/spec.rs`).
pub fn check_list_nesting(src: &str) -> Result<(), SpecError> {
    let (mut depth, mut in_string) = (0usize, false);
    for (i, c) in src.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '[' if !in_string => {
                depth += 1;
                if depth > MAX_LIST_NESTING {
                    return Err(SpecError::new(format!("lists nest deeper than {MAX_LIST_NESTING} levels"), i..i + 1));
                }
            }
            ']' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
