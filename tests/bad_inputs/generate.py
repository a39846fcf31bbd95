"""Regenerates the malformed .nir files of this corpus from the golden digits_mlp model.

Run from this folder: python3 generate.py (needs numpy and h5py). The outputs are committed;
tests do not need Python.
"""
import shutil
import h5py
import numpy as np

SRC = "../../../shared/golden/digits_mlp/model.nir"

def variant(name, edit):
    shutil.copy(SRC, name)
    with h5py.File(name, "r+") as f:
        edit(f)

def unknown_type(f):
    del f["node/nodes/1/type"]
    f["node/nodes/1/type"] = b"Izhikevich"

def wrong_shape(f):
    for p in ["r", "tau", "v_leak", "v_reset", "v_threshold"]:
        del f[f"node/nodes/1/{p}"]
        f[f"node/nodes/1/{p}"] = np.ones(100, dtype=np.float32)

def nan_weight(f):
    w = f["node/nodes/2/weight"][()]
    w[3, 7] = np.nan
    del f["node/nodes/2/weight"]
    f["node/nodes/2/weight"] = w

def absurd_dims(f):
    del f["node/nodes/0/weight"]
    f.create_dataset("node/nodes/0/weight", shape=(10**6, 10**6, 10**6), dtype="f4", chunks=(1, 1, 1024))

def missing_param(f):
    del f["node/nodes/3/tau"]

def unknown_edge(f):
    e = f["node/edges"][()]
    e[0, 1] = b"nowhere"
    del f["node/edges"]
    f.create_dataset("node/edges", data=e)

variant("unknown_node_type.nir", unknown_type)
variant("wrong_shape.nir", wrong_shape)
variant("nan_weight.nir", nan_weight)
variant("absurd_dimensions.nir", absurd_dims)
variant("missing_parameter.nir", missing_param)
variant("edge_to_unknown_node.nir", unknown_edge)
with open(SRC, "rb") as f:
    data = f.read()
with open("truncated.nir", "wb") as f:
    f.write(data[: len(data) // 3])
open("empty.nir", "wb").close()
with open("not_hdf5.nir", "w") as f:
    f.write("this is a text file, not HDF5\n")
# inputs for `run` against the bundled examples/digits_mlp model
np.save("input_wrong_shape.npy", np.zeros((2, 20, 63), dtype=np.uint8))
good = np.zeros((2, 20, 64), dtype=np.uint8)
np.save("/tmp/_good.npy", good)
with open("/tmp/_good.npy", "rb") as f:
    d = f.read()
with open("input_truncated.npy", "wb") as f:
    f.write(d[:-100])
np.save("input_strings.npy", np.array([["a", "b"]]))
