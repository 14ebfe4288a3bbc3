//! `csp doctor`: checks the local set-up and the partner tenant, one line per check with what to
//! do when it fails. Read-only, except for a probe entry written to and removed from the
//! keyring.

use serde::Serialize;

use crate::auth::AccessGrant;
use crate::cli::DoctorArgs;
use crate::consent::manifest::alias_of;
use crate::context::Context;
use crate::error::CliError;
use crate::files;
use crate::graph::readback::{Held, ReadbackError};
use crate::mapping::MappingStore;
use crate::output::Render;
use crate::secrets::StoreKind;

const PARTNER_CENTER_APP: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Could not tell (a permission csp lacks, an earlier check failing).
    Warn,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    pub remedy: Option<String>,
}

fn pass(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        status: CheckStatus::Pass,
        detail: detail.into(),
        remedy: None,
    }
}

fn fail(check: &'static str, detail: impl Into<String>, remedy: impl Into<String>) -> Check {
    Check {
        check,
        status: CheckStatus::Fail,
        detail: detail.into(),
        remedy: Some(remedy.into()),
    }
}

fn warn(check: &'static str, detail: impl Into<String>, remedy: Option<String>) -> Check {
    Check {
        check,
        status: CheckStatus::Warn,
        detail: detail.into(),
        remedy,
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct DoctorReport(Vec<Check>);

impl Render for DoctorReport {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["", "check", "detail", "remedy"],
            self.0
                .iter()
                .map(|c| {
                    vec![
                        match c.status {
                            CheckStatus::Pass => "✓",
                            CheckStatus::Fail => "✗",
                            CheckStatus::Warn => "!",
                        }
                        .to_string(),
                        c.check.to_string(),
                        c.detail.clone(),
                        c.remedy.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        )
    }
}

pub async fn run(ctx: &Context, _args: &DoctorArgs) -> Result<(), CliError> {
    let mut checks = vec![check_files(ctx), check_store(ctx).await];
    if ctx.sign_in().store.value == StoreKind::AzureKeyVault {
        checks.push(check_renewal(ctx));
    }
    let sign_in = check_sign_in(ctx).await;
    let grant = sign_in.1.clone();
    checks.push(sign_in.0);
    checks.push(match &grant {
        Some(g) => match g.claims.mfa() {
            Some(true) => pass("mfa", "the sign-in carries the MFA claim"),
            Some(false) => fail(
                "mfa",
                "the sign-in did not use multi-factor authentication",
                "Partner Center rejects App+User calls without MFA (error 900421): run `csp authorize` and complete MFA",
            ),
            None => warn("mfa", "the access token does not say how the user signed in", None),
        },
        None => warn("mfa", "not checked: no working sign-in", None),
    });
    checks.push(check_partner_center(ctx, grant.is_some()).await);
    checks.push(check_public_client(ctx, &checks).await);
    let (consent_check, held) = check_partner_consent(ctx, grant.as_ref()).await;
    checks.push(consent_check);
    checks.push(check_admin_agents(ctx, grant.is_some()).await);
    checks.push(check_gdap_writes(ctx, held.as_ref()));
    let failed = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    let total = checks.len();
    super::emit(ctx, &DoctorReport(checks))?;
    if failed > 0 {
        return Err(CliError::Partial {
            failed,
            total,
            what: "checks failed",
        });
    }
    Ok(())
}

fn check_files(ctx: &Context) -> Check {
    let s = &ctx.settings;
    if let Some(problem) = &s.config_problem {
        return fail(
            "config",
            problem.clone(),
            "fix the file, or move it away and run `csp authorize` again",
        );
    }
    if let Err(e) = MappingStore::new(&s.mappings_path).load() {
        return fail(
            "config",
            e.to_string(),
            "fix the mapping file or restore it from version control",
        );
    }
    pass(
        "config",
        format!(
            "{} and {} can be read",
            s.config_path().display(),
            s.mappings_path.display()
        ),
    )
}

async fn check_store(ctx: &Context) -> Check {
    let kind = ctx.sign_in().store.value;
    match kind {
        StoreKind::Environment => {
            return warn(
                "token_store",
                "the sign-in comes from CSP_REFRESH_TOKEN, which csp cannot renew: it stops working about 90 days after it was issued",
                Some("keep the refresh token in Azure Key Vault instead (CSP_TOKEN_STORE=azure-key-vault), where every run writes the renewed one back; see docs/ci.md".into()),
            );
        }
        StoreKind::AzureKeyVault => return check_key_vault(ctx).await,
        StoreKind::File => {
            let path = ctx.settings.credentials_path();
            if files::is_too_open(&path) {
                return fail(
                    "token_store",
                    format!("{} is readable by other users", path.display()),
                    format!("chmod 600 {}", path.display()),
                );
            }
        }
        StoreKind::Keyring | StoreKind::Memory => {}
    }
    match ctx.vault(kind).check_writable().await {
        Ok(()) => pass(
            "token_store",
            match kind {
                StoreKind::File => format!(
                    "the file store {} can be used (it is kept at mode 0600)",
                    ctx.settings.credentials_path().display()
                ),
                _ => format!("the {kind} store works (a probe entry was written and removed)"),
            },
        ),
        Err(e) => {
            let err = CliError::from(e);
            fail(
                "token_store",
                err.to_string(),
                err.hint().unwrap_or_default(),
            )
        }
    }
}

/// The vault: reachable with which credential, the secret readable and writable.
async fn check_key_vault(ctx: &Context) -> Check {
    let kv = ctx.sign_in().key_vault;
    let how = format!(
        "the {} credential (chosen by {})",
        kv.credential.value, kv.credential_reason
    );
    if let Err(e) = ctx.vault(StoreKind::AzureKeyVault).check_writable().await {
        let err = CliError::from(e);
        return fail(
            "token_store",
            format!("{err} [with {how}]"),
            err.hint().unwrap_or_default(),
        );
    }
    let Some(store) = ctx.key_vault_store() else {
        return warn("token_store", "the vault store was not built", None);
    };
    let vault = store.vault();
    let secret = &store.target().secret;
    match store.last_read() {
        Some(facts) => pass(
            "token_store",
            format!(
                "Azure Key Vault {vault} reached with {how}; secret {secret} can be read and written{}",
                facts
                    .version
                    .map(|v| format!(" (version {v})"))
                    .unwrap_or_default()
            ),
        ),
        None => warn(
            "token_store",
            format!(
                "Azure Key Vault {vault} reached with {how}, but secret {secret} does not exist yet, so writing it is untested"
            ),
            Some("run `csp authorize --token-store azure-key-vault` to store a sign-in there (it needs the secrets get and set permissions)".into()),
        ),
    }
}

/// Days after which a refresh token left unused would expire (Entra's inactivity window),
/// and the age of the last renewal that warns before that.
const INACTIVITY_DAYS: i64 = 90;
const RENEWAL_WARN_DAYS: i64 = 30;

/// When the vault's refresh token was last renewed: a token not renewed for long is close to
/// expiring unused.
fn check_renewal(ctx: &Context) -> Check {
    let Some(renewed) = ctx
        .key_vault_store()
        .and_then(|s| s.last_read())
        .and_then(|f| f.renewed_at)
    else {
        return warn(
            "token_renewal",
            "not checked: nothing was read from the vault",
            None,
        );
    };
    let age = chrono::DateTime::parse_from_rfc3339(&renewed)
        .map(|t| chrono::Utc::now().signed_duration_since(t).num_days())
        .unwrap_or(0);
    if age > RENEWAL_WARN_DAYS {
        return warn(
            "token_renewal",
            format!(
                "the refresh token was last renewed {renewed} ({age} days ago); unused for {INACTIVITY_DAYS} days, it expires"
            ),
            Some(
                "run csp against the vault at least weekly (a scheduled CI job: docs/ci.md)".into(),
            ),
        );
    }
    pass(
        "token_renewal",
        format!(
            "the refresh token was last renewed {renewed}; every run that redeems it writes the renewed one back"
        ),
    )
}

/// The sign-in check, and the Partner Center token it obtained.
async fn check_sign_in(ctx: &Context) -> (Check, Option<AccessGrant>) {
    let provider = match ctx.token_provider().await {
        Ok(p) => p,
        Err(e) => {
            return (
                fail("sign_in", e.to_string(), e.hint().unwrap_or_default()),
                None,
            );
        }
    };
    match provider
        .access_token(&ctx.settings.cloud.partner_center_scope(), None)
        .await
    {
        Ok(g) => {
            let who = g.claims.user().unwrap_or("the partner user").to_string();
            (
                pass(
                    "sign_in",
                    format!("signed in as {who}; the refresh token redeems"),
                ),
                Some(g),
            )
        }
        Err(e) => {
            let err = CliError::from(e);
            (
                fail("sign_in", err.to_string(), err.hint().unwrap_or_default()),
                None,
            )
        }
    }
}

async fn check_partner_center(ctx: &Context, signed_in: bool) -> Check {
    if !signed_in {
        return warn("partner_center", "not checked: no working sign-in", None);
    }
    let pc = match ctx.partner_center().await {
        Ok(pc) => pc,
        Err(e) => {
            return fail(
                "partner_center",
                e.to_string(),
                e.hint().unwrap_or_default(),
            );
        }
    };
    match pc.probe().await {
        Ok(()) => pass(
            "partner_center",
            "Partner Center answers (GET /v1/customers?size=1)",
        ),
        Err(e) => {
            let err = CliError::from(e);
            fail(
                "partner_center",
                err.to_string(),
                err.hint().unwrap_or_default(),
            )
        }
    }
}

async fn check_public_client(ctx: &Context, earlier: &[Check]) -> Check {
    let profile = ctx.settings.profile_config();
    if ctx.sign_in().client_secret.is_some() || profile.confidential == Some(true) {
        return pass(
            "public_client",
            "a confidential client (its secret is used): public client flows are not needed",
        );
    }
    let sign_in = earlier.iter().find(|c| c.check == "sign_in");
    match sign_in {
        Some(c) if c.status == CheckStatus::Pass => pass(
            "public_client",
            "the refresh token redeems without a client secret, so public client flows are allowed",
        ),
        Some(c) if c.detail.contains("AADSTS7000218") => fail(
            "public_client",
            "Entra refuses the app as a public client (AADSTS7000218)",
            "App registrations > the app > Authentication > Advanced settings > Allow public client flows = Yes",
        ),
        _ => warn(
            "public_client",
            "not checked: no working sign-in to test it with",
            None,
        ),
    }
}

async fn check_partner_consent(
    ctx: &Context,
    grant: Option<&AccessGrant>,
) -> (Check, Option<Held>) {
    let Some(grant) = grant else {
        return (
            warn("partner_consent", "not checked: no working sign-in", None),
            None,
        );
    };
    let sign_in = ctx.sign_in();
    let client = sign_in.client_id.map(|c| c.value).unwrap_or_default();
    let tenant = grant.claims.tid.clone().unwrap_or(sign_in.tenant.value);
    let graph = match ctx.graph().await {
        Ok(g) => g,
        Err(e) => return (warn("partner_consent", e.to_string(), None), None),
    };
    let held = graph.held_by(&tenant, &client).await;
    let check = match &held {
        Ok(held) if !held.service_principal => fail(
            "partner_consent",
            "the app has no service principal in the partner tenant",
            "an admin must grant consent to the app in the partner tenant (App registrations > API permissions > Grant admin consent)",
        ),
        Ok(held) => {
            let pc = held.tenant_wide.get(PARTNER_CENTER_APP).is_some_and(|s| {
                s.iter()
                    .any(|x| x.eq_ignore_ascii_case("user_impersonation"))
            });
            if pc {
                pass(
                    "partner_consent",
                    format!(
                        "admin consent in the partner tenant covers {}",
                        held.tenant_wide
                            .keys()
                            .map(|k| alias_of(k).map_or_else(|| k.clone(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            } else {
                fail(
                    "partner_consent",
                    "the app has no admin consent for Partner Center's user_impersonation in the partner tenant",
                    "API permissions > add Microsoft Partner Center > user_impersonation, then Grant admin consent",
                )
            }
        }
        Err(ReadbackError::NotConsented) => fail(
            "partner_consent",
            "the partner tenant refuses the app a Graph token (AADSTS65001): nothing is consented",
            "grant admin consent to the app in the partner tenant",
        ),
        Err(ReadbackError::Remote(e)) => warn(
            "partner_consent",
            format!("cannot read the app's grants in the partner tenant: {e}"),
            Some("give the app Directory.Read.All (delegated) to let csp check this".into()),
        ),
    };
    (check, held.ok())
}

/// Partner Center refuses consent (and most writes) from a user outside AdminAgents.
async fn check_admin_agents(ctx: &Context, signed_in: bool) -> Check {
    if !signed_in {
        return warn("admin_agents", "not checked: no working sign-in", None);
    }
    let graph = match ctx.graph().await {
        Ok(g) => g,
        Err(e) => return warn("admin_agents", e.to_string(), None),
    };
    let agents = graph.groups_named("AdminAgents").await;
    let mine = graph.my_group_ids().await;
    match (agents, mine) {
        (Ok(agents), Ok(mine)) => match agents.first() {
            None => warn(
                "admin_agents",
                "the partner tenant has no AdminAgents group that the app can read",
                None,
            ),
            Some(g) if mine.iter().any(|m| m.eq_ignore_ascii_case(&g.id)) => {
                pass("admin_agents", "the signed-in user is in AdminAgents")
            }
            Some(_) => fail(
                "admin_agents",
                "the signed-in user is not in the AdminAgents group",
                "Partner Center refuses consents from users outside it: add the user in Partner Center > Account settings > User management (Admin agent role)",
            ),
        },
        (Err(e), _) | (_, Err(e)) => warn(
            "admin_agents",
            format!("cannot read group memberships: {e}"),
            Some("give the app GroupMember.Read.All (delegated), or `csp setup --gdap`, to let csp check this".into()),
        ),
    }
}

/// The `csp gdap` commands that change relationships need more Graph permissions than reading.
/// A failure only for a profile that uses them (it has GDAP templates); a warning otherwise.
fn check_gdap_writes(ctx: &Context, held: Option<&Held>) -> Check {
    let Some(held) = held else {
        return warn(
            "gdap_write",
            "not checked: the app's grants could not be read",
            None,
        );
    };
    let graph = held
        .tenant_wide
        .get(crate::consent::manifest::GRAPH_APP_ID)
        .cloned()
        .unwrap_or_default();
    let lacking: Vec<&str> = crate::commands::setup::GDAP_WRITE_SCOPES
        .iter()
        .copied()
        .filter(|s| !graph.iter().any(|g| g.eq_ignore_ascii_case(s)))
        .collect();
    if lacking.is_empty() {
        return pass(
            "gdap_write",
            "the app may create and assign GDAP relationships and their groups",
        );
    }
    let detail = format!(
        "csp gdap request, assign, renew and terminate need {} (delegated, with admin consent)",
        lacking.join(", ")
    );
    let remedy = format!("{} setup --gdap --update", ctx.csp());
    if ctx.settings.profile_config().gdap.is_some() {
        fail("gdap_write", detail, remedy)
    } else {
        warn("gdap_write", detail, Some(remedy))
    }
}
