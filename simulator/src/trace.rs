//! Trace recording during a run: packets on links and core activity (Perfetto) and
//! spikes per neuron (VCD), for one chosen sample, bounded by a size limit.

use crate::processor::Work;

/// Bytes one recorded packet or core interval takes in the Perfetto JSON (estimate).
const PERFETTO_EVENT_BYTES: u64 = 110;
/// Bytes one spike (a rise and a fall) takes in the VCD (estimate), and one signal's
/// declaration.
pub(crate) const VCD_SPIKE_BYTES: u64 = 28;
pub(crate) const VCD_SIGNAL_BYTES: u64 = 40;

/// Packets on links and core intervals, in absolute cycles.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorder {
    pub base: u64,
    /// (router, direction, departure, busy cycles, arrival).
    pub links: Vec<(u32, u8, u64, u64, u64)>,
    /// (core index, kind 0 synapses / 1 update / 2 spike out, start, cycles).
    pub cores: Vec<(u32, u8, u64, u64)>,
    pub bytes: u64,
    pub limit: u64,
    pub overflow: bool,
}

impl Recorder {
    fn room(&mut self) -> bool {
        if self.overflow {
            return false;
        }
        self.bytes += PERFETTO_EVENT_BYTES;
        if self.bytes > self.limit {
            self.overflow = true;
            return false;
        }
        true
    }

    pub fn link(&mut self, router: u32, dir: u8, start: u64, busy: u64, arrive: u64) {
        if self.room() {
            self.links.push((router, dir, self.base + start, busy, self.base + arrive));
        }
    }

    pub fn core(&mut self, core: u32, w: Work, start: u64, cycles: u64) {
        let kind = match w {
            Work::Packet(..) => 0,
            Work::Update(_) => 1,
            Work::Build(_) => 2,
            Work::Idle => return,
        };
        if cycles > 0 && self.room() {
            self.cores.push((core, kind, self.base + start, cycles));
        }
    }
}

/// Spike pulses of the traced sample.
#[derive(Clone, Debug, Default)]
pub(crate) struct VcdData {
    /// Spiking populations: (name, first signal, neurons).
    pub populations: Vec<(String, u32, u32)>,
    /// (rise cycle, fall cycle, signal).
    pub pulses: Vec<(u64, u64, u32)>,
    pub bytes: u64,
    pub limit: u64,
    pub overflow: bool,
}

impl VcdData {
    pub fn spike(&mut self, rise: u64, fall: u64, signal: u32) {
        if self.overflow {
            return;
        }
        self.bytes += VCD_SPIKE_BYTES;
        if self.bytes > self.limit {
            self.overflow = true;
            return;
        }
        self.pulses.push((rise, fall, signal));
    }
}

/// Everything recorded for the trace writers.
#[derive(Clone, Debug, Default)]
pub struct TraceData {
    pub(crate) perfetto: Option<Recorder>,
    pub(crate) vcd: Option<VcdData>,
    pub(crate) grid_width: u32,
    pub(crate) core_names: Vec<String>,
    pub(crate) clock_mhz: f64,
    pub(crate) model: String,
    /// [`spikeforge_targets::CoreMap::fingerprint`] of the simulated map (computed only when a
    /// trace is recorded), written into VCD and Perfetto files.
    pub(crate) map_fingerprint: String,
}

/// The traced sample's spikes per neuron (recorded with [`crate::TraceOptions::vcd`]).
#[derive(Clone, Copy, Debug)]
pub struct TracedSpikes<'a> {
    /// Spiking populations in layout order: (name, first signal, neurons); a neuron's
    /// signal is `first + index`.
    pub populations: &'a [(String, u32, u32)],
    /// (rise cycle, fall cycle, signal): from the neuron's update to the end of its step,
    /// in cycles from the start of the run (all samples back to back).
    pub pulses: &'a [(u64, u64, u32)],
}

impl TraceData {
    /// The recorded spikes; `None` when they were not recorded or the size limit cut the
    /// recording short.
    pub fn spikes(&self) -> Option<TracedSpikes<'_>> {
        let v = self.vcd.as_ref().filter(|v| !v.overflow)?;
        Some(TracedSpikes { populations: &v.populations, pulses: &v.pulses })
    }
}
