//! The HTTP layer against fake services: retries that honour Retry-After without sleeping real
//! seconds, what is and is not retried, idempotency and correlation headers, size caps, and
//! error bodies decoded into messages that name the endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use csp::http::{ApiClient, ApiError, Call, HttpOptions, Service, Sleeper};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

fn recording() -> (Arc<Mutex<Vec<Duration>>>, Sleeper) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&log);
    let sleeper: Sleeper = Arc::new(move |d| {
        l.lock().unwrap().push(d);
        Box::pin(std::future::ready(()))
    });
    (log, sleeper)
}

fn client(service: Service, base: &str, sleeper: Sleeper) -> ApiClient {
    ApiClient::new(service, Url::parse(base).unwrap(), HttpOptions::default())
        .unwrap()
        .with_sleeper(sleeper)
}

fn token() -> SecretString {
    SecretString::from("AT-http-LeakCanary".to_string())
}

async fn get(c: &ApiClient) -> Result<Value, ApiError> {
    let t = token();
    c.get_json(c.url("v1/customers"), Some(&t), Vec::new())
        .await
}

#[tokio::test]
async fn a_429_waits_the_retry_after_it_names_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "57")
                .set_body_json(fixture("pc-error-429-throttled.json")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    let body = get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap();
    assert_eq!(body, json!({"ok": true}));
    assert_eq!(*log.lock().unwrap(), vec![Duration::from_secs(57)]);
}

#[tokio::test]
async fn a_retry_after_date_is_honoured() {
    let server = MockServer::start().await;
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(20));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", when.as_str()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .with_priority(2)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    get(&client(Service::Graph, &server.uri(), sleeper))
        .await
        .unwrap();
    let waited = log.lock().unwrap()[0];
    assert!(
        waited > Duration::from_secs(15) && waited <= Duration::from_secs(20),
        "{waited:?}"
    );
}

#[tokio::test]
async fn still_throttled_after_the_retries_names_the_retry_after_seen() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3")
                .set_body_json(fixture("pc-error-429-throttled.json")),
        )
        .expect(5)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    let err = get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Throttled { attempts: 5, .. }),
        "{err:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 4);
    let text = err.to_string();
    assert!(text.contains("last Retry-After: 3 s"), "{text}");
    assert!(text.contains("Rate limit is exceeded"), "{text}");
    let cli = csp::CliError::from(csp::http::RemoteError::from(err));
    assert_eq!(cli.exit_code().code(), 1);
    assert!(cli.render().join("\n").contains("asked to wait 3 s"));
}

#[tokio::test]
async fn a_retry_after_beyond_the_wait_budget_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    let err = get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_for_reads() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"code": "1000", "description": "boom"})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": 1})))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap();
    let waits = log.lock().unwrap().clone();
    assert_eq!(waits.len(), 2);
    assert!(
        waits.iter().all(|d| *d >= Duration::from_millis(500)),
        "{waits:?}"
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let base = flaky_server(1, r#"{"ok":true}"#).await;
    let (log, sleeper) = recording();
    let body = get(&client(Service::PartnerCenter, &base, sleeper))
        .await
        .unwrap();
    assert_eq!(body, json!({"ok": true}));
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn writes_are_retried_only_where_that_is_safe() {
    // Graph has no idempotency key: a 503 on a POST is not retried, a 429 is.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/things"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let c = client(Service::Graph, &server.uri(), sleeper);
    let t = token();
    let err = c
        .send(Call {
            method: Method::POST,
            json: Some(json!({})),
            ..Call::get(c.url("v1.0/things"), Some(&t))
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));

    // Partner Center writes carry MS-RequestId, the same on every try, so they are retried.
    let server = MockServer::start().await;
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let s = Arc::clone(&seen);
    Mock::given(method("POST"))
        .and(header_exists("MS-RequestId"))
        .respond_with(move |r: &Request| {
            let h = |n: &str| r.headers.get(n).unwrap().to_str().unwrap().to_string();
            let mut v = s.lock().unwrap();
            v.push((h("MS-RequestId"), h("MS-CorrelationId")));
            if v.len() == 1 {
                ResponseTemplate::new(503)
            } else {
                ResponseTemplate::new(201).set_body_json(json!({}))
            }
        })
        .expect(2)
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let c = client(Service::PartnerCenter, &server.uri(), sleeper);
    c.send(Call {
        method: Method::POST,
        json: Some(json!({})),
        ..Call::get(c.url("v1/customers/x/applicationconsents"), Some(&t))
    })
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0].0, seen[1].0,
        "one MS-RequestId for every try of a write"
    );
}

#[tokio::test]
async fn every_request_carries_a_fresh_correlation_id_and_reads_no_request_id() {
    let server = MockServer::start().await;
    type Seen = Arc<Mutex<Vec<(Option<String>, bool)>>>;
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    Mock::given(method("GET"))
        .respond_with(move |r: &Request| {
            s.lock().unwrap().push((
                r.headers
                    .get("MS-CorrelationId")
                    .map(|v| v.to_str().unwrap().to_string()),
                r.headers.contains_key("MS-RequestId"),
            ));
            ResponseTemplate::new(200).set_body_json(json!({}))
        })
        .expect(2)
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let c = client(Service::PartnerCenter, &server.uri(), sleeper);
    get(&c).await.unwrap();
    get(&c).await.unwrap();
    let seen = seen.lock().unwrap();
    let (a, b) = (seen[0].0.clone().unwrap(), seen[1].0.clone().unwrap());
    assert_ne!(a, b);
    assert!(uuid::Uuid::parse_str(&a).is_ok());
    assert!(!seen[0].1, "reads carry no idempotency key");
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"items\": [ AT-http-LeakCanary"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let err = get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Partner Center sent a response csp cannot read (GET /v1/customers)"),
        "{text}"
    );
    assert!(text.contains("malformed JSON"), "{text}");
    assert!(
        !text.contains("LeakCanary"),
        "the body is never echoed: {text}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried_and_keep_their_ids() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("MS-CorrelationId", "corr-1")
                .set_body_json(json!({"code": "20002", "description": "The partner id has no commerce relationship with the customer id.", "source": "x"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    let err = get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap_err();
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(err.code(), Some("20002"));
    assert!(err.to_string().contains("[correlation id corr-1]"), "{err}");
    let cli = csp::CliError::from(csp::http::RemoteError::from(err));
    assert!(cli.render().join("\n").contains("no commerce relationship"));
}

#[tokio::test]
async fn an_mfa_rejection_means_exit_4() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"code": "900421", "description": "MFA required", "source": "PartnerCenter"}),
        ))
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let err = get(&client(Service::PartnerCenter, &server.uri(), sleeper))
        .await
        .unwrap_err();
    assert!(err.is_mfa_required());
    let cli = csp::CliError::from(csp::http::RemoteError::from(err));
    assert_eq!(cli.exit_code().code(), 4);
    assert!(cli.render().join("\n").contains("complete MFA"));
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2 * 1024 * 1024)))
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let c = ApiClient::new(
        Service::Graph,
        Url::parse(&server.uri()).unwrap(),
        HttpOptions {
            max_body: 1024 * 1024,
            ..HttpOptions::default()
        },
    )
    .unwrap()
    .with_sleeper(sleeper);
    assert!(matches!(
        get(&c).await,
        Err(ApiError::TooLarge { limit_mib: 1, .. })
    ));
}

#[tokio::test]
async fn graph_errors_carry_their_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.", "innerError": {"request-id": "req-9", "date": "2026-11-27T10:00:00"}}})))
        .mount(&server)
        .await;
    let (_, sleeper) = recording();
    let err = get(&client(Service::Graph, &server.uri(), sleeper))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Insufficient privileges"), "{text}");
    assert!(text.contains("req-9"), "{text}");
}

#[tokio::test]
async fn a_failing_write_is_retried_at_most_three_times() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    let (log, sleeper) = recording();
    let c = client(Service::PartnerCenter, &server.uri(), sleeper);
    let t = token();
    let err = c
        .send(Call {
            method: Method::POST,
            json: Some(json!({})),
            ..Call::get(c.url("v1/customers/x/applicationconsents"), Some(&t))
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(log.lock().unwrap().len(), 3);
}
