//! Test support: a temp config dir, a fake Microsoft sign-in service on loopback (wiremock) for
//! tests of exact request shapes, the sandbox simulator for tests of behaviour (`sim.rs`), JWTs
//! with known claims, and a builder for running the real `csp` binary against them.

#![allow(dead_code)]

pub mod sim;
#[cfg(unix)]
pub mod terminal;

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const TENANT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub const CUSTOMER_TENANT: &str = "cccccccc-0000-0000-0000-000000000001";
pub const USER: &str = "admin@partner.onmicrosoft.com";
/// Secret values planted in mocked responses; the leak test looks for them in all output.
pub const REFRESH_TOKEN: &str = "RT-first-0aLeakCanary";
pub const ROTATED_REFRESH_TOKEN: &str = "RT-rotated-1aLeakCanary";
pub const DEVICE_CODE: &str = "DC-device-code-LeakCanary";
pub const CLIENT_SECRET: &str = "CS-client-secret-LeakCanary";

/// A JWT (unsigned; csp only reads claims for display) with the given claims.
pub fn jwt(claims: Value) -> String {
    format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An access token as Entra would issue it to the partner user, marked by `marker`.
pub fn access_token(marker: &str, mfa: bool) -> String {
    let amr = if mfa {
        json!(["pwd", "mfa"])
    } else {
        json!(["pwd"])
    };
    jwt(json!({
        "aud": "https://api.partnercenter.microsoft.com",
        "upn": USER, "tid": TENANT_ID, "amr": amr, "marker": marker,
    }))
}

pub fn token_body(access: &str, refresh: Option<&str>) -> Value {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": "https://api.partnercenter.microsoft.com/user_impersonation",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access,
        "id_token": jwt(json!({"preferred_username": USER, "tid": TENANT_ID})),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    body
}

pub fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Entra's error body, in the shape of its real ones.
pub fn entra_error(error: &str, code: u32, text: &str) -> Value {
    json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-11-27 10:00:00Z"),
        "error_codes": [code],
        "timestamp": "2026-11-27 10:00:00Z",
        "trace_id": "0000aaaa-11bb-cccc-dd33-eeeeee333333",
        "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    })
}

/// Matches a form body field exactly (`scope`, `grant_type`, …).
pub struct FormField(pub &'static str, pub String);

impl Match for FormField {
    fn matches(&self, request: &Request) -> bool {
        url::form_urlencoded::parse(&request.body).any(|(k, v)| k == self.0 && v == self.1.as_str())
    }
}

pub fn form(key: &'static str, value: impl Into<String>) -> FormField {
    FormField(key, value.into())
}

/// Matches a request whose form body lacks a field.
pub struct FormLacks(pub &'static str);

impl Match for FormLacks {
    fn matches(&self, request: &Request) -> bool {
        !url::form_urlencoded::parse(&request.body).any(|(k, _)| k == self.0)
    }
}

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const PC_SCOPE: &str = "https://api.partnercenter.microsoft.com/user_impersonation";
pub const SIGN_IN_SCOPE: &str =
    "https://api.partnercenter.microsoft.com/user_impersonation offline_access openid profile";

/// `POST /{tenant}/oauth2/v2.0/devicecode` with our client id and the sign-in scopes.
pub fn device_code_request(tenant: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/{tenant}/oauth2/v2.0/devicecode")))
        .and(form("client_id", CLIENT_ID))
        .and(form("scope", SIGN_IN_SCOPE))
}

/// Microsoft's sample device-code body, with our device code and a 1 s interval so binary
/// tests stay fast.
pub fn device_code_ok() -> ResponseTemplate {
    let mut body = fixture("entra-v2-devicecode-response.json");
    body["device_code"] = json!(DEVICE_CODE);
    body["interval"] = json!(1);
    ResponseTemplate::new(200).set_body_json(body)
}

pub fn device_code_mock(tenant: &str) -> Mock {
    device_code_request(tenant).respond_with(device_code_ok())
}

/// The device-code poll on `/{tenant}/oauth2/v2.0/token`.
pub fn device_poll(tenant: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/{tenant}/oauth2/v2.0/token")))
        .and(form("grant_type", DEVICE_GRANT))
        .and(form("device_code", DEVICE_CODE))
        .and(form("client_id", CLIENT_ID))
}

/// A refresh-token redemption on `/{tenant}/oauth2/v2.0/token` for `scope`.
pub fn refresh(tenant: &str, refresh_token: &str, scope: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/{tenant}/oauth2/v2.0/token")))
        .and(form("grant_type", "refresh_token"))
        .and(form("refresh_token", refresh_token))
        .and(form("scope", scope))
        .and(form("client_id", CLIENT_ID))
}

/// A loopback port with nothing listening (a dropped wiremock server is pooled and would still
/// answer, so bind and drop a plain listener).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// One test's world: a config dir and a fake login service.
pub struct TestEnv {
    pub dir: TempDir,
    pub login: MockServer,
    /// Where Entra points instead of `login` (the simulator).
    pub authority_url: Option<String>,
    /// Where Partner Center and Graph point: closed unless a test mounts a server.
    pub partner_center_url: String,
    pub graph_url: String,
    pub extra_env: Vec<(String, String)>,
}

/// Variables of the developer's own shell that must not leak into a test run.
const SCRUBBED: &[&str] = &[
    "CSP_PROFILE",
    "CSP_OUTPUT",
    "CSP_CLOUD",
    "CSP_CONFIG_DIR",
    "CSP_MAPPINGS",
    "CSP_LOG",
    "CSP_AUTHORITY_HOST",
    "CSP_PARTNER_CENTER_URL",
    "CSP_GRAPH_URL",
    "CSP_CLIENT_ID",
    "CSP_CLIENT_SECRET",
    "CSP_TENANT",
    "CSP_REFRESH_TOKEN",
    "CSP_TOKEN_STORE",
    "CSP_KEY_VAULT_URL",
    "CSP_KEY_VAULT_SECRET",
    "CSP_KEY_VAULT_CREDENTIAL",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "NO_COLOR",
    "XDG_CONFIG_HOME",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl TestEnv {
    pub async fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
            login: MockServer::start().await,
            authority_url: None,
            partner_center_url: closed_port_url(),
            graph_url: closed_port_url(),
            extra_env: Vec::new(),
        }
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.dir.path().join("credentials.json")
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("config.toml")).unwrap_or_default()
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// `csp` with this world's config dir and endpoints, and nothing of the caller's shell.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd());
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_csp"));
        for var in SCRUBBED {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.dir.path())
            .env("CSP_CONFIG_DIR", self.dir.path())
            .env(
                "CSP_AUTHORITY_HOST",
                self.authority_url
                    .clone()
                    .unwrap_or_else(|| self.login.uri()),
            )
            .env("CSP_PARTNER_CENTER_URL", &self.partner_center_url)
            .env("CSP_GRAPH_URL", &self.graph_url)
            .env("NO_PROXY", "*");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `csp` on a blocking thread, so the wiremock server keeps answering meanwhile.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "").await
    }

    pub async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args).write_stdin(stdin.to_string());
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Mounts a full device-code sign-in that succeeds at once.
    pub async fn mount_sign_in(&self, tenant: &str, mfa: bool) {
        device_code_mock(tenant).expect(1).mount(&self.login).await;
        device_poll(tenant)
            .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
                &access_token("sign-in", mfa),
                Some(REFRESH_TOKEN),
            )))
            .expect(1)
            .mount(&self.login)
            .await;
    }
}

#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }
}

impl TestEnv {
    /// A profile signed in with the file store, as `csp authorize --insecure-storage` leaves it.
    pub fn seed_file_sign_in(&self, client_secret: Option<&str>) {
        std::fs::write(
            self.dir.path().join("config.toml"),
            format!(
                "version = 1\n[profiles.default]\nclient_id = \"{CLIENT_ID}\"\ntenant = \"organizations\"\ntenant_id = \"{TENANT_ID}\"\nuser = \"{USER}\"\ncloud = \"public\"\ntoken_store = \"file\"\nconfidential = {}\n",
                client_secret.is_some()
            ),
        )
        .unwrap();
        let mut entry = json!({"refreshToken": REFRESH_TOKEN});
        if let Some(s) = client_secret {
            entry["clientSecret"] = json!(s);
        }
        let creds = json!({"version": 1, "profiles": {"default": entry}});
        std::fs::write(self.credentials_path(), creds.to_string()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                self.credentials_path(),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
    }

    /// The refresh token the file store holds for the default profile.
    pub fn stored_refresh_token(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.credentials_path()).ok()?;
        let v: Value = serde_json::from_str(&text).unwrap();
        v["profiles"]["default"]["refreshToken"]
            .as_str()
            .map(str::to_string)
    }

    /// Mounts a redemption of `refresh_token` for Partner Center in the partner tenant, handing
    /// out `access` and, when given, a rotated refresh token.
    pub async fn mount_refresh(&self, refresh_token: &str, access: &str, rotated: Option<&str>) {
        refresh(TENANT_ID, refresh_token, PC_SCOPE)
            .respond_with(ResponseTemplate::new(200).set_body_json(token_body(access, rotated)))
            .mount(&self.login)
            .await;
    }
}

/// Entra's authorize endpoint as the browser meets it: it "signs the user in" at once and
/// redirects to the loopback `redirect_uri` with a code and the request's `state` (or with
/// `error` when built with one). It remembers the PKCE challenge so the token endpoint can check
/// the verifier.
pub struct FakeAuthorize {
    pub code: String,
    pub error: Option<(String, String)>,
    pub tamper_state: bool,
    pub challenge: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl FakeAuthorize {
    pub fn new(code: &str) -> Self {
        FakeAuthorize {
            code: code.into(),
            error: None,
            tamper_state: false,
            challenge: Default::default(),
        }
    }
}

impl wiremock::Respond for FakeAuthorize {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let q: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        if q.get("code_challenge_method").map(String::as_str) != Some("S256")
            || q.get("response_type").map(String::as_str) != Some("code")
            || q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
            || q.get("scope").map(String::as_str) != Some(SIGN_IN_SCOPE)
        {
            return ResponseTemplate::new(400).set_body_string("bad authorize request");
        }
        *self.challenge.lock().unwrap() = q.get("code_challenge").cloned();
        let state = if self.tamper_state {
            "forged".to_string()
        } else {
            q.get("state").cloned().unwrap_or_default()
        };
        let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
        match &self.error {
            None => to
                .query_pairs_mut()
                .append_pair("code", &self.code)
                .append_pair("state", &state),
            Some((e, d)) => to
                .query_pairs_mut()
                .append_pair("error", e)
                .append_pair("error_description", d)
                .append_pair("state", &state),
        };
        ResponseTemplate::new(302).insert_header("Location", to.as_str())
    }
}

/// Matches a token request whose `code_verifier` hashes (S256) to the recorded challenge.
pub struct PkceVerifies(pub std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl Match for PkceVerifies {
    fn matches(&self, request: &Request) -> bool {
        use sha2::Digest;
        let verifier = url::form_urlencoded::parse(&request.body)
            .find(|(k, _)| k == "code_verifier")
            .map(|(_, v)| v.into_owned());
        let challenge = self.0.lock().unwrap().clone();
        match (verifier, challenge) {
            (Some(v), Some(c)) => URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v.as_bytes())) == c,
            _ => false,
        }
    }
}

/// The token endpoint redeeming an authorization code from the browser sign-in.
pub fn code_redemption(tenant: &str, code: &str, fake: &FakeAuthorize) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/{tenant}/oauth2/v2.0/token")))
        .and(form("grant_type", "authorization_code"))
        .and(form("code", code))
        .and(form("client_id", CLIENT_ID))
        .and(PkceVerifies(std::sync::Arc::clone(&fake.challenge)))
}

/// A Partner Center customer as `GET /v1/customers` lists it.
pub fn pc_customer(tenant_id: &str, name: &str, domain: &str, relationship: &str) -> Value {
    json!({
        "id": tenant_id,
        "companyProfile": {
            "tenantId": tenant_id,
            "domain": domain,
            "companyName": name,
            "attributes": {"objectType": "CustomerCompanyProfile"}
        },
        "relationshipToPartner": relationship,
        "attributes": {"objectType": "Customer"}
    })
}

/// A page of customers, with a `next` link carrying a continuation token when given.
pub fn pc_page(items: Vec<Value>, next: Option<(&str, &str)>) -> Value {
    let mut links =
        json!({"self": {"uri": "/v1/customers?size=500", "method": "GET", "headers": []}});
    if let Some((uri, token)) = next {
        links["next"] = json!({
            "uri": uri,
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}]
        });
    }
    json!({"totalCount": items.len(), "items": items, "links": links, "attributes": {"objectType": "Collection"}})
}

/// A GDAP relationship as Graph lists it.
pub fn gdap_relationship(
    tenant_id: &str,
    name: &str,
    status: &str,
    roles: &[&str],
    end: &str,
) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "id": format!("rel-{tenant_id}-{status}"),
        "displayName": format!("{name} relationship"),
        "duration": "P730D",
        "customer": {"tenantId": tenant_id, "displayName": name},
        "accessDetails": {"unifiedRoles": roles.iter().map(|r| json!({"roleDefinitionId": r})).collect::<Vec<_>>()},
        "status": status,
        "autoExtendDuration": "P180D",
        "createdDateTime": "2025-02-10T11:24:42Z",
        "activatedDateTime": "2025-02-10T11:26:44Z",
        "endDateTime": end
    })
}

pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

impl TestEnv {
    /// A world with Partner Center and Graph fakes, signed in with the file store, whose
    /// refresh redeems for any scope and tenant.
    pub async fn signed_in_with_apis() -> (TestEnv, MockServer, MockServer) {
        let pc = MockServer::start().await;
        let graph = MockServer::start().await;
        let mut env = TestEnv::new().await;
        env.partner_center_url = pc.uri();
        env.graph_url = graph.uri();
        env.seed_file_sign_in(None);
        Mock::given(method("POST"))
            .and(wiremock::matchers::path_regex(
                r"^/[^/]+/oauth2/v2\.0/token$",
            ))
            .and(form("grant_type", "refresh_token"))
            .and(form("refresh_token", REFRESH_TOKEN))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(token_body(&access_token("api", true), None)),
            )
            .mount(&env.login)
            .await;
        (env, pc, graph)
    }
}

/// The OpenID metadata Entra publishes for a domain's tenant.
pub fn openid_metadata(tenant_id: &str) -> Value {
    json!({
        "token_endpoint": format!("https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"),
        "issuer": format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        "authorization_endpoint": format!("https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/authorize"),
        "tenant_region_scope": "EU"
    })
}

/// A loopback server that drops the first `drops` connections without answering, then answers
/// every request with `200` and `body`. Returns its base URL.
pub async fn flaky_server(drops: usize, body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            seen += 1;
            let mut buf = vec![0u8; 8192];
            let _ = sock.read(&mut buf).await;
            if seen <= drops {
                drop(sock);
                continue;
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}
