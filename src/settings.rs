//! Resolves the raw command line, the environment snapshot and config.toml into one validated
//! `Settings`, once, at the start of a run. Invalid input stops here (exit 2). Nothing after
//! this point looks at flags or environment variables.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::auth::AuthError;
use crate::cli::{GlobalArgs, OutputFormat};
use crate::cloud::{self, Cloud, EndpointError, Endpoints};
use crate::config::{ConfigError, ConfigFile, ProfileConfig};
use crate::environment::Environment;
use crate::http::HttpOptions;
use crate::ids::{self, TenantRef};
use crate::secrets::StoreKind;
use crate::secrets::azure::{self, AzureEnv, CredentialKind};
use crate::secrets::vault::{self, VaultTarget};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid profile name {0:?}: use 1-64 letters, digits, '.', '_' or '-'")]
    InvalidProfile(String),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{name} must be {}, not {value:?}", StoreKind::user_choices_text())]
    InvalidTokenStore { name: &'static str, value: String },
    #[error(
        "{name} must be a Key Vault secret name (1-127 letters, digits and '-'), not {value:?}"
    )]
    InvalidSecretName { name: &'static str, value: String },
    #[error(
        "CSP_KEY_VAULT_CREDENTIAL must be {}, not {value:?}",
        CredentialKind::choices_text()
    )]
    InvalidCredential { value: String },
    #[error("{name} is not a valid application (client) id: {value:?}")]
    InvalidClientId { name: &'static str, value: String },
    #[error(
        "{name} must be a tenant id, one of its domains, `organizations` or `common`: {value:?}"
    )]
    InvalidTenant { name: &'static str, value: String },
    #[error("cannot find a home directory for the default config dir")]
    NoConfigDir,
    #[error("{name} must be a number of seconds from 1 to 600, not {value:?}")]
    InvalidTimeout { name: &'static str, value: String },
    #[error("{name} must be {expected}, not {value:?}")]
    InvalidEnvValue {
        name: &'static str,
        value: String,
        expected: String,
    },
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
    /// Colour is allowed: not --no-color, not NO_COLOR, not TERM=dumb (terminals decide the
    /// rest per stream).
    pub color: bool,
    /// `CSP_TOKEN_STORE`, when set.
    pub store_choice: Option<StoreKind>,
    pub env_sign_in: EnvSignIn,
    /// The Azure Key Vault store's settings (`CSP_KEY_VAULT_*`, then the profile).
    pub key_vault: KeyVaultSettings,
    /// What Azure's credentials may read, from the environment snapshot.
    pub azure: AzureEnv,
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
        let args = &with_environment(args, env)?;
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
            Some(v) => Some(parse_store("CSP_TOKEN_STORE", v)?),
        };
        let azure = azure_env(env);
        let key_vault = key_vault_settings(&profile, cloud, env, &remembered, &azure)?;
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
            tenant: match env.get("CSP_TENANT") {
                None => None,
                Some(v) => Some(parse_tenant("CSP_TENANT", v)?),
            },
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
            color: color_allowed(args.no_color, env),
            store_choice,
            env_sign_in,
            key_vault,
            azure,
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

    /// How to invoke csp again in this mode: `csp`, with `--sandbox` and `--profile NAME`
    /// when this run used them (hints, "Next:" lines, error hints).
    pub fn invocation(&self) -> String {
        let mut s = String::from("csp");
        if self.sandbox {
            s.push_str(" --sandbox");
        }
        if self.profile != "default" {
            s.push_str(&format!(" --profile {}", self.profile));
        }
        s
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

/// `keyring`, `file` or `azure-key-vault`, as a user names a store.
pub fn parse_store(name: &'static str, value: &str) -> Result<StoreKind, SettingsError> {
    StoreKind::parse_user_choice(value).ok_or_else(|| SettingsError::InvalidTokenStore {
        name,
        value: value.to_string(),
    })
}

/// Where the Azure Key Vault store keeps the sign-in and how it reaches the vault, each with
/// one precedence: the environment, then the profile in config.toml, then the default.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyVaultSettings {
    /// `CSP_KEY_VAULT_URL`, `key_vault_url`; none by default.
    pub url: Option<Sourced<Url>>,
    /// `CSP_KEY_VAULT_SECRET`, `key_vault_secret`, `csp-<profile>`.
    pub secret: Sourced<String>,
    /// `CSP_KEY_VAULT_CREDENTIAL`, else what the environment holds (never remembered: a
    /// workstation and a CI job reach the same vault differently).
    pub credential: Sourced<CredentialKind>,
    /// Why that credential, in words (`AZURE_FEDERATED_TOKEN_FILE`, `az on PATH`, …).
    pub credential_reason: &'static str,
    /// The resource scope of vault tokens in the cloud (`https://vault.azure.net/.default`).
    pub scope: String,
    /// The cloud's vault suffix, for messages.
    pub suffix: &'static str,
}

impl KeyVaultSettings {
    /// The vault and secret, when a vault is set.
    pub fn target(&self) -> Option<VaultTarget> {
        Some(VaultTarget {
            url: self.url.as_ref()?.value.clone(),
            secret: self.secret.value.clone(),
            scope: self.scope.clone(),
        })
    }

    /// The profile entries that let the next run find the vault without
    /// `CSP_KEY_VAULT_URL`: non-secret facts, written by every command that stores into it.
    pub fn profile_entries(&self) -> Vec<(&'static str, String)> {
        self.target()
            .map(|t| {
                vec![
                    (
                        "key_vault_url",
                        t.url.as_str().trim_end_matches('/').to_string(),
                    ),
                    ("key_vault_secret", t.secret),
                ]
            })
            .unwrap_or_default()
    }
}

/// A vault URL, or a bare vault name (`contoso-csp` → `https://contoso-csp.vault.azure.net`).
fn parse_vault_url(name: &'static str, value: &str, cloud: Cloud) -> Result<Url, EndpointError> {
    let value = value.trim();
    let bare = (3..=24).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if bare {
        return cloud::parse_endpoint(
            name,
            &format!("https://{value}.{}", cloud.key_vault_suffix()),
        );
    }
    cloud::parse_endpoint(name, value)
}

fn key_vault_settings(
    profile_name: &str,
    cloud: Cloud,
    env: &Environment,
    profile: &ProfileConfig,
    azure: &AzureEnv,
) -> Result<KeyVaultSettings, SettingsError> {
    let url = match (env.get("CSP_KEY_VAULT_URL"), &profile.key_vault_url) {
        (Some(v), _) => Some(Sourced::new(
            parse_vault_url("CSP_KEY_VAULT_URL", v, cloud)?,
            Origin::Environment("CSP_KEY_VAULT_URL"),
        )),
        (None, Some(v)) => Some(Sourced::new(
            parse_vault_url("key_vault_url", v, cloud)?,
            Origin::Profile("key_vault_url"),
        )),
        (None, None) => None,
    };
    let secret_name = |name: &'static str, v: &str| {
        let v = v.trim();
        if vault::valid_secret_name(v) {
            Ok(v.to_string())
        } else {
            Err(SettingsError::InvalidSecretName {
                name,
                value: v.to_string(),
            })
        }
    };
    let secret = match (env.get("CSP_KEY_VAULT_SECRET"), &profile.key_vault_secret) {
        (Some(v), _) => Sourced::new(
            secret_name("CSP_KEY_VAULT_SECRET", v)?,
            Origin::Environment("CSP_KEY_VAULT_SECRET"),
        ),
        (None, Some(v)) => Sourced::new(
            secret_name("key_vault_secret", v)?,
            Origin::Profile("key_vault_secret"),
        ),
        (None, None) => Sourced::new(vault::default_secret_name(profile_name), Origin::Default),
    };
    let (credential, credential_reason) = match env.get("CSP_KEY_VAULT_CREDENTIAL") {
        Some(v) => (
            Sourced::new(
                CredentialKind::parse(v).ok_or_else(|| SettingsError::InvalidCredential {
                    value: v.to_string(),
                })?,
                Origin::Environment("CSP_KEY_VAULT_CREDENTIAL"),
            ),
            "CSP_KEY_VAULT_CREDENTIAL",
        ),
        None => {
            let (kind, why) = azure.choose();
            let origin = if why.starts_with(|c: char| c.is_ascii_uppercase()) {
                Origin::Environment(why)
            } else {
                Origin::Default
            };
            (Sourced::new(kind, origin), why)
        }
    };
    Ok(KeyVaultSettings {
        url,
        secret,
        credential,
        credential_reason,
        scope: cloud.key_vault_scope(),
        suffix: cloud.key_vault_suffix(),
    })
}

/// The variables Azure's credentials read, from the snapshot. `CSP_*` variables (which hold the
/// partner's secrets) are not handed to the Azure CLI.
fn azure_env(env: &Environment) -> AzureEnv {
    let authority = env
        .get("AZURE_AUTHORITY_HOST")
        .map(|v| cloud::parse_endpoint("AZURE_AUTHORITY_HOST", v));
    AzureEnv {
        client_id: env.get("AZURE_CLIENT_ID").map(str::to_string),
        tenant_id: env.get("AZURE_TENANT_ID").map(str::to_string),
        client_secret: env
            .get("AZURE_CLIENT_SECRET")
            .map(|s| SecretString::from(s.to_string())),
        federated_token_file: env.get("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
        authority_problem: authority
            .as_ref()
            .and_then(|r| r.as_ref().err())
            .map(ToString::to_string),
        authority_host: authority.and_then(Result::ok),
        managed_identity_endpoint: ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"]
            .into_iter()
            .find(|v| env.get(v).is_some()),
        az_on_path: env.get("PATH").and_then(|p| azure::find_on_path(p, "az")),
        child_env: env
            .iter()
            .filter(|(k, _)| !k.starts_with("CSP_"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Where a sign-in setting came from: said in messages, so a user knows which to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Environment(&'static str),
    /// A key of the profile in config.toml.
    Profile(&'static str),
    /// What the token store holds.
    Store,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Environment(var) => write!(f, "{var}"),
            Origin::Profile(key) => write!(f, "the profile's {key} in config.toml"),
            Origin::Store => f.write_str("the token store"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// A setting and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Sourced<T> {
    fn new(value: T, origin: Origin) -> Self {
        Sourced { value, origin }
    }
}

/// The sign-in flags of the command being run (`authorize`, `setup`); empty for the others.
#[derive(Debug, Clone, Default)]
pub struct SignInFlags {
    /// `--client-id`, as typed.
    pub client_id: Option<String>,
    /// `--tenant`, as typed.
    pub tenant: Option<String>,
    /// `--client-secret-stdin`, once read.
    pub client_secret: Option<SecretString>,
    /// A store a flag names, and the flag: `--insecure-storage` is the file store.
    pub store: Option<(StoreKind, &'static str)>,
}

/// The partner sign-in settings of a run, resolved in one place with one precedence for every
/// setting: the command's flag, then the environment, then the profile in config.toml, then
/// what the token store holds (the client secret), then the default.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub profile: String,
    /// The partner's app registration: `--client-id`, `CSP_CLIENT_ID`, `client_id`.
    pub client_id: Option<Sourced<String>>,
    /// The partner tenant: `--tenant`, `CSP_TENANT`, `tenant_id`, `tenant`, `organizations`.
    pub tenant: Sourced<String>,
    /// The app's secret from `--client-secret-stdin` or `CSP_CLIENT_SECRET`; the store's comes
    /// last (`client_secret_or`).
    pub client_secret: Option<Sourced<SecretString>>,
    /// Where the sign-in lives: a flag (`--insecure-storage`), then the environment
    /// (`CSP_REFRESH_TOKEN`, then `CSP_TOKEN_STORE`), then `token_store`, then the OS keyring.
    pub store: Sourced<StoreKind>,
    /// The app the stored sign-in was issued to, as the profile recorded it.
    pub signed_in_with: Option<String>,
    /// config.toml records that the profile keeps something in its token store.
    pub recorded: bool,
    /// Where the Azure Key Vault store keeps the sign-in (used when `store` is that store).
    pub key_vault: KeyVaultSettings,
}

impl SignIn {
    /// The client secret: a flag's or the environment's, else the one stored with the sign-in.
    pub fn client_secret_or(&self, stored: Option<&SecretString>) -> Option<Sourced<SecretString>> {
        self.client_secret
            .clone()
            .or_else(|| stored.map(|s| Sourced::new(s.clone(), Origin::Store)))
    }

    /// True when there is nothing to read: the store is the OS keyring and the profile never
    /// kept anything there. A machine without a usable keyring is then not asked at all.
    pub fn nothing_stored(&self) -> bool {
        self.store.value == StoreKind::Keyring && !self.recorded
    }

    /// The stored sign-in belongs to another app than the one csp would redeem it with (after
    /// `csp setup` chose another app, or with a `CSP_CLIENT_ID` naming another one): Entra
    /// would refuse it, so say what happened instead.
    pub fn mismatch(&self) -> Option<AuthError> {
        if self.store.value == StoreKind::Environment {
            return None;
        }
        let (signed, current) = (self.signed_in_with.as_deref()?, self.client_id.as_ref()?);
        (!signed.eq_ignore_ascii_case(&current.value)).then(|| AuthError::ClientMismatch {
            profile: self.profile.clone(),
            signed_in_with: signed.to_string(),
            client_id: current.value.clone(),
            origin: current.origin.to_string(),
        })
    }
}

impl Settings {
    /// The sign-in settings for a command with these flags (see `SignIn`).
    pub fn sign_in(&self, flags: &SignInFlags) -> Result<SignIn, SettingsError> {
        let profile = self.profile_config();
        let env = &self.env_sign_in;
        let client_id = match &flags.client_id {
            Some(raw) => Some(Sourced::new(
                ids::parse_guid(raw).ok_or_else(|| SettingsError::InvalidClientId {
                    name: "--client-id",
                    value: raw.clone(),
                })?,
                Origin::Flag("--client-id"),
            )),
            None => env
                .client_id
                .clone()
                .map(|c| Sourced::new(c, Origin::Environment("CSP_CLIENT_ID")))
                .or_else(|| {
                    profile
                        .client_id
                        .clone()
                        .map(|c| Sourced::new(c, Origin::Profile("client_id")))
                }),
        };
        let tenant = match &flags.tenant {
            Some(raw) => Sourced::new(parse_tenant("--tenant", raw)?, Origin::Flag("--tenant")),
            None => env
                .tenant
                .clone()
                .map(|t| Sourced::new(t, Origin::Environment("CSP_TENANT")))
                .or_else(|| {
                    profile
                        .tenant_id
                        .clone()
                        .map(|t| Sourced::new(t, Origin::Profile("tenant_id")))
                })
                .or_else(|| {
                    profile
                        .tenant
                        .clone()
                        .map(|t| Sourced::new(t, Origin::Profile("tenant")))
                })
                .unwrap_or_else(|| Sourced::new("organizations".into(), Origin::Default)),
        };
        let client_secret = flags
            .client_secret
            .clone()
            .map(|s| Sourced::new(s, Origin::Flag("--client-secret-stdin")))
            .or_else(|| {
                env.client_secret
                    .clone()
                    .map(|s| Sourced::new(s, Origin::Environment("CSP_CLIENT_SECRET")))
            });
        let store = match flags.store {
            Some((kind, flag)) => Sourced::new(kind, Origin::Flag(flag)),
            None if env.refresh_token.is_some() => Sourced::new(
                StoreKind::Environment,
                Origin::Environment("CSP_REFRESH_TOKEN"),
            ),
            None => match (self.store_choice, profile.token_store) {
                (Some(kind), _) => Sourced::new(kind, Origin::Environment("CSP_TOKEN_STORE")),
                (None, Some(kind)) => Sourced::new(kind, Origin::Profile("token_store")),
                (None, None) => Sourced::new(StoreKind::Keyring, Origin::Default),
            },
        };
        // Profiles written before csp recorded the sign-in's app: the sign-in used client_id.
        let signed_in_with = profile
            .sign_in_client_id
            .clone()
            .or_else(|| profile.user.as_ref().and(profile.client_id.clone()));
        Ok(SignIn {
            profile: self.profile.clone(),
            client_id,
            tenant,
            client_secret,
            store,
            signed_in_with,
            recorded: profile.token_store.is_some(),
            key_vault: self.key_vault.clone(),
        })
    }
}

/// `organizations`, `common`, a tenant id or one of its domains.
fn parse_tenant(name: &'static str, raw: &str) -> Result<String, SettingsError> {
    let lower = raw.trim().to_ascii_lowercase();
    if lower == "organizations" || lower == "common" {
        return Ok(lower);
    }
    TenantRef::parse(raw)
        .map(|r| r.as_str().to_string())
        .ok_or_else(|| SettingsError::InvalidTenant {
            name,
            value: raw.to_string(),
        })
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
/// Whether colour is allowed at all: not `--no-color`, not `NO_COLOR`, not `TERM=dumb`.
/// Terminals decide the rest per stream. clap's help and errors follow the same answer.
pub fn color_allowed(no_color_flag: bool, env: &Environment) -> bool {
    !(no_color_flag || env.get("NO_COLOR").is_some() || env.get("TERM") == Some("dumb"))
}

/// The global options with what the environment sets filled in where no flag was given:
/// a flag beats its variable. (clap does not read these variables, so that a value from the
/// environment never appears in a usage line as if it had been typed.)
fn with_environment(args: &GlobalArgs, env: &Environment) -> Result<GlobalArgs, SettingsError> {
    let mut args = args.clone();
    if args.profile.is_none() {
        args.profile = env.get("CSP_PROFILE").map(str::to_string);
    }
    if args.output.is_none() {
        args.output = env_choice::<OutputFormat>(env, "CSP_OUTPUT")?;
    }
    if args.cloud.is_none() {
        args.cloud = env_choice::<Cloud>(env, "CSP_CLOUD")?;
    }
    if args.config_dir.is_none() {
        args.config_dir = env.get("CSP_CONFIG_DIR").map(PathBuf::from);
    }
    if args.mappings.is_none() {
        args.mappings = env.get("CSP_MAPPINGS").map(PathBuf::from);
    }
    if !args.sandbox {
        args.sandbox = match env.get("CSP_SANDBOX") {
            None => false,
            Some(v) => parse_switch("CSP_SANDBOX", v)?,
        };
    }
    if args.sandbox_seed.is_none()
        && let Some(v) = env.get("CSP_SANDBOX_SEED")
    {
        let range = crate::cli::SANDBOX_SEED_RANGE;
        let seed = v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(&i64::from(*n)));
        args.sandbox_seed = Some(seed.ok_or_else(|| SettingsError::InvalidEnvValue {
            name: "CSP_SANDBOX_SEED",
            value: v.to_string(),
            expected: format!("a number from {} to {}", range.start(), range.end()),
        })?);
    }
    Ok(args)
}

/// One of a value enum's names, as its flag takes them.
fn env_choice<T: clap::ValueEnum>(
    env: &Environment,
    name: &'static str,
) -> Result<Option<T>, SettingsError> {
    let Some(v) = env.get(name) else {
        return Ok(None);
    };
    T::from_str(v.trim(), true)
        .map(Some)
        .map_err(|_| SettingsError::InvalidEnvValue {
            name,
            value: v.to_string(),
            expected: T::value_variants()
                .iter()
                .filter_map(|c| c.to_possible_value())
                .map(|p| p.get_name().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// An on/off variable: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`.
fn parse_switch(name: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(SettingsError::InvalidEnvValue {
            name,
            value: value.to_string(),
            expected: "1 or 0 (true/false, yes/no, on/off)".into(),
        }),
    }
}

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
    fn a_flag_beats_its_variable_and_the_variable_fills_in_for_no_flag() {
        let env = [
            ("CSP_OUTPUT", "json"),
            ("CSP_PROFILE", "fabrikam"),
            ("CSP_CLOUD", "usgov"),
            ("CSP_SANDBOX", "yes"),
            ("CSP_SANDBOX_SEED", "40"),
        ];
        let s = resolve(GlobalArgs::default(), &env).unwrap();
        assert_eq!(s.output, OutputFormat::Json);
        assert_eq!(s.profile, "fabrikam");
        assert_eq!(s.cloud, Cloud::Usgov);
        assert!(s.sandbox);
        assert_eq!(s.sandbox_seed, Some(40));

        let flags = GlobalArgs {
            output: Some(OutputFormat::Csv),
            profile: Some("contoso".into()),
            cloud: Some(Cloud::Public),
            sandbox_seed: Some(3),
            ..GlobalArgs::default()
        };
        let s = resolve(flags, &env).unwrap();
        assert_eq!(s.output, OutputFormat::Csv);
        assert_eq!(s.profile, "contoso");
        assert_eq!(s.cloud, Cloud::Public);
        assert_eq!(s.sandbox_seed, Some(3));

        let off = resolve(GlobalArgs::default(), &[("CSP_SANDBOX", "off")]).unwrap();
        assert!(!off.sandbox);
        // A flag given makes a bad variable irrelevant.
        let flags = GlobalArgs {
            output: Some(OutputFormat::Table),
            ..GlobalArgs::default()
        };
        assert!(resolve(flags, &[("CSP_OUTPUT", "xml")]).is_ok());
        for (name, value) in [
            ("CSP_OUTPUT", "xml"),
            ("CSP_CLOUD", "mars"),
            ("CSP_SANDBOX", "maybe"),
            ("CSP_SANDBOX_SEED", "100001"),
            ("CSP_SANDBOX_SEED", "many"),
        ] {
            match resolve(GlobalArgs::default(), &[(name, value)]) {
                Err(SettingsError::InvalidEnvValue { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn colour_is_off_with_the_flag_no_color_or_a_dumb_terminal() {
        let none = Environment::default();
        assert!(color_allowed(false, &none));
        assert!(!color_allowed(true, &none));
        assert!(!color_allowed(
            false,
            &Environment::from_pairs([("NO_COLOR", "1")])
        ));
        assert!(!color_allowed(
            false,
            &Environment::from_pairs([("TERM", "dumb")])
        ));
        assert!(color_allowed(
            false,
            &Environment::from_pairs([("TERM", "xterm")])
        ));
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
            Err(SettingsError::InvalidTokenStore { .. })
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

    /// One row of the precedence table: what is set where, and what wins.
    struct Row {
        flag: Option<&'static str>,
        env: Option<&'static str>,
        profile: Option<&'static str>,
        want: &'static str,
        from: Origin,
    }

    const FLAG_APP: &str = "11111111-0000-0000-0000-000000000001";
    const ENV_APP: &str = "22222222-0000-0000-0000-000000000002";
    const PROFILE_APP: &str = "33333333-0000-0000-0000-000000000003";

    /// Settings with `toml` as config.toml and `pairs` as the environment.
    fn with_config(toml: &str, pairs: &[(&str, &str)]) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), toml).unwrap();
        let args = GlobalArgs {
            config_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        Settings::resolve(&args, &Environment::from_pairs(pairs.iter().copied())).unwrap()
    }

    #[test]
    fn the_client_id_comes_from_the_flag_then_the_environment_then_the_profile() {
        let rows = [
            Row {
                flag: Some(FLAG_APP),
                env: Some(ENV_APP),
                profile: Some(PROFILE_APP),
                want: FLAG_APP,
                from: Origin::Flag("--client-id"),
            },
            Row {
                flag: None,
                env: Some(ENV_APP),
                profile: Some(PROFILE_APP),
                want: ENV_APP,
                from: Origin::Environment("CSP_CLIENT_ID"),
            },
            Row {
                flag: None,
                env: None,
                profile: Some(PROFILE_APP),
                want: PROFILE_APP,
                from: Origin::Profile("client_id"),
            },
        ];
        for row in rows {
            let toml = row.profile.map_or(String::new(), |p| {
                format!("[profiles.default]\nclient_id = \"{p}\"\n")
            });
            let env: Vec<(&str, &str)> =
                row.env.map(|e| ("CSP_CLIENT_ID", e)).into_iter().collect();
            let s = with_config(&toml, &env);
            let flags = SignInFlags {
                client_id: row.flag.map(str::to_string),
                ..Default::default()
            };
            let got = s.sign_in(&flags).unwrap().client_id.unwrap();
            assert_eq!((got.value.as_str(), got.origin), (row.want, row.from));
        }
        let none = with_config("", &[])
            .sign_in(&SignInFlags::default())
            .unwrap();
        assert!(none.client_id.is_none());
        let bad = with_config("", &[]).sign_in(&SignInFlags {
            client_id: Some("abc".into()),
            ..Default::default()
        });
        assert!(matches!(
            bad,
            Err(SettingsError::InvalidClientId {
                name: "--client-id",
                ..
            })
        ));
    }

    #[test]
    fn the_tenant_comes_from_the_flag_then_the_environment_then_the_profile_then_organizations() {
        let profile = "[profiles.default]\ntenant = \"contoso.onmicrosoft.com\"\ntenant_id = \"44444444-0000-0000-0000-000000000004\"\n";
        let rows = [
            (
                Some("fabrikam.com"),
                Some("northwind.com"),
                profile,
                "fabrikam.com",
                Origin::Flag("--tenant"),
            ),
            (
                None,
                Some("northwind.com"),
                profile,
                "northwind.com",
                Origin::Environment("CSP_TENANT"),
            ),
            (
                None,
                None,
                profile,
                "44444444-0000-0000-0000-000000000004",
                Origin::Profile("tenant_id"),
            ),
            (
                None,
                None,
                "[profiles.default]\ntenant = \"Contoso.onmicrosoft.com\"\n",
                "Contoso.onmicrosoft.com",
                Origin::Profile("tenant"),
            ),
            (None, None, "", "organizations", Origin::Default),
        ];
        for (flag, env, toml, want, from) in rows {
            let env: Vec<(&str, &str)> = env.map(|e| ("CSP_TENANT", e)).into_iter().collect();
            let s = with_config(toml, &env);
            let flags = SignInFlags {
                tenant: flag.map(str::to_string),
                ..Default::default()
            };
            let got = s.sign_in(&flags).unwrap().tenant;
            assert_eq!(
                (got.value.as_str(), got.origin),
                (want, from),
                "{flag:?} {env:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let args = GlobalArgs {
            config_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let bad = Settings::resolve(
            &args,
            &Environment::from_pairs([("CSP_TENANT", "not a tenant")]),
        );
        assert!(matches!(
            bad,
            Err(SettingsError::InvalidTenant {
                name: "CSP_TENANT",
                ..
            })
        ));
    }

    #[test]
    fn the_client_secret_comes_from_the_flag_then_the_environment_then_the_store() {
        use secrecy::ExposeSecret;
        let stored = SecretString::from("from-store".to_string());
        let s = with_config("", &[("CSP_CLIENT_SECRET", "from-env")]);
        let flags = SignInFlags {
            client_secret: Some("from-flag".to_string().into()),
            ..Default::default()
        };
        let got = s
            .sign_in(&flags)
            .unwrap()
            .client_secret_or(Some(&stored))
            .unwrap();
        assert_eq!(
            (got.value.expose_secret(), got.origin),
            ("from-flag", Origin::Flag("--client-secret-stdin"))
        );
        let got = s
            .sign_in(&SignInFlags::default())
            .unwrap()
            .client_secret_or(Some(&stored))
            .unwrap();
        assert_eq!(
            (got.value.expose_secret(), got.origin),
            ("from-env", Origin::Environment("CSP_CLIENT_SECRET"))
        );
        let s = with_config("", &[]);
        let got = s
            .sign_in(&SignInFlags::default())
            .unwrap()
            .client_secret_or(Some(&stored))
            .unwrap();
        assert_eq!(
            (got.value.expose_secret(), got.origin),
            ("from-store", Origin::Store)
        );
        assert!(
            s.sign_in(&SignInFlags::default())
                .unwrap()
                .client_secret_or(None)
                .is_none()
        );
    }

    #[test]
    fn the_store_comes_from_the_flag_then_the_environment_then_the_profile_then_the_keyring() {
        let profile = "[profiles.default]\ntoken_store = \"keyring\"\n";
        let file_flag = Some((StoreKind::File, "--insecure-storage"));
        let vault_flag = Some((StoreKind::AzureKeyVault, "--token-store"));
        type StoreRow = (
            Option<(StoreKind, &'static str)>,
            &'static [(&'static str, &'static str)],
            &'static str,
            StoreKind,
            Origin,
        );
        let rows: [StoreRow; 9] = [
            (
                vault_flag,
                &[("CSP_TOKEN_STORE", "file")],
                profile,
                StoreKind::AzureKeyVault,
                Origin::Flag("--token-store"),
            ),
            (
                None,
                &[("CSP_TOKEN_STORE", "Azure-Key-Vault")],
                profile,
                StoreKind::AzureKeyVault,
                Origin::Environment("CSP_TOKEN_STORE"),
            ),
            (
                None,
                &[],
                "[profiles.default]\ntoken_store = \"azure-key-vault\"\n",
                StoreKind::AzureKeyVault,
                Origin::Profile("token_store"),
            ),
            (
                file_flag,
                &[("CSP_TOKEN_STORE", "keyring")],
                profile,
                StoreKind::File,
                Origin::Flag("--insecure-storage"),
            ),
            (
                None,
                &[("CSP_REFRESH_TOKEN", "rt"), ("CSP_TOKEN_STORE", "file")],
                profile,
                StoreKind::Environment,
                Origin::Environment("CSP_REFRESH_TOKEN"),
            ),
            (
                None,
                &[("CSP_TOKEN_STORE", "file")],
                profile,
                StoreKind::File,
                Origin::Environment("CSP_TOKEN_STORE"),
            ),
            (
                None,
                &[],
                profile,
                StoreKind::Keyring,
                Origin::Profile("token_store"),
            ),
            (
                None,
                &[],
                "[profiles.default]\ntoken_store = \"file\"\n",
                StoreKind::File,
                Origin::Profile("token_store"),
            ),
            (None, &[], "", StoreKind::Keyring, Origin::Default),
        ];
        for (flag, env, toml, want, from) in rows {
            let s = with_config(toml, env);
            let got = s
                .sign_in(&SignInFlags {
                    store: flag,
                    ..Default::default()
                })
                .unwrap()
                .store;
            assert_eq!(
                (got.value, got.origin),
                (want, from),
                "{flag:?} {env:?} {toml}"
            );
        }
    }

    #[test]
    fn a_keyring_the_profile_never_used_is_not_asked() {
        let fresh = with_config("", &[])
            .sign_in(&SignInFlags::default())
            .unwrap();
        assert!(fresh.nothing_stored());
        // Even when CSP_TOKEN_STORE names the keyring: nothing was ever stored there.
        let named = with_config("", &[("CSP_TOKEN_STORE", "keyring")])
            .sign_in(&SignInFlags::default())
            .unwrap();
        assert!(named.nothing_stored());
        let used = with_config("[profiles.default]\ntoken_store = \"keyring\"\n", &[])
            .sign_in(&SignInFlags::default())
            .unwrap();
        assert!(!used.nothing_stored());
        let file = with_config("", &[("CSP_TOKEN_STORE", "file")])
            .sign_in(&SignInFlags::default())
            .unwrap();
        assert!(!file.nothing_stored(), "a missing file answers for itself");
    }

    #[test]
    fn a_sign_in_issued_to_another_app_is_a_mismatch() {
        let toml = format!(
            "[profiles.default]\nclient_id = \"{PROFILE_APP}\"\nsign_in_client_id = \"{FLAG_APP}\"\ntoken_store = \"file\"\n"
        );
        let s = with_config(&toml, &[]);
        let e = s
            .sign_in(&SignInFlags::default())
            .unwrap()
            .mismatch()
            .unwrap();
        assert!(e.to_string().contains(&format!("issued to app {FLAG_APP}, but csp now uses app {PROFILE_APP} (the profile's client_id in config.toml)")), "{e}");
        // CSP_CLIENT_ID naming yet another app is one too, and says where it came from.
        let s = with_config(&toml, &[("CSP_CLIENT_ID", ENV_APP)]);
        assert!(
            s.sign_in(&SignInFlags::default())
                .unwrap()
                .mismatch()
                .unwrap()
                .to_string()
                .contains("(CSP_CLIENT_ID)")
        );
        // The same app, or a sign-in from the environment, is not.
        let same = format!(
            "[profiles.default]\nclient_id = \"{PROFILE_APP}\"\nsign_in_client_id = \"{PROFILE_APP}\"\n"
        );
        assert!(
            with_config(&same, &[])
                .sign_in(&SignInFlags::default())
                .unwrap()
                .mismatch()
                .is_none()
        );
        assert!(
            with_config(&toml, &[("CSP_REFRESH_TOKEN", "rt")])
                .sign_in(&SignInFlags::default())
                .unwrap()
                .mismatch()
                .is_none()
        );
        // A profile from before csp recorded it: the sign-in used client_id.
        let legacy = format!(
            "[profiles.default]\nclient_id = \"{PROFILE_APP}\"\nuser = \"u@contoso.com\"\n"
        );
        assert_eq!(
            with_config(&legacy, &[])
                .sign_in(&SignInFlags::default())
                .unwrap()
                .signed_in_with
                .as_deref(),
            Some(PROFILE_APP)
        );
    }

    #[test]
    fn the_vault_comes_from_the_environment_then_the_profile() {
        let profile = "[profiles.default]\nkey_vault_url = \"https://from-profile.vault.azure.net\"\nkey_vault_secret = \"csp-remembered\"\n";
        type VaultRow = (
            &'static [(&'static str, &'static str)],
            &'static str,
            Option<(&'static str, Origin)>,
            (&'static str, Origin),
        );
        let rows: [VaultRow; 5] = [
            (
                &[
                    ("CSP_KEY_VAULT_URL", "https://from-env.vault.azure.net"),
                    ("CSP_KEY_VAULT_SECRET", "csp-env"),
                ],
                profile,
                Some((
                    "https://from-env.vault.azure.net/",
                    Origin::Environment("CSP_KEY_VAULT_URL"),
                )),
                ("csp-env", Origin::Environment("CSP_KEY_VAULT_SECRET")),
            ),
            (
                &[],
                profile,
                Some((
                    "https://from-profile.vault.azure.net/",
                    Origin::Profile("key_vault_url"),
                )),
                ("csp-remembered", Origin::Profile("key_vault_secret")),
            ),
            (&[], "", None, ("csp-default", Origin::Default)),
            // A bare vault name takes the cloud's suffix.
            (
                &[("CSP_KEY_VAULT_URL", "contoso-csp")],
                "",
                Some((
                    "https://contoso-csp.vault.azure.net/",
                    Origin::Environment("CSP_KEY_VAULT_URL"),
                )),
                ("csp-default", Origin::Default),
            ),
            (
                &[("CSP_KEY_VAULT_URL", "contoso-csp")],
                "[profiles.default]\ncloud = \"usgov\"\n",
                Some((
                    "https://contoso-csp.vault.usgovcloudapi.net/",
                    Origin::Environment("CSP_KEY_VAULT_URL"),
                )),
                ("csp-default", Origin::Default),
            ),
        ];
        for (env, toml, url, secret) in rows {
            let kv = with_config(toml, env)
                .sign_in(&SignInFlags::default())
                .unwrap()
                .key_vault;
            assert_eq!(
                kv.url.map(|u| (u.value.to_string(), u.origin)),
                url.map(|(u, o)| (u.to_string(), o)),
                "{env:?} {toml}"
            );
            assert_eq!((kv.secret.value.as_str(), kv.secret.origin), secret);
        }
        // The scope names the cloud's vault resource, whatever the URL.
        let kv = with_config("[profiles.default]\ncloud = \"china\"\n", &[]).key_vault;
        assert_eq!(kv.scope, "https://vault.azure.cn/.default");
        // A profile's name becomes a valid secret name.
        let dir = tempfile::tempdir().unwrap();
        let args = GlobalArgs {
            config_dir: Some(dir.path().to_path_buf()),
            profile: Some("acme_prod.2".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &Environment::default()).unwrap();
        assert_eq!(s.key_vault.secret.value, "csp-acme-prod-2");
    }

    #[test]
    fn bad_vault_settings_are_usage_errors() {
        for (var, value) in [
            ("CSP_KEY_VAULT_URL", "http://vault.example.com"),
            ("CSP_KEY_VAULT_URL", "not a url"),
            ("CSP_KEY_VAULT_SECRET", "csp_default"),
            ("CSP_KEY_VAULT_SECRET", &"a".repeat(128)),
            ("CSP_KEY_VAULT_CREDENTIAL", "default"),
        ] {
            assert!(
                resolve(GlobalArgs::default(), &[(var, value)]).is_err(),
                "{var}={value}"
            );
        }
        let s = resolve(
            GlobalArgs::default(),
            &[("CSP_KEY_VAULT_URL", "http://127.0.0.1:8200")],
        )
        .unwrap();
        assert_eq!(
            s.key_vault.url.unwrap().value.as_str(),
            "http://127.0.0.1:8200/"
        );
        assert!(matches!(
            with_config_result("[profiles.default]\nkey_vault_secret = \"no_underscores\"\n"),
            Err(SettingsError::InvalidSecretName {
                name: "key_vault_secret",
                ..
            })
        ));
    }

    fn with_config_result(toml: &str) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), toml).unwrap();
        let args = GlobalArgs {
            config_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        Settings::resolve(&args, &Environment::default())
    }

    #[test]
    fn the_vault_credential_comes_from_the_variable_then_what_the_environment_holds() {
        type CredRow = (
            &'static [(&'static str, &'static str)],
            CredentialKind,
            Origin,
        );
        let rows: [CredRow; 5] = [
            (
                &[
                    ("CSP_KEY_VAULT_CREDENTIAL", "azure-cli"),
                    ("AZURE_CLIENT_SECRET", "s"),
                ],
                CredentialKind::AzureCli,
                Origin::Environment("CSP_KEY_VAULT_CREDENTIAL"),
            ),
            (
                &[
                    ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
                    ("AZURE_CLIENT_SECRET", "s"),
                ],
                CredentialKind::WorkloadIdentity,
                Origin::Environment("AZURE_FEDERATED_TOKEN_FILE"),
            ),
            (
                &[
                    ("AZURE_CLIENT_SECRET", "s"),
                    ("IDENTITY_ENDPOINT", "http://x"),
                ],
                CredentialKind::ClientSecret,
                Origin::Environment("AZURE_CLIENT_SECRET"),
            ),
            (
                &[("IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token")],
                CredentialKind::ManagedIdentity,
                Origin::Environment("IDENTITY_ENDPOINT"),
            ),
            (
                &[("PATH", "/nonexistent")],
                CredentialKind::ManagedIdentity,
                Origin::Default,
            ),
        ];
        for (env, kind, origin) in rows {
            let s = resolve(GlobalArgs::default(), env).unwrap();
            assert_eq!(
                (s.key_vault.credential.value, s.key_vault.credential.origin),
                (kind, origin),
                "{env:?}"
            );
        }
        // The Azure CLI's child environment is the snapshot without csp's own variables.
        let s = resolve(
            GlobalArgs::default(),
            &[("CSP_REFRESH_TOKEN", "rt"), ("HOME", "/home/ci")],
        )
        .unwrap();
        assert_eq!(
            s.azure.child_env,
            vec![("HOME".to_string(), "/home/ci".to_string())]
        );
    }

    #[test]
    fn no_color_honours_the_convention() {
        let s = resolve(GlobalArgs::default(), &[("NO_COLOR", "1")]).unwrap();
        assert!(s.no_color);
    }
}
