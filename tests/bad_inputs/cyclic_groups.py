"""Writes cyclic_groups.nir: the golden digits_mlp model with every child of `node/nodes`
turned into a hard link to `node` itself (HDF5 v1 symbol tables, patched in place), so a
92 KB file describes a graph nested in itself without end. Pure Python, no h5py: run from this folder.
"""
import struct

SRC = "../../examples/digits_mlp/model.nir"
b = bytearray(open(SRC, "rb").read())
u64 = lambda o: struct.unpack_from("<Q", b, o)[0]


def symbols(btree, heap):
    """name -> file offset of its 40-byte symbol table entry."""
    assert b[heap:heap + 4] == b"HEAP"
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
            assert b[child:child + 4] == b"SNOD"
            for k in range(struct.unpack_from("<H", b, child + 6)[0]):
                e = child + 8 + 40 * k
                name_at = data + u64(e)
                out[b[name_at:b.index(b"\0", name_at)].decode()] = e

    walk(btree)
    return out


def group_tables(entry):
    """(btree, heap) of the group a symbol table entry names, from its scratch pad."""
    assert struct.unpack_from("<I", b, entry + 16)[0] == 1, "no cached symbol table"
    return u64(entry + 24), u64(entry + 32)


root = symbols(u64(0x38 + 24), u64(0x38 + 32))
node_entry = root["node"]
nodes = symbols(*group_tables(symbols(*group_tables(node_entry))["nodes"]))
for name, e in nodes.items():
    b[e + 8:e + 40] = b[node_entry + 8:node_entry + 40]  # address, cache type, scratch pad
open("cyclic_groups.nir", "wb").write(bytes(b))
print("linked", sorted(nodes), "to node")
