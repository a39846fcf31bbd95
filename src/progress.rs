//! Progress on stderr for commands that can run longer than a second: a bar where the work
//! is counted (configurations, targets, bundles), a spinner with the elapsed time where it
//! is one long call (compile, simulate, run). Hidden when stderr is not a terminal (pipes,
//! CI logs, files) and with the global `--quiet`; never on stdout, so results stay clean.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress for the rest of the run.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

fn target() -> ProgressDrawTarget {
    if QUIET.load(Ordering::Relaxed) {
        ProgressDrawTarget::hidden()
    } else {
        // indicatif draws nothing when stderr is not a terminal.
        ProgressDrawTarget::stderr()
    }
}

/// A bar over `len` items; `what` names them (`configurations`, `targets`).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what}, {{elapsed}} (eta {{eta}}) {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    // Redrawn between items too, so the elapsed time moves during a long item.
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// Whether `--quiet` was given (passes that train draw their own bar only without it).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Runs `work` under a spinner saying `message`, cleared when it returns.
pub fn during<T>(message: impl Into<String>, work: impl FnOnce() -> T) -> T {
    let s = spinner(message);
    let out = work();
    s.finish_and_clear();
    out
}

/// A spinner saying what is running and for how long; call `finish_and_clear` when done.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let s = ProgressBar::with_draw_target(None, target());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        s.set_style(style);
    }
    s.set_message(message.into());
    s.enable_steady_tick(Duration::from_millis(120));
    s
}
