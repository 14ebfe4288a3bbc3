//! Benchmark: `csp customers -o json` over 10,000 customers in 20 pages, from a local fake
//! Partner Center that adds 30 ms to every response. Prints the wall time, its ratio to the
//! bound (20 pages × 30 ms, the time the pages alone must take when fetched one after another),
//! and the peak resident memory of the csp process. Never fails on a slow machine: it reports.
//!
//! Run: cargo bench --bench customers

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PAGES: usize = 20;
const PER_PAGE: usize = 500;
/// What the fake adds to each response; `CSP_BENCH_DELAY_MS` changes it (0 shows csp's own cost).
fn delay() -> Duration {
    #[allow(clippy::disallowed_methods)] // a benchmark knob, not csp's configuration
    let ms = std::env::var("CSP_BENCH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    Duration::from_millis(ms)
}
const RUNS: usize = 5;

fn customer(i: usize) -> Value {
    let tenant = format!("{:08x}-0000-4000-8000-{:012x}", i, i);
    json!({
        "id": tenant,
        "companyProfile": {
            "tenantId": tenant,
            "domain": format!("customer{i}.onmicrosoft.com"),
            "companyName": format!("Customer {i:05} Holdings Ltd"),
            "attributes": {"objectType": "CustomerCompanyProfile"}
        },
        "relationshipToPartner": "reseller",
        "attributes": {"objectType": "Customer"}
    })
}

fn page(n: usize) -> Value {
    let items: Vec<Value> = (n * PER_PAGE..(n + 1) * PER_PAGE).map(customer).collect();
    let mut links =
        json!({"self": {"uri": "/v1/customers?size=500", "method": "GET", "headers": []}});
    if n + 1 < PAGES {
        links["next"] = json!({
            "uri": "/v1/customers?size=500&seekOperation=Next",
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": format!("page-{}", n + 1)}]
        });
    }
    json!({"totalCount": PER_PAGE, "items": items, "links": links, "attributes": {"objectType": "Collection"}})
}

fn jwt() -> String {
    use base64::Engine;
    let payload = json!({"upn": "bench@partner.example", "tid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "amr": ["pwd", "mfa"]});
    format!(
        "eyJhbGciOiJub25lIn0.{}.sig",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string())
    )
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

/// A minimal fake of Entra's token endpoint and Partner Center's customer pages, serving
/// pre-serialised bodies so that the fake itself costs next to nothing.
async fn fake_server() -> String {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use axum::routing::{get, post};
    use std::sync::Arc;

    let pages: Arc<Vec<Bytes>> = Arc::new(
        (0..PAGES)
            .map(|n| Bytes::from(serde_json::to_vec(&page(n)).unwrap()))
            .collect(),
    );
    let token = Bytes::from(
        json!({"token_type": "Bearer", "expires_in": 3599, "access_token": jwt()}).to_string(),
    );
    let app = axum::Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(move || {
                let token = token.clone();
                async move { ([("content-type", "application/json")], token) }
            }),
        )
        .route(
            "/v1/customers",
            get(move |headers: HeaderMap| {
                let pages = Arc::clone(&pages);
                async move {
                    let n = headers
                        .get("MS-ContinuationToken")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("page-"))
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    // Timers round up to the next millisecond; finish the wait by yielding so
                    // the fake adds 30 ms, not 31, and the ratio measures csp.
                    let deadline = std::time::Instant::now() + delay();
                    tokio::time::sleep(delay().saturating_sub(Duration::from_millis(2))).await;
                    while std::time::Instant::now() < deadline {
                        tokio::task::yield_now().await;
                    }
                    ([("content-type", "application/json")], pages[n].clone())
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::main]
async fn main() {
    let base = fake_server().await;
    #[allow(clippy::disallowed_methods)] // a benchmark knob: keep the fake up for a profiler
    if std::env::var_os("CSP_BENCH_SERVE").is_some() {
        println!("fake Partner Center at {base}; Ctrl-C to stop");
        std::future::pending::<()>().await;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "version = 1\n[profiles.default]\nclient_id = \"11111111-2222-3333-4444-555555555555\"\ntenant_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\ntoken_store = \"file\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("credentials.json"),
        r#"{"version":1,"profiles":{"default":{"refreshToken":"bench-refresh-token"}}}"#,
    )
    .unwrap();

    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_csp"));
        cmd.args(["customers", "-o", "json"])
            .env("CSP_CONFIG_DIR", dir.path())
            .env("CSP_AUTHORITY_HOST", &base)
            .env("CSP_PARTNER_CENTER_URL", &base)
            .env("CSP_GRAPH_URL", &base)
            .env("NO_PROXY", "*")
            .env_remove("CSP_REFRESH_TOKEN")
            .env_remove("CSP_TOKEN_STORE");
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        walls.push(started.elapsed());
        assert!(
            out.status.success(),
            "csp failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rows.len(), PAGES * PER_PAGE, "every customer listed");
    }
    walls.sort();
    let bound = delay() * PAGES as u32;
    let bound = bound.max(Duration::from_millis(1));
    let median = walls[RUNS / 2];
    println!(
        "csp customers -o json: {} customers in {PAGES} pages, {} ms added to each response, {RUNS} runs",
        PAGES * PER_PAGE,
        delay().as_millis()
    );
    println!(
        "  bound ({PAGES} x {} ms):   {:>6} ms",
        delay().as_millis(),
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
    match children_peak_rss() {
        Some(bytes) => println!(
            "  peak RSS of csp:     {:>6.1} MB             (target < 30 MB)",
            bytes as f64 / (1024.0 * 1024.0)
        ),
        None => println!("  peak RSS of csp:     not measured on this OS"),
    }
}
