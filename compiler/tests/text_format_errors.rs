//! Error reporting of the `.snn` reader: codespan renderings as insta snapshots, plus the
//! number of diagnostics and the one-line `file:line:column` form.

use std::path::Path;

use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::text::{parse_snn, TextErrors};

fn errors_in(src: &str, base_dir: &Path, limits: &Limits) -> TextErrors {
    match parse_snn(src, "model.snn", base_dir, limits) {
        Ok(_) => panic!("expected errors in:\n{src}"),
        Err(e) => e,
    }
}

fn errors(src: &str) -> TextErrors {
    errors_in(src, Path::new("models"), &Limits::default())
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = errors("snn 1\nin = Input<shape=[4]>()\nfc = Affine<weight=full([2, 4], 0.5) bias=[0.0, 0.0]>(in)\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e.to_string(), "model.snn:3:38: expected `,` or `>`, found `bias`");
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn independent_errors_are_all_reported() {
    // A syntax error on line 3 and an unknown attribute on line 5: reading goes on after
    // the first, and the reference to the broken `fc` is not reported again.
    let src = "snn 1\nin = Input<shape=[4]>()\nfc = Affine<weight=[[1.0, 2.0, 3.0, 4.0]], bias=[0.0]>(in))\n\
               lif = LIF<tau=full([1], 0.002), r=20.0, v_leak=0.0, v_threshold=1.0, vreset=0.0>(fc)\n\
               out = Output<shape=[1]>(lif)\n";
    let e = errors(src);
    assert_eq!(e.len(), 2, "{}", e.render(false));
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn unknown_op_type() {
    let e = errors("snn 1\nin = Input<shape=[4]>()\nl = Lif<tau=0.002, r=1.0, v_leak=0.0, v_threshold=1.0>(in)\nout = Output<shape=[4]>(l)\n");
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn unknown_attribute() {
    let e = errors(
        "snn 1\nin = Input<shape=[4]>()\ns = Scale<scale=full([4], 2.0), gain=3.0>(in)\nout = Output<shape=[4]>(s)\n",
    );
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn undefined_reference() {
    let e =
        errors("snn 1\nin = Input<shape=[4]>()\ns = Scale<scale=full([4], 2.0)>(inp)\nout = Output<shape=[4]>(s)\n");
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn duplicate_name() {
    let e = errors("snn 1\nin = Input<shape=[4]>()\ns = Scale<scale=full([4], 2.0)>(in)\ns = Scale<scale=full([4], 3.0)>(s)\nout = Output<shape=[4]>(s)\n");
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn nan_weight_is_pointed_at() {
    let e = errors("snn 1\nin = Input<shape=[2]>()\nfc = Linear<weight=[[0.5, 1.0], [nan, 2.0]]>(in)\nout = Output<shape=[2]>(fc)\n");
    assert_eq!(e.len(), 1);
    assert_eq!(
        e.to_string(),
        "model.snn:3:34: node `fc`: parameter `weight` holds NaN at flat index 2; values must be finite"
    );
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn missing_sidecar_file() {
    let e = errors(
        "snn 1\nin = Input<shape=[2]>()\nfc = Linear<weight=file(\"w.npy\")>(in)\nout = Output<shape=[2]>(fc)\n",
    );
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn missing_key_in_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 2], &data).unwrap();
    let bytes = safetensors::serialize(vec![("fc.weight", view)], None).unwrap();
    std::fs::write(dir.path().join("m.safetensors"), bytes).unwrap();
    let src = "snn 1\nin = Input<shape=[2]>()\nfc = Linear<weight=file(\"m.safetensors\", \"fc.wieght\")>(in)\nout = Output<shape=[2]>(fc)\n";
    let e = errors_in(src, dir.path(), &Limits::default());
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn shape_mismatch_names_both_nodes_and_shapes() {
    let e = errors("snn 1\nin = Input<shape=[4]>()\nfc = Affine<weight=full([3, 5], 0.1), bias=0.0>(in)\nout = Output<shape=[3]>(fc)\n");
    assert_eq!(e.len(), 1);
    let msg = e.to_string();
    for part in ["`in`", "`fc`", "[4]", "[5]"] {
        assert!(msg.contains(part), "{msg}");
    }
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn absurd_full_is_refused_before_allocation() {
    // 10^18 elements: allocating would abort the process, so reaching this assertion at
    // all shows the limit was checked first.
    let e = errors("snn 1\nin = Input<shape=[2]>()\ns = Scale<scale=full([1000000000, 1000000000], 0.0)>(in)\nout = Output<shape=[2]>(s)\n");
    assert_eq!(e.len(), 1);
    insta::assert_snapshot!(e.render(false));
}

#[test]
fn header_problems() {
    let e = errors("in = Input<shape=[2]>()\nout = Output<shape=[2]>(in)\n");
    assert_eq!(e.to_string().lines().next().unwrap(), "model.snn:1:1: expected the header `snn 1`");
    let e = errors("snn 2\nin = Input<shape=[2]>()\nout = Output<shape=[2]>(in)\n");
    assert_eq!(e.to_string().lines().next().unwrap(), "model.snn:1:5: unsupported format version 2");
    let e = errors("# nothing\n");
    assert_eq!(e.len(), 1);
    assert!(e.render(false).contains("expected the header `snn 1`"));
}

#[test]
fn ragged_list_and_unterminated_string() {
    let e = errors("snn 1\nin = Input<shape=[2]>()\nfc = Linear<weight=[[1.0, 2.0], [3.0]]>(in)\nx = Linear<weight=file(\"w.npy)>(in)\nout = Output<shape=[2]>(fc)\n");
    assert_eq!(e.len(), 2, "{}", e.render(false));
    let text = e.to_string();
    assert!(text.contains("model.snn:3:33: ragged list: this element is a list of shape [1], but the first element is a list of shape [2]"), "{text}");
    assert!(text.contains("model.snn:4:24: expected a closing `\"`"), "{text}");
}

#[test]
fn deeply_nested_lists_are_refused_without_recursing_further() {
    let src = format!(
        "snn 1\nin = Input<shape=[1]>()\ns = Scale<scale={}1.0{}>(in)\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = errors(&src);
    assert_eq!(e.len(), 1);
    assert!(e.to_string().starts_with("model.snn:3:49: expected at most 32 levels of nested lists"), "{e}");
}

#[test]
fn render_with_color_has_ansi_codes() {
    let e = errors("snn 1\nin = Input<shape=[4]>()\nout = Output<shape=[4]>(nope)\n");
    assert!(e.render(true).contains("\u{1b}["));
    assert!(!e.render(false).contains("\u{1b}["));
}

#[test]
fn unreadable_file_is_a_text_error() {
    let e = spikeforge_compiler::text::read_snn(Path::new("/nonexistent/x.snn"), &Limits::default()).unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(e.to_string().starts_with("/nonexistent/x.snn: cannot read the file: "), "{e}");
    assert!(e.render(false).contains("= in /nonexistent/x.snn"), "{}", e.render(false));
}
