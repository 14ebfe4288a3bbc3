//! The sandbox: a simulator of Entra, Partner Center and Graph built into the binary, served
//! in-process on an ephemeral loopback port, with its own config dir and file-backed sign-in
//! under `<config-dir>/sandbox`, so real credentials and mappings are never read or touched.
//! Nothing here runs unless `--sandbox` or `csp demo` asks for it.

pub mod server;
pub mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use url::Url;

use crate::cloud::Endpoints;
use crate::config::{self, ConfigFile, ProfileUpdate};
use crate::error::CliError;
use crate::files;
use crate::secrets::StoreKind;
use crate::settings::{EnvSignIn, Settings};
use server::SimState;
use world::World;

/// A running simulator.
pub struct Simulator {
    pub base: Url,
    state: Arc<SimState>,
    task: tokio::task::JoinHandle<()>,
    state_file: Option<PathBuf>,
}

impl Simulator {
    /// Starts a simulator of `world` on 127.0.0.1, on a port of the system's choosing.
    pub async fn start(world: World) -> std::io::Result<Simulator> {
        let state = Arc::new(SimState::new(world));
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = Url::parse(&format!("http://{}", listener.local_addr()?))
            .expect("a socket address makes a URL");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Simulator {
            base,
            state,
            task,
            state_file: None,
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

    /// Writes the simulated world back to its state file, so the next `--sandbox` run sees
    /// the consents this one made.
    pub fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let world = self
            .state
            .world
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
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

/// Loads the world saved in `dir`, or seeds a new one (also when `seed` asks for another size).
fn load_world(dir: &Path, seed: Option<u32>) -> World {
    let saved = files::read_optional(&dir.join("simulator.json"))
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str::<World>(&t).ok());
    match saved {
        Some(w) if seed.is_none() || w.seed == seed => w,
        _ => World::seeded(seed),
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
    let world = load_world(&dir, seed);
    let mut sim = Simulator::start(world)
        .await
        .map_err(|source| CliError::Io {
            action: "start the sandbox simulator",
            source,
        })?;
    sim.state_file = Some(dir.join("simulator.json"));
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
    settings.store_choice = Some(StoreKind::File);
    settings.env_sign_in = EnvSignIn::default();
    settings.cloud = crate::cloud::Cloud::Public;
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
