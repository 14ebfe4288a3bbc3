//! The sandbox simulator as the tests' Microsoft: started in-process from the test, the real
//! `csp` pointed at it with the endpoint overrides and a file-store sign-in it accepts, and
//! helpers to read back what it recorded (consent writes, the world after a run).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

pub use csp::sandbox::world::{self, APP_ID, AppRoleAssignment, Tenant};
pub use csp::sandbox::{Call, Fault, Simulator, World, days_from_now};

use super::{Output, TestEnv};

pub const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
pub const EXCHANGE_APP: &str = world::EXCHANGE_APP;
pub const CONSENTS: &str = "/v1/customers/*/applicationconsents";
pub const CONSENT: &str = "/v1/customers/*/applicationconsents/*";

/// A test's world: the simulator and a config dir signed in to it.
pub struct SimEnv {
    pub sim: Simulator,
    pub env: TestEnv,
}

/// One consent write as Partner Center received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub method: String,
    pub tenant: String,
    /// The POST's one resource (empty for a DELETE).
    pub resource: String,
    pub request_id: String,
    pub at: std::time::Instant,
}

impl SimEnv {
    /// Starts the simulator of `world` and signs the default profile in to it.
    pub async fn start(world: World) -> SimEnv {
        let sim = Simulator::start(world).await.unwrap();
        let mut env = TestEnv::new().await;
        env.authority_url = Some(sim.url());
        env.partner_center_url = sim.url();
        env.graph_url = sim.url();
        sim.seed_sign_in(env.config_dir(), "default").unwrap();
        SimEnv { sim, env }
    }

    /// A world of customers named `names`, each ready for consent (active GDAP with Cloud
    /// Application Administrator, nothing consented), all mapped to clients of their names.
    pub async fn with_customers(names: &[&str]) -> (SimEnv, Vec<String>) {
        let mut world = World::empty();
        let ids = names
            .iter()
            .map(|n| world.add_customer(n, &domain_of(n)))
            .collect();
        let w = SimEnv::start(world).await;
        w.map_all();
        (w, ids)
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.env.run(args).await
    }

    /// Maps every customer of the world to a client of its name.
    pub fn map_all(&self) {
        let world = self.sim.world();
        let mut mappings: Vec<Value> = world
            .customers
            .iter()
            .map(|t| {
                json!({"customer": t.name, "tenantId": t.id, "domain": t.domains[0], "name": t.name, "mappedAt": "2026-11-27T10:00:00Z"})
            })
            .collect();
        mappings.sort_by_key(|m| m["customer"].as_str().unwrap().to_lowercase());
        std::fs::write(
            self.env.config_dir().join("mappings.json"),
            serde_json::to_string_pretty(&json!({"version": 1, "mappings": mappings})).unwrap(),
        )
        .unwrap();
    }

    /// The customer `id` as the simulator holds it now.
    pub fn tenant(&self, id: &str) -> Tenant {
        self.sim.world().customer(id).unwrap().clone()
    }

    /// The app's tenant-wide scopes in `id`, by resource appId.
    pub fn granted(&self, id: &str) -> BTreeMap<String, BTreeSet<String>> {
        self.tenant(id).granted(APP_ID)
    }

    /// Every consent POST and DELETE Partner Center received, in order.
    pub fn writes(&self) -> Vec<Write> {
        self.sim
            .calls()
            .into_iter()
            .filter(|c| c.is("POST", CONSENTS) || c.is("DELETE", CONSENT))
            .map(|c| Write {
                method: c.method.to_string(),
                tenant: c.segment(2).unwrap_or_default().to_string(),
                resource: c
                    .json()
                    .and_then(|b| {
                        b["applicationGrants"][0]["enterpriseApplicationId"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_default(),
                request_id: c.header("ms-requestid").unwrap_or_default().to_string(),
                at: c.at,
            })
            .collect()
    }

    /// The consent POSTs' bodies.
    pub fn posted_bodies(&self) -> Vec<Value> {
        self.sim
            .calls_to("POST", CONSENTS)
            .iter()
            .filter_map(Call::json)
            .collect()
    }

    /// Calls to Partner Center other than reads.
    pub fn partner_center_writes(&self) -> usize {
        self.sim
            .calls()
            .iter()
            .filter(|c| c.path.starts_with("/v1/") && c.method != "GET")
            .count()
    }
}

/// A domain for a test customer's name.
pub fn domain_of(name: &str) -> String {
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{slug}.example.com")
}

/// Gives the app a tenant-wide grant of `scopes` on `resource` in `id`.
pub fn hold(world: &mut World, id: &str, resource: &str, scopes: &[&str]) {
    world
        .customer_mut(id)
        .unwrap()
        .grant(APP_ID, resource, scopes);
}
