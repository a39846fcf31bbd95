//! `spikeforge regress DIR…`: run every golden bundle on every engine it names (reference
//! executor; compile + simulator in exact mode with a target; hardware mode if asked),
//! print a table, optionally write JUnit XML, exit 1 on any divergence. The running is
//! `spikeforge_driver::regress`; this file parses arguments and prints.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use spikeforge_driver::error::Differs;
use spikeforge_driver::junit::{self, Case};
use spikeforge_driver::options::LimitArgs;
use spikeforge_driver::regress::{
    case, check_stat_paths, load_bundles, run_bundles, summary_line, table_text, Outcome,
};
use spikeforge_driver::DriverError;

#[derive(clap::Args)]
pub struct Args {
    /// Bundle folders, or folders with bundles in sub-folders (e.g. ../shared/golden).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Write JUnit XML here (one testsuite, one testcase per bundle × engine).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Steps shown before and after a divergence.
    #[arg(long, default_value_t = 3)]
    pub context: usize,
    /// `--chips CxR` and `--set FIELD=VALUE` change the target of every bundle that names one.
    #[command(flatten)]
    pub chips: spikeforge_driver::options::TargetArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    let limits = a.limits.limits();
    let bundles = load_bundles(&a.dirs, &limits, &a.chips).map_err(DriverError::into_anyhow)?;
    let never = AtomicBool::new(false);
    let bar = crate::progress::bar(bundles.len() as u64, "bundles");
    let mut outcomes = vec![];
    for b in bundles.chunks(1) {
        bar.set_message(b[0].name.clone());
        let mut log = |line: &str| bar.suspend(|| crate::log_stderr(line));
        outcomes.extend(run_bundles(b, &limits, a.context, &mut log, &never).map_err(DriverError::into_anyhow)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("{}", table_text(&outcomes));
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    for o in &failed {
        println!("\nFAIL {} / {}\n{}", o.bundle, o.engine.name(), o.full_details().trim_end());
    }
    println!("\n{}", summary_line(&outcomes, bundles.len()));
    if let Some(p) = &a.junit {
        let cases: Vec<Case> = outcomes.iter().map(case).collect();
        junit::write(p, "spikeforge regress", &cases)?;
    }
    check_stat_paths(&outcomes).map_err(DriverError::into_anyhow)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Differs(String::new()).into())
    }
}
