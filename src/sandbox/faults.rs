//! The test hook around every route: it records each call in the journal, adds the global
//! latency, and applies the faults a test armed (a given answer instead of the simulator's, a
//! hung request, a connection cut without an answer, or a lost answer after the simulator
//! acted). Public so tests and benchmarks can use it; the CLI never arms a fault.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::connection::Connection;
use super::journal::{Call, path_matches};
use super::state::SimState;

/// The largest request body the simulator reads.
const BODY_LIMIT: usize = 4 << 20;

/// What to do to some calls: those of `method` to paths matching a pattern, from the `nth`
/// matching call on, `times` times (once unless told).
///
/// ```text
/// Fault::on("POST", "/v1/customers/*/applicationconsents").reply(429).header("Retry-After", "1")
/// Fault::on("GET", "/v1.0/**").always().reply(403).json(&body)
/// Fault::on("DELETE", "/v1/customers/*/applicationconsents/*").after_effect().reply(500)
/// Fault::on("POST", "/v1/customers/*/applicationconsents").always().hang(Duration::from_secs(60))
/// Fault::on("GET", "/v1/customers").cut()
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    method: Method,
    pattern: String,
    skip: usize,
    times: Option<usize>,
    delay: Duration,
    answer: Answer,
    after_effect: bool,
}

#[derive(Debug, Clone)]
enum Answer {
    /// The simulator's own answer.
    Normal,
    Reply {
        status: StatusCode,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Vec<u8>,
    },
    /// No answer: the connection is closed.
    Cut,
}

impl Fault {
    /// A fault on the first call of `method` to a path matching `pattern` (segments compare
    /// exactly; `*` matches one segment, `**` any number). Say what it does with `reply`,
    /// `hang` or `cut`.
    pub fn on(method: &str, pattern: &str) -> Fault {
        Fault {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            pattern: pattern.to_string(),
            skip: 0,
            times: Some(1),
            delay: Duration::ZERO,
            answer: Answer::Normal,
            after_effect: false,
        }
    }

    /// Starts at the `n`th matching call (1-based).
    pub fn nth(mut self, n: usize) -> Fault {
        self.skip = n.saturating_sub(1);
        self
    }

    /// Applies to this many matching calls in a row.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    /// Applies to every matching call from the first (or `nth`) on.
    pub fn always(mut self) -> Fault {
        self.times = None;
        self
    }

    /// Answers `status` (with an empty body unless `json` or `body` follows).
    pub fn reply(mut self, status: u16) -> Fault {
        self.answer = Answer::Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: Vec::new(),
            body: Vec::new(),
        };
        self
    }

    /// Adds a header to the `reply`.
    pub fn header(mut self, name: &str, value: &str) -> Fault {
        if let Answer::Reply { headers, .. } = &mut self.answer
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            )
        {
            headers.push((n, v));
        }
        self
    }

    /// Gives the `reply` a JSON body.
    pub fn json(self, body: &Value) -> Fault {
        self.header("content-type", "application/json; charset=utf-8")
            .body(&body.to_string())
    }

    /// Gives the `reply` this body as it is (malformed JSON, for instance).
    pub fn body(mut self, text: &str) -> Fault {
        if let Answer::Reply { body, .. } = &mut self.answer {
            *body = text.as_bytes().to_vec();
        }
        self
    }

    /// Holds the call this long before answering (a hung request).
    pub fn hang(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Closes the connection without any answer.
    pub fn cut(mut self) -> Fault {
        self.answer = Answer::Cut;
        self
    }

    /// The simulator acts on the call first; only its answer is replaced (a lost answer).
    pub fn after_effect(mut self) -> Fault {
        self.after_effect = true;
        self
    }
}

/// A fault and how many calls it has seen and changed.
pub(super) struct Armed {
    fault: Fault,
    seen: usize,
    fired: usize,
}

impl Armed {
    pub fn new(fault: Fault) -> Armed {
        Armed {
            fault,
            seen: 0,
            fired: 0,
        }
    }
}

/// The first armed fault due on this call. Every matching fault counts the call.
fn due(sim: &SimState, method: &Method, path: &str) -> Option<Fault> {
    let mut chosen = None;
    for armed in sim.faults().iter_mut() {
        let f = &armed.fault;
        if f.method != *method || !path_matches(&f.pattern, path) {
            continue;
        }
        armed.seen += 1;
        if chosen.is_none() && armed.seen > f.skip && f.times.is_none_or(|t| armed.fired < t) {
            armed.fired += 1;
            chosen = Some(f.clone());
        }
    }
    chosen
}

/// Waits until `deadline`, to the millisecond: timers round up, so the end of the wait yields
/// instead.
async fn wait_until(deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::sleep(left.saturating_sub(Duration::from_millis(2))).await;
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

/// The middleware: journal, faults, latency (the answer leaves no sooner than the latency
/// after the call arrived, however long the simulator took to make it).
pub async fn layer(State(sim): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let arrived = Instant::now();
    let response = answer(&sim, arrived, req, next).await;
    wait_until(arrived + sim.latency()).await;
    response
}

async fn answer(sim: &SimState, arrived: Instant, req: Request, next: Next) -> Response {
    let connection = req
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|c| c.0.clone());
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let index = {
        let mut journal = sim.journal();
        journal.calls.push(Call {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers.clone(),
            body: bytes.clone(),
            at: arrived,
            status: None,
        });
        journal.calls.len() - 1
    };
    let fault = due(sim, &parts.method, parts.uri.path());
    let req = Request::from_parts(parts, Body::from(bytes));
    let Some(fault) = fault else {
        let response = next.run(req).await;
        sim.journal().calls[index].status = Some(response.status().as_u16());
        return response;
    };
    if !fault.delay.is_zero() {
        tokio::time::sleep(fault.delay).await;
    }
    if fault.after_effect && !matches!(fault.answer, Answer::Normal) {
        let _ = next.run(req).await;
        return replace(sim, index, fault.answer, connection);
    }
    match fault.answer {
        Answer::Normal => {
            let response = next.run(req).await;
            sim.journal().calls[index].status = Some(response.status().as_u16());
            response
        }
        answer => replace(sim, index, answer, connection),
    }
}

/// The answer a fault gives instead of the simulator's.
fn replace(
    sim: &SimState,
    index: usize,
    answer: Answer,
    connection: Option<Connection>,
) -> Response {
    match answer {
        Answer::Reply {
            status,
            headers,
            body,
        } => {
            let mut response = (status, body).into_response();
            for (n, v) in headers {
                response.headers_mut().insert(n, v);
            }
            sim.journal().calls[index].status = Some(status.as_u16());
            response
        }
        // Nothing is recorded as answered: nothing is.
        _ => {
            if let Some(c) = connection {
                c.cut();
            }
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}
