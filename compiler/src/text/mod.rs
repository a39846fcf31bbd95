//! The `.snn` text format: a human-writable SNN graph, in the spirit of ONNX's textual
//! syntax. [`read_snn`]/[`parse_snn`] read it, [`print_snn`]/[`write_snn`] write it;
//! printing then parsing gives back the identical graph (tensors bit for bit).
//!
//! # Example
//!
//! ```text
//! snn 1                                   # header: format version, the first non-comment line
//! # A convolutional layer, a recurrent LIF layer and a readout.
//! input = Input<shape=[1, 8, 8]>()
//! conv0 = Conv2d<weight=file("model.safetensors", "conv0.weight"), bias=[0.1, -0.2],
//!                stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1>(input)
//! flat = Flatten<start_dim=0, end_dim=-1>(conv0)
//! lif0 = LIF<tau=full([128], 0.002), r=20.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0>(flat, rec)
//! rec = Linear<weight=file("rec.npy")>(lif0)      # forward reference: recurrent (see below)
//! fc = Affine<weight=file("model.safetensors", "fc.weight"), bias=full([10], 0.0)>(lif0)
//! output = Output<shape=[10]>(fc)
//! ```
//!
//! # Grammar
//!
//! ```text
//! file      = header NEWLINE { [statement] NEWLINE }
//! header    = "snn" INTEGER [ "semantics" "=" NAME ]   (version 1; NAME: nir, snntorch, …)
//! statement = name "=" OpType [ "<" [ attr { "," attr } [","] ] ">" ] "(" [ name { "," name } [","] ] ")"
//! attr      = IDENT "=" value
//! value     = number | list | "full" "(" list "," number ")"
//!           | "file" "(" STRING [ "," STRING ] ")"
//! list      = "[" [ item { "," item } [","] ] "]"      item = number | list
//! name      = [A-Za-z0-9_][A-Za-z0-9_.]* | STRING
//! number    = what Rust's f64 parser accepts, with an optional sign: 1, -0.5, 1e-3, .5, inf, nan
//! STRING    = '"' … '"' with escapes \\ \" \n \r \t \u{hex}
//! ```
//!
//! * `snn 1 semantics=snntorch` declares whose update rules the model follows
//!   ([`crate::exec::semantics`]); `--semantics` on the command line overrides it.
//! * One statement per line; `#` starts a comment. A statement may span lines inside
//!   `<…>`, `(…)` and `[…]`, so long tensors can wrap.
//! * `OpType` is one of NIR's node types ([`OpKind`](crate::ir::OpKind)): `Input`,
//!   `Output`, `Affine`, `Linear`, `Scale`, `Conv1d`, `Conv2d`, `SumPool2d`, `AvgPool2d`,
//!   `Flatten`, `Delay`, `Threshold`, `I`, `IF`, `LI`, `LIF`, `CubaLI`, `CubaLIF`. Parameter
//!   names, defaults and broadcasting are those of [`Op::from_attrs`](crate::ir::Op::from_attrs).
//! * Values: a number is a rank-0 tensor; nested lists give a tensor of their shape
//!   (`[[1, 2], [3, 4]]` is 2×2; ragged lists are an error); `full([dims], value)` repeats
//!   one value; `file("w.npy")` or `file("m.safetensors", "key")` reads a sidecar, its path
//!   relative to the `.snn` file (`.npy`: any numeric dtype; safetensors: F32, F64,
//!   integers, BOOL). Integer parameters (`shape`, `stride`, `padding`, `dilation`,
//!   `groups`, `kernel_size`, `start_dim`, `end_dim`) take an integer or a list of them.
//!   Sizes are checked against [`Limits`] before anything is allocated.
//! * The arguments are the node's inputs (edges into it); their values are summed.
//! * Statements may come in any order and refer to nodes defined later: it is a graph.
//!   **Within a cycle, the argument that names a node defined at or after the current
//!   statement is the recurrent edge**: it carries that node's value from the previous
//!   time step (above, `rec` feeds `lif0` one step late). The reader makes the IR's
//!   schedule agree ([`Schedule`](crate::ir::Schedule)) or says why it cannot.
//!
//! # Errors
//!
//! Reading reports every independent problem at once, each with a primary label on the
//! offending text: syntax errors (recovering at the next statement), unknown op types and
//! attributes, bad parameters, duplicate names, undefined references, unreadable or
//! oversized sidecars, and then the graph checks of [`Graph::verify`] (shape mismatches
//! and so on), pointed at the statements of the nodes they name.
//! [`TextErrors::render`] gives codespan's rich output; `Display` one line per error.

mod ast;
mod diag;
mod lex;
mod lower;
mod order;
mod print;
pub(crate) mod sidecar;
mod syntax;
#[cfg(test)]
mod syntax_tests;
mod values;

use std::path::Path;

pub use diag::TextErrors;
pub use print::{print_snn, write_snn, PrintOptions, Printed};

use crate::ir::Graph;
use crate::limits::Limits;
use diag::Diag;

/// Parses `.snn` source. `file_name` is used in messages; sidecar paths are resolved
/// against `base_dir`.
pub fn parse_snn(source: &str, file_name: &str, base_dir: &Path, limits: &Limits) -> Result<Graph, TextErrors> {
    let (doc, mut diags) = syntax::parse(source);
    // Semantic errors are independent of syntax errors in other statements, so they are
    // collected too; verification runs only on a graph that is otherwise sound.
    match lower::lower(&doc, diags.is_empty(), base_dir, limits) {
        Ok(g) if diags.is_empty() => Ok(g),
        Ok(_) => Err(TextErrors::new(file_name, source, diags)),
        Err(more) => {
            diags.extend(more);
            diags.sort_by_key(|d| d.primary.as_ref().map_or(usize::MAX, |p| p.0.start));
            Err(TextErrors::new(file_name, source, diags))
        }
    }
}

/// Reads a `.snn` file; sidecars are resolved against its directory. I/O and encoding
/// errors are reported as [`TextErrors`] too.
pub fn read_snn(path: &Path, limits: &Limits) -> Result<Graph, TextErrors> {
    let file_name = path.display().to_string();
    // The file is read whole: its length is checked first.
    if let Ok(len) = std::fs::metadata(path).map(|m| m.len()) {
        if len > limits.max_memory_bytes() {
            let m = format!(
                "the file is {len} bytes, above the limit of {} bytes (raise it with --max-memory)",
                limits.max_memory_bytes()
            );
            return Err(TextErrors::new(&file_name, "", vec![Diag::nowhere(m)]));
        }
    }
    let bytes = std::fs::read(path)
        .map_err(|e| TextErrors::new(&file_name, "", vec![Diag::nowhere(format!("cannot read the file: {e}"))]))?;
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let source = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let d = Diag::at(at..at + '\u{FFFD}'.len_utf8(), "the file is not valid UTF-8", "invalid byte here");
            return Err(TextErrors::new(&file_name, &source, vec![d]));
        }
    };
    let base_dir = path.parent().unwrap_or(Path::new(""));
    parse_snn(&source, &file_name, base_dir, limits)
}
