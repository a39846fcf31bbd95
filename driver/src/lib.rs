//! spikeforge-driver: everything the `spikeforge` command line does, as a library that the
//! CLI and the Python module both call. Needs the compiler, targets and simulator crates;
//! establishes plain option structs (clap derives only with the `clap` feature), typed
//! results and one error type, [`DriverError`]. Nothing here prints: warnings and progress
//! go to callbacks, results are returned.

pub mod bundle;
pub mod bundle_stats;
pub mod check;
pub mod compare;
pub mod compile;
pub mod divergence;
pub mod engines;
pub mod error;
pub mod eval;
pub mod fonts;
pub mod generate;
pub mod grad;
pub mod inputs;
pub mod junit;
pub mod model;
pub mod options;
pub mod outputs;
pub mod pipeline;
pub mod record;
pub mod regress;
pub mod report;
pub mod run;
pub mod simulate;
pub mod spike_diff;
pub mod sweep;
pub mod target;

pub use error::{DriverError, ErrorKind};
