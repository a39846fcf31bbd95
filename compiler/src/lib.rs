//! spikeforge's compiler: the IR, its frontends (NIR, the `.snn` text format), the
//! reference executor, passes and the mapper.

pub mod arrays;
pub use spikeforge_targets::atomic;
pub mod exec;
pub mod ir;
pub mod limits;
pub mod linalg;
pub mod mapper;
pub mod nir;
pub mod npz;
pub mod passes;
pub mod summary;
pub mod synth;
pub mod text;
pub mod train;
pub mod zoo;
