//! Benchmark: `csp consent --all` over N mapped customers with one grant each, against a local
//! fake of Entra, Graph and Partner Center that adds a fixed latency to every response and
//! answers 429 (Retry-After: 1) to consent writes above a per-application rate. Prints the wall
//! time, its ratio to the bound (N ÷ the rate, in seconds: no client may go faster without
//! being throttled), and the share of calls answered 429. Never fails on a slow machine.
//!
//! Run: cargo bench --bench consent
//! Knobs: CSP_BENCH_CUSTOMERS (default 1000), CSP_BENCH_RATE (writes/s per app, default 50),
//! CSP_BENCH_DELAY_MS (default 20).

use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const APP: &str = "11111111-2222-3333-4444-555555555555";
const PARTNER: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
const GRAPH_SP: &str = "50000003-0000-0000-c000-000000000000";

#[allow(clippy::disallowed_methods)] // benchmark knobs, not csp's configuration
fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Fake {
    consented: HashSet<String>,
    writes: VecDeque<Instant>,
}

struct Server {
    state: Mutex<Fake>,
    rate: usize,
    delay: Duration,
    calls: AtomicU64,
    throttled: AtomicU64,
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn tenant_of_token(req: &Request<Body>) -> String {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer AT-"))
        .unwrap_or_default()
        .to_string()
}

async fn handle(
    axum::extract::State(server): axum::extract::State<Arc<Server>>,
    req: Request<Body>,
) -> Response {
    server.calls.fetch_add(1, Ordering::Relaxed);
    // Exactly the configured latency: timers round up, so finish the wait by yielding.
    let deadline = Instant::now() + server.delay;
    tokio::time::sleep(server.delay.saturating_sub(Duration::from_millis(2))).await;
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let segments: Vec<&str> = path.split('/').collect();
    if method == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        let tenant = segments[1];
        let token = if tenant == PARTNER {
            "AT-partner".to_string()
        } else {
            format!("AT-{tenant}")
        };
        return json_response(
            StatusCode::OK,
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token}),
        );
    }
    if method == Method::POST && path.ends_with("/applicationconsents") {
        let tenant = segments[3].to_string();
        let throttle = {
            let mut st = server.state.lock().unwrap();
            let now = Instant::now();
            while st
                .writes
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                st.writes.pop_front();
            }
            if st.writes.len() >= server.rate {
                true
            } else {
                st.writes.push_back(now);
                st.consented.insert(tenant);
                false
            }
        };
        if throttle {
            server.throttled.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1"), ("content-type", "application/json")],
                json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}).to_string()).into_response();
        }
        let body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        return (
            StatusCode::CREATED,
            [("content-type", "application/json")],
            body,
        )
            .into_response();
    }
    if method == Method::GET && path.starts_with("/v1.0/servicePrincipals(appId=") {
        let tenant = tenant_of_token(&req);
        let consented = server.state.lock().unwrap().consented.contains(&tenant);
        return if consented {
            json_response(
                StatusCode::OK,
                json!({"id": "51111111-2222-3333-4444-555555555555", "appId": APP}),
            )
        } else {
            json_response(
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "Request_ResourceNotFound", "message": "not found"}}),
            )
        };
    }
    if method == Method::GET && path.ends_with("/oauth2PermissionGrants") {
        return json_response(
            StatusCode::OK,
            json!({"value": [{
                "clientId": "51111111-2222-3333-4444-555555555555", "consentType": "AllPrincipals",
                "resourceId": GRAPH_SP, "scope": "Directory.Read.All"
            }]}),
        );
    }
    if method == Method::GET && path == format!("/v1.0/servicePrincipals/{GRAPH_SP}") {
        return json_response(StatusCode::OK, json!({"id": GRAPH_SP, "appId": GRAPH_APP}));
    }
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "NotFound", "message": path}}),
    )
}

#[tokio::main]
async fn main() {
    let customers = knob("CSP_BENCH_CUSTOMERS", 1000) as usize;
    let rate = knob("CSP_BENCH_RATE", 50) as usize;
    let delay = Duration::from_millis(knob("CSP_BENCH_DELAY_MS", 20));
    let server = Arc::new(Server {
        state: Mutex::new(Fake::default()),
        rate,
        delay,
        calls: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("version = 1\n[profiles.default]\nclient_id = \"{APP}\"\ntenant_id = \"{PARTNER}\"\ntoken_store = \"file\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("credentials.json"),
        r#"{"version":1,"profiles":{"default":{"refreshToken":"bench-refresh-token"}}}"#,
    )
    .unwrap();
    let mappings: Vec<Value> = (0..customers)
        .map(|i| {
            json!({
                "customer": format!("Client {i:05}"),
                "tenantId": format!("c{i:07x}-0000-4000-8000-000000000000"),
                "domain": format!("client{i}.example.com"),
                "name": format!("Client {i:05} Ltd"),
                "mappedAt": "2026-11-27T10:00:00Z"
            })
        })
        .collect();
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
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "csp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_status: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        *by_status
            .entry(r["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    let calls = server.calls.load(Ordering::Relaxed);
    let throttled = server.throttled.load(Ordering::Relaxed);
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
        "  calls answered 429:   {throttled} of {calls} ({:.2} %)   (target <= 1 %)",
        100.0 * throttled as f64 / calls.max(1) as f64
    );
}
