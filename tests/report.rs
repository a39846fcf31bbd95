//! `spikeforge report`: the page is self-contained and holds the five views and their
//! tables, exports are written, stats files are checked against the map, and the page
//! renders in headless Chromium (skipped where Chromium is not installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(root()).output().expect("binary runs")
}

fn ok(args: &[&str]) -> String {
    let o = spikeforge(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Compiles `model` for test_4x4 into `dir/name`.
fn compile(dir: &Path, model: &str, name: &str) -> PathBuf {
    let map = dir.join(name);
    ok(&["compile", model, "--target", "targets/test_4x4.ron", "-o", p(&map)]);
    map
}

const VIEWS: [&str; 5] = ["heatmap", "links", "raster", "latency", "energy"];
const DIGITS: &str = "examples/digits_mlp/model.nir";
const DIGITS_INPUT: &str = "examples/digits_mlp/input.npy";

/// The text of `<table id="ID">…</table>`.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<table id=\"{id}\">")).unwrap_or_else(|| panic!("no table {id}"));
    let end = html[start..].find("</table>").expect("table closes") + start;
    &html[start..end]
}

/// The body cells of a table, row by row.
fn cells(table: &str) -> Vec<Vec<String>> {
    let body = table.split("<tbody>").nth(1).expect("table body");
    body.split("<tr>")
        .skip(1)
        .map(|r| r.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap_or("").to_string()).collect())
        .collect()
}

fn body_rows(table: &str) -> usize {
    table.matches("<tr>").count() - 1
}

/// The page references nothing outside itself and shows every view with its table.
fn check_page(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in ["http://", "https://", "<script", "<link", "<img", "url(", "@import", "src="] {
        assert!(!html.contains(bad), "page contains `{bad}`");
    }
    for v in VIEWS {
        assert!(html.contains(&format!("<section class=\"view\" id=\"{v}\">")), "section {v}");
        let fig = html.find(&format!("<figure id=\"{v}-figure\">\n<svg")).unwrap_or_else(|| panic!("figure {v}"));
        assert!(html[fig..].contains("</svg>"));
        table(html, &format!("{v}-table"));
    }
}

fn png_colours(bytes: &[u8]) -> (u32, u32, usize, f64) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size fits")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let ch = info.color_type.samples();
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(ch).collect();
    let distinct: std::collections::HashSet<&[u8]> = px.iter().copied().collect();
    let non_white = px.iter().filter(|p| p[..3].iter().any(|&c| c < 250)).count() as f64 / px.len() as f64;
    (info.width, info.height, distinct.len(), non_white)
}

#[test]
fn report_from_a_simulation_shows_every_view_and_exports_them() {
    let dir = tempfile::tempdir().unwrap();
    let map = compile(dir.path(), DIGITS, "digits.map");
    let (html_path, exp) = (dir.path().join("r.html"), dir.path().join("exp"));
    let out = ok(&[
        "report",
        p(&map),
        "--input",
        DIGITS_INPUT,
        "--sample",
        "2",
        "-o",
        p(&html_path),
        "--export-dir",
        p(&exp),
    ]);
    assert!(out.contains("5 of 5 pictures") && out.contains("10 exports"), "{out}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    check_page(&html);
    // The numbers: one heatmap row per used core, one raster row per spiking layer, one
    // latency row per step of the input (20), five energy components.
    let used = html.matches("used; unused cores").count();
    assert_eq!(used, 1);
    let cores_line = table(&html, "heatmap-table");
    let n_used: usize = cores_line.split("<caption>").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(n_used > 1, "digits_mlp splits over several test_4x4 cores");
    assert_eq!(body_rows(cores_line), n_used);
    assert_eq!(body_rows(table(&html, "latency-table")), 20);
    assert_eq!(body_rows(table(&html, "energy-table")), 5);
    assert!(body_rows(table(&html, "links-table")) > 0, "several cores exchange packets");
    assert!(html.contains("spikes of sample 2"));
    // Attribution: a row per layer (digits_mlp: two), one marked the bottleneck, which
    // the header names; every used core names its layers; every step its critical core.
    let layers = cells(table(&html, "layers-table"));
    assert_eq!(layers.len(), 2);
    assert_eq!(layers.iter().filter(|r| r[0].contains("bottleneck")).count(), 1);
    assert!(html.contains("<dt>bottleneck layer</dt>"));
    assert!(cells(cores_line).iter().all(|r| !r[2].is_empty()), "a used core without layers");
    assert!(cells(table(&html, "latency-table")).iter().all(|r| r[11].starts_with('c')));
    for v in VIEWS {
        let svg = std::fs::read_to_string(exp.join(format!("{v}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""), "{v}.svg");
        let (w, h, colours, non_white) = png_colours(&std::fs::read(exp.join(format!("{v}.png"))).unwrap());
        assert!(w >= 800 && h >= 300, "{v}.png is {w}×{h}");
        assert!(colours >= 20 && non_white > 0.02, "{v}.png: {colours} colours, {non_white:.3} non-white");
    }
}

#[test]
fn report_from_stats_files_matches_the_simulated_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let map = compile(d, DIGITS, "digits.map");
    let (y, s, csv) = (d.join("y.npy"), d.join("s.json"), d.join("steps.csv"));
    ok(&["simulate", p(&map), "--input", DIGITS_INPUT, "-o", p(&y), "--stats", p(&s), "--steps-csv", p(&csv)]);
    let from_sim = d.join("sim.html");
    ok(&["report", p(&map), "--input", DIGITS_INPUT, "--sample", "1", "-o", p(&from_sim)]);
    let from_files = d.join("files.html");
    let args = ["report", p(&map), "--stats", p(&s), "--steps-csv", p(&csv), "--spikes", p(&y), "--sample", "1"];
    ok(&[&args[..], &["-o", p(&from_files)]].concat());
    let (a, b) = (std::fs::read_to_string(&from_sim).unwrap(), std::fs::read_to_string(&from_files).unwrap());
    check_page(&b);
    for id in [
        "layers-table",
        "heatmap-table",
        "links-table",
        "links-totals",
        "latency-table",
        "latency-summary",
        "energy-table",
    ] {
        assert_eq!(table(&a, id), table(&b, id), "{id} differs between the simulated and the file-based report");
    }
    // From the output spikes only the output population is drawn.
    assert!(b.contains("the output population only"));
    // Stats plus the input: the one sample is simulated again for the raster and steps.
    let with_input = d.join("stats_input.html");
    ok(&["report", p(&map), "--stats", p(&s), "--input", DIGITS_INPUT, "--sample", "1", "-o", p(&with_input)]);
    let c = std::fs::read_to_string(&with_input).unwrap();
    // Same rows; only the mean over samples (which needs the whole run's rows) is absent.
    let (ra, rc) = (cells(table(&a, "latency-table")), cells(table(&c, "latency-table")));
    assert_eq!((ra.len(), rc.len()), (20, 20));
    for (x, y) in ra.iter().zip(&rc) {
        assert_eq!((&x[..5], &x[6..]), (&y[..5], &y[6..]));
        assert_eq!(y[5], "–");
    }
    assert_eq!(table(&a, "raster-table"), table(&c, "raster-table"));
    // Stats alone: the raster and latency views say which flag provides them.
    let bare = d.join("bare.html");
    ok(&["report", p(&map), "--stats", p(&s), "-o", p(&bare)]);
    let e = std::fs::read_to_string(&bare).unwrap();
    assert!(e.contains("No spikes were given: pass --input") && e.contains("No per-step rows were given"));
    assert!(!e.contains("http://") && e.contains("<figure id=\"heatmap-figure\">"));
    // Stats and per-step CSV written before attribution (no `cores`, `layers`,
    // `critical_core`) still load; the page says the attribution is missing.
    let mut old: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&s).unwrap()).unwrap();
    let obj = old.as_object_mut().unwrap();
    assert!(obj.remove("cores").is_some() && obj.remove("layers").is_some());
    let old_stats = d.join("old.json");
    std::fs::write(&old_stats, serde_json::to_string(&old).unwrap()).unwrap();
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let old_csv: String = csv_text
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(4);
            f.join(",") + "\n"
        })
        .collect();
    assert!(!old_csv.contains("critical_core"));
    let old_csv_path = d.join("old.csv");
    std::fs::write(&old_csv_path, old_csv).unwrap();
    let from_old = d.join("old.html");
    let args = ["report", p(&map), "--stats", p(&old_stats), "--steps-csv", p(&old_csv_path), "--sample", "1"];
    ok(&[&args[..], &["-o", p(&from_old)]].concat());
    let o = std::fs::read_to_string(&from_old).unwrap();
    assert!(o.contains("no per-layer attribution") && !o.contains("<dt>bottleneck layer</dt>"));
    assert!(cells(table(&o, "latency-table")).iter().all(|r| r[11] == "–"));
}

#[test]
fn bad_inputs_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("r.html");
    let fails = |args: &[&str], needle: &str| {
        let o = spikeforge(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: `{err}` lacks `{needle}`");
        assert!(!out.exists(), "{args:?} left an output");
    };
    let missing = d.join("missing.map");
    fails(&["report", p(&missing), "--input", DIGITS_INPUT, "-o", p(&out)], "missing.map: cannot read the core map");
    let map = compile(d, DIGITS, "digits.map");
    let other = compile(d, "examples/tiny_mlp.snn", "tiny.map");
    let (s_other, y) = (d.join("other.json"), d.join("y.npy"));
    ok(&["simulate", p(&other), "--input", "examples/tiny_input.npy", "-o", p(&y), "--stats", p(&s_other)]);
    fails(&["report", p(&map), "--stats", p(&s_other), "-o", p(&out)], "these statistics are of a different core map");
    fails(&["report", p(&map), "-o", p(&out)], "give the run's statistics");
    fails(
        &["report", p(&map), "--input", DIGITS_INPUT, "--sample", "32", "-o", p(&out)],
        "--sample 32 is out of range",
    );
    fails(&["report", p(&map), "--input", "examples/tiny_input.npy", "-o", p(&out)], "expected [N, T, 64]");
    let junk = d.join("junk.json");
    std::fs::write(&junk, "{\"target\": 3}").unwrap();
    fails(
        &["report", p(&map), "--stats", p(&junk), "-o", p(&out)],
        "not a stats file of `spikeforge simulate --stats`",
    );
}

/// `chromium` from /usr/bin or PATH.
fn chromium() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("chromium")).find(|p| p.is_file())
}

/// Runs Chromium headless with `args` and the page, killed after two minutes. Output goes
/// to files (a pipe nobody reads while waiting would fill up and stall Chromium).
fn headless(chrome: &Path, dir: &Path, name: &str, args: &[&str], page: &Path) -> (String, String) {
    let (out, err) = (dir.join(format!("{name}.out")), dir.join(format!("{name}.err")));
    let mut child = Command::new(chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", dir.join(format!("{name}-profile")).display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    while child.try_wait().expect("wait on chromium").is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (std::fs::read_to_string(&out).unwrap_or_default(), std::fs::read_to_string(&err).unwrap_or_default())
}

#[test]
fn page_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else {
        println!("SKIPPED page_renders_in_headless_chromium: no /usr/bin/chromium and no `chromium` on PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let map = compile(d, DIGITS, "digits.map");
    let page = d.join("report.html");
    ok(&["report", p(&map), "--input", DIGITS_INPUT, "-o", p(&page)]);
    let (dom, log) = headless(&chrome, d, "dom", &["--dump-dom"], &page);
    for v in VIEWS {
        assert!(dom.contains(&format!("id=\"{v}\"")) && dom.contains(&format!("id=\"{v}-table\"")), "DOM lacks {v}");
    }
    assert!(dom.matches("<svg").count() >= 5, "inline SVGs missing from the DOM");
    for bad in ["CONSOLE", "Uncaught", "Failed to load resource", "ERR_FILE_NOT_FOUND"] {
        assert!(!log.contains(bad), "chromium reported `{bad}`:\n{log}");
    }
    let shot = d.join("shot.png");
    let arg = format!("--screenshot={}", shot.display());
    headless(&chrome, d, "shot", &[&arg, "--window-size=1200,2400", "--hide-scrollbars"], &page);
    let bytes = std::fs::read(&shot).expect("chromium wrote the screenshot");
    let (w, h, colours, non_white) = png_colours(&bytes);
    assert_eq!((w, h), (1200, 2400));
    assert!(colours >= 100, "screenshot has only {colours} colours");
    assert!(non_white > 0.05, "screenshot is nearly blank ({non_white:.3} non-white)");
}
