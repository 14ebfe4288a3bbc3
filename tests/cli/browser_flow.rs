//! The browser sign-in (authorization code + PKCE on a loopback redirect) against a fake
//! Entra, with a test playing the browser: the happy path with a verified PKCE pair, a refused
//! sign-in, a forged state, and a browser that never comes back.

use std::time::Duration;

use csp::auth::{AppCredentials, AuthError, BrowserFlow};
use oauth2::TokenResponse;
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

/// Plays the browser: opens the authorize URL, follows the one redirect to localhost, and
/// returns the page csp's listener showed.
async fn browse(url: Url) -> (u16, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let r = http.get(url).send().await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        302,
        "the fake authorize endpoint redirects"
    );
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("http://localhost:"), "{to}");
    let page = http.get(&to).send().await.unwrap();
    (page.status().as_u16(), page.text().await.unwrap())
}

async fn mount_authorize(server: &MockServer, fake: FakeAuthorize) {
    Mock::given(method("GET"))
        .and(path("/organizations/oauth2/v2.0/authorize"))
        .respond_with(fake)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_browser_comes_back_with_a_code_that_is_redeemed_with_the_pkce_verifier() {
    // A public client: the code and the verifier, and no secret.
    browser_sign_in(app(), |m| m.and(FormLacks("client_secret"))).await;
}

#[tokio::test]
async fn a_confidential_client_redeems_the_code_with_its_secret_too() {
    let confidential = AppCredentials {
        client_secret: Some(CLIENT_SECRET.to_string().into()),
        ..app()
    };
    browser_sign_in(confidential, |m| {
        m.and(form("client_secret", CLIENT_SECRET))
    })
    .await;
}

/// A whole browser sign-in of `app`, whose code redemption must also match `extra`.
async fn browser_sign_in(
    app: AppCredentials,
    extra: impl FnOnce(wiremock::MockBuilder) -> wiremock::MockBuilder,
) {
    let server = MockServer::start().await;
    let fake = FakeAuthorize::new("the-code");
    extra(code_redemption("organizations", "the-code", &fake))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at", Some("rt"))))
        .expect(1)
        .mount(&server)
        .await;
    mount_authorize(&server, fake).await;
    let authority = Url::parse(&server.uri()).unwrap();
    let http = csp::http::token_client().unwrap();
    let flow = BrowserFlow {
        http: &http,
        app: &app,
        authority: &authority,
        tenant: "organizations",
        scopes: csp::auth::sign_in_scopes(csp::cloud::Cloud::Public),
        timeout: Duration::from_secs(20),
    };
    let pending = flow.start().await.unwrap();
    let url = pending.url().clone();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    assert!(redirect.starts_with("http://localhost:"), "{redirect}");
    let (browser, tokens) = tokio::join!(browse(url), pending.finish());
    assert_eq!(browser.0, 200);
    assert!(
        browser.1.contains("You can close this window"),
        "{}",
        browser.1
    );
    assert_eq!(tokens.unwrap().refresh_token().unwrap().secret(), "rt");
}

#[tokio::test]
async fn the_listener_answers_on_ipv4_and_ipv6_loopback() {
    let server = MockServer::start().await;
    let authority = Url::parse(&server.uri()).unwrap();
    let http = csp::http::token_client().unwrap();
    let app = app();
    let flow = BrowserFlow {
        http: &http,
        app: &app,
        authority: &authority,
        tenant: "organizations",
        scopes: vec!["openid".into()],
        timeout: Duration::from_millis(500),
    };
    let pending = flow.start().await.unwrap();
    let port = Url::parse(
        &pending
            .url()
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1,
    )
    .unwrap()
    .port()
    .unwrap();
    let probe = reqwest::Client::builder().no_proxy().build().unwrap();
    // Without a code this is not the redirect: the listener says so and keeps waiting.
    let r = probe
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let r = probe
            .get(format!("http://[::1]:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
    }
    assert!(matches!(
        pending.finish().await,
        Err(AuthError::BrowserTimeout { .. })
    ));
}

async fn failing(fake: FakeAuthorize) -> (String, AuthError) {
    let server = MockServer::start().await;
    mount_authorize(&server, fake).await;
    let authority = Url::parse(&server.uri()).unwrap();
    let http = csp::http::token_client().unwrap();
    let app = app();
    let flow = BrowserFlow {
        http: &http,
        app: &app,
        authority: &authority,
        tenant: "organizations",
        scopes: csp::auth::sign_in_scopes(csp::cloud::Cloud::Public),
        timeout: Duration::from_secs(20),
    };
    let pending = flow.start().await.unwrap();
    let url = pending.url().clone();
    let (page, result) = tokio::join!(browse(url), pending.finish());
    (page.1, result.unwrap_err())
}

#[tokio::test]
async fn a_refused_sign_in_is_reported_with_its_aadsts_code() {
    let mut fake = FakeAuthorize::new("unused");
    fake.error = Some((
        "access_denied".into(),
        "AADSTS65004: User declined to consent to access the app.".into(),
    ));
    let (page, err) = failing(fake).await;
    assert!(page.contains("Microsoft refused the sign-in"), "{page}");
    assert_eq!(err.aadsts(), Some(65004));
}

#[tokio::test]
async fn a_redirect_with_another_state_is_refused() {
    let mut fake = FakeAuthorize::new("code");
    fake.tamper_state = true;
    let (page, err) = failing(fake).await;
    assert!(page.contains("does not belong"), "{page}");
    assert!(matches!(err, AuthError::StateMismatch), "{err:?}");
}

#[tokio::test]
async fn a_browser_that_never_comes_back_times_out() {
    let server = MockServer::start().await;
    let authority = Url::parse(&server.uri()).unwrap();
    let http = csp::http::token_client().unwrap();
    let app = app();
    let flow = BrowserFlow {
        http: &http,
        app: &app,
        authority: &authority,
        tenant: "organizations",
        scopes: vec!["openid".into()],
        timeout: Duration::from_millis(200),
    };
    let err = flow.start().await.unwrap().finish().await.unwrap_err();
    assert!(matches!(err, AuthError::BrowserTimeout { .. }));
    let text = csp::CliError::from(err).render().join("\n");
    assert!(text.contains("did not come back"), "{text}");
    assert!(text.contains("without --browser"), "{text}");
}
