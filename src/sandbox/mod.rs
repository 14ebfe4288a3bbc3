//! The sandbox: the one simulator of Entra, Partner Center and Graph, built into the binary
//! and used by the tests. It serves all three on one ephemeral loopback port (an axum router
//! per service, merged), answers as Microsoft's descriptions say, and keeps a world model
//! (`world.rs`, built by `seed.rs`) that the calls change. `csp --sandbox` and `csp demo` run
//! it in-process with their own config dir and file-backed sign-in under
//! `<config-dir>/sandbox`, so real credentials and mappings are never read or touched.
//!
//! Tests and benchmarks start it themselves (`Simulator::start`), point `csp` at it with the
//! endpoint overrides, seed a sign-in it accepts (`seed_sign_in`), change the world and its
//! switches (`with_world`), arm faults (`inject`), add latency (`set_latency`), and read
//! back the world, every call (`calls`) and every secret it issued (`secrets`).

mod connection;
mod entra;
mod faults;
mod graph;
mod journal;
mod key_vault;
mod partner_center;
mod reply;
mod seed;
mod state;
pub mod world;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use url::Url;

pub use entra::{APPROVE_AFTER, REFRESH_PREFIX, SECRET_PREFIX};
pub use faults::Fault;
pub use journal::{Call, path_matches};
pub use partner_center::CONSENT_RATE;
pub use seed::days_from_now;
pub use world::{Switches, World};

use crate::cloud::Endpoints;
use crate::config::{self, ConfigFile, ProfileUpdate};
use crate::error::CliError;
use crate::files;
use crate::secrets::{FileStore, SecretStore, StoreKind, StoredSecrets};
use crate::settings::{EnvSignIn, Settings};
use connection::{Connection, CuttableListener};
use reply::{api_fault, entra_error};
use state::SimState;

/// What every secret the simulator issues contains: a refresh token, device code,
/// authorization code or client secret prefix, or the encoded header of its tokens. Output of
/// a simulator running in another process (`csp --sandbox`, `csp demo`) can be scanned for
/// these.
pub fn secret_markers() -> Vec<String> {
    use base64::Engine;
    vec![
        REFRESH_PREFIX.into(),
        entra::DEVICE_CODE_PREFIX.into(),
        entra::AUTH_CODE_PREFIX.into(),
        SECRET_PREFIX.into(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(reply::JWT_HEADER),
    ]
}

/// A running simulator. Dropping it stops it.
pub struct Simulator {
    pub base: Url,
    state: Arc<SimState>,
    task: tokio::task::JoinHandle<()>,
    state_file: Option<PathBuf>,
    /// Why a saved world was replaced by a new one on entering, to tell the user.
    pub fresh: Option<String>,
}

/// The three services on one router, behind the journal-and-faults layer.
fn app(state: Arc<SimState>) -> Router {
    Router::new()
        .merge(entra::router())
        .merge(partner_center::router(Arc::clone(&state)))
        .merge(graph::router())
        .merge(key_vault::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            faults::layer,
        ))
        .with_state(state)
}

/// Each service's answer to a path it does not have.
async fn unknown_route(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/v1/") {
        partner_center::not_found()
    } else if path == "/v1.0" || path.starts_with("/v1.0/") {
        graph::not_found(path)
    } else if key_vault::is_vault_path(path) {
        key_vault::not_found(path)
    } else {
        entra_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            90000,
            &format!("No such endpoint: {path}."),
        )
    }
}

/// Each service's answer to a method a path does not take.
async fn wrong_method(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/v1/") {
        api_fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "405",
            &format!("The method {method} is not allowed on this resource."),
        )
    } else if path.starts_with("/v1.0/") {
        graph::wrong_method(path)
    } else {
        unknown_route(uri).await
    }
}

impl Simulator {
    /// Starts a simulator of `world` on 127.0.0.1, on a port of the system's choosing.
    pub async fn start(world: World) -> std::io::Result<Simulator> {
        let state = Arc::new(SimState::new(world));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = Url::parse(&format!("http://{}", listener.local_addr()?))
            .expect("a socket address makes a URL");
        let service = app(Arc::clone(&state)).into_make_service_with_connect_info::<Connection>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(CuttableListener(listener), service).await;
        });
        Ok(Simulator {
            base,
            state,
            task,
            state_file: None,
            fresh: None,
        })
    }

    /// Every endpoint pointed at the simulator.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            authority: self.base.clone(),
            partner_center: self.base.clone(),
            graph: self.base.clone(),
        }
    }

    /// The base URL as a string without a trailing slash, for `CSP_*_URL` overrides.
    pub fn url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// A copy of the world as it is now.
    pub fn world(&self) -> World {
        self.state.world().clone()
    }

    /// Changes the world (its customers, relationships, switches) while the simulator runs.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.state.world())
    }

    /// Every call received so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.journal().calls.clone()
    }

    /// The calls of `method` to paths matching `pattern` (as in `Fault::on`).
    pub fn calls_to(&self, method: &str, pattern: &str) -> Vec<Call> {
        self.state
            .journal()
            .calls
            .iter()
            .filter(|c| c.is(method, pattern))
            .cloned()
            .collect()
    }

    /// Every secret handed out so far: refresh, access and id tokens, device and
    /// authorization codes, client secrets.
    pub fn secrets(&self) -> Vec<String> {
        self.state.journal().secrets.clone()
    }

    /// Arms a fault; faults apply in the order they were armed.
    pub fn inject(&self, fault: Fault) {
        self.state.faults().push(faults::Armed::new(fault));
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.state.faults().clear();
    }

    /// Delays every answer by `latency` (benchmarks).
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }

    /// A refresh token for the partner user, as a sign-in would have left it.
    pub fn refresh_token(&self) -> String {
        self.state
            .issued(format!("{REFRESH_PREFIX}{}", uuid::Uuid::new_v4().simple()))
    }

    /// Signs `profile` in under `config_dir` as `csp authorize --insecure-storage` leaves it:
    /// the sandbox app and partner tenant in `config.toml`, a refresh token the simulator
    /// accepts in `credentials.json` (mode 0600).
    pub fn seed_sign_in(&self, config_dir: &Path, profile: &str) -> Result<(), CliError> {
        let partner = self.state.world().partner.id.clone();
        config::update_profile(
            &config_dir.join("config.toml"),
            profile,
            &ProfileUpdate {
                set: vec![
                    ("client_id", world::APP_ID.into()),
                    ("tenant", partner.clone()),
                    ("tenant_id", partner),
                    ("user", world::USER.into()),
                    ("cloud", "public".into()),
                    ("token_store", "file".into()),
                ],
                ..Default::default()
            },
        )?;
        FileStore::new(config_dir.join("credentials.json")).save(
            profile,
            &StoredSecrets {
                refresh_token: self.refresh_token().into(),
                client_secret: None,
            },
        )?;
        Ok(())
    }

    /// A token the simulated vault accepts, as an Azure credential would get it.
    pub fn vault_token(&self) -> String {
        key_vault::vault_token(&self.state, world::VAULT_IDENTITY).0
    }

    /// Makes the simulated vault the store of the sign-in (see `point_key_vault`).
    pub fn use_key_vault(&self, settings: &mut Settings) {
        settings.store_choice = Some(StoreKind::AzureKeyVault);
        self.point_key_vault(settings);
    }

    /// Points every use of Azure Key Vault in `settings` at the simulated vault, reached with
    /// the sandbox's own Azure identity: a service principal's secret credential against the
    /// simulator's Entra (`AZURE_*` variables as a CI job would set them). Whatever vault and
    /// credential the environment names are not used.
    pub fn point_key_vault(&self, settings: &mut Settings) {
        use crate::secrets::azure::{AzureEnv, CredentialKind};
        use crate::settings::{Origin, Sourced};
        settings.key_vault.url = Some(Sourced {
            value: self.base.clone(),
            origin: Origin::Default,
        });
        settings.key_vault.credential = Sourced {
            value: CredentialKind::ClientSecret,
            origin: Origin::Default,
        };
        settings.key_vault.credential_reason = "the sandbox";
        settings.azure = AzureEnv {
            client_id: Some(world::VAULT_IDENTITY.into()),
            tenant_id: Some(self.state.world().partner.id.clone()),
            client_secret: Some(format!("{SECRET_PREFIX}sandbox-vault").into()),
            authority_host: Some(self.base.clone()),
            ..AzureEnv::default()
        };
    }

    /// Writes the simulated world back to its state file, so the next `--sandbox` run sees
    /// the consents this one made.
    pub fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let world = self.world();
        if let Ok(bytes) = serde_json::to_vec_pretty(&world) {
            let _ = files::write_atomic(path, &bytes, false);
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sandbox directory under a config dir.
pub fn dir(config_dir: &Path) -> PathBuf {
    config_dir.join("sandbox")
}

/// Loads the world saved in `dir`, or seeds a new one (also when `seed` asks for another
/// size, or the saved world has an older shape); says why when a saved world is replaced.
fn load_world(dir: &Path, seed: Option<u32>) -> (World, Option<String>) {
    let saved = files::read_optional(&dir.join("simulator.json"))
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str::<World>(&t).ok());
    let size = |s: Option<u32>| match s {
        Some(n) => format!("{n} customers"),
        None => "the built-in 14 customers".into(),
    };
    match saved {
        Some(w) if w.version == world::VERSION && (seed.is_none() || w.seed == seed) => (w, None),
        Some(w) if w.version == world::VERSION => (
            World::seeded(seed),
            Some(format!(
                "--sandbox-seed asks for {} where the saved sandbox has {}: a new simulated world starts (its consents and relationships are gone; mappings and the sign-in are kept)",
                size(seed),
                size(w.seed)
            )),
        ),
        Some(_) => (
            World::seeded(seed),
            Some("the saved sandbox comes from an older csp: a new simulated world starts".into()),
        ),
        None => (World::seeded(seed), None),
    }
}

/// Turns settings into sandbox settings: the sandbox's config dir, mappings and file store; no
/// sign-in from the environment; every endpoint on a freshly started simulator. Writes the
/// sandbox profile (the simulated app, its partner tenant and a consent manifest) the first
/// time.
pub async fn enter(
    mut settings: Settings,
    seed: Option<u32>,
) -> Result<(Settings, Simulator), CliError> {
    let dir = if settings.config_dir.ends_with("sandbox") {
        settings.config_dir.clone()
    } else {
        dir(&settings.config_dir)
    };
    files::ensure_private_dir(&dir).map_err(|e| CliError::Io {
        action: "create the sandbox directory",
        source: std::io::Error::other(e.to_string()),
    })?;
    let (world, fresh) = load_world(&dir, seed);
    let mut sim = Simulator::start(world)
        .await
        .map_err(|source| CliError::Io {
            action: "start the sandbox simulator",
            source,
        })?;
    sim.state_file = Some(dir.join("simulator.json"));
    sim.fresh = fresh;
    sim.save();

    let config_path = dir.join("config.toml");
    let existing = ConfigFile::load(&config_path)?;
    if existing
        .profile(&settings.profile)
        .and_then(|p| p.client_id.clone())
        .is_none()
    {
        config::update_profile(
            &config_path,
            &settings.profile,
            &ProfileUpdate {
                set: vec![
                    ("client_id", world::APP_ID.into()),
                    ("tenant", world::PARTNER_DOMAIN.into()),
                    ("token_store", "file".into()),
                ],
                ..Default::default()
            },
        )?;
        append_manifest(&config_path, &settings.profile)?;
    }
    settings.config = ConfigFile::load(&config_path)?;
    settings.mappings_path = dir.join("mappings.json");
    settings.config_dir = dir;
    settings.env_sign_in = EnvSignIn::default();
    settings.cloud = crate::cloud::Cloud::Public;
    // The file store, unless the vault was asked for; any vault is the simulated one.
    sim.point_key_vault(&mut settings);
    if settings.store_choice != Some(StoreKind::AzureKeyVault) {
        settings.store_choice = Some(StoreKind::File);
    }
    let settings = settings.with_endpoints(sim.endpoints());
    Ok((settings, sim))
}

/// The sandbox's consent manifest: the scopes the demo grants.
fn append_manifest(path: &Path, profile: &str) -> Result<(), CliError> {
    let mut text = files::read_optional(path)
        .map_err(|e| CliError::Io {
            action: "read the sandbox config",
            source: std::io::Error::other(e.to_string()),
        })?
        .unwrap_or_default();
    text.push_str(&format!(
        "\n[profiles.{profile}.consent]\ndisplay_name = \"csp sandbox connector\"\n[[profiles.{profile}.consent.grants]]\nresource = \"graph\"\nscopes = [{}]\n",
        world::DEMO_SCOPES
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    files::write_atomic(path, text.as_bytes(), false).map_err(|e| CliError::Io {
        action: "write the sandbox config",
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(())
}
