//! Print `show` for a target file or preset: `cargo run -p spikeforge-targets --example show -- loihi`.
fn main() {
    for arg in std::env::args().skip(1) {
        let t = match spikeforge_targets::preset(&arg) {
            Some(r) => r,
            None => spikeforge_targets::load_target(&arg),
        };
        match t {
            Ok(t) => print!("{}", spikeforge_targets::show::render(&t)),
            Err(e) => eprintln!("{e}"),
        }
    }
}
