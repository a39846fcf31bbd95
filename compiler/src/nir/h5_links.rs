//! The links of an HDF5 file that are not hard links. `hdf5-pure` skips soft, external and
//! user-defined links in new-style groups without a word (a NIR node stored as one would
//! silently vanish from the model) and reads a soft link of an old-style group as an
//! undefined address; it has no API that lists links with their kinds. This module reads
//! just the link structure.
//!
//! Needs: the file's bytes and its superblock as `hdf5-pure`'s `File` gives it (offset and
//! length widths, base address, and the root group's object header address, which `File`
//! has made absolute); nothing else is trusted.
//!
//! It walks every group reachable from the root through hard links: object headers v1 and
//! v2 (`OHDR`, continuation chunks `OCHK`), compact new-style groups (Link messages),
//! dense new-style groups (Link Info message: fractal heap `FRHP`/`FHIB`/`FHDB` reached
//! through the v2 B-tree name index `BTHD`/`BTIN`/`BTLF`) and old-style groups (Symbol
//! Table message: v1 B-tree `TREE`, symbol nodes `SNOD`, local heap `HEAP`).
//!
//! Established: every offset is checked against the file (no read out of bounds, no
//! panic, no overflow); every object header, chunk, tree node and symbol node is read at
//! most once (a set of visited addresses); and the total work is bounded by a budget proportional to the file size, so
//! a crafted file cannot make the walk hang or grow. A structure that does not parse is
//! skipped, not reported: this reader only refuses what it positively recognises as a
//! non-hard link, and leaves corruption to `hdf5-pure`, which reports it as before.
//! Checksums are not verified (`hdf5-pure` verifies them).
//!
//! Dense groups are read in `dense` (fractal heap and v2 B-tree).

mod dense;

use std::collections::HashSet;

use hdf5_pure::Superblock;

/// What a non-hard link points at (names and paths as stored, not yet escaped).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum LinkKind {
    /// A soft link: a path in the same file.
    Soft { target: Vec<u8> },
    /// An external link: an object path in another file.
    External { file: Vec<u8>, object: Vec<u8> },
    /// A user-defined link type (65 to 255).
    UserDefined { code: u8 },
}

/// A non-hard link at `path` (link names joined by `/`, from the root group).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Link {
    pub path: String,
    pub kind: LinkKind,
}

/// Bytes of work per byte of file: each structure is read once, so a valid file needs
/// about one unit per byte; the rest is slack for lookups in fractal heaps.
const WORK_PER_BYTE: u64 = 4;
/// Work every file may do whatever its size.
const MIN_WORK: u64 = 1 << 16;
/// Deepest fractal heap of indirect blocks and v2 B-tree followed (HDF5 needs about 10).
const MAX_LEVELS: usize = 32;

/// The non-hard links reachable from the root group through hard links, sorted by path.
pub(super) fn non_hard_links(bytes: &[u8], sb: &Superblock) -> Vec<Link> {
    let work = (bytes.len() as u64).saturating_mul(WORK_PER_BYTE).saturating_add(MIN_WORK);
    let mut found = walk(bytes, sb, work).found;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Walks the groups of `bytes` with `work` units of work.
fn walk<'a>(bytes: &'a [u8], sb: &Superblock, work: u64) -> Walker<'a> {
    let mut w = Walker {
        b: bytes,
        os: usize::from(sb.offset_size),
        ls: usize::from(sb.length_size),
        base: sb.base_address.get(),
        work,
        seen: HashSet::new(),
        pending: Vec::new(),
        found: Vec::new(),
        headers: 0,
    };
    if !(matches!(w.os, 2 | 4 | 8) && matches!(w.ls, 2 | 4 | 8)) {
        return w;
    }
    // `hdf5-pure`'s `File` has made the root's address absolute already (base included).
    if w.addr(sb.root_group_address).is_some() {
        w.pending.push((sb.root_group_address, String::new()));
    }
    while let Some((at, path)) = w.pending.pop() {
        if w.object_header(at, &path).is_none() && w.work == 0 {
            break;
        }
    }
    w
}

/// A reading position in a slice; every read is checked and returns `None` past the end.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.s.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// A little-endian unsigned integer of `n` ≤ 8 bytes.
    fn uint(&mut self, n: usize) -> Option<u64> {
        if n > 8 {
            return None;
        }
        Some(self.take(n)?.iter().rev().fold(0, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn usize(&mut self, n: usize) -> Option<usize> {
        usize::try_from(self.uint(n)?).ok()
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
}

struct Walker<'a> {
    b: &'a [u8],
    os: usize,
    ls: usize,
    base: u64,
    /// Work left; at 0 the walk stops with what it found.
    work: u64,
    /// Absolute addresses of the structures already read.
    seen: HashSet<u64>,
    /// Object headers still to read, with the path they were reached by.
    pending: Vec<(u64, String)>,
    found: Vec<Link>,
    /// Object headers read.
    headers: usize,
}

impl<'a> Walker<'a> {
    /// Spends `n` units of work; `None` once the budget is exhausted.
    fn charge(&mut self, n: usize) -> Option<()> {
        let n = (n as u64).saturating_add(1);
        if self.work < n {
            self.work = 0;
            return None;
        }
        self.work -= n;
        Some(())
    }

    /// `true` the first time a structure at `at` is met.
    fn first_visit(&mut self, at: u64) -> bool {
        self.seen.insert(at)
    }

    /// The absolute address of a stored one; `None` for the undefined address.
    fn addr(&self, raw: u64) -> Option<u64> {
        let undefined = if self.os == 8 { u64::MAX } else { (1u64 << (8 * self.os)) - 1 };
        (raw != undefined).then(|| raw.checked_add(self.base)).flatten()
    }

    fn read_addr(&self, c: &mut Cursor) -> Option<Option<u64>> {
        Some(self.addr(c.uint(self.os)?))
    }

    /// `len` bytes at absolute address `at`, charged to the budget.
    fn bytes(&mut self, at: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(at).ok()?;
        let len = usize::try_from(len).ok()?;
        let s = self.b.get(start..start.checked_add(len)?)?;
        self.charge(len)?;
        Some(s)
    }

    /// All bytes from `at` to the end of the file, uncharged (callers charge what they use).
    fn rest(&self, at: u64) -> Option<&'a [u8]> {
        self.b.get(usize::try_from(at).ok()?..)
    }

    /// Reads the object header at `at`: its links, dense link storage and symbol table.
    fn object_header(&mut self, at: u64, path: &str) -> Option<()> {
        if !self.first_visit(at) {
            return Some(());
        }
        self.headers += 1;
        let head = self.rest(at)?;
        let mut c = Cursor::new(head);
        let mut chunks = Vec::new();
        let v2 = head.starts_with(b"OHDR");
        if v2 {
            c.skip(4)?;
            if c.u8()? != 2 {
                return None;
            }
            let flags = c.u8()?;
            if flags & 0x20 != 0 {
                c.skip(16)?; // access, modification, change and birth times
            }
            if flags & 0x10 != 0 {
                c.skip(4)?; // attribute phase change values
            }
            let size = c.uint(1 << (flags & 3))?;
            chunks.push((at + c.pos as u64, size));
            self.chunks(chunks, path, Some(flags & 0x04 != 0))
        } else {
            if c.u8()? != 1 {
                return None;
            }
            c.skip(7)?; // reserved, message count, reference count
            let size = c.uint(4)?;
            chunks.push((at + 16, size));
            self.chunks(chunks, path, None)
        }
    }

    /// Reads the messages of an object header's chunks (`(address, length)`); `v2` is
    /// `Some(creation order stored)` for a version-2 header.
    fn chunks(&mut self, mut chunks: Vec<(u64, u64)>, path: &str, v2: Option<bool>) -> Option<()> {
        let mut first = true;
        while let Some((at, len)) = chunks.pop() {
            if !first && !self.first_visit(at) {
                continue;
            }
            let mut data = self.bytes(at, len)?;
            if v2.is_some() && !first {
                // A continuation chunk: signature, messages, checksum (chunk 0's length
                // leaves its checksum out).
                data = data.strip_prefix(b"OCHK")?;
                data = data.get(..data.len().checked_sub(4)?)?;
            }
            first = false;
            let mut c = Cursor::new(data);
            loop {
                let (kind, size, flags) = match v2 {
                    Some(ordered) => {
                        let Some(kind) = c.u8() else { break };
                        let (Some(size), Some(flags)) = (c.usize(2), c.u8()) else { break };
                        if ordered && c.skip(2).is_none() {
                            break;
                        }
                        (u16::from(kind), size, flags)
                    }
                    None => {
                        let Some(head) = c.take(8) else { break };
                        let mut h = Cursor::new(head);
                        (h.uint(2)? as u16, h.usize(2)?, h.u8()?)
                    }
                };
                let Some(body) = c.take(size) else { break };
                if v2.is_none() {
                    let _ = c.skip((8 - c.pos % 8) % 8); // v1 messages are 8-byte aligned
                }
                if flags & 0x02 != 0 {
                    continue; // shared: the body is a reference, never a link structure
                }
                let mut m = Cursor::new(body);
                match kind {
                    0x10 => {
                        if let (Some(Some(to)), Some(len)) = (self.read_addr(&mut m), m.uint(self.ls)) {
                            chunks.push((to, len));
                        }
                    }
                    0x06 => self.link(body, path),
                    0x02 => {
                        let _ = self.link_info(body, path);
                    }
                    0x11 => {
                        if let (Some(Some(tree)), Some(Some(heap))) = (self.read_addr(&mut m), self.read_addr(&mut m)) {
                            let _ = self.symbol_table(tree, heap, path);
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(())
    }

    /// A Link message: a hard link is followed, any other kind is recorded.
    fn link(&mut self, body: &[u8], path: &str) {
        let Some((name, target)) = parse_link(body, self.os) else { return };
        let path = join(path, name);
        match target {
            Target::Hard(raw) => {
                if let Some(at) = self.addr(raw) {
                    self.pending.push((at, path));
                }
            }
            Target::Other(kind) => self.found.push(Link { path, kind }),
        }
    }

    /// An old-style group: a v1 B-tree of symbol nodes, names in a local heap. A soft link
    /// is an entry of cache type 2 whose scratch pad holds the offset of its value.
    fn symbol_table(&mut self, tree: u64, heap: u64, path: &str) -> Option<()> {
        let (os, ls) = (self.os, self.ls);
        let mut c = Cursor::new(self.bytes(heap, 8 + 2 * ls as u64 + os as u64)?);
        if c.take(5)? != b"HEAP\0" {
            return None;
        }
        c.skip(3)?;
        let size = c.uint(ls)?;
        c.skip(ls)?;
        let names = self.read_addr(&mut c)??;
        let names = self.bytes(names, size)?;
        let mut nodes = vec![tree];
        while let Some(at) = nodes.pop() {
            if !self.first_visit(at) {
                continue;
            }
            let mut c = Cursor::new(self.bytes(at, 8 + 2 * os as u64)?);
            if c.take(5)? != b"TREE\0" {
                continue;
            }
            let level = c.u8()?;
            let used = c.usize(2)?;
            // Keys (heap offsets, `ls` bytes) and children interleaved, one key more.
            let len = used.checked_mul(ls + os)?.checked_add(ls)?;
            let mut c = Cursor::new(self.bytes(at + 8 + 2 * os as u64, len as u64)?);
            for _ in 0..used {
                c.skip(ls)?;
                let Some(child) = self.read_addr(&mut c)? else { continue };
                if level > 0 {
                    nodes.push(child);
                } else {
                    let _ = self.symbol_node(child, names, path);
                }
            }
        }
        Some(())
    }

    fn symbol_node(&mut self, at: u64, names: &[u8], path: &str) -> Option<()> {
        if !self.first_visit(at) {
            return Some(());
        }
        let mut c = Cursor::new(self.bytes(at, 8)?);
        if c.take(5)? != b"SNOD\x01" {
            return None;
        }
        c.skip(1)?;
        let count = c.usize(2)?;
        let entry = 2 * self.os + 24;
        let mut c = Cursor::new(self.bytes(at + 8, count.checked_mul(entry)? as u64)?);
        for _ in 0..count {
            let name = c.usize(self.os)?;
            let object = self.read_addr(&mut c)?;
            let cache = c.uint(4)?;
            c.skip(4)?;
            let scratch = c.take(16)?;
            let Some(name) = c_string(names, name) else { continue };
            let path = join(path, name);
            if cache == 2 {
                let value = Cursor::new(scratch).usize(4)?;
                if let Some(target) = c_string(names, value) {
                    self.found.push(Link { path, kind: LinkKind::Soft { target: target.to_vec() } });
                }
            } else if let Some(object) = object {
                self.pending.push((object, path));
            }
        }
        Some(())
    }
}

enum Target {
    Hard(u64),
    Other(LinkKind),
}

/// A Link message (version 1): its name and target.
fn parse_link(body: &[u8], os: usize) -> Option<(&[u8], Target)> {
    let mut c = Cursor::new(body);
    if c.u8()? != 1 {
        return None;
    }
    let flags = c.u8()?;
    let kind = if flags & 0x08 != 0 { c.u8()? } else { 0 };
    if flags & 0x04 != 0 {
        c.skip(8)?; // creation order
    }
    if flags & 0x10 != 0 {
        c.skip(1)?; // character set
    }
    let name_len = c.usize(1 << (flags & 3))?;
    let name = c.take(name_len)?;
    let target = match kind {
        0 => Target::Hard(c.uint(os)?),
        1 => {
            let len = c.usize(2)?;
            Target::Other(LinkKind::Soft { target: c.take(len)?.to_vec() })
        }
        64 => {
            let len = c.usize(2)?;
            // A version and flags byte, then the file name and the object path, each
            // NUL-terminated.
            let value = c.take(len)?.get(1..)?;
            let mut parts = value.splitn(3, |&b| b == 0);
            let file = parts.next().unwrap_or_default().to_vec();
            let object = parts.next().unwrap_or_default().to_vec();
            Target::Other(LinkKind::External { file, object })
        }
        code if code > 64 => Target::Other(LinkKind::UserDefined { code }),
        _ => return None,
    };
    Some((name, target))
}

/// The NUL-terminated string at `offset` of `heap`.
fn c_string(heap: &[u8], offset: usize) -> Option<&[u8]> {
    let s = heap.get(offset..)?;
    Some(&s[..s.iter().position(|&b| b == 0)?])
}

fn join(path: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if path.is_empty() {
        name.into_owned()
    } else {
        format!("{path}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use hdf5_pure::File;

    use super::*;

    fn repo(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
    }

    /// The bytes of a file and its superblock (as `hdf5-pure` parsed it).
    fn open(path: &Path) -> Option<(Vec<u8>, Superblock)> {
        let bytes = std::fs::read(path).ok()?;
        let sb = File::from_bytes(bytes.clone()).ok()?.superblock().clone();
        Some((bytes, sb))
    }

    fn links(path: &str) -> Vec<Link> {
        let (bytes, sb) = open(&repo(path)).unwrap_or_else(|| panic!("{path} opens"));
        non_hard_links(&bytes, &sb)
    }

    fn nir_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                nir_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "nir") {
                out.push(path);
            }
        }
    }

    #[test]
    fn valid_files_hold_hard_links_only() {
        // Every model of the repository, written by h5py and nir 1.0.4–1.0.8 (old-style
        // groups), the libver="latest" copies (version-2 headers, compact and dense
        // groups) and the files whose groups are shared or cyclic through hard links.
        let mut files = Vec::new();
        for dir in ["examples", "compiler/tests/fixtures", "tests/bad_inputs", "../shared/golden"] {
            nir_files(&repo(dir), &mut files);
        }
        let valid: Vec<_> = files.iter().filter(|p| !p.to_string_lossy().contains("/link_")).collect();
        assert!(valid.len() > 40, "{valid:?}");
        assert!(valid.iter().any(|p| p.ends_with("latest/nested.nir")));
        for path in valid {
            if let Some((bytes, sb)) = open(path) {
                assert_eq!(non_hard_links(&bytes, &sb), [], "{}", path.display());
            }
        }
    }

    #[test]
    fn the_walk_reaches_every_object() {
        // Distinct objects as h5py's `visititems` counts them, and the root.
        for (path, objects) in [
            ("compiler/tests/fixtures/nir/1_0_8/nested.nir", 60),
            ("compiler/tests/fixtures/nir/latest/nested.nir", 60),
            ("compiler/tests/fixtures/nir/latest/conv1d_userblock.nir", 34),
            ("tests/bad_inputs/link_external_dense.nir", 58),
            ("tests/bad_inputs/link_external_dense_latest.nir", 58),
        ] {
            let (bytes, sb) = open(&repo(path)).unwrap();
            assert_eq!(walk(&bytes, &sb, u64::MAX).headers, objects, "{path}");
        }
    }

    #[test]
    fn each_crafted_file_yields_its_link() {
        let soft = LinkKind::Soft { target: b"/node/nodes/0".to_vec() };
        let external = LinkKind::External { file: b"other.nir".to_vec(), object: b"/node/nodes/1".to_vec() };
        for (file, kind) in [
            ("link_external.nir", &external),
            ("link_soft_latest.nir", &soft),
            ("link_external_dense.nir", &external),
            ("link_external_dense_latest.nir", &external),
            ("link_soft_symbol_table.nir", &soft),
        ] {
            let found = links(&format!("tests/bad_inputs/{file}"));
            assert_eq!(found, [Link { path: "node/nodes/1".into(), kind: kind.clone() }], "{file}");
        }
        // After a user block: every address is relative to the superblock.
        let soft = LinkKind::Soft { target: b"/node/nodes/conv".to_vec() };
        assert_eq!(
            links("tests/bad_inputs/link_soft_userblock.nir"),
            [Link { path: "node/nodes/if".into(), kind: soft }]
        );
    }

    #[test]
    fn a_link_message_of_each_kind_parses() {
        // Version, flags (1-byte name length, link type present), type, name "x", value.
        let soft = [1, 0x08, 1, 1, b'x', 2, 0, b'/', b'a'];
        let user = [1, 0x08, 200, 1, b'x', 0, 0];
        let hard = [1, 0x00, 1, b'x', 9, 0, 0, 0, 0, 0, 0, 0];
        let external = [1, 0x08, 64, 1, b'x', 6, 0, 0, b'f', 0, b'/', b'o', 0];
        let kind = |body: &[u8]| match parse_link(body, 8) {
            Some((b"x", Target::Other(kind))) => Some(kind),
            Some((b"x", Target::Hard(9))) => None,
            _ => panic!("{body:?}"),
        };
        assert_eq!(kind(&soft), Some(LinkKind::Soft { target: b"/a".to_vec() }));
        assert_eq!(kind(&user), Some(LinkKind::UserDefined { code: 200 }));
        assert_eq!(kind(&hard), None);
        assert_eq!(kind(&external), Some(LinkKind::External { file: b"f".to_vec(), object: b"/o".to_vec() }));
        // Reserved link types and every truncation are skipped, not guessed.
        assert!(parse_link(&[1, 0x08, 2, 1, b'x', 0, 0], 8).is_none());
        for len in 0..external.len() {
            assert!(parse_link(&external[..len], 8).is_none());
        }
    }

    /// Files covering every structure: old-style groups, compact and dense new-style
    /// groups in version-1 and version-2 object headers.
    const SMALL: [&str; 4] = [
        "tests/bad_inputs/link_soft_latest.nir",
        "tests/bad_inputs/link_external_dense_latest.nir",
        "compiler/tests/fixtures/nir/latest/nested.nir",
        "compiler/tests/fixtures/nir/1_0_8/conv1d.nir",
    ];

    #[test]
    fn every_truncation_ends_without_panic() {
        for path in SMALL {
            let (bytes, sb) = open(&repo(path)).unwrap();
            for len in 0..bytes.len() {
                let found = non_hard_links(&bytes[..len], &sb);
                assert!(found.len() <= 1, "{path} cut at {len}: {found:?}");
            }
        }
    }

    #[test]
    fn corrupted_bytes_never_panic_nor_loop() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for path in SMALL {
            let (original, sb) = open(&repo(path)).unwrap();
            for _ in 0..500 {
                let mut bytes = original.clone();
                for _ in 0..1 + next() % 8 {
                    let i = (next() % bytes.len() as u64) as usize;
                    bytes[i] ^= (next() % 255 + 1) as u8;
                }
                let _ = non_hard_links(&bytes, &sb);
            }
        }
    }

    /// A superblock with 8-byte offsets and lengths, base 0 and root object header at
    /// `root`.
    fn superblock(root: u64) -> Superblock {
        let mut sb = open(&repo("examples/digits_mlp/model.nir")).unwrap().1;
        assert_eq!((sb.offset_size, sb.length_size, sb.base_address.get()), (8, 8, 0));
        sb.root_group_address = root;
        sb
    }

    fn u64s(values: &[u64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn structures_that_point_back_at_themselves_are_read_once() {
        // A version-2 object header at 0 whose continuation chunk at 64 continues with
        // itself.
        let mut b = b"OHDR\x02\x00\x14\x10\x10\x00\x00".to_vec();
        b.extend(u64s(&[64, 32]));
        b.resize(64, 0);
        b.extend(b"OCHK\x10\x10\x00\x00");
        b.extend(u64s(&[64, 32]));
        b.resize(128, 0);
        let w = walk(&b, &superblock(0), 1 << 20);
        assert!(w.found.is_empty() && w.work > 0 && w.seen.contains(&64));

        // A version-1 object header at 0 with a symbol table (B-tree at 64, local heap at
        // 128) whose B-tree root, at level 1, has itself as a child, and a leaf node (at
        // 192) whose symbol node (at 256) holds a soft link: the walk reaches it once.
        let mut b = vec![1, 0, 1, 0, 1, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0x11, 0, 16, 0, 0, 0, 0, 0];
        b.extend(u64s(&[64, 128]));
        b.resize(64, 0);
        b.extend(b"TREE\x00\x01\x02\x00");
        b.extend(u64s(&[u64::MAX, u64::MAX, 0, 64, 0, 192, 0]));
        b.resize(128, 0);
        b.extend(b"HEAP\x00\x00\x00\x00");
        b.extend(u64s(&[16, u64::MAX, 160]));
        b.resize(160, 0);
        b.extend(b"\0x\0/t\0\0\0\0\0\0\0\0\0\0\0");
        b.resize(192, 0);
        b.extend(b"TREE\x00\x00\x01\x00");
        b.extend(u64s(&[u64::MAX, u64::MAX, 0, 256, 0]));
        b.resize(256, 0);
        b.extend(b"SNOD\x01\x00\x01\x00");
        b.extend(u64s(&[1, u64::MAX, 2, 3, 0]));
        let w = walk(&b, &superblock(0), 1 << 20);
        let soft = LinkKind::Soft { target: b"/t".to_vec() };
        assert_eq!(w.found, [Link { path: "x".into(), kind: soft }]);
        assert!(w.work > 0);
    }

    #[test]
    fn the_walk_stops_when_its_work_is_spent() {
        let (bytes, sb) = open(&repo("tests/bad_inputs/link_external_dense.nir")).unwrap();
        let full = walk(&bytes, &sb, u64::MAX);
        assert_eq!(full.found.len(), 1);
        let spent = u64::MAX - full.work;
        assert!(spent < bytes.len() as u64, "{spent} units for {} bytes", bytes.len());
        for budget in [0, 1, 100, spent / 2, spent - 1] {
            let w = walk(&bytes, &sb, budget);
            // Stopped early, with at most what the full walk found.
            assert!(w.work == 0 && full.found.starts_with(&w.found), "budget {budget}");
        }
        // Shared and cyclic hard links: each group is read once.
        for file in ["cyclic_groups", "shared_groups"] {
            let (bytes, sb) = open(&repo(&format!("tests/bad_inputs/{file}.nir"))).unwrap();
            let w = walk(&bytes, &sb, u64::MAX);
            assert!(w.found.is_empty() && u64::MAX - w.work < bytes.len() as u64, "{file}");
        }
    }
}
