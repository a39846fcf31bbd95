//! What a run reports: per-step rows and the run's statistics (serde / JSON).
//!
//! **Energy** (`pJ`, from the target's per-event table):
//!
//! ```text
//! synapse   = Σ_kind synop_pj[kind] × synapse reads of that kind (dense, sparse, conv:
//!             synop_pj_by_kind where given) + synop_pj × (other reads + pooling entries)
//! neuron    = neuron_update_pj × neuron updates + neuron_active_pj × active neurons
//!             + spike_pj × spikes
//! spike_out = spike_out_pj × packets built by cores (network + loopback)
//!             + message_in_pj × packets received by cores (host input included)
//! routing   = hop_ew_pj × east-west hops + hop_ns_pj × north-south hops + chip_hop_pj × chip hops
//! static    = static_power_mw × chips × step cycles / clock_mhz × 1e3   (mW · µs = nJ = 1e3 pJ)
//! ```
//!
//! A component whose figure the target leaves out (`None`) is `null` when its events
//! occurred (listed in `energy_pj.unavailable`, and `energy_pj.partial` is set) and 0
//! otherwise: unknown energy stays unknown, never 0. `total` sums the known components, so
//! it is exact when `partial` is false, a lower bound when it is true, and `null` when no
//! component with events has a figure (nothing is known). Host input packets cost no core
//! or link energy.
//!
//! **SOPs** follow NeuroBench's Effective_ACs: see [`crate::func`]. `synapse_reads`
//! counts the stored synapses the cores actually read (zero weights included), which is
//! what cycles and energy are charged for.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use spikeforge_targets::coremap::CoreMap;
use spikeforge_targets::Target;

/// Energy by component, in picojoules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyPj {
    pub synapse: Option<f64>,
    pub neuron: Option<f64>,
    pub spike_out: Option<f64>,
    pub routing: Option<f64>,
    #[serde(rename = "static")]
    pub static_: Option<f64>,
    /// Sum of the known components: the whole energy when `partial` is false, a lower
    /// bound when it is true; `None` when no component with events has a figure.
    pub total: Option<f64>,
    /// Whether some component had events but no figure in the target (see `unavailable`).
    #[serde(default)]
    pub partial: bool,
    /// Components with events but no figure in the target, in component order.
    pub unavailable: Vec<String>,
}

/// The component names of [`EnergyPj`], in order (also the names in `unavailable`).
pub const ENERGY_COMPONENTS: [&str; 5] = ["synapse", "neuron", "spike_out", "routing", "static"];

impl EnergyPj {
    /// The components in [`ENERGY_COMPONENTS`] order.
    pub fn components(&self) -> [Option<f64>; 5] {
        [self.synapse, self.neuron, self.spike_out, self.routing, self.static_]
    }

    fn add(&mut self, o: &EnergyPj) {
        let sum = |a: &mut Option<f64>, b: Option<f64>| *a = a.zip(b).map(|(x, y)| x + y);
        sum(&mut self.synapse, o.synapse);
        sum(&mut self.neuron, o.neuron);
        sum(&mut self.spike_out, o.spike_out);
        sum(&mut self.routing, o.routing);
        sum(&mut self.static_, o.static_);
        self.total = add_known(self.total, o.total);
        self.partial |= o.partial;
        for u in &o.unavailable {
            if !self.unavailable.contains(u) {
                self.unavailable.push(u.clone());
            }
        }
        self.unavailable.sort_by_key(|u| ENERGY_COMPONENTS.iter().position(|c| c == u));
    }

    /// The neutral element of `add`: every component 0, nothing known yet.
    fn zero() -> EnergyPj {
        EnergyPj {
            synapse: Some(0.0),
            neuron: Some(0.0),
            spike_out: Some(0.0),
            routing: Some(0.0),
            static_: Some(0.0),
            total: None,
            ..Default::default()
        }
    }
}

/// Sum of two known parts; `None` only when neither knows anything.
fn add_known(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}

/// One row per (sample, step): the per-step CSV.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    pub sample: usize,
    pub step: usize,
    /// Critical path plus barrier.
    pub cycles: u64,
    pub critical_path_cycles: u64,
    /// The core whose last work ends the critical path (see [`crate::attribution`]);
    /// empty when no core worked this step.
    #[serde(default)]
    pub critical_core: String,
    pub latency_us: f64,
    pub sops_weight_layers: u64,
    pub sops_pooling: u64,
    pub synapse_reads: u64,
    pub neuron_updates: u64,
    pub spikes: u64,
    pub packets: u64,
    pub loopback_packets: u64,
    pub host_packets: u64,
    pub hops: u64,
    /// Cycles from the first injection of a network packet to its last ejection.
    pub network_active_cycles: u64,
    pub max_link_busy_cycles: u64,
    pub stall_cycles: u64,
    pub energy_pj: EnergyPj,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSpikes {
    pub population: String,
    pub neurons: u32,
    pub spikes: u64,
    /// 1 − spikes / (neurons × steps × samples).
    pub activation_sparsity: f64,
}

/// What one core did over the run (see [`crate::attribution`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CoreActivity {
    /// Same naming as `memory[].core`.
    pub core: String,
    /// The layers (populations) with neurons on this core, in model order.
    pub layers: Vec<String>,
    /// Cycles the core spent processing packets, building packets and updating neurons.
    pub busy_cycles: u64,
    /// Steps whose critical path ended on this core.
    pub critical_path_steps: u64,
    pub synapse_reads: u64,
    pub neuron_updates: u64,
    pub spikes: u64,
    /// Network packets its units injected (loopback packets separate).
    pub packets: u64,
    pub loopback_packets: u64,
}

/// What one layer (a population other than the input) did over the run, attributed per
/// event (see [`crate::attribution`]): the sums over layers of SOPs, synapse reads, neuron
/// updates, spikes, packets and loopback packets are the run's totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerActivity {
    pub population: String,
    /// Cores holding its neurons.
    pub cores: Vec<String>,
    /// SOPs of the projections into this layer (weight layers; pooling, source-side
    /// pooling included).
    pub sops_weight_layers: u64,
    pub sops_pooling: u64,
    /// Synapses read for events delivered to this layer.
    pub synapse_reads: u64,
    pub neuron_updates: u64,
    pub spikes: u64,
    /// Network packets its units injected (loopback packets separate).
    pub packets: u64,
    pub loopback_packets: u64,
    /// Packets its cores processed for it (host input included).
    pub received_packets: u64,
    /// Cycles its cores spent on its events (see [`crate::attribution`]).
    pub busy_cycles: u64,
    /// The energy formula (module docs) applied to this layer's events. `static` is always
    /// `null`: static energy belongs to the chip and is not attributed to layers, so the
    /// layers' totals add up to the run's total minus its static energy.
    pub energy_pj: EnergyPj,
    /// Steps whose critical-path core holds neurons of this layer.
    pub critical_path_steps: u64,
}

/// Memory of one core: used vs capacity (capacity `None` = the target sets no limit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreMemory {
    pub core: String,
    pub neurons: u32,
    pub max_neurons: u32,
    pub synapse_bits: u64,
    pub synapse_bits_capacity: u64,
    pub neuron_state_bits: u64,
    pub neuron_state_bits_capacity: u64,
    pub routing_entries: u32,
    pub routing_entries_capacity: Option<u32>,
    pub in_axons: u32,
    pub in_axons_capacity: u32,
    pub out_axons: u32,
    pub out_axons_capacity: u32,
}

/// Packets on one link over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkLoad {
    /// `x,y→east` with global tile coordinates.
    pub link: String,
    pub packets: u64,
    pub busy_cycles: u64,
    pub utilisation: f64,
}

/// The statistics of a run (the stats JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    pub target: String,
    pub model: String,
    pub mode: String,
    /// `same-step` or `pipelined` (see [`crate::TimingMode`]).
    #[serde(default)]
    pub timing: String,
    pub n_samples: usize,
    pub n_steps: usize,
    pub clock_mhz: f64,
    pub seed: u64,
    pub sops_weight_layers_total: u64,
    /// Mean over samples.
    pub sops_weight_layers_per_sample: f64,
    pub sops_weight_layers_by_sample: Vec<u64>,
    pub sops_pooling_total: u64,
    pub sops_pooling_per_sample: f64,
    pub sops_pooling_by_sample: Vec<u64>,
    pub synapse_reads: u64,
    pub neuron_updates: u64,
    pub spikes_per_layer: Vec<LayerSpikes>,
    pub activation_sparsity: f64,
    /// Stored synapses and those with a nonzero weight.
    pub stored_synapses: u64,
    pub nonzero_synapses: u64,
    /// Network packets injected by cores (loopback and host packets separate).
    pub packets: u64,
    pub loopback_packets: u64,
    pub host_packets: u64,
    /// Packet deliveries to destination cores: injected = delivered (conservation).
    pub deliveries_injected: u64,
    pub deliveries_delivered: u64,
    pub hops: u64,
    /// Mean cycles from a core's injection to ejection at the destination core, over
    /// network packets (multicast: per destination branch; host and loopback excluded).
    pub packet_latency_mean_cycles: f64,
    pub hops_ew: u64,
    pub hops_ns: u64,
    pub hops_chip: u64,
    /// Busiest link's busy cycles / `cycles_total`.
    pub max_link_utilisation: f64,
    pub busiest_link: Option<String>,
    pub stall_cycles: u64,
    pub core_stall_cycles: u64,
    pub link_stall_cycles: u64,
    pub cycles_total: u64,
    /// Cycles per time step: `mean` and `max` over all samples and steps.
    pub cycles_per_step: MeanMax,
    pub cycles_per_step_mean: f64,
    pub cycles_per_step_max: u64,
    /// Wall-equivalent latency per step at the target clock (mean; `_max` below).
    pub latency_us_per_step: f64,
    pub latency_us_per_step_mean: f64,
    pub latency_us_per_step_max: f64,
    pub energy_pj: EnergyPj,
    /// `energy_pj.total` / samples: a lower bound when `energy_pj.partial`, `None` when
    /// the target has no figure for any component that had events.
    pub energy_pj_per_sample: Option<f64>,
    pub energy_pj_by_sample: Vec<Option<f64>>,
    pub memory: Vec<CoreMemory>,
    pub links: Vec<LinkLoad>,
    /// Per core, in `memory` order: busy cycles, critical-path steps, events.
    #[serde(default)]
    pub cores: Vec<CoreActivity>,
    /// Per layer in model order: events, busy cycles, energy, critical-path steps.
    #[serde(default)]
    pub layers: Vec<LayerActivity>,
    /// Hardware mode: weights / thresholds / other values clamped by quantization.
    pub saturated_values: u64,
}

/// What one step did, for its energy.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepEvents {
    /// Dense, sparse, convolution, other (see `func::kind_index`).
    pub synapse_reads_by_kind: [u64; 4],
    pub pool_entries: u64,
    pub neuron_updates: u64,
    pub active_neurons: u64,
    pub spikes: u64,
    /// Packets built by cores (network + loopback) and packets received by cores.
    pub built: u64,
    pub received: u64,
    pub hops: [u64; 3],
    pub cycles: u64,
}

/// The per-step energy of the given event counts.
pub(crate) fn step_energy(target: &Target, ev: &StepEvents) -> EnergyPj {
    let spec = target.spec();
    let e = &spec.energy;
    let reads = &ev.synapse_reads_by_kind;
    let mut out = EnergyPj::zero();
    let mut unavailable = Vec::new();
    let mut known_any = false;
    let mut set = |name: &str, fig: Option<f64>, count: f64| -> Option<f64> {
        if count == 0.0 {
            Some(0.0)
        } else if let Some(f) = fig {
            known_any = true;
            Some(f * count)
        } else {
            unavailable.push(name.to_string());
            None
        }
    };
    out.synapse = match e.synop_pj_by_kind {
        None => set("synapse", e.synop_pj, (reads.iter().sum::<u64>() + ev.pool_entries) as f64),
        Some(k) => {
            let by_kind = k.dense * reads[0] as f64 + k.sparse * reads[1] as f64 + k.conv * reads[2] as f64;
            set("synapse", e.synop_pj, (reads[3] + ev.pool_entries) as f64).map(|x| x + by_kind)
        }
    };
    let neuron_extra = e.neuron_active_pj * ev.active_neurons as f64 + e.spike_pj * ev.spikes as f64;
    out.neuron = set("neuron", e.neuron_update_pj, ev.neuron_updates as f64).map(|x| x + neuron_extra);
    let received = e.message_in_pj * ev.received as f64;
    out.spike_out = set("spike_out", e.spike_out_pj, ev.built as f64).map(|x| x + received);
    let hops = ev.hops;
    let ew = set("routing", e.hop_ew_pj, hops[0] as f64);
    let ns = set("routing", e.hop_ns_pj, hops[1] as f64);
    let ch = set("routing", e.chip_hop_pj, hops[2] as f64);
    out.routing = match (ew, ns, ch) {
        (Some(a), Some(b), Some(c)) => Some(a + b + c),
        _ => None,
    };
    let chips = (spec.grid.chips[0] * spec.grid.chips[1]) as f64;
    let us = ev.cycles as f64 / spec.timing.clock_mhz;
    out.static_ = set("static", e.static_power_mw.map(|p| p * chips * 1e3), us);
    unavailable.dedup();
    out.partial = !unavailable.is_empty();
    out.unavailable = unavailable;
    let known: f64 = out.components().iter().flatten().sum();
    // A step whose events all lack figures knows nothing; one without events knows it cost 0.
    out.total = (known_any || !out.partial).then_some(known);
    out
}

/// Accumulates rows into the run's statistics.
pub(crate) fn summarise(
    map: &CoreMap,
    target: &Target,
    rows: &[StepRow],
    layer_totals: &[u64],
    spiking: &[u32],
    n_samples: usize,
    n_steps: usize,
) -> SimStats {
    let spec = target.spec();
    // Cores in parallel (integer sums: the same for any thread count).
    let (stored_synapses, nonzero_synapses) = (0..map.cores.len())
        .into_par_iter()
        .map(|ci| {
            let (mut stored, mut nonzero) = (0u64, 0u64);
            map.for_each_synapse(ci, |_, _, w| {
                stored += 1;
                nonzero += (w != 0.0) as u64;
            });
            (stored, nonzero)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut s = SimStats {
        target: spec.name.clone(),
        model: map.model.clone(),
        mode: String::new(),
        timing: String::new(),
        n_samples,
        n_steps,
        clock_mhz: spec.timing.clock_mhz,
        seed: 0,
        sops_weight_layers_total: 0,
        sops_weight_layers_per_sample: 0.0,
        sops_weight_layers_by_sample: vec![0; n_samples],
        sops_pooling_total: 0,
        sops_pooling_per_sample: 0.0,
        sops_pooling_by_sample: vec![0; n_samples],
        synapse_reads: 0,
        neuron_updates: 0,
        spikes_per_layer: Vec::new(),
        activation_sparsity: 1.0,
        stored_synapses,
        nonzero_synapses,
        packets: 0,
        loopback_packets: 0,
        host_packets: 0,
        deliveries_injected: 0,
        deliveries_delivered: 0,
        hops: 0,
        packet_latency_mean_cycles: 0.0,
        hops_ew: 0,
        hops_ns: 0,
        hops_chip: 0,
        max_link_utilisation: 0.0,
        busiest_link: None,
        stall_cycles: 0,
        core_stall_cycles: 0,
        link_stall_cycles: 0,
        cycles_total: 0,
        cycles_per_step: MeanMax { mean: 0.0, max: 0.0 },
        cycles_per_step_mean: 0.0,
        cycles_per_step_max: 0,
        latency_us_per_step: 0.0,
        latency_us_per_step_mean: 0.0,
        latency_us_per_step_max: 0.0,
        energy_pj: EnergyPj::zero(),
        energy_pj_per_sample: None,
        energy_pj_by_sample: vec![None; n_samples],
        memory: Vec::new(),
        links: Vec::new(),
        cores: Vec::new(),
        layers: Vec::new(),
        saturated_values: 0,
    };
    for r in rows {
        s.sops_weight_layers_total += r.sops_weight_layers;
        s.sops_weight_layers_by_sample[r.sample] += r.sops_weight_layers;
        s.sops_pooling_total += r.sops_pooling;
        s.sops_pooling_by_sample[r.sample] += r.sops_pooling;
        s.synapse_reads += r.synapse_reads;
        s.neuron_updates += r.neuron_updates;
        s.packets += r.packets;
        s.loopback_packets += r.loopback_packets;
        s.host_packets += r.host_packets;
        s.hops += r.hops;
        s.stall_cycles += r.stall_cycles;
        s.cycles_total += r.cycles;
        s.cycles_per_step_max = s.cycles_per_step_max.max(r.cycles);
        s.energy_pj.add(&r.energy_pj);
        s.energy_pj_by_sample[r.sample] = add_known(s.energy_pj_by_sample[r.sample], r.energy_pj.total);
    }
    let n_rows = rows.len().max(1) as f64;
    let ns = n_samples.max(1) as f64;
    s.sops_weight_layers_per_sample = s.sops_weight_layers_total as f64 / ns;
    s.sops_pooling_per_sample = s.sops_pooling_total as f64 / ns;
    s.energy_pj_per_sample = s.energy_pj.total.map(|e| e / ns);
    s.cycles_per_step_mean = s.cycles_total as f64 / n_rows;
    s.latency_us_per_step_mean = s.cycles_per_step_mean / spec.timing.clock_mhz;
    s.latency_us_per_step = s.latency_us_per_step_mean;
    s.cycles_per_step = MeanMax { mean: s.cycles_per_step_mean, max: s.cycles_per_step_max as f64 };
    s.latency_us_per_step_max = s.cycles_per_step_max as f64 / spec.timing.clock_mhz;
    let (mut spikes, mut neuron_steps) = (0u64, 0u64);
    for (l, &p) in spiking.iter().enumerate() {
        let pop = &map.populations[p as usize];
        let steps = (pop.n_neurons as u64) * (n_steps * n_samples) as u64;
        spikes += layer_totals[l];
        neuron_steps += steps;
        s.spikes_per_layer.push(LayerSpikes {
            population: pop.name.clone(),
            neurons: pop.n_neurons,
            spikes: layer_totals[l],
            activation_sparsity: if steps == 0 { 1.0 } else { 1.0 - layer_totals[l] as f64 / steps as f64 },
        });
    }
    if neuron_steps > 0 {
        s.activation_sparsity = 1.0 - spikes as f64 / neuron_steps as f64;
    }
    for c in &map.cores {
        let k = target.core(c.core);
        s.memory.push(CoreMemory {
            core: c.core.to_string(),
            neurons: c.usage.neurons,
            max_neurons: k.max_neurons,
            synapse_bits: c.usage.synapse_bits,
            synapse_bits_capacity: k.synapse_memory_bits,
            neuron_state_bits: c.usage.neuron_state_bits,
            neuron_state_bits_capacity: k.max_neurons as u64 * k.neuron_state_bits as u64,
            routing_entries: c.usage.routing_entries,
            routing_entries_capacity: k.routing_entries,
            in_axons: c.usage.in_axons,
            in_axons_capacity: k.in_axons,
            out_axons: c.usage.out_axons,
            out_axons_capacity: k.out_axons,
        });
    }
    s
}

/// A mean and a maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanMax {
    pub mean: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(name: &str) -> Target {
        spikeforge_targets::load::preset(name).unwrap().unwrap()
    }

    /// Dense synapse reads, neuron updates, packets built, hops, cycles.
    fn events(synops: u64, neurons: u64, built: u64, hops: [u64; 3], cycles: u64) -> StepEvents {
        StepEvents {
            synapse_reads_by_kind: [synops, 0, 0, 0],
            neuron_updates: neurons,
            built,
            hops,
            cycles,
            ..Default::default()
        }
    }

    #[test]
    fn the_per_event_model_charges_kinds_active_neurons_spikes_and_messages() {
        let mut spec = preset("test_2x2").spec().clone();
        let e = &mut spec.energy;
        (e.synop_pj, e.neuron_update_pj, e.spike_out_pj) = (Some(1.0), Some(2.0), Some(3.0));
        e.synop_pj_by_kind = Some(spikeforge_targets::ByKind { dense: 10.0, sparse: 20.0, conv: 30.0 });
        (e.neuron_active_pj, e.spike_pj, e.message_in_pj) = (0.5, 7.0, 0.25);
        (e.hop_ew_pj, e.hop_ns_pj, e.static_power_mw) = (Some(0.0), Some(0.0), None);
        let t = Target::from_spec(spec, "test").unwrap();
        let ev = StepEvents {
            synapse_reads_by_kind: [1, 2, 3, 4],
            pool_entries: 5,
            neuron_updates: 10,
            active_neurons: 4,
            spikes: 2,
            built: 3,
            received: 8,
            ..Default::default()
        };
        let e = step_energy(&t, &ev);
        assert_eq!(e.synapse, Some(10.0 + 40.0 + 90.0 + 9.0));
        assert_eq!(e.neuron, Some(20.0 + 2.0 + 14.0));
        assert_eq!(e.spike_out, Some(9.0 + 2.0));
        assert!(!e.partial, "no cycles, so no static energy is missing: {:?}", e.unavailable);
    }

    #[test]
    fn a_target_without_figures_knows_no_energy() {
        // A chip without published figures: unknown, never 0.
        let mut spec = preset("test_2x2").spec().clone();
        let e = &mut spec.energy;
        (e.synop_pj, e.neuron_update_pj, e.spike_out_pj, e.static_power_mw) = (None, None, None, None);
        (e.hop_ew_pj, e.hop_ns_pj, e.chip_hop_pj) = (None, None, None);
        let t = Target::from_spec(spec, "test").unwrap();
        let e = step_energy(&t, &events(10, 5, 2, [0, 0, 0], 100));
        assert_eq!(e.total, None);
        assert!(e.partial);
        assert_eq!(e.synapse, None);
        assert_eq!(e.routing, Some(0.0), "no hops happened, so routing cost nothing");
        assert!(e.unavailable.contains(&"synapse".to_string()));
    }

    #[test]
    fn missing_figures_make_the_total_a_flagged_lower_bound() {
        let mut spec = preset("test_2x2").spec().clone();
        spec.energy.neuron_update_pj = None;
        let t = Target::from_spec(spec, "test").unwrap();
        let e = step_energy(&t, &events(4, 3, 2, [2, 2, 0], 28));
        assert!(e.partial);
        assert_eq!(e.unavailable, vec!["neuron".to_string()]);
        // 4 × 1 + 2 × 3 + 2 × 0.5 + 2 × 0.75 + 28 (static) = 40.5, without the neurons.
        assert!((e.total.unwrap() - 40.5).abs() < 1e-9);
        // Accumulated over steps, the flag and the list survive; an all-known step adds.
        let mut run = EnergyPj::zero();
        run.add(&e);
        run.add(&step_energy(&preset("test_2x2"), &events(1, 0, 0, [0, 0, 0], 0)));
        assert!(run.partial && run.neuron.is_none());
        assert!((run.total.unwrap() - 41.5).abs() < 1e-9);
    }

    #[test]
    fn a_complete_table_gives_an_exact_total() {
        let e = step_energy(&preset("test_2x2"), &events(4, 3, 2, [2, 2, 0], 28));
        assert!(!e.partial && e.unavailable.is_empty());
        assert!((e.total.unwrap() - 46.5).abs() < 1e-9);
    }
}
