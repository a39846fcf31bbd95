//! `spikeforge sweep` and `sf.sweep`: running a sweep ([`run`]), the grid language ([`grid`]), evaluating one
//! configuration ([`eval`]), the results CSV and merging of shards ([`table`]), rows
//! journaled as they finish and resumed ([`journal`]), the Pareto front ([`pareto`]) and
//! its SVG ([`plot`]).

pub mod eval;
pub mod grid;
pub mod journal;
pub mod pareto;
pub mod plot;
pub mod run;
pub mod table;

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

/// FNV-1a, 64 bit: a stable fingerprint of what a sweep ran (the same on every machine and
/// Rust version, unlike `std`'s hasher), so slices of different sweeps are not merged.
pub struct Fingerprint(u64);

impl Fingerprint {
    pub fn new() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// A labelled field (the label and length keep adjacent fields from running together).
    pub fn field(&mut self, label: &str, bytes: &[u8]) -> &mut Self {
        self.bytes(label.as_bytes()).bytes(&(bytes.len() as u64).to_le_bytes()).bytes(bytes)
    }

    pub fn file(&mut self, label: &str, path: &Path) -> Result<&mut Self> {
        let mut f = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
        self.bytes(label.as_bytes());
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf).with_context(|| format!("{}: cannot read", path.display()))?;
            if n == 0 {
                break;
            }
            self.bytes(&buf[..n]);
        }
        Ok(self)
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Fingerprint;

    #[test]
    fn fingerprint_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(Fingerprint::new().hex(), "cbf29ce484222325");
        assert_eq!(Fingerprint::new().bytes(b"a").hex(), "af63dc4c8601ec8c");
        assert_eq!(Fingerprint::new().bytes(b"foobar").hex(), "85944171f73967e8");
        assert_ne!(Fingerprint::new().field("a", b"bc").hex(), Fingerprint::new().field("ab", b"c").hex());
    }
}
