//! Reading, writing and validating core maps: the gate for compiled programs on disk.

use std::collections::HashMap;

use crate::coremap::{CoreMap, NeuronModel, CORE_MAP_MAGIC, CORE_MAP_VERSION};
use crate::target::Target;

#[derive(Debug, thiserror::Error)]
pub enum CoreMapError {
    #[error("{file}: not a spikeforge core map (bad signature); compile one with `spikeforge compile`")]
    NotCoreMap { file: String },
    #[error("{file}: core map format version {found}; this build reads version {expected}: recompile the model")]
    Version { file: String, found: u32, expected: u32 },
    #[error("{file}: corrupt core map: {reason}")]
    Decode { file: String, reason: String },
    #[error("{file}: invalid core map: {reason}")]
    Invalid { file: String, reason: String },
}

/// Bytes after the payload: its length (u64) and the CRC-32 of everything before the CRC.
const TRAILER_BYTES: usize = 12;

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
const SINK_CHUNK: usize = 1 << 16;

/// Where [`CoreMap::write_to`] streams bytes: in chunks to `w`, hashed on the way (the
/// CRC until [`Sink::flush_chunk`] before the CRC itself is written, FNV-1a throughout).
/// `postcard` writes through `Extend<u8>`, which cannot fail, so the first I/O error is
/// kept and later bytes are dropped.
struct Sink<'w> {
    w: &'w mut dyn std::io::Write,
    chunk: Vec<u8>,
    crc: crc32fast::Hasher,
    fnv: u64,
    /// Bytes flushed so far.
    len: u64,
    err: Option<std::io::Error>,
}

impl Sink<'_> {
    fn flush_chunk(&mut self) {
        self.crc.update(&self.chunk);
        self.fnv = self.chunk.iter().fold(self.fnv, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3));
        if self.err.is_none() {
            if let Err(e) = self.w.write_all(&self.chunk) {
                self.err = Some(e);
            }
        }
        self.len += self.chunk.len() as u64;
        self.chunk.clear();
    }
}

impl Extend<u8> for Sink<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        for b in bytes {
            self.chunk.push(b);
            if self.chunk.len() == SINK_CHUNK {
                self.flush_chunk();
            }
        }
    }
}

impl CoreMap {
    /// Signature, version, the postcard encoding, then a trailer holding the payload's
    /// length (u64 LE) and the CRC-32 (IEEE) of all preceding bytes (u32 LE). Any single
    /// corrupted byte, a truncation, trailing bytes or a concatenation is detected.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out).expect("writing to memory does not fail");
        out
    }

    /// Streams [`CoreMap::to_bytes`] into `w` without holding them (a seed-scale map is
    /// hundreds of MB) and returns the map's [`CoreMap::fingerprint`].
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<String> {
        let mut sink = Sink {
            w,
            chunk: Vec::with_capacity(SINK_CHUNK),
            crc: crc32fast::Hasher::new(),
            fnv: FNV_START,
            len: 0,
            err: None,
        };
        sink.extend(CORE_MAP_MAGIC.iter().copied());
        sink.extend(self.version.to_le_bytes());
        let header = sink.len + sink.chunk.len() as u64;
        let mut sink = postcard::to_extend(self, sink).expect("core maps always serialise");
        let payload_len = sink.len + sink.chunk.len() as u64 - header;
        sink.extend(payload_len.to_le_bytes());
        sink.flush_chunk();
        let crc = sink.crc.clone().finalize();
        sink.extend(crc.to_le_bytes());
        sink.flush_chunk();
        match sink.err {
            Some(e) => Err(e),
            None => Ok(format!("{:016x}", sink.fnv)),
        }
    }

    /// A short identifier of this map's bytes (FNV-1a 64 of [`CoreMap::to_bytes`], 16 hex
    /// digits), written into stats, traces and reports so that they can be checked against
    /// the map they describe. Computed without holding the bytes.
    pub fn fingerprint(&self) -> String {
        self.write_to(&mut std::io::sink()).expect("writing to a sink does not fail")
    }

    /// Checks the framing, decodes the whole payload (no byte left over) and validates;
    /// `file` names the source in messages.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<CoreMap, CoreMapError> {
        let n = CORE_MAP_MAGIC.len();
        if bytes.len() < n + 4 || &bytes[..n] != CORE_MAP_MAGIC {
            return Err(CoreMapError::NotCoreMap { file: file.into() });
        }
        let found = u32::from_le_bytes(bytes[n..n + 4].try_into().expect("4 bytes"));
        if found != CORE_MAP_VERSION {
            return Err(CoreMapError::Version { file: file.into(), found, expected: CORE_MAP_VERSION });
        }
        let decode = |reason: String| CoreMapError::Decode { file: file.into(), reason };
        if bytes.len() < n + 4 + TRAILER_BYTES {
            return Err(decode(format!("{} bytes, too short to hold a map and its checksum", bytes.len())));
        }
        let (body, crc_bytes) = bytes.split_at(bytes.len() - 4);
        let (framed, len_bytes) = body.split_at(body.len() - 8);
        let declared_len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
        let payload = &framed[n + 4..];
        if declared_len != payload.len() as u64 {
            return Err(decode(format!(
                "the trailer declares a {declared_len}-byte payload but the file holds {} bytes between \
                 header and trailer (truncated, extended or concatenated)",
                payload.len()
            )));
        }
        let stored = u32::from_le_bytes(crc_bytes.try_into().expect("4 bytes"));
        let computed = crc32fast::hash(body);
        if stored != computed {
            return Err(decode(format!(
                "checksum mismatch (stored {stored:08x}, computed {computed:08x}): the file was damaged"
            )));
        }
        let (map, rest): (CoreMap, &[u8]) = postcard::take_from_bytes(payload).map_err(|e| decode(e.to_string()))?;
        if !rest.is_empty() {
            return Err(decode(format!("{} bytes after the encoded map", rest.len())));
        }
        map.validate().map_err(|reason| CoreMapError::Invalid { file: file.into(), reason })?;
        Ok(map)
    }

    /// Checks every invariant listed in [`crate::coremap`]; the first violation is returned.
    pub fn validate(&self) -> Result<(), String> {
        let target = Target::from_spec(self.target.clone(), "embedded target").map_err(|e| e.to_string())?;
        if self.version != CORE_MAP_VERSION {
            return Err(format!("version field {} ≠ {CORE_MAP_VERSION}", self.version));
        }
        let n_pops = self.populations.len();
        let in_range = |i: u32, what: &str| {
            if (i as usize) < n_pops {
                Ok(())
            } else {
                Err(format!("{what} population {i} out of range ({n_pops} populations)"))
            }
        };
        in_range(self.input, "input")?;
        in_range(self.output, "output")?;
        if !(self.dynamics.dt_s.is_finite() && self.dynamics.dt_s > 0.0) {
            return Err(format!("time step {} is not positive", self.dynamics.dt_s));
        }
        // Cores: ascending, known to the target, local groups consistent.
        let mut core_index = HashMap::new();
        for (i, c) in self.cores.iter().enumerate() {
            if c.core.0 >= target.num_cores() {
                return Err(format!(
                    "core {} is not on target `{}` ({} cores)",
                    c.core,
                    target.name(),
                    target.num_cores()
                ));
            }
            if i > 0 && self.cores[i - 1].core >= c.core {
                return Err(format!("cores are not in ascending order at {}", c.core));
            }
            core_index.insert(c.core, i);
            // Group counts are numbers in the file: sum them without overflow before
            // anything is sized by them (hand-built maps may exceed the core type's
            // max_neurons; the simulator models them anyway, and callers bound the total).
            let Some(n) = c.groups.iter().try_fold(0u32, |a, g| a.checked_add(g.2)) else {
                return Err(format!(
                    "core {} holds {} neurons, more than 2^32",
                    c.core,
                    c.groups.iter().map(|g| g.2 as u64).sum::<u64>()
                ));
            };
            let n = n as usize;
            let p = &c.params;
            for (name, v) in [
                ("decay", &p.decay),
                ("gain", &p.gain),
                ("v_leak", &p.v_leak),
                ("v_threshold", &p.v_threshold),
                ("v_reset", &p.v_reset),
                ("bias", &p.bias),
                ("syn_decay", &p.syn_decay),
                ("w_in", &p.w_in),
            ] {
                if !v.is_empty() && v.len() != n {
                    return Err(format!("core {}: `{name}` has {} values for {n} neurons", c.core, v.len()));
                }
                if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                    return Err(format!("core {}: `{name}` holds {x}", c.core));
                }
            }
            for &(pop, first, count) in &c.groups {
                in_range(pop, "core group")?;
                let pp = &self.populations[pop as usize];
                if first.checked_add(count).is_none_or(|e| e > pp.n_neurons) {
                    return Err(format!("core {}: neurons {first}..+{count} exceed population `{}`", c.core, pp.name));
                }
                let needs: &[(&str, &Vec<f64>)] = match pp.model {
                    NeuronModel::Input => return Err(format!("core {} holds input neurons", c.core)),
                    NeuronModel::Identity => &[],
                    NeuronModel::LIF | NeuronModel::LI => {
                        &[("decay", &p.decay), ("gain", &p.gain), ("v_leak", &p.v_leak)]
                    }
                    NeuronModel::IF | NeuronModel::I => &[("gain", &p.gain)],
                    NeuronModel::CubaLIF | NeuronModel::CubaLI => {
                        &[("decay", &p.decay), ("gain", &p.gain), ("syn_decay", &p.syn_decay), ("w_in", &p.w_in)]
                    }
                };
                let spiking: &[(&str, &Vec<f64>)] = if pp.model.is_spiking() {
                    &[("v_threshold", &p.v_threshold), ("v_reset", &p.v_reset)]
                } else {
                    &[]
                };
                for (name, v) in needs.iter().chain(spiking) {
                    if v.is_empty() {
                        return Err(format!("core {}: `{}` neurons need `{name}`", c.core, pp.name));
                    }
                }
            }
            let a = &c.axons;
            let (mut next_axon, mut next_explicit) = (0u64, 0u64);
            for r in &a.runs {
                if r.count == 0 || r.first_axon as u64 != next_axon || r.first_explicit as u64 != next_explicit {
                    return Err(format!(
                        "core {}: axon runs do not number axons consecutively at axon {next_axon}",
                        c.core
                    ));
                }
                next_axon += r.count as u64;
                if !r.symbolic {
                    next_explicit += r.count as u64;
                }
            }
            if next_axon > u32::MAX as u64 {
                return Err(format!("core {}: {next_axon} axons, more than 2^32", c.core));
            }
            if a.syn_start.len() as u64 != next_explicit + 1 {
                return Err(format!(
                    "core {}: {} synapse offsets for {next_explicit} explicit axons",
                    c.core,
                    a.syn_start.len()
                ));
            }
            if a.syn_start.first() != Some(&0)
                || a.syn_start.windows(2).any(|w| w[0] > w[1])
                || *a.syn_start.last().expect("n_explicit + 1 ≥ 1 entries") as usize != a.syn_target.len()
                || a.syn_weight.len() != a.syn_target.len()
            {
                return Err(format!("core {}: synapse offsets are inconsistent", c.core));
            }
            if let Some(t) = a.syn_target.iter().find(|&t| t as usize >= n) {
                return Err(format!("core {}: synapse targets local neuron {t} of {n}", c.core));
            }
            if let Some(w) = a.syn_weight.first_non_finite() {
                return Err(format!("core {}: synapse weight {w}", c.core));
            }
        }
        // Populations: pieces tile the neurons exactly and agree with the cores' groups.
        for (pi, pop) in self.populations.iter().enumerate() {
            let numel = pop.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
            if numel != Some(pop.n_neurons as u64) {
                return Err(format!(
                    "population `{}`: shape {:?} does not hold {} neurons",
                    pop.name, pop.shape, pop.n_neurons
                ));
            }
            if (pi as u32 == self.input) != (pop.model == NeuronModel::Input) {
                return Err(format!("population `{}`: only the input population has model Input", pop.name));
            }
            if pop.model == NeuronModel::Input {
                if !pop.pieces.is_empty() {
                    return Err(format!("input population `{}` is placed on cores", pop.name));
                }
                continue;
            }
            let mut next = 0u32;
            for piece in &pop.pieces {
                if piece.first != next || piece.count == 0 || next.checked_add(piece.count).is_none() {
                    return Err(format!("population `{}`: pieces do not tile its neurons at {next}", pop.name));
                }
                next += piece.count;
                let ci = *core_index
                    .get(&piece.core)
                    .ok_or_else(|| format!("population `{}` is on unused core {}", pop.name, piece.core))?;
                let core = &self.cores[ci];
                let mut off = 0u32;
                let found = core.groups.iter().any(|&(p, f, c)| {
                    let hit = p as usize == pi && f == piece.first && c == piece.count && off == piece.local_offset;
                    off += c;
                    hit
                });
                if !found {
                    return Err(format!(
                        "population `{}`: core {} does not hold its piece at {}",
                        pop.name, piece.core, piece.first
                    ));
                }
            }
            if next != pop.n_neurons {
                return Err(format!("population `{}`: pieces cover {next} of {} neurons", pop.name, pop.n_neurons));
            }
        }
        // Projections: events, pooling and fan-out consistent with the axon tables.
        for (ji, pr) in self.projections.iter().enumerate() {
            in_range(pr.source, "projection source")?;
            in_range(pr.target, "projection target")?;
            let n_src = self.populations[pr.source as usize].n_neurons;
            match &pr.pool {
                None if pr.n_events != n_src => {
                    return Err(format!(
                        "projection `{}`: {} events for {n_src} unpooled sources",
                        pr.name, pr.n_events
                    ))
                }
                None => {}
                Some(pool) => {
                    if pool.start.len() != n_src as usize + 1
                        || pool.start.windows(2).any(|w| w[0] > w[1])
                        || pool.start.last().map(|&l| l as usize) != Some(pool.event.len())
                        || pool.factor.len() != pool.event.len()
                        || pool.event.iter().any(|&e| e >= pr.n_events)
                        || pool.factor.iter().any(|f| !f.is_finite())
                    {
                        return Err(format!("projection `{}`: pooling table is inconsistent", pr.name));
                    }
                }
            }
            if let Some(conv) = &pr.conv {
                let n_tgt = self.populations[pr.target as usize].n_neurons;
                conv.check(pr.n_events, n_tgt).map_err(|e| format!("projection `{}`: {e}", pr.name))?;
            }
            if pr.fanout_start.len() != pr.n_events as usize + 1
                || pr.fanout_start.windows(2).any(|w| w[0] > w[1])
                || pr.fanout_start.last().map(|&l| l as usize) != Some(pr.fanout.len())
            {
                return Err(format!("projection `{}`: fan-out offsets are inconsistent", pr.name));
            }
            for e in 0..pr.n_events as usize {
                for d in &pr.fanout[pr.fanout_start[e] as usize..pr.fanout_start[e + 1] as usize] {
                    let ci = *core_index
                        .get(&d.core)
                        .ok_or_else(|| format!("projection `{}` routes to unused core {}", pr.name, d.core))?;
                    let a = &self.cores[ci].axons;
                    let own = (d.axon as usize) < a.len() && {
                        let r = a.run_of(d.axon);
                        r.projection as usize == ji && (r.first_event + (d.axon - r.first_axon)) as usize == e
                    };
                    if !own {
                        return Err(format!(
                            "projection `{}`: event {e} reaches core {} on an axon that is not its own",
                            pr.name, d.core
                        ));
                    }
                }
            }
        }
        for c in &self.cores {
            for r in &c.axons.runs {
                let pr = self.projections.get(r.projection as usize).ok_or_else(|| {
                    format!("core {}: axon {} names projection {}", c.core, r.first_axon, r.projection)
                })?;
                if r.first_event.checked_add(r.count).is_none_or(|end| end > pr.n_events) {
                    return Err(format!(
                        "core {}: axons {}..+{} name events {}..+{} of {}",
                        c.core, r.first_axon, r.count, r.first_event, r.count, pr.n_events
                    ));
                }
                if r.symbolic != pr.conv.is_some() {
                    return Err(if r.symbolic {
                        format!(
                            "core {}: axon {} of projection `{}` is marked symbolic but the projection has no kernel",
                            c.core, r.first_axon, pr.name
                        )
                    } else {
                        format!(
                            "core {}: axon {} of convolution `{}` lists explicit synapses (its kernel stands for them)",
                            c.core, r.first_axon, pr.name
                        )
                    });
                }
            }
            for (a, axon) in c.axons.iter() {
                let Some(syn) = axon.synapses else { continue };
                for t in syn.map(|k| c.axons.syn_target.get(k)) {
                    let pop = local_population(c, t);
                    let pr = &self.projections[axon.projection as usize];
                    if pop != Some(pr.target) {
                        return Err(format!(
                            "core {}: axon {a} of projection `{}` targets a neuron of another population",
                            c.core, pr.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The population of local neuron `t` on a core.
pub fn local_population(core: &crate::coremap::CoreProgram, t: u32) -> Option<u32> {
    let mut off = 0;
    for &(p, _, c) in &core.groups {
        if t < off + c {
            return Some(p);
        }
        off += c;
    }
    None
}
