//! Benchmark: `csp map import` of N rows (default 1,000) against the sandbox simulator with its
//! latency knob adding a fixed delay to every response. One customer in ten is reached only
//! through GDAP (no Partner Center relationship), so both listings are exercised. Prints the
//! wall time and its ratio to the latency bound: the calls csp must make one after another
//! (the tokens, the pages of the customer listing and of the GDAP relationships) plus one
//! domain lookup per row, `--jobs` at a time, each taking the delay. Never fails on a slow
//! machine: it reports.
//!
//! Run: cargo bench --bench map_import
//! Knobs: CSP_BENCH_ROWS (default 1000), CSP_BENCH_DELAY_MS (default 20), CSP_BENCH_JOBS
//! (map import's --jobs, default 8).

use std::time::Duration;

use csp::sandbox::World;

mod common;

use common::{count_statuses, csp, knob, signed_in, timed};

#[tokio::main]
async fn main() {
    let rows = knob("CSP_BENCH_ROWS", 1000) as usize;
    let delay = Duration::from_millis(knob("CSP_BENCH_DELAY_MS", 20));
    let jobs = knob("CSP_BENCH_JOBS", 8).clamp(1, 64) as usize;
    let mut world = World::empty();
    let mut csv = String::from("customer,domain\n");
    for i in 0..rows {
        let name = format!("Client {i:05}");
        let domain = format!("client{i}.example.com");
        let tenant = world.add_customer(&name, &domain);
        if i % 10 == 9 {
            // GDAP only: the relationship stays, Partner Center does not list it.
            world.customer_mut(&tenant).unwrap().relationship = None;
        }
        csv.push_str(&format!("{name},{domain}\n"));
    }
    let (sim, dir) = signed_in(world, delay).await;
    let file = dir.path().join("clients.csv");
    std::fs::write(&file, csv).unwrap();

    let jobs_arg = jobs.to_string();
    let cmd = csp(
        &sim.url(),
        dir.path(),
        &[
            "map",
            "import",
            file.to_str().unwrap(),
            "-o",
            "json",
            "--jobs",
            &jobs_arg,
        ],
    );
    let (out, wall) = timed(cmd).await;
    let (_, by_status) = count_statuses(&out.stdout);
    let calls = sim.calls();
    let per_customer = calls
        .iter()
        .filter(|c| c.path.starts_with("/v1/customers/"))
        .count();
    // Every call but the domain lookups (the tokens, the listings' pages) is made one after
    // another; the lookups, `jobs` at a time.
    let lookups = calls
        .iter()
        .filter(|c| c.path.ends_with("/.well-known/openid-configuration"))
        .count();
    let sequential = calls.len() - lookups;
    let bound = delay * (sequential + lookups.div_ceil(jobs)) as u32;
    println!(
        "csp map import: {rows} rows (one in ten GDAP only), {} ms per response, --jobs {jobs}",
        delay.as_millis()
    );
    println!("  results:              {by_status:?}");
    println!(
        "  calls:                {} ({per_customer} per-customer Partner Center reads)",
        calls.len()
    );
    println!(
        "  bound ({sequential} + {lookups}/{jobs} calls): {:>8.2} s",
        bound.as_secs_f64()
    );
    if bound.is_zero() {
        println!(
            "  wall:                 {:>8.2} s   (no added latency: csp's own cost)",
            wall.as_secs_f64()
        );
    } else {
        println!(
            "  wall:                 {:>8.2} s   ratio {:.3}",
            wall.as_secs_f64(),
            wall.as_secs_f64() / bound.as_secs_f64()
        );
    }
}
