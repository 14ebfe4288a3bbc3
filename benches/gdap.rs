//! Benchmark: `csp gdap assign --all --create-groups --add-member me` over N approved GDAP
//! relationships (Cloud Application Administrator, no access assignment yet), against the
//! sandbox simulator with its latency knob adding a fixed delay to every response. Each
//! assignment starts `pending` and turns `active` on the next read, as Graph's do when they
//! are quick. Prints the wall time, its ratio to the latency bound (the calls csp made × the
//! delay ÷ the relationships worked on at once: no client making those calls with that
//! concurrency can be faster), and the calls per relationship. Never fails on a slow machine.
//!
//! Run: cargo bench --bench gdap
//! Knobs: CSP_BENCH_RELATIONSHIPS (default 1000), CSP_BENCH_JOBS (`--jobs`, default 8, as
//! `gdap assign`), CSP_BENCH_DELAY_MS (default 20).

use std::time::Duration;

use csp::sandbox::World;

mod common;

use common::{count_statuses, csp, knob, signed_in, timed};

#[tokio::main]
async fn main() {
    let relationships = knob("CSP_BENCH_RELATIONSHIPS", 1000) as usize;
    let jobs = knob("CSP_BENCH_JOBS", 8).clamp(1, 64);
    let delay = Duration::from_millis(knob("CSP_BENCH_DELAY_MS", 20));
    let mut world = World::empty();
    for i in 0..relationships {
        world.add_customer(&format!("Client {i:05}"), &format!("client{i}.example.com"));
    }
    // Approved by every customer, and not yet given to any group: what `assign` is for.
    for r in &mut world.relationships {
        r.assignments.clear();
    }
    world.switches.activate_after_reads = 1;
    let (sim, dir) = signed_in(world, delay).await;

    let jobs_arg = jobs.to_string();
    let cmd = csp(
        &sim.url(),
        dir.path(),
        &[
            "gdap",
            "assign",
            "--all",
            "--create-groups",
            "--add-member",
            "me",
            "--jobs",
            &jobs_arg,
            "-o",
            "json",
        ],
    );
    let (out, wall) = timed(cmd).await;
    let (reported, by_status) = count_statuses(&out.stdout);
    assert_eq!(reported, relationships, "every relationship reported");
    let calls = sim.calls().len();
    let bound = (delay * calls as u32 / jobs as u32).max(Duration::from_millis(1));
    println!(
        "csp gdap assign --all: {relationships} approved relationships, {} ms per response, --jobs {jobs}",
        delay.as_millis()
    );
    println!("  results:                {by_status:?}");
    println!(
        "  calls:                  {calls} ({:.2} per relationship)",
        calls as f64 / relationships.max(1) as f64
    );
    println!(
        "  bound ({calls} x {} ms / {jobs}): {:>8.2} s",
        delay.as_millis(),
        bound.as_secs_f64()
    );
    if delay.is_zero() {
        // No latency: the wall time is csp's own cost (and the simulator's); no ratio.
        println!("  wall:                   {:>8.2} s", wall.as_secs_f64());
    } else {
        println!(
            "  wall:                   {:>8.2} s   ratio {:.3}",
            wall.as_secs_f64(),
            wall.as_secs_f64() / bound.as_secs_f64()
        );
    }
}
