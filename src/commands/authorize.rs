//! `csp authorize`: the device-code sign-in, then the refresh token into the store and the
//! non-secret facts into config.toml.

use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;

use crate::auth::browser::BROWSER_TIMEOUT;
use crate::auth::oauth::AzureTokenResponse;
use crate::auth::{self, AppCredentials, AuthError, BrowserFlow, Claims, DeviceFlow, DevicePrompt};
use crate::cli::AuthorizeArgs;
use crate::cloud::Cloud;
use crate::config::{self, ProfileUpdate};
use crate::context::Context;
use crate::error::CliError;
use crate::ids;
use crate::output::{Render, or_dash};
use crate::secrets::{StoreKind, StoredSecrets};
use crate::settings::{Origin, SignInFlags};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeReport {
    pub profile: String,
    pub user: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: String,
    pub cloud: Cloud,
    pub token_store: StoreKind,
    pub mfa: Option<bool>,
}

impl Render for AuthorizeReport {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "profile",
                "user",
                "tenantId",
                "clientId",
                "cloud",
                "tokenStore",
                "mfa",
            ],
            vec![vec![
                self.profile.clone(),
                or_dash(&self.user),
                or_dash(&self.tenant_id),
                self.client_id.clone(),
                self.cloud.to_string(),
                self.token_store.to_string(),
                super::yes_no(self.mfa),
            ]],
        )
    }
    fn single(&self) -> bool {
        true
    }
}

pub async fn run(ctx: &Context, args: &AuthorizeArgs) -> Result<(), CliError> {
    let settings = &ctx.settings;
    if settings.env_sign_in.refresh_token.is_some() {
        return Err(CliError::usage(
            "CSP_REFRESH_TOKEN is set, so csp uses that sign-in and stores nothing",
            Some("unset CSP_REFRESH_TOKEN to sign in interactively"),
        ));
    }
    let stdin_secret = if args.client_secret_stdin {
        Some(read_secret(ctx)?)
    } else {
        None
    };
    let flag_store = match &args.token_store {
        Some(name) => Some((
            crate::settings::parse_store("--token-store", name)?,
            "--token-store",
        )),
        None => args
            .insecure_storage
            .then_some((StoreKind::File, "--insecure-storage")),
    };
    let sign_in = settings.sign_in(&SignInFlags {
        client_id: args.client_id.clone(),
        tenant: args.tenant.clone(),
        client_secret: stdin_secret.clone(),
        store: flag_store,
    })?;
    let client_id = sign_in
        .client_id
        .clone()
        .ok_or(AuthError::NoClientId)?
        .value;
    let tenant = sign_in.tenant.value.clone();

    // Find out now, not after the user has signed in, whether the store can be used.
    let kind = sign_in.store.value;
    let vault = ctx.vault(kind);
    vault.check_writable().await?;
    // A client secret stored with the profile (`csp setup --with-secret`, or an earlier
    // sign-in) is used after a flag's or the environment's, and kept.
    let stored_secret = if settings.profile_config().confidential == Some(true) {
        vault.load().await?.and_then(|s| s.client_secret)
    } else {
        None
    };
    let kept_secret = stdin_secret.or(stored_secret.clone());
    let client_secret = sign_in
        .client_secret_or(stored_secret.as_ref())
        .map(|s| s.value);

    let app = AppCredentials {
        client_id: client_id.clone(),
        client_secret,
    };
    let http = ctx.http()?;
    let scopes = auth::sign_in_scopes(settings.cloud);
    let tokens = if args.browser {
        browser_sign_in(ctx, &http, &app, &tenant, scopes).await?
    } else {
        device_code_sign_in(ctx, &http, &app, &tenant, scopes).await?
    };

    use oauth2::TokenResponse;
    let refresh_token = tokens.refresh_token().ok_or(AuthError::NoRefreshToken)?;
    let claims = Claims::from_jwt(tokens.access_token().secret())
        .unwrap_or_default()
        .or(tokens
            .id_token()
            .and_then(|t| Claims::from_jwt(t.secret()))
            .unwrap_or_default());
    let tenant_id = claims.tid.clone().or_else(|| ids::parse_guid(&tenant));
    let user = claims.user().map(str::to_string);
    let mfa = claims.mfa();
    if mfa != Some(true) {
        ctx.warn(match mfa {
            Some(false) => "this sign-in did not use multi-factor authentication; Partner Center rejects App+User calls without MFA (since April 2026). Sign in again with MFA",
            _ => "could not confirm that this sign-in used multi-factor authentication; Partner Center rejects App+User calls without MFA (since April 2026)",
        });
    }

    vault
        .save(StoredSecrets {
            refresh_token: SecretString::from(refresh_token.secret().to_string()),
            client_secret: kept_secret.clone(),
        })
        .await?;

    let mut update = ProfileUpdate {
        set: vec![
            ("client_id", client_id.clone()),
            ("sign_in_client_id", client_id.clone()),
            ("tenant", tenant.clone()),
            ("cloud", settings.cloud.to_string()),
            ("token_store", kind.to_string()),
        ],
        set_bool: vec![("confidential", kept_secret.is_some())],
        remove: Vec::new(),
    };
    match &tenant_id {
        Some(t) => update.set.push(("tenant_id", t.clone())),
        None => update.remove.push("tenant_id"),
    }
    match &user {
        Some(u) => update.set.push(("user", u.clone())),
        None => update.remove.push("user"),
    }
    if kind == StoreKind::AzureKeyVault {
        update.set.extend(sign_in.key_vault.profile_entries());
    }
    config::update_profile_async(&settings.config_path(), &settings.profile, &update).await?;
    if kind == StoreKind::File {
        // Say why only when someone chose it: a flag or CSP_TOKEN_STORE (the sandbox, say).
        let why = match sign_in.store.origin {
            Origin::Flag(f) => format!(" as {f} asked"),
            Origin::Environment(v) => format!(" as {v} asked"),
            _ => String::new(),
        };
        ctx.note(&format!(
            "Sign-in stored in {} (mode 0600){why}; the profile will keep using this file.",
            settings.credentials_path().display()
        ));
    }
    if let Some(store) = ctx
        .key_vault_store()
        .filter(|_| kind == StoreKind::AzureKeyVault)
    {
        ctx.note(&format!(
            "Sign-in stored in Azure Key Vault {}, secret {}; every run that redeems it writes the renewed token back as a new version.",
            store.vault(),
            store.target().secret
        ));
    }

    super::emit(
        ctx,
        &AuthorizeReport {
            profile: settings.profile.clone(),
            user,
            tenant_id,
            client_id,
            cloud: settings.cloud,
            token_store: kind,
            mfa,
        },
    )
}

async fn device_code_sign_in(
    ctx: &Context,
    http: &reqwest::Client,
    app: &AppCredentials,
    tenant: &str,
    scopes: Vec<String>,
) -> Result<AzureTokenResponse, CliError> {
    let flow = DeviceFlow {
        http,
        app,
        authority: &ctx.settings.endpoints.authority,
        tenant,
        scopes,
    };
    let prompt = start_after_setup(ctx, &flow).await?;
    Ok(await_device_sign_in(ctx, &flow, &prompt, None).await?)
}

/// Shows the device-code prompt (and `note` after it), then a spinner until the user has
/// signed in or the code has expired. `authorize` and `setup` sign in this way.
pub(super) async fn await_device_sign_in(
    ctx: &Context,
    flow: &DeviceFlow<'_>,
    prompt: &DevicePrompt,
    note: Option<&str>,
) -> Result<AzureTokenResponse, AuthError> {
    ctx.say_sign_in_prompt(&prompt.message());
    if let Some(note) = note {
        ctx.note(note);
    }
    let _spinner = super::progress::spinner(
        ctx,
        format!(
            "Waiting for you to sign in (the code is valid for {} minutes)…",
            prompt.expires_in().as_secs() / 60
        ),
    );
    flow.finish(prompt, tokio::time::sleep).await
}

/// Starts the device flow. Right after `csp setup` created the app, Entra may not know it
/// everywhere yet (AADSTS700016): wait and try again, for a bounded time.
async fn start_after_setup(
    ctx: &Context,
    flow: &DeviceFlow<'_>,
) -> Result<crate::auth::DevicePrompt, CliError> {
    let recent = ctx
        .settings
        .profile_config()
        .setup_at
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .is_some_and(|t| {
            chrono::Utc::now().signed_duration_since(t) < chrono::Duration::minutes(30)
        });
    let started = std::time::Instant::now();
    let mut wait = Duration::from_secs(2);
    loop {
        match flow.start().await {
            Err(e)
                if recent
                    && e.aadsts() == Some(700016)
                    && started.elapsed() < Duration::from_secs(90) =>
            {
                ctx.note(&format!(
                    "waiting for Microsoft to propagate the new app (AADSTS700016); trying again in {} s",
                    wait.as_secs()
                ));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(20));
            }
            other => return Ok(other?),
        }
    }
}

async fn browser_sign_in(
    ctx: &Context,
    http: &reqwest::Client,
    app: &AppCredentials,
    tenant: &str,
    scopes: Vec<String>,
) -> Result<AzureTokenResponse, CliError> {
    let flow = BrowserFlow {
        http,
        app,
        authority: &ctx.settings.endpoints.authority,
        tenant,
        scopes,
        timeout: BROWSER_TIMEOUT,
    };
    let pending = flow.start().await?;
    let url = pending.url().to_string();
    // Always printed, even with -q: the browser may not open, or open on the wrong screen.
    ctx.io.err_line(&format!(
        "Opening your browser to sign in. If it does not open, visit:\n  {url}"
    ));
    let opener = tokio::task::spawn_blocking(move || webbrowser::open(&url));
    let spinner = super::progress::spinner(
        ctx,
        format!(
            "Waiting for the browser (up to {} minutes)…",
            BROWSER_TIMEOUT.as_secs() / 60
        ),
    );
    let warn_if_unopened = async {
        if let Ok(Err(e)) = opener.await {
            ctx.warn(&format!(
                "could not open a browser ({e}); open the URL above yourself, or set BROWSER"
            ));
        }
    };
    let (tokens, ()) = tokio::join!(pending.finish(), warn_if_unopened);
    drop(spinner);
    Ok(tokens?)
}

fn read_secret(ctx: &Context) -> Result<SecretString, CliError> {
    if ctx.io.stdin_tty {
        return Err(CliError::usage(
            "--client-secret-stdin reads the secret from a pipe, not from the terminal",
            Some("printf '%s' \"$SECRET\" | csp authorize --client-secret-stdin …"),
        ));
    }
    let text = ctx.io.read_stdin().map_err(|source| CliError::Io {
        action: "read the client secret from stdin",
        source,
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(CliError::usage(
            "--client-secret-stdin was given but stdin was empty",
            None,
        ));
    }
    Ok(SecretString::from(secret.to_string()))
}
