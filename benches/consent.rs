//! Benchmark: `csp consent --all` over N mapped customers with one grant each, against the
//! sandbox simulator with its latency knob adding a fixed delay to every response and Partner
//! Center's limit of consent writes a second per application (answered 429 with
//! Retry-After: 1 above it). Prints the wall time, its ratio to the bound (N ÷ the rate, in
//! seconds: no client may go faster without being throttled), and the share of calls answered
//! 429. Never fails on a slow machine.
//!
//! Run: cargo bench --bench consent
//! Knobs: CSP_BENCH_CUSTOMERS (default 1000), CSP_BENCH_RATE (writes/s per app, default the
//! 50 Partner Center publishes), CSP_BENCH_DELAY_MS (default 20).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use csp::sandbox::{CONSENT_RATE, Simulator, World};
use serde_json::{Value, json};

#[allow(clippy::disallowed_methods)] // benchmark knobs, not csp's configuration
fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let customers = knob("CSP_BENCH_CUSTOMERS", 1000) as usize;
    let rate = knob("CSP_BENCH_RATE", CONSENT_RATE as u64) as usize;
    let delay = Duration::from_millis(knob("CSP_BENCH_DELAY_MS", 20));
    let mut world = World::empty();
    world.switches.consent_rate = Some(rate);
    let mappings: Vec<Value> = (0..customers)
        .map(|i| {
            let name = format!("Client {i:05}");
            let domain = format!("client{i}.example.com");
            let tenant = world.add_customer(&name, &domain);
            json!({"customer": name, "tenantId": tenant, "domain": domain, "name": name, "mappedAt": "2026-11-27T10:00:00Z"})
        })
        .collect();
    let sim = Simulator::start(world).await.unwrap();
    sim.set_latency(delay);
    let dir = tempfile::tempdir().unwrap();
    sim.seed_sign_in(dir.path(), "default").unwrap();
    std::fs::write(
        dir.path().join("mappings.json"),
        json!({"version": 1, "mappings": mappings}).to_string(),
    )
    .unwrap();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csp"));
    cmd.args([
        "consent",
        "--all",
        "--grant",
        "graph=Directory.Read.All",
        "-o",
        "json",
    ])
    .env("CSP_CONFIG_DIR", dir.path())
    .env("CSP_AUTHORITY_HOST", sim.url())
    .env("CSP_PARTNER_CENTER_URL", sim.url())
    .env("CSP_GRAPH_URL", sim.url())
    .env("NO_PROXY", "*")
    .env_remove("CSP_REFRESH_TOKEN")
    .env_remove("CSP_TOKEN_STORE");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "csp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *by_status
            .entry(r["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    let calls = sim.calls();
    let throttled = calls.iter().filter(|c| c.status == Some(429)).count();
    let bound = Duration::from_secs_f64(customers as f64 / rate as f64);
    println!(
        "csp consent --all: {customers} customers, one grant each, {} ms per response, 429 above {rate} writes/s",
        delay.as_millis()
    );
    println!("  results:              {by_status:?}");
    println!(
        "  bound ({customers} / {rate} per s): {:>8.2} s",
        bound.as_secs_f64()
    );
    println!(
        "  wall:                 {:>8.2} s   ratio {:.3}   (target <= 1.10)",
        wall.as_secs_f64(),
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  calls answered 429:   {throttled} of {} ({:.2} %)   (target <= 1 %)",
        calls.len(),
        100.0 * throttled as f64 / calls.len().max(1) as f64
    );
}
