//! Seed-scale figures through the command line, each printed with the command it ran:
//! generate VGG-16 and ResNet-19 (CIFAR shape, T = 4), `compile --target loihi --chips
//! auto` and `--target loihi2` (wall time, peak RSS, chips used against the lower bound),
//! `simulate --numeric exact` on the 2 generated samples compared byte for byte with `run`,
//! and simulator synaptic events per wall-second on 1 and 2 threads on the VGG map.
//!
//! Usage (after `cargo build --release`):
//! `cargo run --release -p spikeforge-compiler --example seed_bench -- [--full] [OUT_DIR]`
//! Without `--full` the networks are generated at `--width 0.25` (a size CI can afford);
//! with it at full width (ResNet-19 compiles for about a minute and peaks near 3 GB).
//! OUT_DIR (default `out/seed_bench`) receives the models, maps, reports and outputs.
//! It drives the release binary `target/release/spikeforge`; the peak RSS of each command
//! is its VmHWM, polled from `/proc` every 10 ms while it runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Ran {
    seconds: f64,
    peak_mib: f64,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `bin args`, printing the command; exits the bench when it fails.
fn run(bin: &Path, args: &[&str]) -> Ran {
    println!("$ spikeforge {}", args.join(" "));
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (run `cargo build --release` first)", bin.display()));
    let mut peak = 0u64;
    let status = loop {
        if let Some(k) = vm_hwm_kib(child.id()) {
            peak = peak.max(k);
        }
        match child.try_wait().expect("wait") {
            Some(s) => break s,
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let seconds = t.elapsed().as_secs_f64();
    if !status.success() {
        let mut err = String::new();
        use std::io::Read;
        child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        eprintln!("failed ({status}):\n{err}");
        std::process::exit(1);
    }
    Ran { seconds, peak_mib: peak as f64 / 1024.0 }
}

fn json_field(path: &Path, field: &str) -> f64 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v[field].as_f64().unwrap_or_else(|| panic!("{}: no number `{field}`", path.display()))
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    let out = PathBuf::from(args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or("out/seed_bench".into()));
    std::fs::create_dir_all(&out).expect("output directory");
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/spikeforge");
    let width = if full { "1.0" } else { "0.25" };
    let p = |name: &str| out.join(name).display().to_string();
    println!("seed-scale bench, width {width}, load average {}", load_avg());
    for net in ["vgg16", "resnet19"] {
        let (model, x) = (p(&format!("{net}.nir")), p(&format!("{net}_x.npy")));
        if !Path::new(&model).exists() || !Path::new(&x).exists() {
            run(&bin, &["generate", net, "-o", &model, "--width", width, "--input", &x, "--samples", "2"]);
        }
        let y_run = p(&format!("{net}_run.npy"));
        let r = run(&bin, &["run", &model, "--input", &x, "--output", &y_run]);
        println!("  run (2 samples): {:.2} s, peak {:.0} MiB", r.seconds, r.peak_mib);
        for target in ["loihi", "loihi2"] {
            let (map, report) = (p(&format!("{net}_{target}.map")), p(&format!("{net}_{target}.json")));
            let mut a = vec!["compile", &model, "--target", target];
            if target == "loihi" {
                a.extend(["--chips", "auto"]);
            }
            a.extend(["-o", &map, "--report", &report]);
            let r = run(&bin, &a);
            let (used, bound) =
                (json_field(Path::new(&report), "chips_used"), json_field(Path::new(&report), "chips_lower_bound"));
            let (cores, cbound) =
                (json_field(Path::new(&report), "cores_used"), json_field(Path::new(&report), "cores_lower_bound"));
            println!(
                "  compile {net} --target {target}: {:.2} s, peak {:.0} MiB, chips {used} / bound {bound} ({:.3}), \
                 cores {cores} / bound {cbound} ({:.3}); load {}",
                r.seconds,
                r.peak_mib,
                used / bound.max(1.0),
                cores / cbound.max(1.0),
                load_avg()
            );
            if target == "loihi2" && net == "resnet19" && !full {
                continue;
            }
            for threads in ["1", "2"] {
                let (y, stats) =
                    (p(&format!("{net}_{target}_sim{threads}.npy")), p(&format!("{net}_{target}_{threads}.json")));
                let r = run(
                    &bin,
                    &[
                        "simulate",
                        &map,
                        "--input",
                        &x,
                        "--output",
                        &y,
                        "--numeric",
                        "exact",
                        "--threads",
                        threads,
                        "--stats",
                        &stats,
                    ],
                );
                let reads = json_field(Path::new(&stats), "synapse_reads");
                let same = std::fs::read(&y).ok() == std::fs::read(&y_run).ok();
                println!(
                    "  simulate {net} on {target}, {threads} thread(s): {:.2} s, peak {:.0} MiB, {:.1} M synaptic events/s; \
                     output {} `run`; load {}",
                    r.seconds,
                    r.peak_mib,
                    reads / r.seconds / 1e6,
                    if same { "equals" } else { "DIFFERS FROM" },
                    load_avg()
                );
            }
        }
    }
}
