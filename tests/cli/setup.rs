//! `csp setup` against a fake Entra and Graph: create from nothing (with Microsoft's
//! propagation delay), find an existing app and change nothing, list differences and change
//! them only with --update, a user without the admin role, and a client secret that reaches
//! stdout once and nothing else.

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const BOOTSTRAP: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const PC_APP: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
const PC_SP: &str = "5a000000-0000-0000-0000-0000000000c1";
const GRAPH_SP: &str = "5a000000-0000-0000-0000-0000000000c2";
const APP_SP: &str = "5a000000-0000-0000-0000-0000000000c3";
const NEW_APP: &str = "77777777-0000-0000-0000-000000000001";
const NEW_OBJECT: &str = "77777777-0000-0000-0000-0000000000b1";
const UI: &str = "5a000000-0000-0000-0000-0000000001a1";
const DAR: &str = "5a000000-0000-0000-0000-0000000001a2";

async fn world() -> (TestEnv, MockServer) {
    let graph = MockServer::start().await;
    let mut env = TestEnv::new().await.env("CSP_TOKEN_STORE", "file");
    env.graph_url = graph.uri();
    // The bootstrap sign-in: Microsoft Graph Command Line Tools, Graph scopes only.
    let mut dc = fixture("entra-v2-devicecode-response.json");
    dc["device_code"] = json!(DEVICE_CODE);
    dc["interval"] = json!(1);
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/devicecode"))
        .and(form("client_id", BOOTSTRAP))
        .and(form(
            "scope",
            "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All openid profile",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(dc))
        .mount(&env.login)
        .await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(form("client_id", BOOTSTRAP))
        .and(form("device_code", DEVICE_CODE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599,
            "access_token": jwt(json!({"aud": "https://graph.microsoft.com", "tid": TENANT_ID, "upn": USER, "marker": "AT-setup-LeakCanary"})),
        })))
        .mount(&env.login)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/servicePrincipals(appId='{GRAPH_APP}')"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": GRAPH_SP, "appId": GRAPH_APP, "oauth2PermissionScopes": [
                {"id": DAR, "value": "DelegatedAdminRelationship.Read.All"},
                {"id": "5a000000-0000-0000-0000-0000000001a3", "value": "Directory.Read.All"},
            ]}),
        ))
        .mount(&graph)
        .await;
    (env, graph)
}

fn pc_sp_exists() -> Mock {
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/servicePrincipals(appId='{PC_APP}')")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": PC_SP, "appId": PC_APP, "oauth2PermissionScopes": [{"id": UI, "value": "user_impersonation"}]})))
}

/// The app as `csp setup` leaves it: a public client's loopback redirect on `publicClient`, a
/// confidential client's on `web`.
fn app(public: bool) -> Value {
    let (public_uris, web_uris) = if public {
        (json!(["http://localhost"]), json!([]))
    } else {
        (json!([]), json!(["http://localhost"]))
    };
    json!({
        "id": NEW_OBJECT, "appId": NEW_APP, "displayName": "csp",
        "signInAudience": "AzureADMultipleOrgs", "isFallbackPublicClient": public,
        "publicClient": {"redirectUris": public_uris},
        "web": {"redirectUris": web_uris},
        "requiredResourceAccess": [
            {"resourceAppId": PC_APP, "resourceAccess": [{"id": UI, "type": "Scope"}]},
            {"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": DAR, "type": "Scope"}]}
        ]
    })
}

async fn existing_app(graph: &MockServer, public: bool, granted: bool) {
    pc_sp_exists().mount(graph).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/applications"))
        .and(query_param("$filter", "displayName eq 'csp'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [app(public)]})))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/servicePrincipals(appId='{NEW_APP}')")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": APP_SP, "appId": NEW_APP})),
        )
        .mount(graph)
        .await;
    let grants = if granted {
        json!([
            {"id": "g1", "clientId": APP_SP, "consentType": "AllPrincipals", "resourceId": PC_SP, "scope": "user_impersonation"},
            {"id": "g2", "clientId": APP_SP, "consentType": "AllPrincipals", "resourceId": GRAPH_SP, "scope": "DelegatedAdminRelationship.Read.All"}
        ])
    } else {
        json!([])
    };
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/servicePrincipals/{APP_SP}/oauth2PermissionGrants"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": grants})))
        .mount(graph)
        .await;
}

fn writes(graph_requests: &[wiremock::Request]) -> Vec<String> {
    graph_requests
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn setup_creates_everything_from_nothing_and_waits_out_propagation() {
    let (env, graph) = world().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/servicePrincipals(appId='{PC_APP}')")))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"code": "Request_ResourceNotFound", "message": "not found"}}),
        ))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/servicePrincipals"))
        .and(body_partial_json(json!({"appId": PC_APP})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": PC_SP, "appId": PC_APP, "oauth2PermissionScopes": [{"id": UI, "value": "user_impersonation"}]})))
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/applications"))
        .and(body_partial_json(json!({
            "displayName": "csp", "signInAudience": "AzureADMultipleOrgs", "isFallbackPublicClient": true,
            "publicClient": {"redirectUris": ["http://localhost"]},
            "requiredResourceAccess": [
                {"resourceAppId": PC_APP, "resourceAccess": [{"id": UI, "type": "Scope"}]},
                {"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": DAR, "type": "Scope"}]}
            ]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(app(true)))
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/servicePrincipals(appId='{NEW_APP}')")))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"code": "Request_ResourceNotFound", "message": "not found"}}),
        ))
        .mount(&graph)
        .await;
    // The new application is not known everywhere yet: the first POST is refused.
    Mock::given(method("POST"))
        .and(path("/v1.0/servicePrincipals"))
        .and(body_partial_json(json!({"appId": NEW_APP})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "Request_BadRequest", "message": "The appId of the service principal does not reference a valid application object."}})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/servicePrincipals"))
        .and(body_partial_json(json!({"appId": NEW_APP})))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": APP_SP, "appId": NEW_APP})),
        )
        .with_priority(2)
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/servicePrincipals/{APP_SP}/oauth2PermissionGrants"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/oauth2PermissionGrants"))
        .and(body_partial_json(
            json!({"clientId": APP_SP, "consentType": "AllPrincipals"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "g"})))
        .expect(2)
        .mount(&graph)
        .await;
    let out = env.run(&["setup", "-o", "json"]).await;
    out.assert_code(0);
    let r = out.json();
    assert_eq!(r["clientId"], NEW_APP);
    assert_eq!(r["created"], true);
    assert_eq!(r["publicClient"], true);
    assert_eq!(r["changes"].as_array().unwrap().len(), 5, "{r}");
    assert!(
        out.stderr
            .contains("waiting for Microsoft to propagate the new application"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Next: csp authorize"), "{}", out.stderr);
    let config = env.config_text();
    assert!(
        config.contains(&format!("client_id = \"{NEW_APP}\"")),
        "{config}"
    );
    assert!(
        config.contains(&format!("tenant_id = \"{TENANT_ID}\"")),
        "{config}"
    );
    assert!(config.contains("setup_at"), "{config}");
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_says_so() {
    let (env, graph) = world().await;
    existing_app(&graph, true, true).await;
    let out = env.run(&["setup", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["created"], false);
    assert_eq!(out.json()["changes"], json!([]));
    assert!(out.stderr.contains("Nothing to change"), "{}", out.stderr);
    assert!(writes(&graph.received_requests().await.unwrap()).is_empty());
}

#[tokio::test]
async fn a_differing_app_is_changed_only_with_update_after_listing_the_differences() {
    let (env, graph) = world().await;
    existing_app(&graph, false, true).await;
    let out = env.run(&["setup"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("differs: public client flows are off"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: run again with --update"),
        "{}",
        out.stderr
    );
    assert!(writes(&graph.received_requests().await.unwrap()).is_empty());

    // The loopback redirect moves from web to publicClient with the kind of client.
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/applications/{NEW_OBJECT}")))
        .and(body_partial_json(json!({
            "isFallbackPublicClient": true, "signInAudience": "AzureADMultipleOrgs",
            "publicClient": {"redirectUris": ["http://localhost"]},
            "web": {"redirectUris": []},
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&graph)
        .await;
    let out = env.run(&["setup", "--update", "-o", "json"]).await;
    out.assert_code(0);
    let changes: Vec<String> = out.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(
        changes[0].contains("public client flows are off"),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.contains("a public client's belongs on publicClient")),
        "{changes:?}"
    );
}

#[tokio::test]
async fn a_public_client_turned_confidential_moves_its_redirect_to_the_web_platform() {
    let (env, graph) = world().await;
    existing_app(&graph, true, true).await;
    let out = env.run(&["setup", "--with-secret"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("AADSTS700025"),
        "the reason is named: {}",
        out.stderr
    );
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/applications/{NEW_OBJECT}")))
        .and(body_partial_json(json!({
            "isFallbackPublicClient": false,
            "publicClient": {"redirectUris": []},
            "web": {"redirectUris": ["http://localhost"]},
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1\.0/applications/[^/]+/addPassword$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keyId": "k", "displayName": "csp", "endDateTime": "2027-05-26T00:00:00Z", "secretText": CLIENT_SECRET
        })))
        .expect(1)
        .mount(&graph)
        .await;
    let out = env
        .run(&["setup", "--with-secret", "--update", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["publicClient"], false);
}

#[tokio::test]
async fn a_confidential_client_is_created_with_its_redirect_on_the_web_platform() {
    let (env, graph) = world().await;
    pc_sp_exists().mount(&graph).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/applications"))
        .and(body_partial_json(json!({
            "isFallbackPublicClient": false,
            "web": {"redirectUris": ["http://localhost"]},
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(app(false)))
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/servicePrincipals(appId='{NEW_APP}')")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": APP_SP, "appId": NEW_APP})),
        )
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/servicePrincipals/{APP_SP}/oauth2PermissionGrants"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "g1", "clientId": APP_SP, "consentType": "AllPrincipals", "resourceId": PC_SP, "scope": "user_impersonation"},
            {"id": "g2", "clientId": APP_SP, "consentType": "AllPrincipals", "resourceId": GRAPH_SP, "scope": "DelegatedAdminRelationship.Read.All"}
        ]})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1\.0/applications/[^/]+/addPassword$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keyId": "k", "displayName": "csp", "endDateTime": "2027-05-26T00:00:00Z", "secretText": CLIENT_SECRET
        })))
        .expect(1)
        .mount(&graph)
        .await;
    let out = env.run(&["setup", "--with-secret", "-o", "json"]).await;
    out.assert_code(0);
    let sent: Vec<Value> = graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/v1.0/applications")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].get("publicClient").is_none(),
        "no public-client platform for a confidential client: {}",
        sent[0]
    );
}

#[tokio::test]
async fn the_apps_grants_are_read_across_pages() {
    let (env, graph) = world().await;
    existing_app(&graph, true, false).await;
    // Page one holds Partner Center's grant; page two, behind @odata.nextLink, Graph's.
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/servicePrincipals/{APP_SP}/oauth2PermissionGrants"
        )))
        .and(query_param("$skiptoken", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "g2", "clientId": APP_SP, "consentType": "AllPrincipals", "resourceId": GRAPH_SP, "scope": "DelegatedAdminRelationship.Read.All"}
        ]})))
        .with_priority(1)
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/servicePrincipals/{APP_SP}/oauth2PermissionGrants"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                {"id": "g1", "clientId": APP_SP, "consentType": "AllPrincipals", "resourceId": PC_SP, "scope": "user_impersonation"}
            ],
            "@odata.nextLink": format!("{}/v1.0/servicePrincipals/{APP_SP}/oauth2PermissionGrants?$skiptoken=2", graph.uri()),
        })))
        .with_priority(2)
        .mount(&graph)
        .await;
    let out = env.run(&["setup", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(
        out.json()["changes"],
        json!([]),
        "both grants were found: nothing granted twice"
    );
    assert!(writes(&graph.received_requests().await.unwrap()).is_empty());
}

#[tokio::test]
async fn setup_choosing_another_app_says_the_sign_in_must_be_renewed() {
    let (env, graph) = world().await;
    existing_app(&graph, true, true).await;
    // A profile signed in with another app (a setup --name other, say).
    env.seed_file_sign_in(None);
    let out = env
        .run(&["setup", "--tenant", "organizations", "-o", "json"])
        .await;
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!(
            "the stored sign-in was issued to app {CLIENT_ID}, and the profile now uses {NEW_APP}"
        )),
        "{}",
        out.stderr
    );
    // Every command then explains it, without calling Entra.
    let calls = env.login.received_requests().await.unwrap().len();
    for args in [vec!["status"], vec!["customers"], vec!["token"]] {
        let out = env.run(&args).await;
        out.assert_code(4);
        assert!(
            out.stderr.contains(&format!(
                "was issued to app {CLIENT_ID}, but csp now uses app {NEW_APP}"
            )),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("hint: run `csp authorize`"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(env.login.received_requests().await.unwrap().len(), calls);
}

#[tokio::test]
async fn missing_consent_is_granted_on_an_existing_app() {
    let (env, graph) = world().await;
    existing_app(&graph, true, false).await;
    Mock::given(method("POST"))
        .and(path("/v1.0/oauth2PermissionGrants"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "g"})))
        .expect(2)
        .mount(&graph)
        .await;
    let out = env.run(&["setup", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["changes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_user_without_the_admin_role_is_told_which_role_it_needs() {
    let (env, graph) = world().await;
    pc_sp_exists().mount(&graph).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/applications"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}})))
        .mount(&graph)
        .await;
    let out = env.run(&["setup"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("Insufficient privileges"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hint: the signed-in user needs Application Administrator"),
        "{}",
        out.stderr
    );
    assert_eq!(env.config_text(), "", "nothing recorded");
}

#[tokio::test]
async fn a_client_secret_reaches_stdout_once_and_nothing_else() {
    let (env, graph) = world().await;
    existing_app(&graph, false, true).await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1\.0/applications/[^/]+/addPassword$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keyId": "k", "displayName": "csp", "endDateTime": "2027-05-26T00:00:00Z", "secretText": CLIENT_SECRET
        })))
        .expect(1)
        .mount(&graph)
        .await;
    let out = env
        .run(&["-vvv", "setup", "--with-secret", "-o", "json"])
        .await;
    out.assert_code(0);
    assert_eq!(
        out.stdout.matches(CLIENT_SECRET).count(),
        1,
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains(CLIENT_SECRET), "{}", out.stderr);
    assert!(
        !out.stderr.contains("AT-setup-LeakCanary"),
        "the bootstrap token is never shown"
    );
    assert!(!out.stdout.contains("AT-setup-LeakCanary"));
    assert_eq!(out.json()["publicClient"], false);
    assert_eq!(out.json()["clientSecretExpiresAt"], "2027-05-26T00:00:00Z");
    let creds = std::fs::read_to_string(env.credentials_path()).unwrap();
    assert!(creds.contains(CLIENT_SECRET), "stored with the sign-in");
    assert!(env.config_text().contains("confidential = true"));
    assert!(!env.config_text().contains(CLIENT_SECRET));
    // Not a sign-in yet: status still says to authorize.
    env.run(&["status"]).await.assert_code(4);

    // authorize then uses the stored secret, and keeps it.
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT_ID}/oauth2/v2.0/devicecode")))
        .and(form("client_id", NEW_APP))
        .and(form("client_secret", CLIENT_SECRET))
        .respond_with(device_code_ok())
        .expect(1)
        .mount(&env.login)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT_ID}/oauth2/v2.0/token")))
        .and(form("client_id", NEW_APP))
        .and(form("client_secret", CLIENT_SECRET))
        .and(form("device_code", DEVICE_CODE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(&access_token("a", true), Some(REFRESH_TOKEN))),
        )
        .expect(1)
        .mount(&env.login)
        .await;
    let out = env.run(&["authorize", "--client-id", NEW_APP]).await;
    out.assert_code(0);
    assert!(
        std::fs::read_to_string(env.credentials_path())
            .unwrap()
            .contains(CLIENT_SECRET)
    );
}

#[tokio::test]
async fn a_new_secret_keeps_the_stored_sign_in() {
    let (env, graph) = world().await;
    existing_app(&graph, false, true).await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1\.0/applications/[^/]+/addPassword$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keyId": "k", "displayName": "csp", "endDateTime": "2027-05-26T00:00:00Z", "secretText": CLIENT_SECRET
        })))
        .expect(1)
        .mount(&graph)
        .await;
    env.seed_file_sign_in(None);
    env.run(&[
        "setup",
        "--with-secret",
        "--tenant",
        "organizations",
        "-o",
        "json",
    ])
    .await
    .assert_code(0);
    assert_eq!(
        env.stored_refresh_token().as_deref(),
        Some(REFRESH_TOKEN),
        "the sign-in is still there"
    );
    let creds = std::fs::read_to_string(env.credentials_path()).unwrap();
    assert!(
        creds.contains(CLIENT_SECRET),
        "and the new secret beside it"
    );
}
