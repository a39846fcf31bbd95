//! spikeforge's hardware contract: parameterized neuromorphic chips.
//!
//! A target (a `.ron` file; presets ship beside this crate's sources) describes a grid of
//! chips, each a mesh of tiles holding cores, with per-core limits (neurons, synapse
//! memory and its row encoding, axons, routing entries), the network (mesh, XY routing,
//! latencies, bandwidth, buffers, multicast), timing, energy and fixed-point numerics.
//!
//! * [`chip`] — the description types ([`TargetSpec`] and its parts).
//! * [`load`] — [`load_target`] / [`parse_target`]: RON with `line:column` errors, then
//!   validation ([`validate`]) reporting every problem by field path.
//! * [`Target`] — the validated target: cores numbered ([`CoreId`], printed `c12`),
//!   positions ([`CoreCoord`]), hops and route costs.
//! * [`mesh`] — XY routes and hop counts, including chip-to-chip hops.
//! * [`memory`] — exact synapse/neuron memory footprints (nengo-loihi and sinabs formulas).
//! * [`numerics`] — the fixed-point arithmetic shared by compiler and simulator;
//!   [`fixed`] — the fixed-point neuron update and weight quantization built on it.
//! * [`real`] — the f64 neuron update under any [`coremap::NeuronRule`] (executor and exact mode).
//! * [`overrides`] — set fields by path (`core.max_neurons`), the knobs of a design-space sweep.
//! * [`show`] — the human-readable report, and the complete commented RON of a target.
//! * [`schema`] — the file format as data: every field, its unit and default.
//! * [`coremap`] — the compiled program a mapper emits and the simulator runs;
//!   [`axons`] its per-core axon runs and synapses; [`coremap_io`] reads, writes and
//!   validates it; [`conv_synapses`] expands a
//!   convolution kept symbolic (kernel + geometry) into its synapses on demand.
//!
//! This crate depends on neither the compiler nor the simulator.

pub mod approx;
pub mod atomic;
pub mod axons;
pub mod chip;
pub mod conv_synapses;
pub mod coremap;
pub mod coremap_io;
pub mod error;
pub mod fixed;
pub mod load;
pub mod memory;
pub mod mesh;
pub mod numerics;
pub mod overrides;
pub mod real;
pub mod schema;
pub mod show;
pub mod target;
pub mod validate;

pub use chip::{
    ByKind, Cast, CoreSpec, DecayFormat, Energy, Grid, IndexBits, Layout, NeuronLayout, Noc, Numerics, Overflow,
    Padding, Rounding, Routing, RowFormat, SynapseEncoding, TargetSpec, Timing, TimingMode,
};
pub use coremap::{CoreMap, CORE_MAP_VERSION};
pub use coremap_io::CoreMapError;
pub use error::{Problem, TargetError};
pub use load::{load_target, parse_spec, parse_target, preset, preset_spec, preset_text, to_ron, PRESETS};
pub use mesh::{CoreCoord, CoreId, Hops};
pub use target::Target;
