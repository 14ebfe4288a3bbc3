//! `Context`: the validated settings, the I/O streams and the lazily built services of one run
//! (gh's factory). Commands ask it for what they need; it alone decides which secret store
//! holds the sign-in and builds the token provider from it.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::auth::{AppCredentials, AuthError, TokenProvider};
use crate::error::CliError;
use crate::graph::Graph;
use crate::http::{self, ApiClient, RateLimits, Service};
use crate::io::IoStreams;
use crate::partner_center::PartnerCenter;
use crate::secrets::vault::{TagFacts, UnusableStore};
use crate::secrets::{
    AsyncSecretStore, EnvStore, FileStore, KeyVaultStore, KeyringStore, SecretStore,
    SecretStoreError, SecretVault, StoreKind, StoredSecrets, VaultError, azure,
};
use crate::settings::{Origin, Settings, SignIn, SignInFlags, Sourced};
use crate::tenant_lookup::TenantLookup;

/// The vault store as the token store sees it, and as status and doctor do (when it could be
/// built).
type VaultStores = (Arc<dyn AsyncSecretStore>, Option<Arc<KeyVaultStore>>);

/// Said once per run that redeems `CSP_REFRESH_TOKEN`.
pub const ENVIRONMENT_TOKEN_WARNING: &str = "the sign-in comes from CSP_REFRESH_TOKEN, which csp cannot renew: Entra rotates the refresh token on every use, but the variable keeps the first one, which stops working about 90 days after it was issued. For unattended runs that stay signed in, keep it in Azure Key Vault (CSP_TOKEN_STORE=azure-key-vault; see docs/ci.md)";

pub struct Context {
    pub settings: Settings,
    pub io: IoStreams,
    /// A store given by code (tests, embedding) replaces whichever the settings would pick.
    injected_store: Option<Arc<dyn SecretStore>>,
    /// The OS keyring, connected once per run.
    keyring: std::sync::OnceLock<Arc<dyn SecretStore>>,
    /// The Azure Key Vault store, built once per run (`None` inside when it cannot be used as
    /// configured: its calls then say why).
    key_vault: std::sync::OnceLock<VaultStores>,
    http: OnceCell<reqwest::Client>,
    provider: OnceCell<Arc<TokenProvider>>,
    /// Shared by every Partner Center call of the run.
    limits: Arc<RateLimits>,
    /// Raised on Ctrl-C for commands that wind down by themselves.
    interrupt: tokio::sync::watch::Sender<bool>,
    /// How long such a command may take to wind down, once interrupted.
    wind_down: std::sync::Mutex<Option<std::time::Duration>>,
}

impl Context {
    pub fn new(settings: Settings, io: IoStreams) -> Self {
        Context {
            settings,
            io,
            injected_store: None,
            keyring: std::sync::OnceLock::new(),
            key_vault: std::sync::OnceLock::new(),
            http: OnceCell::new(),
            provider: OnceCell::new(),
            limits: Arc::new(RateLimits::partner_center()),
            interrupt: tokio::sync::watch::channel(false).0,
            wind_down: std::sync::Mutex::new(None),
        }
    }

    /// Gives back the streams (for `main` to report an error on).
    pub fn into_io(self) -> IoStreams {
        self.io
    }

    pub fn with_store(mut self, store: Arc<dyn SecretStore>) -> Self {
        self.injected_store = Some(store);
        self
    }

    /// The sign-in settings of a command without sign-in flags (`Settings::sign_in`). An
    /// injected store replaces whichever the settings would pick.
    pub fn sign_in(&self) -> SignIn {
        let mut sign_in = self
            .settings
            .sign_in(&SignInFlags::default())
            .expect("settings without flags were validated when they were resolved");
        if let Some(store) = &self.injected_store {
            sign_in.store = Sourced {
                value: store.kind(),
                origin: Origin::Default,
            };
            sign_in.recorded = true;
        }
        sign_in
    }

    /// The stored sign-in, or `None` when there is none. A keyring the profile never used is
    /// not asked (a first run on a machine without one must not fail on it).
    pub async fn stored_sign_in(
        &self,
        sign_in: &SignIn,
    ) -> Result<Option<StoredSecrets>, CliError> {
        if sign_in.nothing_stored() {
            return Ok(None);
        }
        Ok(self
            .vault(sign_in.store.value)
            .load()
            .await?
            .filter(StoredSecrets::signed_in))
    }

    /// The profile's secrets in the store of `kind`.
    pub fn vault(&self, kind: StoreKind) -> SecretVault {
        let store: Arc<dyn SecretStore> = match (&self.injected_store, kind) {
            (Some(store), _) => Arc::clone(store),
            (None, StoreKind::Environment) => Arc::new(EnvStore::new(StoredSecrets {
                refresh_token: self
                    .settings
                    .env_sign_in
                    .refresh_token
                    .clone()
                    .unwrap_or_default(),
                client_secret: self.settings.env_sign_in.client_secret.clone(),
            })),
            (None, StoreKind::File) => Arc::new(FileStore::new(self.settings.credentials_path())),
            (None, StoreKind::Keyring | StoreKind::Memory) => Arc::clone(
                self.keyring
                    .get_or_init(|| Arc::new(KeyringStore::new()) as Arc<dyn SecretStore>),
            ),
            (None, StoreKind::AzureKeyVault) => {
                let (store, _) = self.key_vault.get_or_init(|| self.build_key_vault());
                return SecretVault::remote(Arc::clone(store), self.settings.profile.clone());
            }
        };
        SecretVault::new(store, self.settings.profile.clone())
    }

    /// The Azure Key Vault store of this run, once it has been built (`vault`), when it could
    /// be: status and doctor read what it found.
    pub fn key_vault_store(&self) -> Option<Arc<KeyVaultStore>> {
        self.key_vault.get().and_then(|(_, kv)| kv.clone())
    }

    /// The vault store: the settings' vault and secret, reached with the credential the
    /// settings chose, built from the environment snapshot, over the run's HTTP client.
    fn build_key_vault(&self) -> VaultStores {
        let unusable = |message: String| {
            let store: Arc<dyn AsyncSecretStore> =
                Arc::new(UnusableStore::new(StoreKind::AzureKeyVault, move || {
                    SecretStoreError::Vault(VaultError::Setup(message.clone()))
                }));
            (store, None)
        };
        let sign_in = self.sign_in();
        let settings = &sign_in.key_vault;
        let Some(target) = settings.target() else {
            let suffix = settings.suffix;
            let store: Arc<dyn AsyncSecretStore> =
                Arc::new(UnusableStore::new(StoreKind::AzureKeyVault, move || {
                    SecretStoreError::Vault(VaultError::NoVault { suffix })
                }));
            return (store, None);
        };
        let http = match self.http() {
            Ok(h) => h,
            Err(e) => return unusable(e.to_string()),
        };
        let kind = settings.credential.value;
        let credential = match azure::build(
            kind,
            &self.settings.azure,
            self.settings.cloud,
            http.clone(),
        ) {
            Ok(c) => c,
            Err(e) => return unusable(e.to_string()),
        };
        let profile = self.settings.profile_config();
        let facts = TagFacts {
            client_id: sign_in.client_id.as_ref().map(|c| c.value.clone()),
            tenant_id: self
                .settings
                .env_sign_in
                .tenant
                .clone()
                .or(profile.tenant_id)
                .filter(|t| crate::ids::parse_guid(t).is_some()),
        };
        tracing::debug!(
            "Azure Key Vault store: secret {} in {}, {} credential ({})",
            target.secret,
            target.url,
            kind,
            settings.credential_reason
        );
        let store = Arc::new(KeyVaultStore::new(
            target,
            credential,
            kind.as_str(),
            facts,
            http,
            self.settings.http.clone(),
        ));
        (Arc::clone(&store) as Arc<dyn AsyncSecretStore>, Some(store))
    }

    /// The error for a sign-in that is not there (exit 4): for the vault, which secret is
    /// missing where.
    pub fn not_signed_in(&self, sign_in: &SignIn) -> CliError {
        if sign_in.store.value == StoreKind::AzureKeyVault
            && let Some(kv) = self.key_vault_store()
        {
            return SecretStoreError::Vault(kv.not_found()).into();
        }
        AuthError::NotSignedIn {
            profile: self.settings.profile.clone(),
        }
        .into()
    }

    /// The run's one HTTP client (no redirects), shared by every service.
    pub fn http(&self) -> Result<reqwest::Client, CliError> {
        if let Some(c) = self.http.get() {
            return Ok(c.clone());
        }
        let client = http::client(&self.settings.http)?;
        let _ = self.http.set(client.clone());
        Ok(client)
    }

    /// The token provider for the stored sign-in, built on first use. Exit 4 when there is no
    /// sign-in.
    pub async fn token_provider(&self) -> Result<Arc<TokenProvider>, CliError> {
        self.provider
            .get_or_try_init(|| async {
                let sign_in = self.sign_in();
                let not_signed_in = || AuthError::NotSignedIn {
                    profile: self.settings.profile.clone(),
                };
                if sign_in.nothing_stored() {
                    return Err(not_signed_in().into());
                }
                if let Some(mismatch) = sign_in.mismatch() {
                    return Err(mismatch.into());
                }
                let client_id = sign_in.client_id.clone().ok_or(AuthError::NoClientId)?;
                let vault = self.vault(sign_in.store.value);
                let Some(secrets) = vault.load().await?.filter(StoredSecrets::signed_in) else {
                    return Err(self.not_signed_in(&sign_in));
                };
                if sign_in.store.value == StoreKind::Environment {
                    self.warn(ENVIRONMENT_TOKEN_WARNING);
                }
                let client_secret = sign_in
                    .client_secret_or(secrets.client_secret.as_ref())
                    .map(|s| s.value);
                Ok::<_, CliError>(Arc::new(TokenProvider::new(
                    self.http()?,
                    AppCredentials {
                        client_id: client_id.value,
                        client_secret,
                    },
                    self.settings.endpoints.authority.clone(),
                    sign_in.tenant.value,
                    self.settings.profile.clone(),
                    vault,
                    secrets,
                )))
            })
            .await
            .cloned()
    }

    fn api(&self, service: Service, base: &url::Url) -> Result<ApiClient, CliError> {
        Ok(ApiClient::with_http(
            service,
            base.clone(),
            self.settings.http.clone(),
            self.http()?,
        ))
    }

    /// Partner Center, signed in as the partner user.
    pub async fn partner_center(&self) -> Result<PartnerCenter, CliError> {
        self.partner_center_with(Arc::clone(&self.limits)).await
    }

    /// Partner Center under rate limits of the caller's choosing.
    pub async fn partner_center_with(
        &self,
        limits: Arc<RateLimits>,
    ) -> Result<PartnerCenter, CliError> {
        Ok(PartnerCenter::new(
            self.api(
                Service::PartnerCenter,
                &self.settings.endpoints.partner_center,
            )?,
            self.token_provider().await?,
            self.settings.cloud.partner_center_scope(),
            limits,
        ))
    }

    /// A command that stops by itself on Ctrl-C (starting nothing new, reporting what
    /// finished) says so, with the time it needs to wind down.
    pub fn winds_down_on_interrupt(&self, within: std::time::Duration) {
        *self.wind_down.lock().unwrap_or_else(|e| e.into_inner()) = Some(within);
    }

    pub(crate) fn wind_down(&self) -> Option<std::time::Duration> {
        *self.wind_down.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn raise_interrupt(&self) {
        self.interrupt.send_replace(true);
    }

    /// True once the user pressed Ctrl-C.
    pub fn interrupted(&self) -> bool {
        *self.interrupt.borrow()
    }

    /// Resolves when the user presses Ctrl-C.
    pub async fn until_interrupted(&self) {
        let mut rx = self.interrupt.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// Microsoft Graph, signed in as the partner user (in any tenant it reaches).
    pub async fn graph(&self) -> Result<Graph, CliError> {
        Ok(Graph::new(
            self.api(Service::Graph, &self.settings.endpoints.graph)?,
            self.token_provider().await?,
            self.settings.cloud.graph_scope(),
        ))
    }

    /// Domain → tenant id; anonymous, needs no sign-in.
    pub fn tenant_lookup(&self) -> Result<TenantLookup, CliError> {
        Ok(TenantLookup::new(self.api(
            Service::Discovery,
            &self.settings.endpoints.authority,
        )?))
    }

    /// How tables are drawn on this run's stdout: fitted and coloured on a terminal (colour
    /// off with --no-color, NO_COLOR or TERM=dumb), plain elsewhere; free text whole with -v.
    pub fn table_style(&self) -> crate::output::Style {
        if !self.io.stdout_tty {
            return crate::output::Style::plain();
        }
        crate::output::Style {
            width: self.io.stdout_width,
            color: self.settings.color,
            shorten: self.settings.verbose == 0,
        }
    }

    /// Whether stderr may carry colour (progress, warnings).
    pub fn stderr_color(&self) -> bool {
        self.io.stderr_tty && self.settings.color
    }

    /// How to invoke csp again in this mode, for hints and "Next:" lines: `csp`, with
    /// `--sandbox` and `--profile NAME` when this run used them.
    pub fn csp(&self) -> String {
        self.settings.invocation()
    }

    /// The device-code prompt: the one line that reaches the user even with `-q` (without it
    /// nobody can sign in), except in the sandbox, which approves the code by itself.
    pub fn say_sign_in_prompt(&self, message: &str) {
        if !(self.settings.quiet && self.settings.sandbox) {
            self.io.err_line(message);
        }
    }

    /// Prints a warning on stderr unless `-q`.
    pub fn warn(&self, message: &str) {
        if !self.settings.quiet {
            self.io.err_line(&format!("warning: {message}"));
        }
    }

    /// Prints progress or information on stderr unless `-q`.
    pub fn note(&self, message: &str) {
        if !self.settings.quiet {
            self.io.err_line(message);
        }
    }

    /// End-of-run housekeeping, also after a failure or Ctrl-C: writes back the newest rotated
    /// refresh token. A failure here only warns: the previous token stays valid, and the run's
    /// own result stands.
    pub async fn finish(&self) {
        let Some(provider) = self.provider.get() else {
            return;
        };
        if let Err(e) = provider.persist().await {
            let err = CliError::from(e);
            let mut message = if provider.store_kind() == StoreKind::AzureKeyVault {
                format!(
                    "could not write the renewed refresh token back to Azure Key Vault ({err}); the vault keeps the older token, which stays valid, and the next run tries again"
                )
            } else {
                format!(
                    "could not save the renewed refresh token ({err}); the previous one stays valid"
                )
            };
            if let Some(hint) = err.hint() {
                message.push_str(&format!("\nhint: {hint}"));
            }
            self.warn(&message);
        }
    }
}
