//! What the benchmarks share: their knobs, the simulator signed in with a latency, and one run
//! of the real `csp` binary against it, timed. Each benchmark uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use csp::sandbox::{Simulator, World};
use serde_json::Value;

/// A benchmark knob from the environment (not csp's configuration), or `default`.
#[allow(clippy::disallowed_methods)]
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The simulator of `world`, answering after `delay`, and a config dir signed in to it.
pub async fn signed_in(world: World, delay: Duration) -> (Simulator, tempfile::TempDir) {
    let sim = Simulator::start(world).await.unwrap();
    sim.set_latency(delay);
    let dir = tempfile::tempdir().unwrap();
    sim.seed_sign_in(dir.path(), "default").unwrap();
    (sim, dir)
}

/// `csp ARGS` pointed at the simulator at `url`, with the sign-in in `dir` and nothing of the
/// caller's sign-in.
pub fn csp(url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csp"));
    cmd.args(args)
        .env("CSP_CONFIG_DIR", dir)
        .env("CSP_AUTHORITY_HOST", url)
        .env("CSP_PARTNER_CENTER_URL", url)
        .env("CSP_GRAPH_URL", url)
        .env("NO_PROXY", "*")
        .env_remove("CSP_REFRESH_TOKEN")
        .env_remove("CSP_TOKEN_STORE");
    cmd
}

/// Runs `cmd` off the runtime (the simulator keeps answering), and returns its output and
/// the wall time; a failed run stops the benchmark with csp's stderr.
pub async fn timed(mut cmd: Command) -> (Output, Duration) {
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
    (out, wall)
}

/// How many of the JSON report's items ended in each `status`.
pub fn count_statuses(stdout: &[u8]) -> (usize, BTreeMap<String, usize>) {
    let items: Vec<Value> = serde_json::from_slice(stdout).unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in &items {
        *counts
            .entry(item["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    (items.len(), counts)
}
