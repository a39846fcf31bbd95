//! Why a model cannot be mapped: every error names the layer (IR node), the resource,
//! what it needs, what the largest core offers, and what to change.

use std::fmt;

use super::place::PlaceError;
use super::route::RouteError;

/// A per-core limit of the target.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Neuron-memory entries (`max_neurons`; padded per feature map with a power-of-two layout).
    Neurons,
    /// Synapse-memory bits, counted with the core's row encoding.
    SynapseMemory,
    /// Distinct incoming events (axons).
    InAxons,
    /// Outgoing (destination core, axon) pairs.
    OutAxons,
    /// Distinct destination cores of one core.
    DestinationCores,
    /// Destination axons of one neuron.
    FanoutPerNeuron,
    /// Entries of the core's routing table.
    RoutingEntries,
}

impl Resource {
    pub const ALL: [Resource; 7] = [
        Resource::Neurons,
        Resource::SynapseMemory,
        Resource::InAxons,
        Resource::OutAxons,
        Resource::DestinationCores,
        Resource::FanoutPerNeuron,
        Resource::RoutingEntries,
    ];

    /// The name used in messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Neurons => "neurons",
            Resource::SynapseMemory => "synapse memory",
            Resource::InAxons => "in-axons",
            Resource::OutAxons => "out-axons",
            Resource::DestinationCores => "destination cores",
            Resource::FanoutPerNeuron => "fan-out per neuron",
            Resource::RoutingEntries => "routing entries",
        }
    }

    /// The unit of `need` and `offers`.
    pub fn unit(self) -> &'static str {
        match self {
            Resource::Neurons => "neuron entries",
            Resource::SynapseMemory => "bits",
            Resource::InAxons => "in-axons",
            Resource::OutAxons => "out-axons",
            Resource::DestinationCores => "cores",
            Resource::FanoutPerNeuron => "destination axons",
            Resource::RoutingEntries => "entries",
        }
    }

    /// What a single neuron that exceeds the limit asks for.
    pub(crate) fn need_phrase(self, need: u64) -> String {
        match self {
            Resource::Neurons => format!("one neuron's feature map needs {need} neuron entries"),
            Resource::SynapseMemory => {
                format!("the incoming synapses of one neuron need {need} bits of synapse memory")
            }
            Resource::InAxons => format!("one neuron receives {need} distinct input events (in-axons)"),
            Resource::OutAxons => format!("one neuron sends to {need} destination axons (out-axons)"),
            Resource::DestinationCores => format!("one neuron sends to {need} destination cores"),
            Resource::FanoutPerNeuron => format!("one neuron sends to {need} destination axons"),
            Resource::RoutingEntries => format!("one neuron's events need {need} routing entries"),
        }
    }

    /// What a core offers, as a phrase.
    pub(crate) fn offer_phrase(self, offers: u64) -> String {
        match self {
            Resource::Neurons => format!("{offers} neuron entries"),
            Resource::SynapseMemory => format!("{offers} bits"),
            Resource::InAxons => format!("{offers} in-axons"),
            Resource::OutAxons => format!("{offers} out-axons"),
            Resource::DestinationCores => format!("{offers} destination cores"),
            Resource::FanoutPerNeuron => format!("{offers} destination axons per neuron"),
            Resource::RoutingEntries => format!("{offers} routing entries"),
        }
    }

    /// What to change when a single neuron exceeds the limit.
    pub(crate) fn hint(self) -> &'static str {
        match self {
            Resource::Neurons => {
                "reduce the feature-map size (the core pads height and width to powers of two) or use a target with \
                 more neurons per core"
            }
            Resource::SynapseMemory => {
                "prune the layer's incoming weights, lower the weight precision, or use a target with more synapse \
                 memory per core"
            }
            Resource::InAxons => {
                "reduce the layer's fan-in (prune its incoming weights or pool its input) or use a target with more \
                 in-axons per core"
            }
            Resource::OutAxons | Resource::FanoutPerNeuron | Resource::RoutingEntries => {
                "the layers it feeds are split over many cores: reduce its fan-out (prune the outgoing weights or \
                 shrink the next layer) or use a target with more out-axons per core"
            }
            Resource::DestinationCores => {
                "the layers it feeds are split over too many cores: make them small enough for fewer cores, or use \
                 a target that allows more destinations per core"
            }
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model that cannot be mapped onto a target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    #[error("the model has {} Input nodes ({}); the mapper needs exactly one", names.len(), names.join(", "))]
    InputCount { names: Vec<String> },
    #[error("the model has {} Output nodes ({}); the mapper needs exactly one", names.len(), names.join(", "))]
    OutputCount { names: Vec<String> },
    #[error("node `{node}`: {kind} is not supported by the mapper yet; {hint}")]
    Unsupported { node: String, kind: String, hint: String },
    #[error("{message}")]
    Structure { message: String },
    #[error(
        "layer `{layer}` does not fit: {}, but the largest core (`{core_type}`) offers {}; {}",
        resource.need_phrase(*need),
        resource.offer_phrase(*offers),
        resource.hint()
    )]
    DoesNotFit { layer: String, resource: Resource, need: u64, offers: u64, core_type: String },
    #[error(
        "layer `{layer}` does not fit: one neuron has {fan_in} inputs, but a core of type `{core_type}` takes at most \
         {limit} ({}), and the target cannot split a neuron's input over cores; use a target whose cores chain \
         partial sums (`partial_sums: true` in the core type), prune the layer's incoming weights, or reduce its \
         input channels",
        resource.name()
    )]
    FanInTooLarge { layer: String, fan_in: u64, limit: u64, resource: Resource, core_type: String },
    #[error(
        "the model needs {needed} cores{}, but target `{target}` has {available}{detail}; {hint}",
        core_type.as_ref().map_or_else(String::new, |t| format!(" of type `{t}`"))
    )]
    NotEnoughCores {
        needed: usize,
        available: usize,
        /// The core type that is short, on targets with several.
        core_type: Option<String>,
        target: String,
        detail: String,
        hint: String,
    },
    #[error(
        "routing failed: {0}; place the model on fewer cores or use a target with larger routing tables \
         (multicast needs fewer entries)"
    )]
    Route(#[from] RouteError),
    #[error("placement failed: {0}")]
    Place(#[from] PlaceError),
    #[error("calibration has spike counts for {got} nodes; the graph has {expected} node ids (run the same model)")]
    Calibration { got: usize, expected: usize },
}

impl MapError {
    /// The resource a not-fit error is about.
    pub fn resource(&self) -> Option<Resource> {
        match self {
            MapError::DoesNotFit { resource, .. } | MapError::FanInTooLarge { resource, .. } => Some(*resource),
            _ => None,
        }
    }
}
