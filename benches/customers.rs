//! Benchmark: `csp customers -o json` over 10,000 customers in 20 pages, from the sandbox
//! simulator with its latency knob adding 30 ms to every response. Prints the wall time, its
//! ratio to the bound (the calls csp must make one after another, the token and the 20 pages,
//! times 30 ms), and the peak resident memory of the csp process. Never fails on a slow
//! machine: it reports.
//!
//! The simulator runs in a child process of its own (this binary again): a child started from
//! a large process reports that process's peak memory as its own, so the process that starts
//! csp stays small.
//!
//! Run: cargo bench --bench customers
//! Knobs: CSP_BENCH_DELAY_MS (default 30; 0 shows csp's own cost), CSP_BENCH_SERVE (keep the
//! simulator up for a profiler).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use csp::sandbox::{Simulator, World};
use serde_json::Value;

mod common;

const CUSTOMERS: usize = 10_000;
const PER_PAGE: usize = 500;
const RUNS: usize = 5;
/// Set in the simulator's own process: the directory to sign in and to write its URL to.
const SIMULATE: &str = "CSP_BENCH_SIMULATE";

#[allow(clippy::disallowed_methods)] // benchmark knobs, not csp's configuration
fn knob(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Peak resident set of the largest child waited for so far, in bytes.
#[cfg(unix)]
fn children_peak_rss() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above.
    let kb = unsafe { usage.assume_init() }.ru_maxrss as u64;
    // ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    Some(if cfg!(target_os = "macos") {
        kb
    } else {
        kb * 1024
    })
}

#[cfg(not(unix))]
fn children_peak_rss() -> Option<u64> {
    None
}

fn delay() -> Duration {
    Duration::from_millis(
        knob("CSP_BENCH_DELAY_MS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    )
}

/// The simulator's process: the world, the latency, a sign-in in `dir`, its URL in
/// `dir/url`; then it serves until killed.
async fn simulate(dir: &Path) {
    let mut world = World::empty();
    for i in 0..CUSTOMERS {
        world.add_customer_without_gdap(
            &format!("Customer {i:05} Holdings Ltd"),
            &format!("customer{i}.example.com"),
        );
    }
    let sim = Simulator::start(world).await.unwrap();
    sim.set_latency(delay());
    sim.seed_sign_in(dir, "default").unwrap();
    std::fs::write(dir.join("url.tmp"), sim.url()).unwrap();
    std::fs::rename(dir.join("url.tmp"), dir.join("url")).unwrap();
    std::future::pending::<()>().await;
}

#[tokio::main]
async fn main() {
    if let Some(dir) = knob(SIMULATE) {
        return simulate(Path::new(&dir)).await;
    }
    let delay = delay();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(std::env::current_exe().unwrap())
        .env(SIMULATE, dir.path())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let url = loop {
        if let Ok(url) = std::fs::read_to_string(dir.path().join("url")) {
            break url;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the simulator did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if knob("CSP_BENCH_SERVE").is_some() {
        println!(
            "simulator at {url}; sign-in in {}; Ctrl-C to stop",
            dir.path().display()
        );
        std::future::pending::<()>().await;
    }

    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let cmd = common::csp(&url, dir.path(), &["customers", "-o", "json"]);
        let (out, wall) = common::timed(cmd).await;
        walls.push(wall);
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rows.len(), CUSTOMERS, "every customer listed");
    }
    // Read before the simulator's process is waited for: only csp's runs count.
    let peak = children_peak_rss();
    let _ = server.kill();
    let _ = server.wait();
    walls.sort();
    let pages = CUSTOMERS.div_ceil(PER_PAGE);
    // The token, then the pages: each call waits for the one before.
    let calls = pages + 1;
    let bound = (delay * calls as u32).max(Duration::from_millis(1));
    let median = walls[RUNS / 2];
    println!(
        "csp customers -o json: {CUSTOMERS} customers in {pages} pages, {} ms added to each response, {RUNS} runs",
        delay.as_millis()
    );
    println!(
        "  bound ({calls} calls x {} ms): {:>6} ms",
        delay.as_millis(),
        bound.as_millis()
    );
    println!(
        "  wall, median:        {:>6} ms   ratio {:.2}   (target <= 1.10)",
        median.as_millis(),
        median.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  wall, best:          {:>6} ms   ratio {:.2}",
        walls[0].as_millis(),
        walls[0].as_secs_f64() / bound.as_secs_f64()
    );
    match peak {
        Some(bytes) => println!(
            "  peak RSS of csp:     {:>6.1} MB             (target < 30 MB)",
            bytes as f64 / (1024.0 * 1024.0)
        ),
        None => println!("  peak RSS of csp:     not measured on this OS"),
    }
}
