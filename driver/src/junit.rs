//! JUnit XML for CI systems: one `<testsuite>` inside `<testsuites>`, one `<testcase>` per
//! bundle × engine; a divergence or a stat out of tolerance is a `<failure>`, an engine
//! that could not run is an `<error>`. Text and attributes are escaped by quick-xml.
//! Invariant: the counts on `<testsuites>`/`<testsuite>` equal the testcases' children.

use std::io;
use std::path::Path;

use anyhow::{Context, Result};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

pub enum Verdict {
    Passed,
    /// A one-line message and the details.
    Failed {
        message: String,
        details: String,
    },
    Error {
        message: String,
        details: String,
    },
}

pub struct Case {
    pub classname: String,
    pub name: String,
    pub seconds: f64,
    pub verdict: Verdict,
}

/// The XML text of one suite.
pub fn render(suite: &str, cases: &[Case]) -> Result<String> {
    let count = |f: fn(&Verdict) -> bool| cases.iter().filter(|c| f(&c.verdict)).count().to_string();
    let failures = count(|v| matches!(v, Verdict::Failed { .. }));
    let errors = count(|v| matches!(v, Verdict::Error { .. }));
    let tests = cases.len().to_string();
    let time = format!("{:.3}", cases.iter().map(|c| c.seconds).sum::<f64>());
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let attrs = [("name", suite), ("tests", &tests), ("failures", &failures), ("errors", &errors), ("time", &time)];
    w.create_element("testsuites").with_attributes(attrs).write_inner_content(|w| {
        w.create_element("testsuite").with_attributes(attrs).write_inner_content(|w| {
            for c in cases {
                let time = format!("{:.3}", c.seconds);
                let el = w.create_element("testcase").with_attributes([
                    ("classname", c.classname.as_str()),
                    ("name", c.name.as_str()),
                    ("time", time.as_str()),
                ]);
                match &c.verdict {
                    Verdict::Passed => {
                        el.write_empty()?;
                    }
                    Verdict::Failed { message, details } | Verdict::Error { message, details } => {
                        let tag = if matches!(c.verdict, Verdict::Failed { .. }) { "failure" } else { "error" };
                        el.write_inner_content(|w| {
                            w.create_element(tag)
                                .with_attributes([("message", message.as_str()), ("type", tag)])
                                .write_text_content(BytesText::new(details))?;
                            Ok::<(), io::Error>(())
                        })?;
                    }
                }
            }
            Ok::<(), io::Error>(())
        })?;
        Ok::<(), io::Error>(())
    })?;
    let mut text = String::from_utf8(w.into_inner()).context("JUnit XML is UTF-8")?;
    text.push('\n');
    Ok(text)
}

pub fn write(path: &Path, suite: &str, cases: &[Case]) -> Result<()> {
    let text = render(suite, cases)?;
    spikeforge_compiler::atomic::write_atomically(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
