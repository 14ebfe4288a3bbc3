//! `csp customers` and `csp domains` through the real binary against fake Partner Center,
//! Graph and Entra: paging with continuation tokens, search, GDAP, the domains fallback, output
//! formats pinned by snapshots, and the errors partners hit.

use serde_json::json;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

const T1: &str = "11111111-aaaa-0000-0000-000000000001";
const T2: &str = "11111111-aaaa-0000-0000-000000000002";
const T3: &str = "11111111-aaaa-0000-0000-000000000003";
const T4: &str = "11111111-aaaa-0000-0000-000000000004";
const T5: &str = "11111111-aaaa-0000-0000-000000000005";
const GDAP_ONLY: &str = "22222222-bbbb-0000-0000-000000000009";

/// Three pages: the second `next` uri lacks the `/v1` prefix, as some answers do.
async fn mount_three_pages(pc: &wiremock::MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param("size", "500"))
        .and(query_param_is_missing("seekOperation"))
        .and(wiremock::matchers::header_exists("authorization"))
        .and(wiremock::matchers::header_exists("ms-correlationid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![
                pc_customer(T2, "Fabrikam Inc", "fabrikam.onmicrosoft.com", "reseller"),
                pc_customer(T1, "adatum Corp", "adatum.onmicrosoft.com", "reseller"),
            ],
            Some(("/v1/customers?size=500&seekOperation=Next", "token-page-2")),
        )))
        .expect(1)
        .mount(pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param("seekOperation", "Next"))
        .and(header("MS-ContinuationToken", "token-page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![pc_customer(
                T3,
                "Contoso Ltd",
                "contoso.onmicrosoft.com",
                "advisor",
            )],
            Some((
                "customers?size=500&seekOperation=Next&page=3",
                "token-page-3",
            )),
        )))
        .expect(1)
        .mount(pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param("page", "3"))
        .and(header("MS-ContinuationToken", "token-page-3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![
                pc_customer(T4, "Tailspin Toys", "tailspin.onmicrosoft.com", "reseller"),
                pc_customer(
                    T5,
                    "Wingtip \u{1b}[31mToys",
                    "wingtip.onmicrosoft.com",
                    "reseller",
                ),
            ],
            None,
        )))
        .expect(1)
        .mount(pc)
        .await;
}

async fn mount_gdap(graph: &wiremock::MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1.0/tenantRelationships/delegatedAdminRelationships"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#delegatedAdminRelationships",
            "value": [
                gdap_relationship(T3, "Contoso Ltd", "active", &[CLOUD_APP_ADMIN, EXCHANGE_ADMIN], "2027-02-10T11:24:42Z"),
                gdap_relationship(T3, "Contoso Ltd", "expired", &[GLOBAL_ADMIN], "2025-01-01T00:00:00Z"),
                gdap_relationship(T1, "adatum Corp", "expired", &[GLOBAL_ADMIN], "2026-01-01T00:00:00Z"),
            ],
            "@odata.nextLink": format!("{}/v1.0/tenantRelationships/delegatedAdminRelationships?$top=300&$skiptoken=p2", graph.uri()),
        })))
        .expect(1)
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/tenantRelationships/delegatedAdminRelationships"))
        .and(query_param("$skiptoken", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                gdap_relationship(GDAP_ONLY, "Northwind Traders", "active", &[GLOBAL_ADMIN], "2026-12-01T00:00:00Z"),
            ]
        })))
        .expect(1)
        .mount(graph)
        .await;
}

#[tokio::test]
async fn every_page_is_listed_sorted_by_name_in_three_formats() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    mount_three_pages(&pc).await;
    let out = env.run(&["customers", "-o", "json"]).await;
    out.assert_code(0);
    insta::assert_json_snapshot!("customers_json", out.json());

    // Each run pages again (the mocks expect one call each per run): use fresh worlds.
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    mount_three_pages(&pc).await;
    let out = env.run(&["customers"]).await;
    out.assert_code(0);
    insta::assert_snapshot!("customers_table", out.stdout);

    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    mount_three_pages(&pc).await;
    let out = env.run(&["customers", "-o", "csv"]).await;
    out.assert_code(0);
    insta::assert_snapshot!("customers_csv", out.stdout);
}

#[tokio::test]
async fn gdap_adds_status_roles_and_the_gdap_only_customers() {
    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    mount_three_pages(&pc).await;
    mount_gdap(&graph).await;
    let out = env.run(&["customers", "--gdap", "-o", "json"]).await;
    out.assert_code(0);
    let rows = out.json();
    insta::assert_json_snapshot!("customers_gdap_json", rows);
    let northwind = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenantId"] == GDAP_ONLY)
        .unwrap();
    assert_eq!(northwind["relationship"], "gdap_only");
    assert_eq!(northwind["gdap"]["roles"], json!(["Global Administrator"]));

    let (env, pc, graph) = TestEnv::signed_in_with_apis().await;
    mount_three_pages(&pc).await;
    mount_gdap(&graph).await;
    let out = env.run(&["customers", "--gdap"]).await;
    out.assert_code(0);
    insta::assert_snapshot!("customers_gdap_table", out.stdout);
}

#[tokio::test]
async fn search_asks_for_both_fields_with_the_documented_filter_and_merges() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    // The exact decoded filter values; wiremock decodes the query, so the encoding is also
    // checked on the raw URL below.
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param(
            "filter",
            r#"{"Field":"CompanyName","Value":"con","Operator":"starts_with"}"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![pc_customer(
                T3,
                "Contoso Ltd",
                "contoso.onmicrosoft.com",
                "reseller",
            )],
            None,
        )))
        .expect(1)
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param(
            "filter",
            r#"{"Field":"Domain","Value":"con","Operator":"starts_with"}"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![
                pc_customer(T3, "Contoso Ltd", "contoso.onmicrosoft.com", "reseller"),
                pc_customer(
                    T4,
                    "Tailspin Toys",
                    "consolidated.onmicrosoft.com",
                    "reseller",
                ),
            ],
            None,
        )))
        .expect(1)
        .mount(&pc)
        .await;
    let out = env
        .run(&["customers", "--search", "con", "-o", "json"])
        .await;
    out.assert_code(0);
    let ids: Vec<_> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tenantId"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!(T3), json!(T4)],
        "merged without duplicates, sorted by name"
    );
    let raw: Vec<String> = pc
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert!(
        raw.iter().any(|q| q.contains("filter=%7B%22Field%22%3A%22CompanyName%22%2C%22Value%22%3A%22con%22%2C%22Operator%22%3A%22starts_with%22%7D")),
        "{raw:?}"
    );
}

#[tokio::test]
async fn throttling_is_retried_and_then_reported_with_its_retry_after() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(fixture("pc-error-429-throttled.json")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(vec![], None)))
        .with_priority(2)
        .expect(1)
        .mount(&pc)
        .await;
    let out = env.run(&["customers", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json(), json!([]));

    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(fixture("pc-error-429-throttled.json")),
        )
        .expect(5)
        .mount(&pc)
        .await;
    let out = env.run(&["customers"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("still throttling GET /v1/customers"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: Partner Center is throttling"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[tokio::test]
async fn missing_mfa_stops_with_exit_4() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"code": "900421", "description": "Multi-factor authentication is required.", "source": "PartnerCenter"})))
        .expect(1)
        .mount(&pc)
        .await;
    let out = env.run(&["customers"]).await;
    out.assert_code(4);
    assert!(
        out.stderr
            .contains("hint: Partner Center requires multi-factor authentication"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn malformed_json_names_the_endpoint() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"items\": ["))
        .expect(1)
        .mount(&pc)
        .await;
    let out = env.run(&["customers"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains(
            "error: Partner Center sent a response csp cannot read (GET /v1/customers?size=500)"
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pc_page(
            vec![],
            Some(("https://evil.example/v1/customers", "t")),
        )))
        .expect(1)
        .mount(&pc)
        .await;
    let out = env.run(&["customers"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("refusing to send the token there"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn domains_come_from_graph_in_the_customer_tenant() {
    let (env, _pc, graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/contoso.com/v2.0/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(openid_metadata(T3)))
        .expect(1)
        .mount(&env.login)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/domains"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "contoso.onmicrosoft.com", "isDefault": false, "isInitial": true, "isVerified": true},
            {"id": "Contoso.com", "isDefault": true, "isInitial": false, "isVerified": true},
            {"id": "mail.contoso.com", "isDefault": false, "isInitial": false, "isVerified": false},
        ]})))
        .expect(1)
        .mount(&graph)
        .await;
    let out = env
        .run(&["domains", "--customer", "contoso.com", "-o", "json"])
        .await;
    out.assert_code(0);
    insta::assert_json_snapshot!("domains_graph_json", out.json());
    // The Graph token was asked for in the customer's tenant.
    let token_paths: Vec<String> = env
        .login
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert!(
        token_paths.contains(&format!("/{T3}/oauth2/v2.0/token")),
        "{token_paths:?}"
    );
}

#[tokio::test]
async fn domains_fall_back_to_partner_center_before_consent() {
    let (env, pc, _graph) = TestEnv::signed_in_with_apis().await;
    // The customer tenant refuses the token: the app is not consented there.
    refresh(T3, REFRESH_TOKEN, GRAPH_SCOPE)
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_grant",
            65001,
            "The user or administrator has not consented to use the application.",
        )))
        .with_priority(1)
        .expect(1)
        .mount(&env.login)
        .await;
    let mut customer = fixture("pc-customer-get-by-id.json");
    customer["id"] = json!(T3);
    customer["companyProfile"]["tenantId"] = json!(T3);
    customer["companyProfile"]["domain"] = json!("contoso.onmicrosoft.com");
    customer["customDomains"] = json!(["contoso.com", "Contoso.onmicrosoft.com"]);
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{T3}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer))
        .expect(1)
        .mount(&pc)
        .await;
    let out = env.run(&["domains", "--customer", T3, "-o", "json"]).await;
    out.assert_code(0);
    insta::assert_json_snapshot!("domains_partner_center_json", out.json());
    assert!(
        out.stderr
            .contains("AADSTS65001: the app is not consented there yet"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Partner Center's record"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn domain_arguments_must_exist_and_unknown_clients_are_refused() {
    let (env, _pc, _graph) = TestEnv::signed_in_with_apis().await;
    Mock::given(method("GET"))
        .and(path("/nope.example/v2.0/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(400).set_body_json(entra_error(
            "invalid_tenant",
            90002,
            "Tenant 'nope.example' not found.",
        )))
        .expect(1)
        .mount(&env.login)
        .await;
    let out = env.run(&["domains", "--customer", "nope.example"]).await;
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("nope.example is not registered with Microsoft Entra"),
        "{}",
        out.stderr
    );
    let out = env.run(&["domains", "--customer", "Not A Client"]).await;
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("is not a tenant id, a domain, or a mapped client"),
        "{}",
        out.stderr
    );
}
