//! Redeeming the stored refresh token: per-(scope, tenant) caching, one redemption for
//! concurrent callers, rotation written back once, and the failures that end a sign-in.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use csp::auth::{AppCredentials, AuthError, TokenProvider};
use csp::secrets::{
    MemoryStore, SecretStore, SecretStoreError, SecretVault, StoreKind, StoredSecrets,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use wiremock::matchers::header_exists;
use wiremock::{MockServer, ResponseTemplate};

use crate::support::*;

/// A memory store that counts writes.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    saves: AtomicUsize,
}

impl SecretStore for CountingStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }
    fn load(&self, p: &str) -> Result<Option<StoredSecrets>, SecretStoreError> {
        self.inner.load(p)
    }
    fn save(&self, p: &str, s: &StoredSecrets) -> Result<(), SecretStoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(p, s)
    }
    fn delete(&self, p: &str) -> Result<bool, SecretStoreError> {
        self.inner.delete(p)
    }
}

fn secrets(rt: &str, client_secret: Option<&str>) -> StoredSecrets {
    StoredSecrets {
        refresh_token: SecretString::from(rt.to_string()),
        client_secret: client_secret.map(|s| SecretString::from(s.to_string())),
    }
}

fn provider(
    server: &MockServer,
    store: Arc<CountingStore>,
    client_secret: Option<&str>,
) -> TokenProvider {
    let initial = secrets(REFRESH_TOKEN, client_secret);
    store.inner.save("default", &initial).unwrap();
    TokenProvider::new(
        csp::http::token_client().unwrap(),
        AppCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: client_secret.map(|s| SecretString::from(s.to_string())),
        },
        Url::parse(&server.uri()).unwrap(),
        TENANT_ID.into(),
        "default".into(),
        SecretVault::new(store, "default"),
        initial,
    )
}

fn ok(access: &str, refresh: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(token_body(access, refresh))
}

const GRAPH: &str = "https://graph.microsoft.com/.default";

#[tokio::test]
async fn rotated_refresh_tokens_are_written_back_once_and_the_newest_wins() {
    let server = MockServer::start().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ok("at-pc", Some("RT-2")))
        .expect(1)
        .mount(&server)
        .await;
    // The second redemption must already use the rotated token.
    refresh(CUSTOMER_TENANT, "RT-2", GRAPH)
        .respond_with(ok("at-graph", Some("RT-3")))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(CountingStore::default());
    let p = provider(&server, Arc::clone(&store), Some(CLIENT_SECRET));
    p.access_token(PC_SCOPE, None).await.unwrap();
    p.access_token(GRAPH, Some(CUSTOMER_TENANT)).await.unwrap();
    assert_eq!(
        store.saves.load(Ordering::SeqCst),
        0,
        "nothing is written until persist"
    );
    assert!(p.persist().await.unwrap());
    assert!(
        !p.persist().await.unwrap(),
        "a second persist has nothing to write"
    );
    assert_eq!(store.saves.load(Ordering::SeqCst), 1);
    let saved = store.inner.load("default").unwrap().unwrap();
    assert_eq!(saved.refresh_token.expose_secret(), "RT-3");
    assert_eq!(
        saved.client_secret.unwrap().expose_secret(),
        CLIENT_SECRET,
        "write-back keeps the client secret"
    );
}

#[tokio::test]
async fn tokens_are_cached_per_scope_and_tenant_and_shared_by_concurrent_callers() {
    let server = MockServer::start().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ok("at-pc", None).set_delay(std::time::Duration::from_millis(100)))
        .expect(1)
        .mount(&server)
        .await;
    let p = Arc::new(provider(&server, Arc::default(), None));
    let calls = (0..5).map(|_| {
        let p = Arc::clone(&p);
        tokio::spawn(async move { p.access_token(PC_SCOPE, None).await.unwrap() })
    });
    for c in calls {
        assert_eq!(c.await.unwrap().token.expose_secret(), "at-pc");
    }
    p.access_token(PC_SCOPE, Some(TENANT_ID)).await.unwrap();
    assert!(!p.persist().await.unwrap(), "no rotation, nothing written");
}

#[tokio::test]
async fn a_token_about_to_expire_is_redeemed_again() {
    let server = MockServer::start().await;
    let mut body = token_body("short-lived", None);
    body["expires_in"] = serde_json::json!(120);
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(2)
        .mount(&server)
        .await;
    let p = provider(&server, Arc::default(), None);
    p.access_token(PC_SCOPE, None).await.unwrap();
    p.access_token(PC_SCOPE, None).await.unwrap();
}

async fn failing(status: u16, error: &str, code: u32) -> AuthError {
    let server = MockServer::start().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .respond_with(ResponseTemplate::new(status).set_body_json(entra_error(error, code, "nope")))
        .expect(1)
        .mount(&server)
        .await;
    provider(&server, Arc::default(), None)
        .access_token(PC_SCOPE, None)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_dead_refresh_token_means_exit_4() {
    for code in csp::auth::error::DEAD_SIGN_IN_CODES {
        let err = failing(400, "invalid_grant", code).await;
        assert!(
            matches!(err, AuthError::SignInExpired { .. }),
            "{code}: {err:?}"
        );
        assert_eq!(csp::CliError::from(err).exit_code().code(), 4);
    }
}

#[tokio::test]
async fn missing_consent_in_a_customer_tenant_is_not_a_dead_sign_in() {
    let server = MockServer::start().await;
    refresh(CUSTOMER_TENANT, REFRESH_TOKEN, GRAPH)
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_grant",
            65001,
            "The user or administrator has not consented to use the application.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider(&server, Arc::default(), None)
        .access_token(GRAPH, Some(CUSTOMER_TENANT))
        .await
        .unwrap_err();
    let cli = csp::CliError::from(err);
    assert_eq!(cli.exit_code().code(), 1);
    let text = cli.render().join("\n");
    assert!(
        text.contains("hint: consent missing in that tenant"),
        "{text}"
    );
    assert!(text.contains(CUSTOMER_TENANT), "{text}");
}

#[tokio::test]
async fn a_confidential_client_sends_its_secret_in_the_body_not_a_header() {
    let server = MockServer::start().await;
    refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
        .and(form("client_secret", CLIENT_SECRET))
        .and(FormLacks("client_assertion"))
        .respond_with(ok("at", None))
        .expect(1)
        .mount(&server)
        .await;
    // Anything with an Authorization header would match this and fail the expectation.
    wiremock::Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .expect(0)
        .mount(&server)
        .await;
    provider(&server, Arc::default(), Some(CLIENT_SECRET))
        .access_token(PC_SCOPE, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn malformed_json_and_server_errors_are_reported_not_trusted() {
    for response in [
        ResponseTemplate::new(200).set_body_string("{\"access_token\": "),
        ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        ResponseTemplate::new(500),
    ] {
        let server = MockServer::start().await;
        refresh(TENANT_ID, REFRESH_TOKEN, PC_SCOPE)
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = provider(&server, Arc::default(), None)
            .access_token(PC_SCOPE, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::UnexpectedResponse { .. }),
            "{err:?}"
        );
        assert_eq!(csp::CliError::from(err).exit_code().code(), 1);
    }
}
