//! The mapper: from a verified IR to a core map under the target's hard limits.
//!
//! Pipeline: lower the IR to populations and projections, partition populations into
//! core-sized pieces (counting memory with the target's exact encoding), place pieces on
//! the mesh minimising hop-weighted traffic, route spikes and fill router tables, emit the
//! core map and a report.

pub mod place;
pub mod route;
