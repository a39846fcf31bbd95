"""Writes NIR files holding HDF5 links other than hard links, which the HDF5 reader skips
(a node silently dropped) or reads as an undefined address, and which spikeforge refuses
naming the link (compiler/src/nir/h5_links.rs). Each is a copy of
examples/digits_mlp/model.nir (or examples/digits_cnn, for a group of more than 8 links)
edited with h5py; node `1` (digits_mlp: the LIF) is replaced by the link.

* link_external.nir: an external link; HDF5 turns the old-style `node/nodes` group into a
  new-style compact one (Link messages in a version-1 object header).
* link_soft_latest.nir: a soft link, libver="latest" (superblock v3, version-2 object
  headers `OHDR`, compact group).
* link_external_dense.nir: an external link in a group of 13 links (digits_cnn's 10 nodes
  and 3 extra hard links), stored densely: fractal heap and v2 B-tree name index.
* link_external_dense_latest.nir: the same in a libver="latest" file.
* link_soft_symbol_table.nir: a soft link in an old-style group (symbol table entry of
  cache type 2, value in the local heap).
* link_soft_userblock.nir: conv1d (node `if` a soft link) after a 512-byte user block,
  which shifts every address.

It also writes valid libver="latest" copies of two reference models into
compiler/tests/fixtures/nir/latest/ (conv1d: compact groups; nested: a dense `node/nodes`
of 9 links with a nested graph; conv1d_userblock: conv1d after a 512-byte user block),
which must read as their originals do.

Written with h5py 3.16.0, HDF5 2.0.0, numpy 2.4.6. Run from this folder:
/work/venv-h5/bin/python links.py (any venv with h5py and numpy).
"""
import os
import shutil

import h5py

MLP = "../../examples/digits_mlp/model.nir"
CNN = "../../examples/digits_cnn/model.nir"
FIXTURES = "../../compiler/tests/fixtures/nir"
EXTERNAL = h5py.ExternalLink("other.nir", "/node/nodes/1")


def rebuild(s, d):
    """Recreates group `s` in `d` object by object (`Group.copy` would keep old-style
    groups old-style)."""
    for k, v in s.attrs.items():
        d.attrs[k] = v
    for k, v in s.items():
        if isinstance(v, h5py.Group):
            rebuild(v, d.create_group(k))
        else:
            d.create_dataset(k, data=v[()], dtype=v.dtype)
            for a, x in v.attrs.items():
                d[k].attrs[a] = x


def latest(src, dst, **options):
    """Writes the objects of `src` into a new libver="latest" file `dst`."""
    with h5py.File(src, "r") as s, h5py.File(dst, "w", libver="latest", **options) as d:
        rebuild(s, d)


def variant(src, name, edit, libver=False):
    if libver:
        latest(src, name)
    else:
        shutil.copy(src, name)
    with h5py.File(name, "r+") as f:
        edit(f["node/nodes"])
    return open(name, "rb").read()


def replace(link, node="1", extra=0):
    def edit(nodes):
        for i in range(extra):
            nodes[f"extra{i}"] = nodes["0"]  # hard links to an existing node
        del nodes[node]
        nodes[node] = link

    return edit


b = variant(MLP, "link_external.nir", replace(EXTERNAL))
assert b"OHDR" not in b and b"FRHP" not in b
b = variant(MLP, "link_soft_latest.nir", replace(h5py.SoftLink("/node/nodes/0")), libver=True)
assert b"OHDR" in b and b"FRHP" not in b
for name, libver in [("link_external_dense.nir", False), ("link_external_dense_latest.nir", True)]:
    b = variant(CNN, name, replace(EXTERNAL, extra=3), libver=libver)
    assert b"FRHP" in b and b"BTHD" in b, name  # the links are in a fractal heap
    assert (b"OHDR" in b) == libver
b = variant(MLP, "link_soft_symbol_table.nir", replace(h5py.SoftLink("/node/nodes/0")))
assert b"OHDR" not in b and b"FRHP" not in b and b"/node/nodes/0\0" in b

os.makedirs(f"{FIXTURES}/latest", exist_ok=True)
for model in ["conv1d", "nested"]:
    latest(f"{FIXTURES}/1_0_8/{model}.nir", f"{FIXTURES}/latest/{model}.nir")
assert b"FRHP" in open(f"{FIXTURES}/latest/nested.nir", "rb").read()
# A 512-byte user block before the HDF5 data: every address is relative to it.
latest(f"{FIXTURES}/1_0_8/conv1d.nir", f"{FIXTURES}/latest/conv1d_userblock.nir", userblock_size=512)
b = variant(f"{FIXTURES}/latest/conv1d_userblock.nir", "link_soft_userblock.nir", replace(h5py.SoftLink("/node/nodes/conv"), "if"))
