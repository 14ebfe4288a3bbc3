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
use crate::graph::apps::{AppRegistrations, Application, RequiredResourceAccess, ResourceAccess};
use crate::http::{ApiClient, ApiError, Service};
use crate::ids::{self, TenantRef};
use crate::output::Render;
use crate::secrets::StoredSecrets;

const PARTNER_CENTER_APP: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
const REDIRECT: &str = "http://localhost";
const AUDIENCE: &str = "AzureADMultipleOrgs";
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

pub async fn run(ctx: &Context, args: &SetupArgs) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let profile = settings.profile_config();
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
    let tenant = match &args.tenant {
        Some(t) => TenantRef::parse(t)
            .map(|r| r.as_str().to_string())
            .ok_or_else(|| {
                CliError::usage(
                    format!("--tenant must be a tenant id or a domain: {t:?}"),
                    None,
                )
            })?,
        None => profile
            .tenant_id
            .clone()
            .or(profile.tenant.clone())
            .unwrap_or_else(|| "organizations".into()),
    };
    // The manifest's Graph scopes, plus what customers --gdap, map and audit read.
    let mut graph_scopes = vec!["DelegatedAdminRelationship.Read.All".to_string()];
    if let Some(consent) = &profile.consent {
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
    let store_kind = ctx.store_kind(args.insecure_storage);
    if args.with_secret {
        ctx.vault(store_kind).check_writable().await?;
    }

    // 1. The bootstrap sign-in: nothing of it is stored.
    let graph_resource = settings.cloud.graph_resource();
    let http = ctx.http()?;
    let app = AppCredentials {
        client_id: bootstrap,
        client_secret: None,
    };
    let flow = DeviceFlow {
        http: &http,
        app: &app,
        authority: &settings.endpoints.authority,
        tenant: &tenant,
        scopes: vec![
            format!("{graph_resource}/Application.ReadWrite.All"),
            format!("{graph_resource}/DelegatedPermissionGrant.ReadWrite.All"),
            "openid".into(),
            "profile".into(),
        ],
    };
    let prompt = flow.start().await?;
    ctx.io.err_line(&prompt.message());
    ctx.note("(csp setup signs in with Microsoft Graph Command Line Tools; nothing of this sign-in is stored)");
    let tokens = flow.finish(&prompt, tokio::time::sleep).await?;
    use oauth2::TokenResponse;
    let token = SecretString::from(tokens.access_token().secret().to_string());
    let tenant_id = Claims::from_jwt(token.expose_secret())
        .and_then(|c| c.tid)
        .or_else(|| ids::parse_guid(&tenant));

    let api = ApiClient::with_http(
        Service::Graph,
        settings.endpoints.graph.clone(),
        settings.http.clone(),
        http.clone(),
    );
    let note = |m: &str| ctx.note(m);
    let regs = AppRegistrations {
        api: &api,
        token: &token,
        on_wait: &note,
    };

    // 2. The resources' service principals and their permission ids.
    let mut changes = Vec::new();
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
    let scope_id = |sp: &crate::graph::apps::ServicePrincipal, name: &str| {
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
    for s in &graph_scopes {
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
    let desired_access = vec![
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
    let public = !args.with_secret;

    // 3. The application: find it, or create it; change it only with --update.
    let existing = match &wanted_client {
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
            let mut found = regs.by_name(&name).await.map_err(forbidden_hint)?;
            match found.len() {
                0 => None,
                1 => found.pop(),
                n => {
                    return Err(CliError::usage(
                        format!("{n} applications are named {name:?}"),
                        Some("pass --client-id APP_ID to say which one"),
                    ));
                }
            }
        }
    };
    let created = existing.is_none();
    let app = match existing {
        None => {
            let body = json!({
                "displayName": name,
                "signInAudience": AUDIENCE,
                "isFallbackPublicClient": public,
                "publicClient": {"redirectUris": [REDIRECT]},
                "requiredResourceAccess": desired_access,
            });
            let app = regs.create(body).await.map_err(forbidden_hint)?;
            changes.push(format!("created the application {name:?} ({})", app.app_id));
            app
        }
        Some(app) => {
            let diffs = differences(&app, public, &desired_access);
            if !diffs.is_empty() {
                for d in &diffs {
                    ctx.io.err_line(&format!("  differs: {d}"));
                }
                if !args.update {
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
                regs.update(&app.id, patch(&app, public, &desired_access))
                    .await
                    .map_err(forbidden_hint)?;
                changes.extend(diffs.into_iter().map(|d| format!("updated: {d}")));
            }
            app
        }
    };

    // 4. Its service principal, and admin consent in the partner tenant.
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
            &pc_sp.id,
            "Partner Center",
            vec!["user_impersonation".to_string()],
        ),
        (&graph_sp.id, "Microsoft Graph", graph_scopes.clone()),
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

    // 5. A client secret, shown once on stdout and kept with the sign-in.
    let mut secret = None;
    if args.with_secret {
        let password = regs
            .add_password(&app.id, SECRET_DAYS)
            .await
            .map_err(forbidden_hint)?;
        ctx.vault(store_kind)
            .save(StoredSecrets {
                refresh_token: SecretString::from(String::new()),
                client_secret: Some(SecretString::from(password.secret_text.clone())),
            })
            .await?;
        changes.push(format!(
            "added a client secret (stored in the {store_kind} store)"
        ));
        secret = Some(password);
    }

    // 6. The profile.
    let mut update = ProfileUpdate {
        set: vec![
            ("client_id", app.app_id.clone()),
            (
                "setup_at",
                crate::commands::status::rfc3339(std::time::SystemTime::now()),
            ),
            ("cloud", settings.cloud.to_string()),
        ],
        set_bool: vec![("confidential", !public)],
        remove: vec!["user"],
    };
    if let Some(t) = &tenant_id {
        update.set.push(("tenant_id", t.clone()));
        update.set.push(("tenant", t.clone()));
    }
    if args.with_secret || args.insecure_storage {
        update.set.push(("token_store", store_kind.to_string()));
    }
    config::update_profile_async(&settings.config_path(), &settings.profile, &update).await?;

    if changes.is_empty() {
        ctx.note(&format!(
            "Nothing to change: {name:?} ({}) is set up.",
            app.app_id
        ));
    }
    ctx.note("Next: csp authorize");
    super::emit(
        ctx,
        &SetupReport {
            name: app.display_name.clone().unwrap_or(name),
            client_id: app.app_id.clone(),
            object_id: app.id.clone(),
            tenant_id,
            public_client: public,
            created,
            changes,
            client_secret: secret.as_ref().map(|p| p.secret_text.clone()),
            client_secret_expires_at: secret.and_then(|p| p.end_date_time),
        },
    )
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
    if !app
        .public_client
        .as_ref()
        .is_some_and(|p| p.redirect_uris.iter().any(|u| u == REDIRECT))
    {
        d.push(format!(
            "no {REDIRECT} redirect URI (needed by csp authorize --browser)"
        ));
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

/// The PATCH that brings `app` to what csp needs, keeping every permission it already has.
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
    let mut uris = app
        .public_client
        .clone()
        .map(|p| p.redirect_uris)
        .unwrap_or_default();
    if !uris.iter().any(|u| u == REDIRECT) {
        uris.push(REDIRECT.into());
    }
    json!({
        "signInAudience": AUDIENCE,
        "isFallbackPublicClient": public,
        "publicClient": {"redirectUris": uris},
        "requiredResourceAccess": access,
    })
}
