//! Expected statistics of a bundle with tolerances: which stats `trace record` keeps, the
//! golden `meta.json` figures, and checking a run's stats against them.
//!
//! A stat is named by a dotted path into the engine's stats JSON (`cycles_total`,
//! `energy_pj.total`, `spikes.1.lif`, `spikes_per_layer.0`); at each level the longest
//! matching key wins, so layer names may contain dots. It passes when
//! `|got − value| ≤ abs_tol + rel_tol·|value|`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engines::Engine;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectedStat {
    pub name: String,
    /// `reference`, `sim-exact` or `sim-hardware`; none = every engine the bundle runs.
    #[serde(default)]
    pub engine: Option<String>,
    pub value: f64,
    #[serde(default)]
    pub rel_tol: f64,
    #[serde(default)]
    pub abs_tol: f64,
}

/// One stat checked against one run.
#[derive(Clone, Debug)]
pub struct StatOutcome {
    pub ok: bool,
    /// Why it failed (empty when it passed).
    pub message: String,
    /// The engine reports no stat at this path: the bundle is wrong, not the run.
    pub unknown_path: bool,
}

/// Engine names known, values and tolerances finite, tolerances not negative.
pub fn check_spec(stats: &[ExpectedStat]) -> Result<(), String> {
    for (i, s) in stats.iter().enumerate() {
        let at = format!("stats[{i}] (`{}`)", s.name);
        if let Some(e) = &s.engine {
            Engine::parse(e).map_err(|e| format!("{at}: field `engine`: {e}"))?;
        }
        if !s.value.is_finite() {
            return Err(format!("{at}: field `value` must be a finite number"));
        }
        for (field, t) in [("rel_tol", s.rel_tol), ("abs_tol", s.abs_tol)] {
            if !(t.is_finite() && t >= 0.0) {
                return Err(format!("{at}: field `{field}` must be a finite number ≥ 0, got {t}"));
            }
        }
    }
    Ok(())
}

/// The number at a dotted path; at each object level the longest key that matches wins.
pub fn lookup(v: &Value, path: &str) -> Option<f64> {
    if path.is_empty() {
        return v.as_f64();
    }
    match v {
        Value::Object(map) => {
            let mut best: Option<(&str, &Value)> = None;
            for (k, child) in map {
                let matches = path == k || (path.starts_with(k.as_str()) && path[k.len()..].starts_with('.'));
                if matches && best.is_none_or(|(b, _)| k.len() > b.len()) {
                    best = Some((k, child));
                }
            }
            let (k, child) = best?;
            lookup(child, path[k.len()..].trim_start_matches('.'))
        }
        Value::Array(items) => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            lookup(items.get(head.parse::<usize>().ok()?)?, rest)
        }
        _ => None,
    }
}

/// Checks the stats that apply to `engine` against its stats JSON.
pub fn evaluate(stats: &[ExpectedStat], engine: Engine, got: &Value) -> Vec<StatOutcome> {
    stats
        .iter()
        .filter(|s| s.engine.as_deref().is_none_or(|e| e == engine.name()))
        .map(|s| match lookup(got, &s.name) {
            None => StatOutcome {
                ok: false,
                message: format!("stat `{}` is not reported by engine `{}`", s.name, engine.name()),
                unknown_path: true,
            },
            Some(g) => {
                let allowed = s.abs_tol + s.rel_tol * s.value.abs();
                let ok = (g - s.value).abs() <= allowed;
                let message = if ok {
                    String::new()
                } else {
                    format!(
                        "stat `{}` = {} is outside {} ± {} (rel_tol {}, abs_tol {})",
                        s.name, g, s.value, allowed, s.rel_tol, s.abs_tol
                    )
                };
                StatOutcome { ok, message, unknown_path: false }
            }
        })
        .collect()
}

/// The figures of a golden `meta.json` (snnTorch's own counts): SOPs per sample, output
/// spikes and spikes per layer, for every engine.
pub fn from_golden_meta(meta: &Value) -> Vec<ExpectedStat> {
    let stat =
        |name: String, value: f64, rel_tol: f64| ExpectedStat { name, engine: None, value, rel_tol, abs_tol: 0.0 };
    let mut out = Vec::new();
    for key in ["sops_weight_layers_per_sample", "sops_pooling_per_sample"] {
        if let Some(v) = meta[key].as_f64() {
            out.push(ExpectedStat { abs_tol: 1e-9, ..stat(key.into(), v, 1e-9) });
        }
    }
    if let Some(v) = meta["total_output_spikes"].as_f64() {
        out.push(stat("total_output_spikes".into(), v, 0.0));
    }
    if let Some(layers) = meta["total_layer_spikes"].as_array() {
        for (i, v) in layers.iter().enumerate() {
            if let Some(v) = v.as_f64() {
                out.push(stat(format!("spikes_per_layer.{i}"), v, 0.0));
            }
        }
    }
    out
}

/// The stats `trace record` keeps for an engine, read from its run.
pub fn recorded(engine: Engine, got: &Value, rel_tol: f64) -> Vec<ExpectedStat> {
    let mut names: Vec<String> = match engine {
        Engine::Reference => {
            vec!["sops_weight_layers_per_sample".into(), "sops_pooling_per_sample".into(), "total_output_spikes".into()]
        }
        Engine::SimExact => ["cycles_total", "packets", "hops", "energy_pj.total", "latency_us_per_step_mean"]
            .map(String::from)
            .to_vec(),
        Engine::SimHardware => ["total_output_spikes", "cycles_total", "saturated_values"].map(String::from).to_vec(),
    };
    if engine == Engine::Reference {
        if let Some(layers) = got["spikes"].as_object() {
            names.extend(layers.keys().map(|k| format!("spikes.{k}")));
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let value = lookup(got, &name).filter(|v| v.is_finite())?;
            Some(ExpectedStat { name, engine: Some(engine.name().into()), value, rel_tol, abs_tol: 0.0 })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_follows_dotted_paths_with_dotted_keys() {
        let v = json!({"spikes": {"1.lif": 7, "1": 3}, "energy_pj": {"total": 2.5}, "l": [4, {"x": 5}]});
        assert_eq!(lookup(&v, "spikes.1.lif"), Some(7.0));
        assert_eq!(lookup(&v, "spikes.1"), Some(3.0));
        assert_eq!(lookup(&v, "energy_pj.total"), Some(2.5));
        assert_eq!(lookup(&v, "l.1.x"), Some(5.0));
        assert_eq!(lookup(&v, "l.2"), None);
        assert_eq!(lookup(&v, "missing"), None);
    }

    #[test]
    fn tolerance_is_absolute_plus_relative() {
        let s = |value, rel_tol, abs_tol| ExpectedStat { name: "x".into(), engine: None, value, rel_tol, abs_tol };
        let got = json!({"x": 105.0});
        assert!(evaluate(&[s(100.0, 0.05, 0.0)], Engine::Reference, &got)[0].ok);
        assert!(evaluate(&[s(100.0, 0.0, 5.0)], Engine::Reference, &got)[0].ok);
        let bad = &evaluate(&[s(100.0, 0.04, 0.0)], Engine::Reference, &got)[0];
        assert!(!bad.ok && bad.message.contains("stat `x` = 105"), "{}", bad.message);
        let other = ExpectedStat { engine: Some("sim-exact".into()), ..s(1.0, 0.0, 0.0) };
        assert!(evaluate(&[other], Engine::Reference, &got).is_empty(), "a stat of another engine is skipped");
    }
}
