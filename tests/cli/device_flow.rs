//! The device-code sign-in against a fake Entra, with Microsoft's real bodies: every polling
//! outcome, the intervals waited, and a network that disappears mid-poll.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use csp::auth::{AppCredentials, AuthError, DeviceFlow};
use oauth2::TokenResponse;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn app() -> AppCredentials {
    AppCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: None,
    }
}

fn http() -> reqwest::Client {
    csp::http::token_client().unwrap()
}

fn scopes() -> Vec<String> {
    csp::auth::sign_in_scopes(csp::cloud::Cloud::Public)
}

/// A sleep that returns at once and records what it was asked to wait.
fn recording_sleep() -> (
    Arc<Mutex<Vec<Duration>>>,
    impl Fn(Duration) -> std::future::Ready<()>,
) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&log);
    (log, move |d| {
        l.lock().unwrap().push(d);
        std::future::ready(())
    })
}

fn pending() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(fixture("entra-v2-token-error-authorization-pending.json"))
}

fn device_error(error: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "error": error,
        "error_description": format!("{error}. Trace ID: 01707a0c-640b-4049-8cbb-ee2304dc0700 Correlation ID: 78b0fdfc-dd0e-4dfb-b13a-d316333783f6"),
        "error_codes": [70000],
    }))
}

async fn sign_in(
    server: &MockServer,
    sleep: impl Fn(Duration) -> std::future::Ready<()>,
) -> Result<csp::auth::oauth::AzureTokenResponse, AuthError> {
    let authority = Url::parse(&server.uri()).unwrap();
    let http = http();
    let app = app();
    let flow = DeviceFlow {
        http: &http,
        app: &app,
        authority: &authority,
        tenant: "organizations",
        scopes: scopes(),
    };
    let prompt = flow.start().await?;
    assert!(
        prompt
            .message()
            .contains("https://microsoft.com/devicelogin")
    );
    assert!(prompt.message().contains("FRWQDE7YL"));
    flow.finish(&prompt, sleep).await
}

#[tokio::test]
async fn two_pendings_then_success_waits_the_interval_between_polls() {
    let server = MockServer::start().await;
    let mut dc = fixture("entra-v2-devicecode-response.json");
    dc["device_code"] = json!(DEVICE_CODE);
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/devicecode"))
        .and(form("client_id", CLIENT_ID))
        .and(form("scope", SIGN_IN_SCOPE))
        .respond_with(ResponseTemplate::new(200).set_body_json(dc))
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(pending())
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("entra-v2-token-devicecode-success.json")),
        )
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let (log, sleep) = recording_sleep();
    let tokens = sign_in(&server, sleep).await.unwrap();
    assert!(tokens.refresh_token().is_some());
    assert_eq!(*log.lock().unwrap(), vec![Duration::from_secs(5); 2]);
}

#[tokio::test]
async fn slow_down_adds_five_seconds_to_every_later_poll() {
    let server = MockServer::start().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(device_error("slow_down"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(pending())
        .up_to_n_times(1)
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at", Some("rt"))))
        .with_priority(3)
        .expect(1)
        .mount(&server)
        .await;
    let (log, sleep) = recording_sleep();
    sign_in(&server, sleep).await.unwrap();
    // The mocked device code says interval 1: slow_down makes it 6, and it stays 6.
    assert_eq!(
        *log.lock().unwrap(),
        vec![Duration::from_secs(6), Duration::from_secs(6)]
    );
}

async fn terminal_outcome(error: &str) -> AuthError {
    let server = MockServer::start().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(device_error(error))
        .expect(1)
        .mount(&server)
        .await;
    let (_, sleep) = recording_sleep();
    sign_in(&server, sleep).await.unwrap_err()
}

#[tokio::test]
async fn a_declined_sign_in_stops_polling() {
    assert!(matches!(
        terminal_outcome("authorization_declined").await,
        AuthError::Declined
    ));
    assert!(matches!(
        terminal_outcome("access_denied").await,
        AuthError::Declined
    ));
}

#[tokio::test]
async fn an_expired_code_stops_polling() {
    assert!(matches!(
        terminal_outcome("expired_token").await,
        AuthError::CodeExpired
    ));
}

#[tokio::test]
async fn a_bad_verification_code_stops_polling() {
    assert!(matches!(
        terminal_outcome("bad_verification_code").await,
        AuthError::BadVerificationCode
    ));
}

#[tokio::test]
async fn a_confidential_app_without_public_flows_reports_aadsts7000218() {
    let server = MockServer::start().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(ResponseTemplate::new(401).set_body_json(entra_error(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (_, sleep) = recording_sleep();
    let err = sign_in(&server, sleep).await.unwrap_err();
    assert_eq!(err.aadsts(), Some(7000218));
    let cli = csp::CliError::from(err);
    assert_eq!(cli.exit_code(), csp::ExitCode::Failure);
    let text = cli.render().join("\n");
    assert!(text.contains("Allow public client flows"), "{text}");
    assert!(
        text.contains("correlation id aaaa0000-bb11-2222-33cc-444444dddddd"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unknown_client_at_the_device_code_request_is_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "unauthorized_client",
            700016,
            "Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (_, sleep) = recording_sleep();
    let err = sign_in(&server, sleep).await.unwrap_err();
    assert_eq!(err.aadsts(), Some(700016));
}

#[tokio::test]
async fn the_network_going_down_mid_poll_aborts_within_about_thirty_seconds() {
    // The device code comes from a live server; the polls go to a closed port.
    let server = MockServer::start().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&server)
        .await;
    let authority = Url::parse(&server.uri()).unwrap();
    let http = http();
    let app = app();
    let flow = DeviceFlow {
        http: &http,
        app: &app,
        authority: &authority,
        tenant: "organizations",
        scopes: scopes(),
    };
    let prompt = flow.start().await.unwrap();
    let dead = Url::parse(&closed_port_url()).unwrap();
    let flow = DeviceFlow {
        authority: &dead,
        ..flow
    };
    let (log, sleep) = recording_sleep();
    let err = tokio::time::timeout(Duration::from_secs(10), flow.finish(&prompt, sleep))
        .await
        .expect("the poll must give up, not retry until the code expires")
        .unwrap_err();
    assert!(
        matches!(err, AuthError::NetworkGaveUp { secs: 30, .. }),
        "{err:?}"
    );
    let waited: Duration = log.lock().unwrap().iter().sum();
    assert!(
        waited >= Duration::from_secs(30) && waited <= Duration::from_secs(45),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn a_captive_portal_redirect_is_not_followed() {
    let server = MockServer::start().await;
    device_code_mock("organizations")
        .expect(1)
        .mount(&server)
        .await;
    device_poll("organizations")
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "http://127.0.0.1:9/steal"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (_, sleep) = recording_sleep();
    let err = sign_in(&server, sleep).await.unwrap_err();
    assert!(
        matches!(err, AuthError::UnexpectedResponse { .. }),
        "{err:?}"
    );
}
