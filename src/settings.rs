//! Resolves the raw command line, the environment snapshot and config.toml into one validated
//! `Settings`, once, at the start of a run. Invalid input stops here (exit 2). Nothing after
//! this point looks at flags or environment variables.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::cloud::{self, Cloud, EndpointError, Endpoints};
use crate::config::{ConfigError, ConfigFile, ProfileConfig};
use crate::environment::Environment;
use crate::http::HttpOptions;
use crate::ids;
use crate::secrets::StoreKind;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid profile name {0:?}: use 1-64 letters, digits, '.', '_' or '-'")]
    InvalidProfile(String),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("CSP_TOKEN_STORE must be `keyring` or `file`, not {0:?}")]
    InvalidTokenStore(String),
    #[error("{name} is not a valid application (client) id: {value:?}")]
    InvalidClientId { name: &'static str, value: String },
    #[error("cannot find a home directory for the default config dir")]
    NoConfigDir,
    #[error("{name} must be a number of seconds from 1 to 600, not {value:?}")]
    InvalidTimeout { name: &'static str, value: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The sign-in handed over in environment variables (CI).
#[derive(Debug, Clone, Default)]
pub struct EnvSignIn {
    pub client_id: Option<String>,
    pub tenant: Option<String>,
    pub client_secret: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
}

/// Everything a run needs to know about its surroundings, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: String,
    pub output: OutputFormat,
    pub cloud: Cloud,
    /// Base URLs. Public so code (the sandbox, tests) can point them elsewhere.
    pub endpoints: Endpoints,
    pub config_dir: PathBuf,
    pub mappings_path: PathBuf,
    pub verbose: u8,
    pub quiet: bool,
    /// A tracing filter from `CSP_LOG`, overriding -v/-q.
    pub log_filter: Option<String>,
    pub no_color: bool,
    /// `CSP_TOKEN_STORE`, when set.
    pub store_choice: Option<StoreKind>,
    pub env_sign_in: EnvSignIn,
    /// Timeouts and limits of API calls (`CSP_HTTP_TIMEOUT`, `CSP_CONNECT_TIMEOUT`).
    pub http: HttpOptions,
    /// config.toml as read at start-up.
    pub config: ConfigFile,
    /// Why config.toml could not be read, when settings were resolved leniently (`doctor`).
    pub config_problem: Option<String>,
    /// Run against the built-in simulator (`--sandbox`), seeded to this size when given.
    pub sandbox: bool,
    pub sandbox_seed: Option<u32>,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs, env: &Environment) -> Result<Settings, SettingsError> {
        Self::resolve_with(args, env, false)
    }

    /// As `resolve`, but a config.toml that cannot be read is recorded in `config_problem`
    /// (and treated as empty) instead of stopping: `csp doctor` reports it as a failed check.
    pub fn resolve_lenient(
        args: &GlobalArgs,
        env: &Environment,
    ) -> Result<Settings, SettingsError> {
        Self::resolve_with(args, env, true)
    }

    fn resolve_with(
        args: &GlobalArgs,
        env: &Environment,
        lenient: bool,
    ) -> Result<Settings, SettingsError> {
        let profile = args.profile.clone().unwrap_or_else(|| "default".into());
        if !valid_profile(&profile) {
            return Err(SettingsError::InvalidProfile(profile));
        }
        let config_dir = match &args.config_dir {
            Some(d) => d.clone(),
            None => default_config_dir(env).ok_or(SettingsError::NoConfigDir)?,
        };
        let (config, config_problem) = match ConfigFile::load(&config_dir.join("config.toml")) {
            Ok(c) => (c, None),
            Err(e) if lenient => (ConfigFile::default(), Some(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let remembered = config.profile(&profile).cloned().unwrap_or_default();
        let cloud = args.cloud.or(remembered.cloud).unwrap_or_default();
        let endpoints = endpoints_for(cloud, env)?;
        let store_choice = match env.get("CSP_TOKEN_STORE") {
            None => None,
            Some(v) => Some(
                StoreKind::parse_user_choice(v)
                    .ok_or_else(|| SettingsError::InvalidTokenStore(v.to_string()))?,
            ),
        };
        let env_sign_in = EnvSignIn {
            client_id: match env.get("CSP_CLIENT_ID") {
                None => None,
                Some(v) => {
                    Some(
                        ids::parse_guid(v).ok_or_else(|| SettingsError::InvalidClientId {
                            name: "CSP_CLIENT_ID",
                            value: v.to_string(),
                        })?,
                    )
                }
            },
            tenant: env.get("CSP_TENANT").map(|t| t.trim().to_string()),
            client_secret: env
                .get("CSP_CLIENT_SECRET")
                .map(|s| SecretString::from(s.to_string())),
            refresh_token: env
                .get("CSP_REFRESH_TOKEN")
                .map(|s| SecretString::from(s.trim().to_string())),
        };
        let mappings_path = args
            .mappings
            .clone()
            .unwrap_or_else(|| config_dir.join("mappings.json"));
        Ok(Settings {
            profile,
            output: args.output.unwrap_or_default(),
            cloud,
            endpoints,
            config_dir,
            mappings_path,
            verbose: args.verbose,
            quiet: args.quiet,
            log_filter: env.get("CSP_LOG").map(str::to_string),
            no_color: args.no_color || env.get("NO_COLOR").is_some(),
            store_choice,
            env_sign_in,
            http: http_options(env)?,
            config,
            config_problem,
            sandbox: args.sandbox,
            sandbox_seed: args.sandbox_seed,
        })
    }

    /// Points every endpoint somewhere else (the sandbox simulator, tests).
    pub fn with_endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    pub fn config_path(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.config_dir.join("credentials.json")
    }

    /// The profile's remembered settings (empty when it has none yet).
    pub fn profile_config(&self) -> ProfileConfig {
        self.config
            .profile(&self.profile)
            .cloned()
            .unwrap_or_default()
    }
}

fn http_options(env: &Environment) -> Result<HttpOptions, SettingsError> {
    let secs = |name: &'static str| -> Result<Option<Duration>, SettingsError> {
        match env.get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=600).contains(&n) => Ok(Some(Duration::from_secs(n))),
                _ => Err(SettingsError::InvalidTimeout {
                    name,
                    value: v.to_string(),
                }),
            },
        }
    };
    let mut o = HttpOptions::default();
    if let Some(d) = secs("CSP_HTTP_TIMEOUT")? {
        o.request_timeout = d;
    }
    if let Some(d) = secs("CSP_CONNECT_TIMEOUT")? {
        o.connect_timeout = d;
    }
    Ok(o)
}

fn valid_profile(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `%APPDATA%\csp` on Windows; `$XDG_CONFIG_HOME/csp`, else `~/.config/csp`, elsewhere (macOS
/// included, as gh and git do).
fn default_config_dir(env: &Environment) -> Option<PathBuf> {
    if cfg!(windows) {
        return env.get("APPDATA").map(|a| PathBuf::from(a).join("csp"));
    }
    if let Some(x) = env.get("XDG_CONFIG_HOME").map(PathBuf::from)
        && x.is_absolute()
    {
        return Some(x.join("csp"));
    }
    env.get("HOME")
        .map(|h| PathBuf::from(h).join(".config").join("csp"))
}

fn endpoints_for(cloud: Cloud, env: &Environment) -> Result<Endpoints, EndpointError> {
    let mut e = cloud.endpoints();
    if let Some(v) = env.get("CSP_AUTHORITY_HOST") {
        e.authority = cloud::parse_endpoint("CSP_AUTHORITY_HOST", v)?;
    }
    if let Some(v) = env.get("CSP_PARTNER_CENTER_URL") {
        e.partner_center = cloud::parse_endpoint("CSP_PARTNER_CENTER_URL", v)?;
    }
    if let Some(v) = env.get("CSP_GRAPH_URL") {
        e.graph = cloud::parse_endpoint("CSP_GRAPH_URL", v)?;
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: GlobalArgs, pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let mut args = args;
        if args.config_dir.is_none() {
            args.config_dir = Some(dir.path().to_path_buf());
        }
        Settings::resolve(&args, &Environment::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults() {
        let s = resolve(GlobalArgs::default(), &[]).unwrap();
        assert_eq!(s.profile, "default");
        assert_eq!(s.cloud, Cloud::Public);
        assert_eq!(
            s.endpoints.authority.as_str(),
            "https://login.microsoftonline.com/"
        );
        assert!(s.mappings_path.ends_with("mappings.json"));
        assert!(s.store_choice.is_none());
    }

    #[test]
    fn default_config_dir_follows_xdg_then_home() {
        if cfg!(windows) {
            return;
        }
        let env = Environment::from_pairs([("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(default_config_dir(&env), Some(PathBuf::from("/x/csp")));
        let env = Environment::from_pairs([("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")]);
        assert_eq!(
            default_config_dir(&env),
            Some(PathBuf::from("/h/.config/csp"))
        );
    }

    #[test]
    fn endpoint_overrides_follow_the_loopback_rule() {
        let s = resolve(
            GlobalArgs::default(),
            &[("CSP_GRAPH_URL", "http://127.0.0.1:9/")],
        )
        .unwrap();
        assert_eq!(s.endpoints.graph.as_str(), "http://127.0.0.1:9/");
        assert!(matches!(
            resolve(
                GlobalArgs::default(),
                &[("CSP_PARTNER_CENTER_URL", "http://pc.example.com")]
            ),
            Err(SettingsError::Endpoint(EndpointError::Insecure { .. }))
        ));
        assert!(matches!(
            resolve(GlobalArgs::default(), &[("CSP_AUTHORITY_HOST", "::nope")]),
            Err(SettingsError::Endpoint(EndpointError::Malformed { .. }))
        ));
    }

    #[test]
    fn the_cloud_picks_its_endpoint_set() {
        let args = GlobalArgs {
            cloud: Some(Cloud::China),
            ..Default::default()
        };
        let s = resolve(args, &[]).unwrap();
        assert_eq!(
            s.endpoints.graph.as_str(),
            "https://microsoftgraph.chinacloudapi.cn/"
        );
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let args = GlobalArgs {
            profile: Some("no spaces".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve(args, &[]),
            Err(SettingsError::InvalidProfile(_))
        ));
        assert!(matches!(
            resolve(GlobalArgs::default(), &[("CSP_TOKEN_STORE", "plaintext")]),
            Err(SettingsError::InvalidTokenStore(_))
        ));
        assert!(matches!(
            resolve(GlobalArgs::default(), &[("CSP_CLIENT_ID", "abc")]),
            Err(SettingsError::InvalidClientId { .. })
        ));
        assert!(matches!(
            resolve(GlobalArgs::default(), &[("CSP_HTTP_TIMEOUT", "0")]),
            Err(SettingsError::InvalidTimeout { .. })
        ));
        let s = resolve(GlobalArgs::default(), &[("CSP_HTTP_TIMEOUT", "90")]).unwrap();
        assert_eq!(s.http.request_timeout, Duration::from_secs(90));
    }

    #[test]
    fn no_color_honours_the_convention() {
        let s = resolve(GlobalArgs::default(), &[("NO_COLOR", "1")]).unwrap();
        assert!(s.no_color);
    }
}
