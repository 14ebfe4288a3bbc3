//! `csp setup`: creates or repairs the partner's app registration through Graph, signed in with
//! Microsoft's own public client for Graph administration, then records it in the profile.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::oauth::AppCredentials;
use crate::auth::{Claims, DeviceFlow};
use crate::cli::SetupArgs;
use crate::config::{self, ProfileUpdate};
use crate::consent::manifest::GRAPH_APP_ID;
use crate::context::Context;
use crate::error::CliError;
use crate::graph::apps::{
    AppRegistrations, Application, Password, RedirectUris, RequiredResourceAccess, ResourceAccess,
    ServicePrincipal,
};
use crate::http::{ApiClient, ApiError, Service};
use crate::ids;
use crate::output::Render;
use crate::secrets::{StoreKind, StoredSecrets};
use crate::settings::SignInFlags;

const PARTNER_CENTER_APP: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
const REDIRECT: &str = "http://localhost";
const AUDIENCE: &str = "AzureADMultipleOrgs";
/// The Graph permissions `csp gdap`'s writes need (`setup --gdap` adds them): relationships,
/// security groups, their members, and users looked up by name for `--add-member`.
pub const GDAP_WRITE_SCOPES: [&str; 4] = [
    "DelegatedAdminRelationship.ReadWrite.All",
    "Group.Create",
    "GroupMember.ReadWrite.All",
    "User.ReadBasic.All",
];
/// How long a new client secret lasts.
const SECRET_DAYS: i64 = 180;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SetupReport {
    name: String,
    client_id: String,
    object_id: String,
    tenant_id: Option<String>,
    public_client: bool,
    created: bool,
    changes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<String>,
}

impl Render for SetupReport {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let mut headers = vec!["name", "clientId", "tenantId", "publicClient", "changes"];
        let mut row = vec![
            self.name.clone(),
            self.client_id.clone(),
            self.tenant_id.clone().unwrap_or_else(|| "-".into()),
            super::yes_no(Some(self.public_client)),
            if self.changes.is_empty() {
                "none".into()
            } else {
                self.changes.join("; ")
            },
        ];
        if let Some(secret) = &self.client_secret {
            headers.extend(["clientSecret", "clientSecretExpiresAt"]);
            row.push(secret.clone());
            row.push(self.client_secret_expires_at.clone().unwrap_or_default());
        }
        (headers, vec![row])
    }
    fn single(&self) -> bool {
        true
    }
}

fn forbidden_hint(e: ApiError) -> CliError {
    if e.status() == Some(403) {
        return CliError::Refused {
            message: e.to_string(),
            hint: Some("the signed-in user needs Application Administrator, Cloud Application Administrator or Global Administrator in the partner tenant".into()),
        };
    }
    CliError::Remote(e.into())
}

/// What `setup` was asked for, validated before anything is sent.
struct Plan {
    name: String,
    /// An existing app to use instead of finding one by name.
    wanted_client: Option<String>,
    bootstrap: String,
    tenant: String,
    /// Graph scopes the app needs: what customers --gdap, map and audit read, plus the
    /// consent manifest's.
    graph_scopes: Vec<String>,
    /// Public client (device code, no secret), or confidential (`--with-secret`).
    public: bool,
    store: crate::secrets::StoreKind,
    /// Where a vault store keeps the sign-in, for the profile (empty for other stores).
    key_vault: Vec<(&'static str, String)>,
    /// The app the profile's stored sign-in was issued to, before this run.
    signed_in_with: Option<String>,
    /// `--update`: change an existing app that differs.
    update: bool,
}

/// The resources' service principals and the permissions the app must request on them.
struct Resources {
    partner_center: ServicePrincipal,
    graph: ServicePrincipal,
    desired: Vec<RequiredResourceAccess>,
}

pub async fn run(ctx: &Context, args: &SetupArgs) -> Result<(), CliError> {
    let plan = plan(ctx, args)?;
    if !plan.public {
        ctx.vault(plan.store).check_writable().await?;
    }
    let mut changes = Vec::new();
    let (token, tenant_id) = bootstrap_sign_in(ctx, &plan).await?;
    let http = ctx.http()?;
    let api = ApiClient::with_http(
        Service::Graph,
        ctx.settings.endpoints.graph.clone(),
        ctx.settings.http.clone(),
        http,
    );
    let note = |m: &str| ctx.note(m);
    let regs = AppRegistrations {
        api: &api,
        token: &token,
        on_wait: &note,
    };
    let resources = resources(&regs, &plan, &mut changes).await?;
    let (app, created) = application(ctx, &regs, &plan, &resources, &mut changes).await?;
    admin_consent(&regs, &app, &resources, &plan, &mut changes).await?;
    let secret = client_secret(ctx, &regs, &plan, &app, &mut changes).await?;
    record(ctx, &plan, &app, tenant_id.as_deref()).await?;

    if changes.is_empty() {
        ctx.note(&format!(
            "Nothing to change: {:?} ({}) is set up.",
            plan.name, app.app_id
        ));
    }
    if let Some(old) = plan
        .signed_in_with
        .as_deref()
        .filter(|old| !old.eq_ignore_ascii_case(&app.app_id))
    {
        ctx.warn(&format!(
            "the stored sign-in was issued to app {old}, and the profile now uses {} ({:?}): run `csp authorize` to sign in with it",
            app.app_id, plan.name
        ));
    } else {
        ctx.note("Next: csp authorize");
    }
    super::emit(
        ctx,
        &SetupReport {
            name: app.display_name.clone().unwrap_or(plan.name),
            client_id: app.app_id.clone(),
            object_id: app.id.clone(),
            tenant_id,
            public_client: plan.public,
            created,
            changes,
            client_secret: secret.as_ref().map(|p| p.secret_text.clone()),
            client_secret_expires_at: secret.and_then(|p| p.end_date_time),
        },
    )
}

/// Validates the flags and settles what to do.
fn plan(ctx: &Context, args: &SetupArgs) -> Result<Plan, CliError> {
    let settings = &ctx.settings;
    let bootstrap = ids::parse_guid(&args.bootstrap_client_id).ok_or_else(|| {
        CliError::usage(
            "--bootstrap-client-id must be an application id (a GUID)",
            None,
        )
    })?;
    let wanted_client = match &args.client_id {
        Some(c) => Some(ids::parse_guid(c).ok_or_else(|| {
            CliError::usage(
                format!("--client-id must be an application id, a GUID: {c:?}"),
                None,
            )
        })?),
        None => None,
    };
    let name = args.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(CliError::usage("--name must be 1-120 characters", None));
    }
    // The same precedence as every sign-in: --tenant, CSP_TENANT, the profile's, organizations.
    let sign_in = settings.sign_in(&SignInFlags {
        tenant: args.tenant.clone(),
        store: args
            .insecure_storage
            .then_some((StoreKind::File, "--insecure-storage")),
        ..Default::default()
    })?;
    let mut graph_scopes = vec!["DelegatedAdminRelationship.Read.All".to_string()];
    if args.gdap {
        graph_scopes.extend(GDAP_WRITE_SCOPES.iter().map(|s| s.to_string()));
    }
    if let Some(consent) = &settings.profile_config().consent {
        for g in &consent.grants {
            if g.resource.eq_ignore_ascii_case("graph")
                || g.resource.eq_ignore_ascii_case(GRAPH_APP_ID)
            {
                for s in &g.scopes {
                    if !graph_scopes.iter().any(|x| x.eq_ignore_ascii_case(s)) {
                        graph_scopes.push(s.clone());
                    }
                }
            }
        }
    }
    Ok(Plan {
        name,
        wanted_client,
        bootstrap,
        tenant: sign_in.tenant.value.clone(),
        graph_scopes,
        public: !args.with_secret,
        store: sign_in.store.value,
        key_vault: if sign_in.store.value == StoreKind::AzureKeyVault {
            sign_in.key_vault.profile_entries()
        } else {
            Vec::new()
        },
        signed_in_with: sign_in.signed_in_with.clone(),
        update: args.update,
    })
}

/// Step 1: the bootstrap sign-in with Microsoft's own public client. Nothing of it is stored.
/// Gives the Graph token and the partner tenant's id.
async fn bootstrap_sign_in(
    ctx: &Context,
    plan: &Plan,
) -> Result<(SecretString, Option<String>), CliError> {
    let graph_resource = ctx.settings.cloud.graph_resource();
    let http = ctx.http()?;
    let app = AppCredentials {
        client_id: plan.bootstrap.clone(),
        client_secret: None,
    };
    let flow = DeviceFlow {
        http: &http,
        app: &app,
        authority: &ctx.settings.endpoints.authority,
        tenant: &plan.tenant,
        scopes: vec![
            format!("{graph_resource}/Application.ReadWrite.All"),
            format!("{graph_resource}/DelegatedPermissionGrant.ReadWrite.All"),
            "openid".into(),
            "profile".into(),
        ],
    };
    let prompt = flow.start().await?;
    let tokens = super::authorize::await_device_sign_in(
        ctx,
        &flow,
        &prompt,
        Some("(csp setup signs in with Microsoft Graph Command Line Tools; nothing of this sign-in is stored)"),
    )
    .await?;
    use oauth2::TokenResponse;
    let token = SecretString::from(tokens.access_token().secret().to_string());
    let tenant_id = Claims::from_jwt(token.expose_secret())
        .and_then(|c| c.tid)
        .or_else(|| ids::parse_guid(&plan.tenant));
    Ok((token, tenant_id))
}

/// Step 2: Partner Center's and Graph's service principals in the partner tenant (Partner
/// Center's is created when missing), and the permission ids the app must request.
async fn resources(
    regs: &AppRegistrations<'_>,
    plan: &Plan,
    changes: &mut Vec<String>,
) -> Result<Resources, CliError> {
    let (pc_sp, pc_created) = regs
        .ensure_service_principal(
            PARTNER_CENTER_APP,
            "the Microsoft Partner Center service principal",
        )
        .await
        .map_err(forbidden_hint)?;
    if pc_created {
        changes.push("created the \"Microsoft Partner Center\" service principal".to_string());
    }
    let graph_sp = regs
        .resource(GRAPH_APP_ID)
        .await
        .map_err(forbidden_hint)?
        .ok_or_else(|| CliError::Refused {
            message: "the partner tenant has no Microsoft Graph service principal".into(),
            hint: None,
        })?;
    let scope_id = |sp: &ServicePrincipal, name: &str| {
        sp.oauth2_permission_scopes
            .iter()
            .find(|s| s.value.eq_ignore_ascii_case(name))
            .map(|s| s.id.clone())
    };
    let pc_scope = scope_id(&pc_sp, "user_impersonation").ok_or_else(|| CliError::Refused {
        message: "Microsoft Partner Center's service principal offers no user_impersonation scope"
            .into(),
        hint: None,
    })?;
    let mut graph_access = Vec::new();
    for s in &plan.graph_scopes {
        let id = scope_id(&graph_sp, s).ok_or_else(|| {
            CliError::usage(
                format!("Microsoft Graph has no delegated permission named {s:?}"),
                Some("check the scopes in the profile's [consent] section"),
            )
        })?;
        graph_access.push(ResourceAccess {
            id,
            kind: "Scope".into(),
        });
    }
    let desired = vec![
        RequiredResourceAccess {
            resource_app_id: PARTNER_CENTER_APP.into(),
            resource_access: vec![ResourceAccess {
                id: pc_scope,
                kind: "Scope".into(),
            }],
        },
        RequiredResourceAccess {
            resource_app_id: GRAPH_APP_ID.into(),
            resource_access: graph_access,
        },
    ];
    Ok(Resources {
        partner_center: pc_sp,
        graph: graph_sp,
        desired,
    })
}

/// Step 3: the application: found by `--client-id` or by name, or created; an existing one
/// that differs is changed only with `--update`, after the differences are listed.
async fn application(
    ctx: &Context,
    regs: &AppRegistrations<'_>,
    plan: &Plan,
    resources: &Resources,
    changes: &mut Vec<String>,
) -> Result<(Application, bool), CliError> {
    let existing = match &plan.wanted_client {
        Some(c) => Some(
            regs.by_app_id(c)
                .await
                .map_err(forbidden_hint)?
                .ok_or_else(|| {
                    CliError::usage(
                        format!("no application with id {c} in the partner tenant"),
                        None,
                    )
                })?,
        ),
        None => {
            let mut found = regs.by_name(&plan.name).await.map_err(forbidden_hint)?;
            match found.len() {
                0 => None,
                1 => found.pop(),
                n => {
                    return Err(CliError::usage(
                        format!("{n} applications are named {:?}", plan.name),
                        Some("pass --client-id APP_ID to say which one"),
                    ));
                }
            }
        }
    };
    let Some(app) = existing else {
        let platform = redirect_platform(plan.public);
        let body = json!({
            "displayName": plan.name,
            "signInAudience": AUDIENCE,
            "isFallbackPublicClient": plan.public,
            platform: {"redirectUris": [REDIRECT]},
            "requiredResourceAccess": resources.desired,
        });
        let app = regs.create(body).await.map_err(forbidden_hint)?;
        changes.push(format!(
            "created the application {:?} ({})",
            plan.name, app.app_id
        ));
        return Ok((app, true));
    };
    let diffs = differences(&app, plan.public, &resources.desired);
    if !diffs.is_empty() {
        for d in &diffs {
            ctx.io.err_line(&format!("  differs: {d}"));
        }
        if !plan.update {
            return Err(CliError::Refused {
                message: format!(
                    "the application {:?} ({}) differs from what csp needs ({} difference(s), listed above)",
                    app.display_name.clone().unwrap_or_default(),
                    app.app_id,
                    diffs.len()
                ),
                hint: Some("run again with --update to change it".into()),
            });
        }
        regs.update(&app.id, patch(&app, plan.public, &resources.desired))
            .await
            .map_err(forbidden_hint)?;
        changes.extend(diffs.into_iter().map(|d| format!("updated: {d}")));
    }
    Ok((app, false))
}

/// Step 4: the app's service principal, and admin consent for what it requests, in the
/// partner tenant.
async fn admin_consent(
    regs: &AppRegistrations<'_>,
    app: &Application,
    resources: &Resources,
    plan: &Plan,
    changes: &mut Vec<String>,
) -> Result<(), CliError> {
    let (app_sp, sp_created) = regs
        .ensure_service_principal(&app.app_id, "the new application")
        .await
        .map_err(forbidden_hint)?;
    if sp_created {
        changes.push("created the application's service principal".into());
    }
    let grants = regs.grants(&app_sp.id).await.map_err(forbidden_hint)?;
    for (resource_sp, label, scopes) in [
        (
            &resources.partner_center.id,
            "Partner Center",
            vec!["user_impersonation".to_string()],
        ),
        (
            &resources.graph.id,
            "Microsoft Graph",
            plan.graph_scopes.clone(),
        ),
    ] {
        match grants.iter().find(|g| &g.resource_id == resource_sp) {
            None => {
                regs.grant(&app_sp.id, resource_sp, &scopes.join(" "))
                    .await
                    .map_err(forbidden_hint)?;
                changes.push(format!(
                    "granted admin consent for {label}: {}",
                    scopes.join(" ")
                ));
            }
            Some(g) => {
                let have: Vec<&str> = g
                    .scope
                    .as_deref()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                let lacking: Vec<&String> = scopes
                    .iter()
                    .filter(|s| !have.iter().any(|h| h.eq_ignore_ascii_case(s)))
                    .collect();
                if !lacking.is_empty() {
                    let mut all: Vec<String> = have.iter().map(|s| s.to_string()).collect();
                    all.extend(lacking.iter().map(|s| s.to_string()));
                    regs.extend_grant(&g.id, &all.join(" "))
                        .await
                        .map_err(forbidden_hint)?;
                    changes.push(format!(
                        "extended admin consent for {label}: {}",
                        lacking
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Step 5 (`--with-secret`): a client secret, shown once on stdout and kept with the sign-in.
async fn client_secret(
    ctx: &Context,
    regs: &AppRegistrations<'_>,
    plan: &Plan,
    app: &Application,
    changes: &mut Vec<String>,
) -> Result<Option<Password>, CliError> {
    if plan.public {
        return Ok(None);
    }
    let password = regs
        .add_password(&app.id, SECRET_DAYS)
        .await
        .map_err(forbidden_hint)?;
    // A sign-in already stored stays: a new secret for the same app does not sign anyone out.
    let vault = ctx.vault(plan.store);
    let refresh_token = vault
        .load()
        .await?
        .map(|s| s.refresh_token)
        .unwrap_or_else(|| SecretString::from(String::new()));
    vault
        .save(StoredSecrets {
            refresh_token,
            client_secret: Some(SecretString::from(password.secret_text.clone())),
        })
        .await?;
    changes.push(format!(
        "added a client secret (stored in the {} store)",
        plan.store
    ));
    Ok(Some(password))
}

/// Step 6: the profile records the app, the tenant and, for a secret, its store. The app the
/// stored sign-in was issued to stays recorded, so a later run can tell they differ.
async fn record(
    ctx: &Context,
    plan: &Plan,
    app: &Application,
    tenant_id: Option<&str>,
) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let mut update = ProfileUpdate {
        set: vec![
            ("client_id", app.app_id.clone()),
            (
                "setup_at",
                crate::commands::status::rfc3339(std::time::SystemTime::now()),
            ),
            ("cloud", settings.cloud.to_string()),
        ],
        set_bool: vec![("confidential", !plan.public)],
        remove: Vec::new(),
    };
    if let Some(signed) = &plan.signed_in_with {
        update.set.push(("sign_in_client_id", signed.clone()));
    }
    if let Some(t) = tenant_id {
        update.set.push(("tenant_id", t.to_string()));
        update.set.push(("tenant", t.to_string()));
    }
    if !plan.public || matches!(plan.store, StoreKind::File | StoreKind::AzureKeyVault) {
        update.set.push(("token_store", plan.store.to_string()));
        update.set.extend(plan.key_vault.iter().cloned());
    }
    config::update_profile_async(&settings.config_path(), &settings.profile, &update).await?;
    Ok(())
}

/// The platform the loopback redirect belongs on. Entra takes a redirect on the public-client
/// platform to mean a public client and then refuses a secret (AADSTS700025), so a
/// confidential client's redirect goes on `web`.
fn redirect_platform(public: bool) -> &'static str {
    if public { "publicClient" } else { "web" }
}

fn redirects(uris: &Option<RedirectUris>) -> &[String] {
    uris.as_ref()
        .map_or(&[][..], |p| p.redirect_uris.as_slice())
}

/// What makes an existing app differ from what csp needs.
fn differences(app: &Application, public: bool, desired: &[RequiredResourceAccess]) -> Vec<String> {
    let mut d = Vec::new();
    if app.sign_in_audience.as_deref() != Some(AUDIENCE) {
        d.push(format!(
            "sign-in audience is {}, not {AUDIENCE} (multi-tenant)",
            app.sign_in_audience.as_deref().unwrap_or("unset")
        ));
    }
    if app.is_fallback_public_client.unwrap_or(false) != public {
        d.push(if public {
            "public client flows are off (csp authorize needs them on)".to_string()
        } else {
            "public client flows are on (a client secret needs them off: AADSTS700025)".to_string()
        });
    }
    let (right, wrong) = if public {
        (&app.public_client, &app.web)
    } else {
        (&app.web, &app.public_client)
    };
    if !redirects(right).iter().any(|u| u == REDIRECT) {
        d.push(format!(
            "no {REDIRECT} redirect URI on the {} platform (needed by csp authorize --browser)",
            redirect_platform(public)
        ));
    }
    if redirects(wrong).iter().any(|u| u == REDIRECT) {
        d.push(if public {
            format!("{REDIRECT} is a web redirect URI; a public client's belongs on publicClient")
        } else {
            format!(
                "{REDIRECT} is a public-client redirect URI, which makes Entra refuse the client secret (AADSTS700025); a confidential client's belongs on web"
            )
        });
    }
    for want in desired {
        let have = app.required_resource_access.iter().find(|r| {
            r.resource_app_id
                .eq_ignore_ascii_case(&want.resource_app_id)
        });
        for access in &want.resource_access {
            if !have.is_some_and(|h| {
                h.resource_access
                    .iter()
                    .any(|a| a.id.eq_ignore_ascii_case(&access.id))
            }) {
                d.push(format!(
                    "missing the delegated permission {} on {}",
                    access.id,
                    if want.resource_app_id == GRAPH_APP_ID {
                        "Microsoft Graph"
                    } else {
                        "Partner Center"
                    }
                ));
            }
        }
    }
    d
}

/// The PATCH that brings `app` to what csp needs, keeping every permission and redirect URI it
/// already has, except that the loopback redirect moves to the platform of its kind of client.
fn patch(app: &Application, public: bool, desired: &[RequiredResourceAccess]) -> Value {
    let mut access = app.required_resource_access.clone();
    for want in desired {
        match access.iter_mut().find(|r| {
            r.resource_app_id
                .eq_ignore_ascii_case(&want.resource_app_id)
        }) {
            Some(have) => {
                for a in &want.resource_access {
                    if !have
                        .resource_access
                        .iter()
                        .any(|x| x.id.eq_ignore_ascii_case(&a.id))
                    {
                        have.resource_access.push(a.clone());
                    }
                }
            }
            None => access.push(want.clone()),
        }
    }
    let mut public_uris: Vec<String> = redirects(&app.public_client).to_vec();
    let mut web_uris: Vec<String> = redirects(&app.web).to_vec();
    let (right, wrong) = if public {
        (&mut public_uris, &mut web_uris)
    } else {
        (&mut web_uris, &mut public_uris)
    };
    wrong.retain(|u| u != REDIRECT);
    if !right.iter().any(|u| u == REDIRECT) {
        right.push(REDIRECT.into());
    }
    json!({
        "signInAudience": AUDIENCE,
        "isFallbackPublicClient": public,
        "publicClient": {"redirectUris": public_uris},
        "web": {"redirectUris": web_uris},
        "requiredResourceAccess": access,
    })
}
