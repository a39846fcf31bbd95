//! spikeforge's hardware contract: parameterized neuromorphic chips.
//!
//! * [`chip`] — the description types.
//! * [`mesh`] — core identities, XY routes and hop counts, including chip-to-chip hops.
//! * [`memory`] — exact synapse/neuron memory footprints (nengo-loihi and sinabs formulas).
//! * [`numerics`] — the fixed-point arithmetic shared by compiler and simulator.
//!
//! This crate depends on neither the compiler nor the simulator.

pub mod chip;
pub mod memory;
pub mod mesh;
pub mod numerics;
