//! Typed access to a pass's arguments, with errors that point at the argument.

use std::collections::HashSet;

use super::spec::{PassSpec, Spanned, SpecError, Value};

pub struct Args<'a> {
    spec: &'a PassSpec,
    used: HashSet<&'a str>,
}

impl<'a> Args<'a> {
    pub fn new(spec: &'a PassSpec) -> Self {
        Args { spec, used: HashSet::new() }
    }

    fn get(&mut self, key: &'a str) -> Option<&'a Spanned<Value>> {
        let hit = self.spec.args.iter().find(|(k, _)| k.value == key).map(|(_, v)| v);
        if hit.is_some() {
            self.used.insert(key);
        }
        hit
    }

    /// A number in `[lo, hi]`, or the default.
    pub fn number(&mut self, key: &'a str, default: Option<f64>, lo: f64, hi: f64) -> Result<f64, SpecError> {
        match self.get(key) {
            Some(Spanned { value: Value::Number(x), span }) => {
                if *x >= lo && *x <= hi {
                    Ok(*x)
                } else {
                    Err(SpecError::new(format!("`{key}` must be between {lo} and {hi}, got {x}"), span.clone()))
                }
            }
            Some(v) => Err(SpecError::new(format!("`{key}` must be a number"), v.span.clone())),
            None => default.ok_or_else(|| {
                SpecError::new(format!("`{}` needs `{key}=…`", self.spec.name.value), self.spec.span.clone())
            }),
        }
    }

    /// An integer in `[lo, hi]`, or the default.
    pub fn integer(&mut self, key: &'a str, default: Option<i64>, lo: i64, hi: i64) -> Result<i64, SpecError> {
        let span = self.get(key).map(|v| v.span.clone());
        let x = self.number(key, default.map(|d| d as f64), lo as f64, hi as f64)?;
        if x.fract() != 0.0 {
            return Err(SpecError::new(
                format!("`{key}` must be a whole number, got {x}"),
                span.unwrap_or(self.spec.span.clone()),
            ));
        }
        Ok(x as i64)
    }

    /// One of `choices` (a bare word or a string), or the default.
    pub fn choice(
        &mut self,
        key: &'a str,
        choices: &[&'static str],
        default: Option<&'static str>,
    ) -> Result<&'static str, SpecError> {
        let (text, span) = match self.get(key) {
            Some(Spanned { value: Value::Word(w) | Value::Str(w), span }) => (w.as_str(), span.clone()),
            Some(v) => {
                return Err(SpecError::new(format!("`{key}` must be one of {}", choices.join(", ")), v.span.clone()))
            }
            None => {
                return default.ok_or_else(|| {
                    SpecError::new(
                        format!("`{}` needs `{key}=` one of {}", self.spec.name.value, choices.join(", ")),
                        self.spec.span.clone(),
                    )
                })
            }
        };
        choices
            .iter()
            .find(|c| **c == text)
            .copied()
            .ok_or_else(|| SpecError::new(format!("`{key}={text}` is not one of {}", choices.join(", ")), span))
    }

    /// A string (word or quoted), if given.
    pub fn string(&mut self, key: &'a str) -> Result<Option<String>, SpecError> {
        match self.get(key) {
            Some(Spanned { value: Value::Word(w) | Value::Str(w), .. }) => Ok(Some(w.clone())),
            Some(v) => Err(SpecError::new(format!("`{key}` must be a string"), v.span.clone())),
            None => Ok(None),
        }
    }

    /// A list of strings (node names), if given; a single string is a list of one.
    pub fn strings(&mut self, key: &'a str) -> Result<Option<Vec<String>>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Spanned { value: Value::Word(w) | Value::Str(w), .. }) => Ok(Some(vec![w.clone()])),
            Some(Spanned { value: Value::List(items), .. }) => items
                .iter()
                .map(|i| match &i.value {
                    Value::Word(w) | Value::Str(w) => Ok(w.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(SpecError::new(format!("`{key}` lists names"), i.span.clone())),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(SpecError::new(format!("`{key}` must be a list of names"), v.span.clone())),
        }
    }

    /// A number or a list of numbers, if given.
    pub fn numbers(&mut self, key: &'a str) -> Result<Option<(Vec<f64>, std::ops::Range<usize>)>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Spanned { value: Value::Number(x), span }) => Ok(Some((vec![*x], span.clone()))),
            Some(Spanned { value: Value::List(items), span }) => items
                .iter()
                .map(|i| match i.value {
                    Value::Number(x) => Ok(x),
                    _ => Err(SpecError::new(format!("`{key}` lists numbers"), i.span.clone())),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some((v, span.clone()))),
            Some(v) => Err(SpecError::new(format!("`{key}` must be a number or a list"), v.span.clone())),
        }
    }

    /// Refuses arguments the pass did not ask for.
    pub fn finish(self, accepted: &[&str]) -> Result<(), SpecError> {
        for (k, _) in &self.spec.args {
            if !self.used.contains(k.value.as_str()) {
                return Err(SpecError::new(
                    format!(
                        "`{}` takes no argument `{}` (it takes: {})",
                        self.spec.name.value,
                        k.value,
                        accepted.join(", ")
                    ),
                    k.span.clone(),
                ));
            }
        }
        Ok(())
    }
}
