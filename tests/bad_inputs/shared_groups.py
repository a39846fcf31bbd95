"""Writes two NIR files whose HDF5 groups are shared through hard links, from the golden
digits_mlp model (HDF5 v1 structures, patched or appended by hand; pure Python, run from
this folder):

* cyclic_groups.nir: every child of `node/nodes` is a hard link to `node` itself.
* shared_groups.nir: a chain of 40 extra NIRGraph groups in which every graph's `nodes`
  group holds four hard links to the next graph: 131 KB, acyclic and 41 graphs deep, yet
  4^40 graphs when read as a tree.
"""
import struct

SRC = "../../examples/digits_mlp/model.nir"
LEVELS = 40
UNDEF = 0xFFFFFFFFFFFFFFFF
b = bytearray(open(SRC, "rb").read())
u64 = lambda o: struct.unpack_from("<Q", b, o)[0]


def symbols(btree, heap):
    """name -> file offset of its 40-byte symbol table entry (level-0 B-trees walked)."""
    data = u64(heap + 24)
    out = {}

    def walk(node):
        assert b[node:node + 4] == b"TREE", hex(node)
        level, used = b[node + 5], struct.unpack_from("<H", b, node + 6)[0]
        for i in range(used):
            child = u64(node + 24 + 8 + i * 16)
            if level > 0:
                walk(child)
                continue
            for k in range(struct.unpack_from("<H", b, child + 6)[0]):
                e = child + 8 + 40 * k
                name_at = data + u64(e)
                out[b[name_at:b.index(b"\0", name_at)].decode()] = e

    walk(btree)
    return out


def append(chunk):
    while len(b) % 8:
        b.append(0)
    at = len(b)
    b.extend(chunk)
    return at


def group(members):
    """Appends a v1 group whose sorted `members` (name -> object header address) are
    hard links; returns the group's object header address."""
    names = sorted(members)
    heap_data = bytearray(b"\0" * 8)  # offset 0: the empty name
    offsets = {}
    for n in names:
        offsets[n] = len(heap_data)
        heap_data += n.encode() + b"\0"
        heap_data += b"\0" * (-len(heap_data) % 8)
    data_at = append(bytes(heap_data))
    heap = append(b"HEAP\0\0\0\0" + struct.pack("<QQQ", len(heap_data), UNDEF, data_at))
    snod = bytearray(b"SNOD\x01\x00" + struct.pack("<H", len(names)))
    for n in names:
        snod += struct.pack("<QQII", offsets[n], members[n], 0, 0) + b"\0" * 16
    snod += b"\0" * (40 * max(0, 8 - len(names)))
    snod_at = append(bytes(snod))
    tree = append(b"TREE\x00\x00" + struct.pack("<HQQ", 1, UNDEF, UNDEF) + struct.pack("<QQQ", 0, snod_at, offsets[names[-1]]))
    header = struct.pack("<BBHII", 1, 0, 1, 1, 24) + b"\0" * 4
    header += struct.pack("<HHB3x", 0x11, 16, 0) + struct.pack("<QQ", tree, heap)
    return append(header)


original = bytes(b)
root = symbols(u64(0x38 + 24), u64(0x38 + 32))
node_entry = root["node"]
tables = lambda e: (u64(e + 24), u64(e + 32))  # B-tree and heap cached in an entry
for e in symbols(*tables(symbols(*tables(node_entry))["nodes"])).values():
    b[e + 8:e + 40] = b[node_entry + 8:node_entry + 40]  # address, cache type, scratch pad
open("cyclic_groups.nir", "wb").write(bytes(b))
b[:] = original

node = symbols(*tables(node_entry))
graph_type, edges, leaves = u64(node["type"] + 8), u64(node["edges"] + 8), u64(node["nodes"] + 8)
# The deepest graph holds the model's real nodes; each one above links its four nodes to it.
graph = group({"edges": edges, "nodes": leaves, "type": graph_type})
for _ in range(LEVELS):
    nodes = group({k: graph for k in "abcd"})
    graph = group({"edges": edges, "nodes": nodes, "type": graph_type})
# The root's `node` entry now names the top graph (cache type 0: no scratch pad).
e = root["node"]
b[e + 8:e + 40] = struct.pack("<QII", graph, 0, 0) + b"\0" * 16
struct.pack_into("<Q", b, 0x28, len(b))  # superblock: end-of-file address
open("shared_groups.nir", "wb").write(bytes(b))
print(f"{len(b)} bytes, {LEVELS} levels of 4 links")
