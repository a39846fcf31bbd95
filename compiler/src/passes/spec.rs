//! The `--passes` language: `prune(method=sbc, sparsity=0.8); quantize(bits=4, scheme=rescaw)`.
//!
//! ```text
//! pipeline := pass (';' pass)* [';']
//! pass     := ['@'] NAME [ '(' [arg (',' arg)*] ')' ]     ('@': a named pipeline)
//! arg      := NAME '=' value
//! value    := number | NAME | "string" | '[' [value (',' value)*] ']'
//! ```
//! Errors carry byte spans into the pipeline string; [`SpecError::render`] points at them.

use std::ops::Range;

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{opt, recognize};
use nom::sequence::delimited;
use nom::{IResult, Parser};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Word(String),
    Str(String),
    List(Vec<Spanned<Value>>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PassSpec {
    pub name: Spanned<String>,
    pub args: Vec<(Spanned<String>, Spanned<Value>)>,
    pub span: Range<usize>,
}

/// A problem in a pipeline string (syntax or a pass's arguments), with its span.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("--passes: {message} (at column {})", span.start + 1)]
pub struct SpecError {
    pub message: String,
    pub span: Range<usize>,
}

impl SpecError {
    pub fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        SpecError { message: message.into(), span }
    }

    /// The message with the pipeline string and a caret line under the offending part.
    pub fn render(&self, pipeline: &str) -> String {
        // The span widened to whole characters: a one-byte span at a multi-byte character
        // (`quantize(bits=4é)`) must not split it (found by fuzzing).
        let mut start = self.span.start.min(pipeline.len());
        while !pipeline.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = self.span.end.clamp(start, pipeline.len());
        while !pipeline.is_char_boundary(end) {
            end += 1;
        }
        let width = pipeline[start..end].chars().count().max(1);
        format!(
            "error: --passes: {}\n  | {}\n  | {}{}\n",
            self.message,
            pipeline,
            " ".repeat(pipeline[..start].chars().count()),
            "^".repeat(width)
        )
    }
}

type In<'a> = &'a str;

fn ws(i: In) -> IResult<In, In> {
    take_while(|c: char| c.is_whitespace())(i)
}

fn name(i: In) -> IResult<In, In> {
    recognize((
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'),
    ))
    .parse(i)
}

fn number(i: In) -> IResult<In, In> {
    recognize((
        opt(alt((char('-'), char('+')))),
        take_while1(|c: char| c.is_ascii_digit() || c == '.'),
        opt((alt((char('e'), char('E'))), opt(alt((char('-'), char('+')))), take_while1(|c: char| c.is_ascii_digit()))),
    ))
    .parse(i)
}

struct Parser0<'s> {
    src: &'s str,
}

impl<'s> Parser0<'s> {
    fn off(&self, rest: &str) -> usize {
        self.src.len() - rest.len()
    }

    fn value<'a>(&self, i: &'a str) -> Result<(&'a str, Spanned<Value>), SpecError> {
        let (i, _) = ws(i).expect("whitespace never fails");
        let start = self.off(i);
        if let Ok((rest, text)) = number(i) {
            let v: f64 = text
                .parse()
                .map_err(|_| SpecError::new(format!("`{text}` is not a number"), start..start + text.len()))?;
            return Ok((rest, Spanned { value: Value::Number(v), span: start..self.off(rest) }));
        }
        if let Ok((rest, text)) = name(i) {
            return Ok((rest, Spanned { value: Value::Word(text.into()), span: start..self.off(rest) }));
        }
        if let Ok((rest, text)) =
            delimited(char::<&str, nom::error::Error<&str>>('"'), take_till(|c| c == '"'), char('"')).parse(i)
        {
            return Ok((rest, Spanned { value: Value::Str(text.into()), span: start..self.off(rest) }));
        }
        if let Some(mut rest) = i.strip_prefix('[') {
            let mut items = Vec::new();
            loop {
                let (r, _) = ws(rest).expect("whitespace never fails");
                if let Some(r) = r.strip_prefix(']') {
                    return Ok((r, Spanned { value: Value::List(items), span: start..self.off(r) }));
                }
                let (r, v) = self.value(r)?;
                items.push(v);
                let (r, _) = ws(r).expect("whitespace never fails");
                rest = r.strip_prefix(',').unwrap_or(r);
                if !r.starts_with(',') && !r.starts_with(']') {
                    let at = self.off(r);
                    return Err(SpecError::new("expected `,` or `]` in a list", at..at + 1));
                }
            }
        }
        let end = start + i.chars().next().map_or(0, char::len_utf8);
        Err(SpecError::new("expected a value: a number, a word, a \"string\" or a [list]", start..end.max(start + 1)))
    }

    fn pass<'a>(&self, i: &'a str) -> Result<(&'a str, PassSpec), SpecError> {
        let (i, _) = ws(i).expect("whitespace never fails");
        let start = self.off(i);
        let (at, i) = match i.strip_prefix('@') {
            Some(rest) => ("@", rest),
            None => ("", i),
        };
        let (mut i, n) = name(i).map_err(|_| {
            let end = start + i.chars().next().map_or(0, char::len_utf8);
            SpecError::new(
                "expected a pass name, e.g. `quantize(bits=4)` or `@slamp(sparsity=0.7)`",
                start..end.max(start + 1),
            )
        })?;
        let pass_name = Spanned { value: format!("{at}{n}"), span: start..start + at.len() + n.len() };
        let mut args = Vec::new();
        let (r, _) = ws(i).expect("whitespace never fails");
        if let Some(mut r) = r.strip_prefix('(') {
            loop {
                let (r2, _) = ws(r).expect("whitespace never fails");
                if let Some(r3) = r2.strip_prefix(')') {
                    i = r3;
                    break;
                }
                let k0 = self.off(r2);
                let (r3, key) =
                    name(r2).map_err(|_| SpecError::new("expected an argument `name=value`", k0..k0 + 1))?;
                let key = Spanned { value: key.to_string(), span: k0..k0 + key.len() };
                let (r3, _) = ws(r3).expect("whitespace never fails");
                let Some(r3) = r3.strip_prefix('=') else {
                    let at = self.off(r3);
                    return Err(SpecError::new(format!("expected `=` after `{}`", key.value), at..at + 1));
                };
                let (r3, v) = self.value(r3)?;
                if args.iter().any(|(k, _): &(Spanned<String>, _)| k.value == key.value) {
                    return Err(SpecError::new(format!("`{}` is given twice", key.value), key.span));
                }
                args.push((key, v));
                let (r3, _) = ws(r3).expect("whitespace never fails");
                if let Some(r4) = r3.strip_prefix(',') {
                    r = r4;
                } else if r3.starts_with(')') {
                    r = r3;
                } else {
                    let at = self.off(r3);
                    return Err(SpecError::new("expected `,` or `)` after an argument", at..at + 1));
                }
            }
        } else {
            i = r;
        }
        let end = self.off(i);
        Ok((i, PassSpec { name: pass_name, args, span: start..end }))
    }
}

/// Parses a pipeline string into pass specifications.
pub fn parse_pipeline(src: &str) -> Result<Vec<PassSpec>, SpecError> {
    check_list_nesting(src)?;
    let p = Parser0 { src };
    let mut out = Vec::new();
    let mut i = src;
    loop {
        let (r, _) = ws(i).expect("whitespace never fails");
        if r.is_empty() {
            break;
        }
        let (r, spec) = p.pass(r)?;
        out.push(spec);
        let (r, _) = ws(r).expect("whitespace never fails");
        match r.strip_prefix(';') {
            Some(r) => i = r,
            None if r.is_empty() => break,
            None => {
                let at = p.off(r);
                return Err(SpecError::new("expected `;` between passes", at..at + 1));
            }
        }
    }
    Ok(out)
}

/// Deepest `[` nesting a pipeline may have.
pub const MAX_LIST_NESTING: usize = 32;

/// Refuses lists nested deeper than [`MAX_LIST_NESTING`] before parsing: the parser
/// recurses once per `[`, and tens of thousands of them overflowed the stack (found by
/// fuzzing).
fn check_list_nesting(src: &str) -> Result<(), SpecError> {
    let (mut depth, mut in_string) = (0usize, false);
    for (i, c) in src.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '[' if !in_string => {
                depth += 1;
                if depth > MAX_LIST_NESTING {
                    return Err(SpecError::new(format!("lists nest deeper than {MAX_LIST_NESTING} levels"), i..i + 1));
                }
            }
            ']' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passes_with_arguments_and_lists() {
        let src =
            "prune(method=sbc, sparsity=0.8); quantize(bits=4, scheme=rescaw, layers=[\"0\", \"2\"], gamma=-1.5e-1)";
        let p = parse_pipeline(src).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name.value, "prune");
        assert_eq!(p[0].args[1].1.value, Value::Number(0.8));
        assert_eq!(&src[p[1].args[1].1.span.clone()], "rescaw");
        match &p[1].args[2].1.value {
            Value::List(v) => assert_eq!(v[1].value, Value::Str("2".into())),
            v => panic!("{v:?}"),
        }
        assert_eq!(p[1].args[3].1.value, Value::Number(-0.15));
        assert!(parse_pipeline("  ").unwrap().is_empty());
        assert_eq!(parse_pipeline("cleanup;").unwrap()[0].args.len(), 0);
    }

    #[test]
    fn errors_point_into_the_string() {
        let src = "quantize(bits=4 scheme=uniform)";
        let e = parse_pipeline(src).unwrap_err();
        assert_eq!(e.span.start, 16);
        assert!(e.render(src).contains("                ^"), "{}", e.render(src));
        let e = parse_pipeline("quantize(bits=4); 9x").unwrap_err();
        assert_eq!(e.span.start, 18);
        let e = parse_pipeline("quantize(bits=)").unwrap_err();
        assert!(e.message.contains("expected a value"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_and_multibyte_spans_are_errors_not_crashes() {
        let deep = format!("quantize(bits={})", "[".repeat(60_000));
        let e = parse_pipeline(&deep).expect_err("refused");
        assert!(e.message.contains("deeper than 32"), "{}", e.message);
        let src = "quantize(bits=4é)";
        // A one-byte span inside `é` (bytes 15..17).
        let rendered = SpecError::new("bad value", 16..17).render(src);
        assert!(rendered.contains("^"), "{rendered}");
    }
}
