//! The simulator over HTTP, as a client meets it: routes and each service's errors, paging,
//! Partner Center's consent rules, the app registration model, the switches, and the fault
//! hook and journal that the integration tests rely on.

use std::time::Duration;

use serde_json::{Value, json};

use super::world::{self, APP_ID, CLOUD_APP_ADMIN, World};
use super::*;
use crate::consent::manifest::GRAPH_APP_ID;

const PC: &str = "https://api.partnercenter.microsoft.com/user_impersonation";
const GRAPH: &str = "https://graph.microsoft.com/.default";

fn http() -> reqwest::Client {
    crate::http::ensure_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Probe {
    sim: Simulator,
    http: reqwest::Client,
    refresh: String,
}

impl Probe {
    async fn new(world: World) -> Probe {
        let sim = Simulator::start(world).await.unwrap();
        let refresh = sim.refresh_token();
        Probe {
            sim,
            http: http(),
            refresh,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.url(), path)
    }

    /// Redeems the sign-in for `scope` in `tenant`.
    async fn redeem(&self, tenant: &str, scope: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", APP_ID),
                ("refresh_token", &self.refresh),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn token(&self, tenant: &str, scope: &str) -> String {
        let r = self.redeem(tenant, scope).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
        request_id: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body);
        if let Some(id) = request_id {
            req = req.header("MS-RequestId", id);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Every page of a Graph collection, following `@odata.nextLink`.
    async fn all_pages(&self, token: &str, path: &str) -> (usize, Vec<Value>) {
        let mut url = self.url(path);
        let mut items = Vec::new();
        let mut pages = 0;
        loop {
            let r = self.http.get(&url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            pages += 1;
            items.extend(v["value"].as_array().unwrap().iter().cloned());
            match v["@odata.nextLink"].as_str() {
                Some(next) => {
                    assert!(next.starts_with(&self.sim.url()), "same origin: {next}");
                    url = next.to_string();
                }
                None => return (pages, items),
            }
        }
    }
}

fn consent_body(resource: &str, scope: &str) -> Value {
    json!({"applicationId": APP_ID, "displayName": "t", "applicationGrants": [{"enterpriseApplicationId": resource, "scope": scope}]})
}

#[tokio::test]
async fn each_service_answers_unknown_paths_in_its_own_shape() {
    let p = Probe::new(World::seeded(None)).await;
    let graph = p.token("organizations", GRAPH).await;
    let (status, body) = p.get(&graph, "/v1.0/nonsense").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'nonsense'."
    );
    let (status, body) = p.get(&graph, "/v1.0/servicePrincipals/x/nonsense").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].to_string().contains("nonsense"));
    let (status, body) = p
        .send(
            reqwest::Method::POST,
            &graph,
            "/v1.0/nonsense",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("BadRequest"))
    );
    let (status, body) = p
        .send(
            reqwest::Method::DELETE,
            &graph,
            "/v1.0/domains",
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 405, "{body}");
    let r = p
        .http
        .post(p.url("/v1.0/applications"))
        .bearer_auth(&graph)
        .body("{\"displayName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a body that is not JSON");
    let pc = p.token("organizations", PC).await;
    let (status, body) = p.get(&pc, "/v1/nonsense").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "1000");
    let (status, body) = p.get(&pc, "/v1/customers/x/nonsense").await;
    assert_eq!((status, body["code"].clone()), (404, json!("1000")));
}

#[tokio::test]
async fn key_segments_find_service_principals_and_applications() {
    let p = Probe::new(World::seeded(None)).await;
    let graph = p.token("organizations", GRAPH).await;
    let (status, sp) = p
        .get(
            &graph,
            &format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appId"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(sp["appId"], GRAPH_APP_ID);
    assert!(!sp["oauth2PermissionScopes"].as_array().unwrap().is_empty());
    let (status, by_id) = p
        .get(
            &graph,
            &format!("/v1.0/servicePrincipals/{}", sp["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((status, by_id["appId"].clone()), (200, json!(GRAPH_APP_ID)));
    let (status, app) = p
        .get(&graph, &format!("/v1.0/applications(appId='{APP_ID}')"))
        .await;
    assert_eq!((status, app["appId"].clone()), (200, json!(APP_ID)));
    let (status, body) = p
        .get(
            &graph,
            "/v1.0/servicePrincipals(appId='00000000-0000-0000-0000-000000000000')",
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
}

#[tokio::test]
async fn partner_center_pages_honour_size_up_to_500() {
    let p = Probe::new(World::seeded(Some(1200))).await;
    let pc = p.token("organizations", PC).await;
    let (status, page) = p.get(&pc, "/v1/customers?size=1000").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 500);
    let next = &page["links"]["next"];
    assert_eq!(next["headers"][0]["key"], "MS-ContinuationToken");
    let (_, small) = p.get(&pc, "/v1/customers?size=7").await;
    assert_eq!(small["items"].as_array().unwrap().len(), 7);
    // Following the links reaches every customer Partner Center knows, once.
    let known = p
        .sim
        .world()
        .customers
        .iter()
        .filter(|t| t.relationship.is_some())
        .count();
    let mut seen = std::collections::BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = p.http.get(p.url("/v1/customers?size=500")).bearer_auth(&pc);
        if let Some(t) = &token {
            req = req.header("MS-ContinuationToken", t);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        for c in v["items"].as_array().unwrap() {
            assert!(seen.insert(c["id"].as_str().unwrap().to_string()));
        }
        match v["links"]["next"]["headers"][0]["value"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), known);
}

#[tokio::test]
async fn gdap_relationships_honour_top_up_to_300_and_page_with_next_links() {
    let p = Probe::new(World::seeded(Some(700))).await;
    let graph = p.token("organizations", GRAPH).await;
    let (_, page) = p
        .get(
            &graph,
            "/v1.0/tenantRelationships/delegatedAdminRelationships?$top=1000",
        )
        .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 300);
    assert!(page["@odata.nextLink"].is_string());
    let total = p.sim.world().relationships.len();
    let (pages, all) = p
        .all_pages(
            &graph,
            "/v1.0/tenantRelationships/delegatedAdminRelationships?$top=300",
        )
        .await;
    assert_eq!((pages, all.len()), (total.div_ceil(300), total));
    // The page-size switch pages even a short collection, whatever $top asks.
    p.sim.with_world(|w| w.switches.graph_page_size = Some(2));
    let (pages, domains) = p.all_pages(&graph, "/v1.0/domains?$top=999").await;
    assert_eq!(domains.len(), 1, "the partner has its initial domain only");
    assert_eq!(pages, 1);
    let (pages, groups) = p.all_pages(&graph, "/v1.0/me/transitiveMemberOf").await;
    assert_eq!((pages, groups.len()), (1, 2), "its group and AdminAgents");
    let (pages, rels) = p
        .all_pages(
            &graph,
            "/v1.0/tenantRelationships/delegatedAdminRelationships?$top=300",
        )
        .await;
    assert_eq!((pages, rels.len()), (total.div_ceil(2), total));
}

#[tokio::test]
async fn consent_scopes_split_on_commas_without_trimming() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.com");
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    let (status, _) = p
        .send(
            reqwest::Method::POST,
            &pc,
            &format!("/v1/customers/{t}/applicationconsents"),
            consent_body(GRAPH_APP_ID, "Directory.Read.All, User.Read.All"),
            None,
        )
        .await;
    assert_eq!(status, 201);
    let held = p.sim.world().customer(&t).unwrap().granted(APP_ID);
    assert_eq!(
        held[GRAPH_APP_ID],
        ["Directory.Read.All".to_string()].into(),
        "' User.Read.All' names no scope"
    );
    // The readback through Graph in the customer tenant shows the same.
    let graph = p.token(&t, GRAPH).await;
    let (_, sp) = p
        .get(
            &graph,
            &format!("/v1.0/servicePrincipals(appId='{APP_ID}')"),
        )
        .await;
    let (_, grants) = p
        .get(
            &graph,
            &format!(
                "/v1.0/servicePrincipals/{}/oauth2PermissionGrants",
                sp["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(grants["value"][0]["scope"], "Directory.Read.All");
    assert_eq!(grants["value"][0]["consentType"], "AllPrincipals");
}

#[tokio::test]
async fn consent_writes_follow_partner_centers_rules() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.com");
    let no_role = world.add_customer_without_gdap("Adatum", "adatum.com");
    world.add_relationship(
        &no_role,
        "active",
        &[world::EXCHANGE_ADMIN],
        days_from_now(100),
        true,
    );
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    let post = |tenant: String, scope: &'static str, id: &'static str| {
        let p = &p;
        let pc = pc.clone();
        async move {
            p.send(
                reqwest::Method::POST,
                &pc,
                &format!("/v1/customers/{tenant}/applicationconsents"),
                consent_body(GRAPH_APP_ID, scope),
                Some(id),
            )
            .await
        }
    };
    assert_eq!(post(t.clone(), "Directory.Read.All", "r1").await.0, 201);
    // The same request id gets the first answer, a new one finds the grant there.
    assert_eq!(post(t.clone(), "Directory.Read.All", "r1").await.0, 201);
    let (status, body) = post(t.clone(), "Directory.Read.All", "r2").await;
    assert_eq!(
        (status, body["description"].clone()),
        (409, json!("Permission entry already exists."))
    );
    assert_eq!(
        post(no_role.clone(), "Directory.Read.All", "r3").await.0,
        403
    );
    let (status, body) = p
        .send(
            reqwest::Method::POST,
            &pc,
            &format!("/v1/customers/{t}/applicationconsents"),
            consent_body("99999999-0000-0000-0000-000000000000", "X"),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["description"].to_string().contains("AADSTS500011"));
    // DELETE takes the tenant-wide grants and leaves the service principal.
    let (status, _) = p
        .send(
            reqwest::Method::DELETE,
            &pc,
            &format!("/v1/customers/{t}/applicationconsents/{APP_ID}"),
            Value::Null,
            Some("d1"),
        )
        .await;
    assert_eq!(status, 200);
    let after = p.sim.world();
    let tenant = after.customer(&t).unwrap();
    assert!(tenant.granted(APP_ID).is_empty());
    assert!(tenant.service_principals.contains_key(APP_ID));
}

#[tokio::test]
async fn a_delete_can_take_the_service_principal_with_it() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.com");
    world
        .customer_mut(&t)
        .unwrap()
        .grant(APP_ID, GRAPH_APP_ID, &["Directory.Read.All"]);
    world.switches.delete_removes_service_principal = true;
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    let (status, _) = p
        .send(
            reqwest::Method::DELETE,
            &pc,
            &format!("/v1/customers/{t}/applicationconsents/{APP_ID}"),
            Value::Null,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        p.sim
            .world()
            .customer(&t)
            .unwrap()
            .service_principals
            .is_empty()
    );
    // Without its service principal the app gets no token there.
    let r = p.redeem(&t, GRAPH).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("AADSTS65001"));
}

#[tokio::test]
async fn consent_writes_above_fifty_a_second_are_throttled() {
    let mut world = World::empty();
    let tenants: Vec<String> = (0..60)
        .map(|i| world.add_customer(&format!("C{i}"), &format!("c{i}.com")))
        .collect();
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    let started = std::time::Instant::now();
    let mut throttled = 0;
    for t in &tenants {
        let r = p
            .http
            .post(p.url(&format!("/v1/customers/{t}/applicationconsents")))
            .bearer_auth(&pc)
            .json(&consent_body(GRAPH_APP_ID, "Directory.Read.All"))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
            throttled += 1;
        }
    }
    // All sixty within one second (any but a very slow machine): the ten above fifty are
    // refused. Slower, the writes spread over more seconds and fewer are.
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(throttled, 10);
    }
    let granted = p
        .sim
        .world()
        .customers
        .iter()
        .filter(|t| !t.granted(APP_ID).is_empty())
        .count();
    assert_eq!(granted, 60 - throttled, "a refused write changes nothing");
    assert_eq!(
        p.sim
            .calls_to("POST", "/v1/customers/*/applicationconsents")
            .len(),
        60
    );
}

#[tokio::test]
async fn the_consent_rate_switch_lowers_the_limit() {
    let mut world = World::empty();
    let tenants: Vec<String> = (0..3)
        .map(|i| world.add_customer(&format!("C{i}"), &format!("c{i}.com")))
        .collect();
    world.switches.consent_rate = Some(2);
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for t in &tenants {
        let (status, _) = p
            .send(
                reqwest::Method::POST,
                &pc,
                &format!("/v1/customers/{t}/applicationconsents"),
                consent_body(GRAPH_APP_ID, "Directory.Read.All"),
                None,
            )
            .await;
        statuses.push(status);
    }
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(statuses, vec![201, 201, 429]);
    }
}

#[tokio::test]
async fn a_created_permission_grant_has_an_id_and_can_be_patched() {
    let p = Probe::new(World::seeded(None)).await;
    let graph = p.token("organizations", GRAPH).await;
    let (status, app) = p
        .send(
            reqwest::Method::POST,
            &graph,
            "/v1.0/applications",
            json!({"displayName": "other", "web": {"redirectUris": ["http://localhost"]}}),
            None,
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(app["web"]["redirectUris"], json!(["http://localhost"]));
    assert_eq!(app["publicClient"]["redirectUris"], json!([]));
    let (status, sp) = p
        .send(
            reqwest::Method::POST,
            &graph,
            "/v1.0/servicePrincipals",
            json!({"appId": app["appId"]}),
            None,
        )
        .await;
    assert_eq!(status, 201);
    let graph_sp = p.sim.world().partner.resource_sps[GRAPH_APP_ID].clone();
    let grant = json!({"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "User.Read"});
    let (status, created) = p
        .send(
            reqwest::Method::POST,
            &graph,
            "/v1.0/oauth2PermissionGrants",
            grant.clone(),
            None,
        )
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    let (status, _) = p
        .send(
            reqwest::Method::POST,
            &graph,
            "/v1.0/oauth2PermissionGrants",
            grant,
            None,
        )
        .await;
    assert_eq!(status, 409, "one tenant-wide grant per client and resource");
    let (status, _) = p
        .send(
            reqwest::Method::PATCH,
            &graph,
            &format!("/v1.0/oauth2PermissionGrants/{id}"),
            json!({"scope": "User.Read Mail.Read"}),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, grants) = p
        .get(
            &graph,
            &format!(
                "/v1.0/servicePrincipals/{}/oauth2PermissionGrants",
                sp["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(grants["value"][0]["scope"], "User.Read Mail.Read");
    // PATCH keeps the web redirect URIs unless it names them.
    let (status, _) = p
        .send(
            reqwest::Method::PATCH,
            &graph,
            &format!("/v1.0/applications/{}", app["id"].as_str().unwrap()),
            json!({"web": {"redirectUris": ["http://localhost", "https://example.com/cb"]}, "isFallbackPublicClient": false}),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, read) = p
        .get(
            &graph,
            &format!(
                "/v1.0/applications(appId='{}')",
                app["appId"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(read["web"]["redirectUris"].as_array().unwrap().len(), 2);
    assert_eq!(read["isFallbackPublicClient"], false);
}

#[tokio::test]
async fn switches_change_how_entra_and_partner_center_answer() {
    let p = Probe::new(World::seeded(None)).await;
    let pc = p.token("organizations", PC).await;
    p.sim.with_world(|w| w.switches.mfa_required = true);
    let (status, body) = p.get(&pc, "/v1/customers?size=1").await;
    assert_eq!((status, body["code"].clone()), (401, json!("900421")));
    p.sim.with_world(|w| {
        w.switches.mfa_required = false;
        w.switches.no_mfa_claim = true;
    });
    let no_mfa = p.token("organizations", PC).await;
    assert_eq!(p.get(&no_mfa, "/v1/customers?size=1").await.0, 401);
    p.sim.with_world(|w| w.switches.sign_in_expired = true);
    let r = p.redeem("organizations", PC).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("AADSTS700082"));
}

#[tokio::test]
async fn a_confidential_app_needs_its_secret_and_a_public_one_refuses_it() {
    let p = Probe::new(World::seeded(None)).await;
    let form = |secret: Option<&str>| {
        let mut f = vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", APP_ID.to_string()),
            ("refresh_token", p.refresh.clone()),
            ("scope", PC.to_string()),
        ];
        if let Some(s) = secret {
            f.push(("client_secret", s.to_string()));
        }
        f
    };
    let token = |f: Vec<(&'static str, String)>| {
        let p = &p;
        async move {
            let r = p
                .http
                .post(p.url("/organizations/oauth2/v2.0/token"))
                .form(&f)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = token(form(Some("simsecret~x"))).await;
    assert_eq!(status, 401);
    assert!(body.contains("AADSTS700025"));
    p.sim
        .with_world(|w| w.apps[0].is_fallback_public_client = false);
    let (status, body) = token(form(None)).await;
    assert!(status == 401 && body.contains("AADSTS7000218"), "{body}");
    let (status, body) = token(form(Some("wrong"))).await;
    assert!(status == 401 && body.contains("AADSTS7000215"), "{body}");
    assert_eq!(token(form(Some("simsecret~x"))).await.0, 200);
}

#[tokio::test]
async fn faults_replace_delay_or_drop_the_chosen_calls() {
    let p = Probe::new(World::seeded(None)).await;
    let pc = p.token("organizations", PC).await;
    p.sim.inject(
        Fault::on("GET", "/v1/customers")
            .nth(2)
            .times(2)
            .reply(429)
            .header("Retry-After", "7")
            .json(&json!({"statusCode": 429})),
    );
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(p.get(&pc, "/v1/customers").await.0);
        }
        v
    };
    assert_eq!(statuses, vec![200, 429, 429, 200, 200]);
    let throttled = p.sim.calls_to("GET", "/v1/customers");
    assert_eq!(throttled.len(), 5);
    assert_eq!(throttled[1].status, Some(429));

    // Malformed JSON, as it comes.
    p.sim.inject(
        Fault::on("GET", "/v1/customers/*")
            .reply(200)
            .body("{\"items\": ["),
    );
    let r = p
        .http
        .get(p.url("/v1/customers/x"))
        .bearer_auth(&pc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "{\"items\": [");

    // A cut connection gives no answer at all.
    p.sim.inject(Fault::on("GET", "/v1/customers").cut());
    let err = p
        .http
        .get(p.url("/v1/customers"))
        .bearer_auth(&pc)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(
        p.sim
            .calls_to("GET", "/v1/customers")
            .last()
            .unwrap()
            .status,
        None
    );

    // A lost answer: the write happened, the client saw a 500.
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.com");
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    p.sim.inject(
        Fault::on("POST", "/v1/customers/*/applicationconsents")
            .after_effect()
            .reply(500),
    );
    let (status, _) = p
        .send(
            reqwest::Method::POST,
            &pc,
            &format!("/v1/customers/{t}/applicationconsents"),
            consent_body(GRAPH_APP_ID, "Directory.Read.All"),
            Some("lost"),
        )
        .await;
    assert_eq!(status, 500);
    assert!(
        !p.sim
            .world()
            .customer(&t)
            .unwrap()
            .granted(APP_ID)
            .is_empty()
    );

    // A hung call answers late; the latency knob delays every answer.
    p.sim
        .inject(Fault::on("GET", "/v1/customers").hang(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    assert_eq!(p.get(&pc, "/v1/customers").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    p.sim.set_latency(Duration::from_millis(50));
    let started = std::time::Instant::now();
    assert_eq!(p.get(&pc, "/v1/customers").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn every_secret_handed_out_is_recorded() {
    let p = Probe::new(World::seeded(None)).await;
    let r = p.redeem("organizations", PC).await;
    let v: Value = r.json().await.unwrap();
    let secrets = p.sim.secrets();
    for key in ["access_token", "refresh_token", "id_token"] {
        assert!(
            secrets.contains(&v[key].as_str().unwrap().to_string()),
            "{key}"
        );
    }
    assert!(secrets.contains(&p.refresh));
    let r = p
        .http
        .post(p.url("/organizations/oauth2/v2.0/devicecode"))
        .form(&[("client_id", APP_ID), ("scope", PC)])
        .send()
        .await
        .unwrap();
    let dc: Value = r.json().await.unwrap();
    assert!(secrets_now(&p).contains(&dc["device_code"].as_str().unwrap().to_string()));
    let r = p
        .http
        .get(p.url(&format!(
            "/organizations/oauth2/v2.0/authorize?client_id={APP_ID}&redirect_uri=http://localhost:4000&state=s&scope=x"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(secrets_now(&p).contains(&code));
    // A redirect the app does not have is refused.
    let r = p
        .http
        .get(p.url(&format!(
            "/organizations/oauth2/v2.0/authorize?client_id={APP_ID}&redirect_uri=https://evil.example/cb&state=s"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let graph = p.token("organizations", GRAPH).await;
    let (_, pw) = p
        .send(
            reqwest::Method::POST,
            &graph,
            "/v1.0/applications/5a4d0000-0000-4000-8000-0000000000a1/addPassword",
            json!({"passwordCredential": {"displayName": "csp"}}),
            None,
        )
        .await;
    let secret = pw["secretText"].as_str().unwrap().to_string();
    assert!(secret.starts_with(SECRET_PREFIX));
    assert!(secrets_now(&p).contains(&secret));
    assert!(
        !serde_json::to_string(&p.sim.world())
            .unwrap()
            .contains(&secret),
        "the world keeps no secret"
    );
}

fn secrets_now(p: &Probe) -> Vec<String> {
    p.sim.secrets()
}

#[tokio::test]
async fn grant_reads_lag_behind_writes_by_the_propagation_switch() {
    let mut world = World::empty();
    let t = world.add_customer("Contoso", "contoso.com");
    world.switches.propagation_reads = 2;
    let p = Probe::new(world).await;
    let pc = p.token("organizations", PC).await;
    let (status, _) = p
        .send(
            reqwest::Method::POST,
            &pc,
            &format!("/v1/customers/{t}/applicationconsents"),
            consent_body(GRAPH_APP_ID, "Directory.Read.All"),
            None,
        )
        .await;
    assert_eq!(status, 201);
    let graph = p.token(&t, GRAPH).await;
    let sp = p.sim.world().customer(&t).unwrap().service_principals[APP_ID]
        .id
        .clone();
    let path = format!("/v1.0/servicePrincipals/{sp}/oauth2PermissionGrants");
    let counts: Vec<usize> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                p.get(&graph, &path).await.1["value"]
                    .as_array()
                    .unwrap()
                    .len(),
            );
        }
        v
    };
    assert_eq!(counts, vec![0, 0, 1]);
}

#[tokio::test]
async fn gdap_relationships_show_customers_as_graph_does() {
    let p = Probe::new(World::seeded(None).with_gdap_shapes()).await;
    let graph = p.token("organizations", GRAPH).await;
    let (_, all) = p
        .all_pages(
            &graph,
            "/v1.0/tenantRelationships/delegatedAdminRelationships",
        )
        .await;
    let pending = all
        .iter()
        .find(|r| r["status"] == "approvalPending")
        .unwrap();
    assert!(pending.get("customer").is_none(), "{pending}");
    assert!(pending["activatedDateTime"].is_null());
    let created = all.iter().find(|r| r["status"] == "created").unwrap();
    assert!(created["customer"].get("tenantId").is_none());
    assert!(created["customer"]["displayName"].is_string());
    assert!(all.iter().any(|r| r["status"] == "expiring"));
    let autos: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|r| r["autoExtendDuration"].as_str().unwrap())
        .collect();
    assert_eq!(autos, ["P0D", "P180D", "PT0S"].into());
    let first = all[0]["id"].as_str().unwrap();
    let (status, assignments) = p
        .get(
            &graph,
            &format!(
                "/v1.0/tenantRelationships/delegatedAdminRelationships/{first}/accessAssignments"
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        assignments["value"][0]["accessContainer"]["accessContainerId"],
        world::ADMIN_GROUP
    );
    assert_eq!(
        assignments["value"][0]["accessDetails"]["unifiedRoles"][0]["roleDefinitionId"],
        CLOUD_APP_ADMIN
    );
}

/// The simulated Key Vault: a vault token from the client credentials grant, versions on every
/// write, soft delete, and each refusal in Key Vault's own shape.
#[tokio::test]
async fn the_key_vault_keeps_versions_and_refuses_as_azure_does() {
    let p = Probe::new(World::empty()).await;
    let secret = "/secrets/csp-default?api-version=7.5";
    // No token: 401 with the challenge naming the vault's resource.
    let r = p.http.get(p.url(secret)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource=\"https://vault.azure.net\"")
    );
    // A Partner Center token is for another resource: 401 too.
    let pc = p.token("organizations", PC).await;
    assert_eq!(p.get(&pc, secret).await.0, 401);

    // The sandbox's identity gets a vault token; a wrong secret or scope does not.
    let grant = |secret: &str, scope: &str| {
        p.http
            .post(p.url("/organizations/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", world::VAULT_IDENTITY),
                ("client_secret", secret),
                ("scope", scope),
            ])
            .send()
    };
    let vault_scope = "https://vault.azure.net/.default";
    assert_eq!(grant("nope", vault_scope).await.unwrap().status(), 401);
    assert_eq!(
        grant("simsecret~x", "https://vault.azure.net")
            .await
            .unwrap()
            .status(),
        400
    );
    let r = grant("simsecret~x", vault_scope).await.unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, body) = p.get(&token, secret).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );
    let put = |value: &str| {
        p.http
            .put(p.url(secret))
            .bearer_auth(&token)
            .json(&json!({"value": value, "tags": {"clientId": APP_ID}}))
            .send()
    };
    for v in ["rt-1", "rt-2"] {
        assert_eq!(put(v).await.unwrap().status(), 200);
    }
    let (status, body) = p.get(&token, secret).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"], "rt-2");
    assert_eq!(body["tags"]["clientId"], APP_ID);
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/secrets/csp-default/", p.sim.url()))
    );
    assert_eq!(p.sim.world().key_vault.versions("csp-default"), 2);
    // No api-version: 400; a name Key Vault refuses: 400.
    assert_eq!(p.get(&token, "/secrets/csp-default").await.0, 400);
    assert_eq!(p.get(&token, "/secrets/csp_x?api-version=7.5").await.0, 400);

    // The switches: a missing permission, the firewall.
    p.sim
        .with_world(|w| w.switches.vault_denied = vec!["get".into()]);
    let (status, body) = p.get(&token, secret).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["innererror"]["code"], "AccessDenied");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("secrets get permission")
    );
    p.sim.with_world(|w| {
        w.switches.vault_denied.clear();
        w.switches.vault_firewall = true;
    });
    let (status, body) = p.get(&token, secret).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["innererror"]["code"], "ForbiddenByFirewall");
    p.sim.with_world(|w| w.switches.vault_firewall = false);

    // Soft delete: the secret is gone for reads, and its name refuses writes (409).
    let r = p
        .http
        .delete(p.url(secret))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap().get("value").is_none());
    assert_eq!(p.get(&token, secret).await.0, 404);
    let r = put("rt-3").await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "Conflict"
    );
}

/// The managed identity endpoint wants its header, and issues vault tokens only.
#[tokio::test]
async fn the_managed_identity_endpoint_checks_its_header() {
    let p = Probe::new(World::empty()).await;
    let url = p.url("/msi/token?api-version=2019-08-01&resource=https://vault.azure.net");
    let r = p.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = p
        .http
        .get(&url)
        .header("x-identity-header", world::IDENTITY_HEADER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert!(body["expires_on"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(
        p.get(token, "/secrets/csp-default?api-version=7.5").await.0,
        404,
        "the token is good for the vault"
    );
}
