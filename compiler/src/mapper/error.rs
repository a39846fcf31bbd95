//! Why a model cannot be mapped: every error names the layer (IR node), the resource,
//! what it needs, what the largest core offers, and what to change.

use std::fmt;

use spikeforge_targets::show::thousands;

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
    /// More cores than the target has (see [`CoreShortfall`]).
    #[error("{0}")]
    NotEnoughCores(Box<CoreShortfall>),
    #[error(
        "layer `{layer}` does not fit: one neuron has {fan_in} inputs, but a core of type `{core_type}` takes at most \
         {limit} ({}), and the target cannot split a neuron's input over cores; use a target whose cores chain \
         partial sums (`partial_sums: true` in the core type), prune the layer's incoming weights, or reduce its \
         input channels",
        resource.name()
    )]
    FanInTooLarge { layer: String, fan_in: u64, limit: u64, resource: Resource, core_type: String },
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

/// A partition that needs more cores than the target has, with the chips that would do.
///
/// The per-layer list adds up to the total: each core is counted once, under its layer
/// when it holds pieces of one layer only, else among the `shared_cores` that hold pieces
/// of several layers (the fill packs small layers together).
#[derive(Debug, Clone, PartialEq)]
pub struct CoreShortfall {
    /// Cores needed of the type that is short (all cores on single-type targets).
    pub needed: usize,
    /// Cores of that type on the target.
    pub available: usize,
    /// The short core type, on targets with several.
    pub core_type: Option<String>,
    /// Cores of every type the partition uses.
    pub total_cores: usize,
    pub target: String,
    /// The target's grid of chips.
    pub grid: [u32; 2],
    /// Cores of the short type on one chip.
    pub cores_per_chip: u64,
    /// Chips holding `needed` cores of that type.
    pub chips_needed: u64,
    /// A near-square grid of at least `chips_needed` chips.
    pub suggested_grid: [u32; 2],
    /// Layers with the cores that hold only that layer, most first (all layers on cores).
    pub layers: Vec<(String, usize)>,
    /// Cores holding pieces of several layers.
    pub shared_cores: usize,
    /// Other short core types: `(name, needed, available)`.
    pub also_short: Vec<(String, usize, usize)>,
}

/// Layers named in the message; the rest are summed.
const LISTED_LAYERS: usize = 5;

impl fmt::Display for CoreShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = |n: usize| thousands(n as u64);
        let of_type = self.core_type.as_ref().map_or_else(String::new, |t| format!(" of type `{t}`"));
        let chips = |n: u64| if n == 1 { "1 chip".to_string() } else { format!("{} chips", thousands(n)) };
        write!(
            f,
            "the model needs {} cores{of_type} = {} of `{}` ({} cores{of_type} each), but target `{}` has {} on a \
             grid of {} × {} chips; ",
            g(self.needed),
            chips(self.chips_needed),
            self.target,
            thousands(self.cores_per_chip),
            self.target,
            g(self.available),
            self.grid[0],
            self.grid[1],
        )?;
        if self.core_type.is_some() {
            write!(f, "{} cores in all, ", g(self.total_cores))?;
        } else {
            f.write_str("cores ")?;
        }
        f.write_str("by layer (cores holding only that layer): ")?;
        let mut parts: Vec<String> =
            self.layers.iter().take(LISTED_LAYERS).map(|(name, n)| format!("`{name}` {}", g(*n))).collect();
        if self.layers.len() > LISTED_LAYERS {
            let rest: usize = self.layers[LISTED_LAYERS..].iter().map(|(_, n)| n).sum();
            parts.push(format!("{} other layers {}", self.layers.len() - LISTED_LAYERS, g(rest)));
        }
        if self.shared_cores > 0 {
            parts.push(format!("cores shared by several layers {}", g(self.shared_cores)));
        }
        f.write_str(&parts.join(", "))?;
        for (name, needed, available) in &self.also_short {
            write!(f, "; also {} cores of type `{name}` (has {})", g(*needed), g(*available))?;
        }
        write!(
            f,
            "; use --chips {}x{} or --chips auto, a target with larger cores, or prune the model",
            self.suggested_grid[0], self.suggested_grid[1]
        )
    }
}
