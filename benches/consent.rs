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

use std::time::Duration;

use csp::sandbox::{CONSENT_RATE, World};
use serde_json::{Value, json};

mod common;

use common::{count_statuses, csp, knob, signed_in, timed};

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
    let (sim, dir) = signed_in(world, delay).await;
    std::fs::write(
        dir.path().join("mappings.json"),
        json!({"version": 1, "mappings": mappings}).to_string(),
    )
    .unwrap();

    let cmd = csp(
        &sim.url(),
        dir.path(),
        &[
            "consent",
            "--all",
            "--grant",
            "graph=Directory.Read.All",
            "-o",
            "json",
        ],
    );
    let (out, wall) = timed(cmd).await;
    let (_, by_status) = count_statuses(&out.stdout);
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
