//! Prints a large valid policy, for timing `ombud policy check` end to end:
//! `cargo run --release -p ombud-policy --example generate_policy -- 5000 > big.toml`.

#[path = "../benches/support/large_policy.rs"]
mod large_policy;

fn main() {
    let activities = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    print!("{}", large_policy::generate(activities));
}
