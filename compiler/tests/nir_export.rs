//! NIR export: round trips through write_nir / to_bytes and read_nir are identical.

use std::path::{Path, PathBuf};

use spikeforge_compiler::ir::{Graph, Op, Shape, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::{read_nir, read_nir_bytes, to_bytes, write_nir, NirError};

fn golden(case: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/golden")).join(case).join("model.nir")
}

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nir"));
    let mut v = Vec::new();
    for version in ["1_0_4", "1_0_5", "1_0_6", "1_0_7", "1_0_8"] {
        for stem in ["conv2d", "conv1d", "nested"] {
            v.push(root.join(version).join(format!("{stem}.nir")));
        }
    }
    v
}

fn all_models() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["digits_mlp", "digits_cnn", "rsnn_random"].into_iter().map(golden).collect();
    v.extend(fixtures());
    v
}

fn load(path: &Path) -> Graph {
    read_nir(path, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn round_trip_through_bytes_is_identical() {
    for path in all_models() {
        let g = load(&path);
        let bytes = to_bytes(&g).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back = read_nir_bytes(bytes, "<round trip>", &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(back.same_as(&g), "{}: round trip differs", path.display());
    }
}

#[test]
fn round_trip_through_a_file_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    for (i, path) in all_models().iter().enumerate() {
        let g = load(path);
        let out = dir.path().join(format!("model{i}.nir"));
        write_nir(&g, &out).unwrap();
        assert!(load(&out).same_as(&g), "{}: round trip differs", path.display());
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), all_models().len(), "no temporary files are left behind: {names:?}");
}

#[test]
fn tensors_are_f32_when_exact_else_f64() {
    let g = load(&golden("rsnn_random"));
    let bytes = to_bytes(&g).unwrap();
    let file = hdf5_pure::File::from_bytes(bytes).unwrap();
    let dtype = |p: &str| file.dataset(p).unwrap().dtype().unwrap();
    // The golden file stores 1.lif in float64: tau (0.0005) needs it, v_threshold (1.0)
    // does not.
    assert_eq!(dtype("node/nodes/1.lif/tau"), hdf5_pure::DType::F64);
    assert_eq!(dtype("node/nodes/1.lif/v_threshold"), hdf5_pure::DType::F32);
    assert_eq!(dtype("node/nodes/0/weight"), hdf5_pure::DType::F32);
    assert_eq!(dtype("node/nodes/input/shape"), hdf5_pure::DType::I64);
    assert_eq!(file.dataset("version").unwrap().read_string().unwrap(), vec!["1.0.8"]);

    let mut g = Graph::new();
    let input = g.add_node("in", Op::Input { shape: Shape(vec![2]) }).unwrap();
    let scale = Tensor::new(vec![2], vec![0.1, 0.5]).unwrap(); // 0.1 is not an f32 value
    let s = g.add_node("s", Op::Scale { scale }).unwrap();
    let out = g.add_node("out", Op::Output { shape: Shape(vec![2]) }).unwrap();
    g.add_edge(input, s).unwrap();
    g.add_edge(s, out).unwrap();
    let file = hdf5_pure::File::from_bytes(to_bytes(&g).unwrap()).unwrap();
    let ds = file.dataset("node/nodes/s/scale").unwrap();
    assert_eq!(ds.dtype().unwrap(), hdf5_pure::DType::F64);
    assert_eq!(ds.read_f64().unwrap(), vec![0.1, 0.5]);
}

#[test]
fn conv_and_flatten_carry_the_shapes_nir_needs() {
    let g = load(&golden("digits_cnn"));
    let file = hdf5_pure::File::from_bytes(to_bytes(&g).unwrap()).unwrap();
    let ints = |p: &str| file.dataset(p).unwrap().read_i64().unwrap();
    assert_eq!(ints("node/nodes/0/input_shape"), vec![8, 8]);
    assert_eq!(ints("node/nodes/3/input_shape"), vec![4, 4]);
    assert_eq!(ints("node/nodes/5/input_type"), vec![16, 4, 4]);
    assert_eq!(file.dataset("node/nodes/3/groups").unwrap().shape().unwrap(), Vec::<u64>::new(), "groups is a scalar");
    assert!(file.dataset("node/nodes/1/input_type").is_err(), "nir 1.0.8 accepts no input_type on a LIF");
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.nir");
    std::fs::write(&out, b"previous contents").unwrap();
    let mut bad = Graph::new(); // no Input or Output: does not verify
    bad.add_node("lonely", Op::Scale { scale: Tensor::scalar(1.0) }).unwrap();
    let err = write_nir(&bad, &out).unwrap_err();
    assert!(matches!(err, NirError::Verify { .. }), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous contents");

    let mut slash = load(&golden("digits_mlp"));
    let id = slash.find("0").unwrap();
    let op = slash.op(id).clone();
    let (ins, outs) = (slash.inputs(id), slash.outputs(id));
    slash.remove_node(id);
    let new = slash.add_node("a/b", op).unwrap();
    ins.iter().for_each(|&i| slash.add_edge(i, new).unwrap());
    outs.iter().for_each(|&o| slash.add_edge(new, o).unwrap());
    let err = write_nir(&slash, &out).unwrap_err().to_string();
    assert!(err.contains("`a/b`") && err.contains("model.nir"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous contents");

    let missing_dir = dir.path().join("no/such/dir/model.nir");
    let err = write_nir(&load(&golden("digits_mlp")), &missing_dir).unwrap_err();
    assert!(matches!(err, NirError::Write { .. }), "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.nir")], "no temporary files are left behind");

    write_nir(&load(&golden("digits_mlp")), &out).unwrap();
    assert!(load(&out).same_as(&load(&golden("digits_mlp"))), "a successful write replaces the file");
}
