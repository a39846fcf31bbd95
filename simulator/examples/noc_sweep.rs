//! Prints (and writes as CSV) packet latency versus injection rate under uniform random
//! traffic on the Loihi preset: `cargo run --release -p spikeforge-simulator --example
//! noc_sweep [out.csv]`.

use spikeforge_simulator::sweep::latency_sweep;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = spikeforge_targets::preset("loihi").ok_or("no loihi preset")??;
    let spike_out = [64, 32, 24, 16, 12, 10, 8, 6, 4, 3, 2, 1];
    let points = latency_sweep(target.spec(), 128, 64, &spike_out, 3)?;
    let mut csv = String::from(
        "spike_out_cycles,offered_rate,accepted_rate,packet_latency_mean_cycles,cycles_per_step,max_link_utilisation,stall_cycles\n",
    );
    println!("uniform random traffic, Loihi 8 x 4 mesh of 4-core tiles, 64 packets per core per step");
    println!(
        "{:>9} {:>9} {:>9} {:>12} {:>11} {:>9}",
        "offered", "accepted", "latency", "cycles/step", "max link", "stalls"
    );
    for p in &points {
        println!(
            "{:>9.4} {:>9.4} {:>9.1} {:>12.0} {:>11.3} {:>9}",
            p.offered_rate,
            p.accepted_rate,
            p.packet_latency_mean_cycles,
            p.cycles_per_step,
            p.max_link_utilisation,
            p.stall_cycles
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            p.spike_out_cycles,
            p.offered_rate,
            p.accepted_rate,
            p.packet_latency_mean_cycles,
            p.cycles_per_step,
            p.max_link_utilisation,
            p.stall_cycles
        ));
    }
    let path = std::env::args().nth(1).unwrap_or_else(|| "noc_sweep.csv".into());
    spikeforge_simulator::write_atomically(std::path::Path::new(&path), csv.as_bytes())?;
    println!("written {path}");
    Ok(())
}
