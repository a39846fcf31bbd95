//! Dense new-style groups: the links of a group with a Link Info message naming a fractal
//! heap are objects of that heap (`FRHP`; direct blocks `FHDB`, indirect blocks `FHIB`),
//! found through the group's v2 B-tree name index (`BTHD`, `BTIN`, `BTLF`; records of type
//! 5: name hash and heap ID). Same guarantees as the parent module: every read checked and
//! charged to the walk's budget, every node read once.
//!
//! The doubling table and the B-tree's child-pointer widths follow `hdf5-pure` 0.47
//! (`fractal_heap.rs`, `btree_v2.rs`; MIT OR Apache-2.0), which follows the HDF5 C
//! library.

use super::{Cursor, Walker, MAX_LEVELS};

/// The fields of a fractal heap header that locate its managed objects.
struct Heap {
    id_len: usize,
    table_width: u64,
    start_block: u64,
    max_direct_block: u64,
    /// Bytes of a heap offset in a heap ID and in a block header.
    offset_bytes: usize,
    root: u64,
    root_rows: usize,
}

impl Heap {
    /// Size of the blocks in row `row` of the doubling table.
    fn block_size(&self, row: usize) -> u64 {
        let shift = u32::try_from(row.saturating_sub(1)).unwrap_or(u32::MAX);
        1u64.checked_shl(shift).map_or(u64::MAX, |m| self.start_block.saturating_mul(m))
    }

    /// Rows of direct blocks in an indirect block (HDF5's `max_direct_rows`).
    fn direct_rows(&self) -> usize {
        (self.max_direct_block.ilog2().saturating_sub(self.start_block.ilog2()) + 2) as usize
    }

    /// Rows of an indirect block spanning `size` bytes of heap.
    fn rows_for(&self, size: u64) -> usize {
        let first = self.start_block.ilog2() + self.table_width.ilog2();
        (size.max(1).ilog2().saturating_sub(first) + 1) as usize
    }
}

impl<'a> Walker<'a> {
    /// A Link Info message: when it names a fractal heap, the links are stored densely and
    /// found through the name index.
    pub(super) fn link_info(&mut self, body: &[u8], path: &str) -> Option<()> {
        let mut c = Cursor::new(body);
        if c.u8()? != 0 {
            return None;
        }
        if c.u8()? & 0x01 != 0 {
            c.skip(8)?; // maximum creation index
        }
        let heap = self.read_addr(&mut c)??;
        let names = self.read_addr(&mut c)??;
        let heap = self.heap(heap)?;
        self.name_index(names, &heap, path)
    }

    fn heap(&mut self, at: u64) -> Option<Heap> {
        let (os, ls) = (self.os, self.ls);
        let mut c = Cursor::new(self.bytes(at, 22 + 12 * ls as u64 + 3 * os as u64)?);
        if c.take(5)? != b"FRHP\0" {
            return None;
        }
        let id_len = c.usize(2)?;
        if c.uint(2)? != 0 {
            return None; // filtered heap: its blocks are encoded
        }
        c.skip(1 + 4 + ls + os + 4 * ls + os + 5 * ls)?;
        let table_width = c.uint(2)?;
        let start_block = c.uint(ls)?;
        let max_direct_block = c.uint(ls)?;
        let max_heap_bits = c.usize(2)?;
        c.skip(2)?;
        let root = self.read_addr(&mut c)??;
        let root_rows = c.usize(2)?;
        let heap = Heap {
            id_len,
            table_width,
            start_block,
            max_direct_block,
            offset_bytes: max_heap_bits.div_ceil(8),
            root,
            root_rows,
        };
        let sane = table_width.is_power_of_two()
            && start_block.is_power_of_two()
            && max_direct_block >= start_block
            && (1..=8).contains(&heap.offset_bytes)
            && root_rows <= 64;
        sane.then_some(heap)
    }

    /// The v2 B-tree of link names (record type 5: name hash, heap ID) of a dense group.
    fn name_index(&mut self, at: u64, heap: &Heap, path: &str) -> Option<()> {
        let mut c = Cursor::new(self.bytes(at, 18 + self.os as u64 + self.ls as u64)?);
        if c.take(4)? != b"BTHD" || c.u8()? != 0 || c.u8()? != 5 {
            return None;
        }
        let node_size = c.uint(4)?;
        let record = c.usize(2)?;
        let depth = c.usize(2)?;
        c.skip(2)?;
        let root = self.read_addr(&mut c)??;
        let root_records = c.usize(2)?;
        if record < 5 || depth > MAX_LEVELS {
            return None;
        }
        let widths = pointer_widths(node_size, record as u64, self.os, depth);
        let mut nodes = vec![(root, root_records, depth)];
        while let Some((at, count, depth)) = nodes.pop() {
            if !self.first_visit(at) {
                continue;
            }
            let (sig, pointers) = if depth == 0 { (b"BTLF", 0) } else { (b"BTIN", count.checked_add(1)?) };
            let pointer = self.os + widths.0 + depth.checked_sub(1).and_then(|d| widths.1.get(d)).copied().unwrap_or(0);
            let len = count.checked_mul(record)?.checked_add(pointers.checked_mul(pointer)?)?.checked_add(6)?;
            let mut c = Cursor::new(self.bytes(at, len as u64)?);
            if c.take(4)? != sig {
                continue;
            }
            c.skip(2)?;
            for _ in 0..count {
                let id = c.take(record)?.get(4..)?;
                if let Some(body) = self.heap_object(heap, id) {
                    self.link(body, path);
                }
            }
            for _ in 0..pointers {
                let child = self.read_addr(&mut c)?;
                let records = c.usize(widths.0)?;
                c.skip(pointer - self.os - widths.0)?;
                if let Some(child) = child {
                    nodes.push((child, records, depth - 1));
                }
            }
        }
        Some(())
    }

    /// The bytes of the heap object `id` names (managed or tiny; huge objects, stored
    /// outside the heap's blocks, are not read).
    fn heap_object(&mut self, heap: &Heap, id: &'a [u8]) -> Option<&'a [u8]> {
        let id = id.get(..heap.id_len)?;
        let mut c = Cursor::new(id);
        let first = c.u8()?;
        match first >> 4 {
            0 => {}
            2 => {
                // Tiny: the object is in the ID itself.
                let high = usize::from(first & 0x0f);
                let len = if heap.id_len > 17 { high << 8 | usize::from(c.u8()?) } else { high };
                return c.take(len + 1);
            }
            _ => return None,
        }
        let offset = c.uint(heap.offset_bytes)?;
        let len = c.uint((id.len() - c.pos).min(8))?;
        let (block, block_offset, block_size) = self.locate(heap, offset)?;
        let within = offset.checked_sub(block_offset)?;
        if within.checked_add(len)? > block_size {
            return None;
        }
        self.bytes(block.checked_add(within)?, len)
    }

    /// The direct block holding heap offset `offset`: (address, its heap offset, size).
    fn locate(&mut self, heap: &Heap, offset: u64) -> Option<(u64, u64, u64)> {
        if heap.root_rows == 0 {
            return Some((heap.root, 0, heap.start_block));
        }
        let (mut at, mut rows, mut start) = (heap.root, heap.root_rows, 0u64);
        for _ in 0..MAX_LEVELS {
            // Signature, version, heap header address, block offset, then the children.
            let entries = at.checked_add((5 + self.os + heap.offset_bytes) as u64)?;
            if !self.rest(at)?.starts_with(b"FHIB") || rows > 64 {
                return None;
            }
            let mut row_start = start;
            let mut child = None;
            for row in 0..rows {
                let size = heap.block_size(row);
                let span = size.saturating_mul(heap.table_width);
                if offset < row_start.saturating_add(span) {
                    let column = offset.checked_sub(row_start)? / size;
                    let index = (row as u64).checked_mul(heap.table_width)?.checked_add(column)?;
                    let raw = self.bytes(entries.checked_add(index.checked_mul(self.os as u64)?)?, self.os as u64)?;
                    let child_at = self.addr(Cursor::new(raw).uint(self.os)?)?;
                    child = Some((child_at, row_start.saturating_add(column.saturating_mul(size)), size, row));
                    break;
                }
                row_start = row_start.saturating_add(span);
            }
            let (child_at, child_start, size, row) = child?;
            if row < heap.direct_rows() {
                return Some((child_at, child_start, size));
            }
            (at, rows, start) = (child_at, heap.rows_for(size), child_start);
        }
        None
    }
}

/// Widths of a v2 B-tree internal node's child pointer fields: records in the child (one
/// width at every depth), and, for a child at depth `d`, records in its subtree
/// (`[d - 1]`; 0 for leaves). As HDF5's `H5B2__hdr_init` computes them.
fn pointer_widths(node_size: u64, record: u64, os: usize, depth: usize) -> (usize, Vec<usize>) {
    let width = |n: u64| (64 - n.leading_zeros() as usize).div_ceil(8).max(1);
    let leaf = node_size.saturating_sub(10) / record.max(1);
    let records_width = width(leaf);
    let (mut total_widths, mut cumulative) = (vec![0], leaf);
    for d in 1..depth {
        let pointer = (os + records_width + total_widths[d - 1]) as u64;
        let fit = node_size.saturating_sub(10 + pointer) / (record + pointer);
        cumulative = fit.saturating_add(1).saturating_mul(cumulative).saturating_add(fit);
        total_widths.push(width(cumulative));
    }
    (records_width, total_widths)
}
