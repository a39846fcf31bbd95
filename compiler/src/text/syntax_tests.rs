//! Unit tests of the `.snn` syntax: lexical forms, continuation lines, recovery.

use super::ast::{Num, ValueKind};
use super::syntax::parse;

fn one_statement(src: &str) -> super::ast::Statement {
    let (doc, diags) = parse(src);
    assert!(diags.is_empty(), "{:?}", diags.iter().map(|d| &d.message).collect::<Vec<_>>());
    assert_eq!(doc.statements.len(), 1);
    doc.statements.into_iter().next().unwrap()
}

fn numbers(src: &str) -> Vec<Num> {
    let st = one_statement(&format!("snn 1\nx = Scale<scale={src}>(y)\n"));
    let ValueKind::List(items) = &st.attrs[0].value.kind else { panic!("not a list") };
    items
        .iter()
        .map(|v| match &v.kind {
            ValueKind::Num(n) => n.clone(),
            k => panic!("{k:?}"),
        })
        .collect()
}

#[test]
fn numbers_are_what_rusts_f64_parser_reads() {
    let ns = numbers("[1, -2, +3, .5, 1., 1e-3, 2.5E+4, -0.0, inf, -Infinity, NaN, 5e-324]");
    let ints: Vec<Option<i64>> = ns.iter().map(|n| n.int).collect();
    assert_eq!(&ints[..3], &[Some(1), Some(-2), Some(3)]);
    assert!(ints[3..].iter().all(Option::is_none), "only plain digits are integers");
    assert_eq!(ns[3].value, 0.5);
    assert_eq!(ns[5].value, 1e-3);
    assert_eq!(ns[6].value, 25000.0);
    assert_eq!(ns[7].value.to_bits(), (-0.0f64).to_bits());
    assert_eq!((ns[8].value, ns[9].value), (f64::INFINITY, f64::NEG_INFINITY));
    assert!(ns[10].value.is_nan());
    assert_eq!(ns[11].value, 5e-324);
}

#[test]
fn statements_span_lines_inside_brackets_with_comments_and_trailing_commas() {
    let src = "snn 1   # version\n\n# a comment line\nfc = Affine<  # weights follow\n  weight=[[1, 2],\n          [3, 4],],  # rows\n  bias=full([2], 0.5),\n>(\n  a,\n  \"b c\",\n)\n";
    let st = one_statement(src);
    assert_eq!(st.name.node, "fc");
    assert_eq!(st.attrs.len(), 2);
    assert_eq!(st.args.iter().map(|a| a.node.as_str()).collect::<Vec<_>>(), ["a", "b c"]);
    assert_eq!(&src[st.attrs[1].value.span.clone()], "full([2], 0.5)");
    assert_eq!(&src[st.args[1].span.clone()], "\"b c\"");
}

#[test]
fn names_bare_dotted_numeric_and_quoted_with_escapes() {
    let st = one_statement("snn 1\n1.lif = LIF<tau=1.0>(0, \"q\\\"\\\\\\n\\t\\u{e9}\")\n");
    assert_eq!(st.name.node, "1.lif");
    assert_eq!(st.args[0].node, "0");
    assert_eq!(st.args[1].node, "q\"\\\n\té");
    let st = one_statement("snn 1\nf = Flatten(x)\n");
    assert!(st.attrs.is_empty());
    let st = one_statement("snn 1\nw = Linear<weight=file(\"a b.safetensors\", \"w\",)>(x)\n");
    match &st.attrs[0].value.kind {
        ValueKind::File { path, key } => {
            assert_eq!((path.node.as_str(), key.as_ref().unwrap().node.as_str()), ("a b.safetensors", "w"))
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn recovery_reports_each_broken_statement_once() {
    // An unclosed `<` must not swallow the following statements.
    let src =
        "snn 1\na = LIF<tau=1.0\nb = Scale<scale=1x>(a)\nc = Scale<scale=1.0>(b) extra\nd = Scale<scale=1.0>(c)\n";
    let (doc, diags) = parse(src);
    let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "expected `,` or `>`, found the end of the line",
            "expected a number, found `1x`",
            "expected the end of the line (one statement per line), found `extra`"
        ]
    );
    assert_eq!(doc.statements.len(), 1, "only `d` is whole");
    assert_eq!(doc.broken, ["a", "b", "c"]);
}

#[test]
fn bad_escape_and_number_forms() {
    let (_, diags) = parse("snn 1\na = Scale<scale=1.2.3>(\"x\\q\")\n");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].message, "expected a number, found `1.2.3`");
    let (_, diags) = parse("snn 1\na = Scale<scale=1.0>(\"x\\q\")\n");
    assert_eq!(diags[0].message, "expected an escape: \\\\ \\\" \\n \\r \\t or \\u{hex}, found `\\q`");
}
