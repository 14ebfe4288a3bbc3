//! `csp status`: who is signed in, where the sign-in is kept, and (unless `--offline`) proof
//! that it still works, by redeeming it for a Partner Center token.

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::cloud::Cloud;
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Render, or_dash};
use crate::secrets::StoreKind;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub profile: String,
    pub user: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub cloud: Cloud,
    pub token_store: StoreKind,
    pub signed_in: bool,
    pub mfa: Option<bool>,
    pub access_token_expires_at: Option<String>,
    /// When the stored refresh token was last renewed (written back after rotation); known for
    /// the Azure Key Vault store.
    pub token_renewed_at: Option<String>,
}

impl Render for StatusReport {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "profile",
                "user",
                "tenantId",
                "clientId",
                "cloud",
                "tokenStore",
                "signedIn",
                "mfa",
                "accessTokenExpiresAt",
                "tokenRenewedAt",
            ],
            vec![vec![
                self.profile.clone(),
                or_dash(&self.user),
                or_dash(&self.tenant_id),
                or_dash(&self.client_id),
                self.cloud.to_string(),
                self.token_store.to_string(),
                super::yes_no(Some(self.signed_in)),
                super::yes_no(self.mfa),
                or_dash(&self.access_token_expires_at),
                or_dash(&self.token_renewed_at),
            ]],
        )
    }
    fn single(&self) -> bool {
        true
    }
}

pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let profile = settings.profile_config();
    let sign_in = ctx.sign_in();
    let kind = sign_in.store.value;
    let mut report = StatusReport {
        profile: settings.profile.clone(),
        user: profile.user.clone(),
        tenant_id: profile.tenant_id.clone(),
        client_id: sign_in.client_id.as_ref().map(|c| c.value.clone()),
        cloud: settings.cloud,
        token_store: kind,
        signed_in: false,
        mfa: None,
        access_token_expires_at: None,
        token_renewed_at: None,
    };
    if kind == StoreKind::Environment {
        // The environment's sign-in is not the profile's stored user.
        report.user = None;
        report.tenant_id = settings.env_sign_in.tenant.clone().or(report.tenant_id);
    }
    let stored = ctx.stored_sign_in(&sign_in).await?;
    report.token_renewed_at = ctx
        .key_vault_store()
        .and_then(|s| s.last_read())
        .and_then(|f| f.renewed_at);
    if stored.is_none() {
        super::emit(ctx, &report)?;
        return Err(ctx.not_signed_in(&sign_in));
    }
    if let Some(mismatch) = sign_in.mismatch() {
        super::emit(ctx, &report)?;
        return Err(mismatch.into());
    }
    if args.offline {
        report.signed_in = true;
        return super::emit(ctx, &report);
    }
    let outcome = async {
        let provider = ctx.token_provider().await?;
        let grant = provider
            .access_token(&settings.cloud.partner_center_scope(), None)
            .await?;
        Ok::<_, CliError>(grant)
    }
    .await;
    match outcome {
        Ok(grant) => {
            report.signed_in = true;
            report.mfa = grant.claims.mfa();
            report.user = grant.claims.user().map(str::to_string).or(report.user);
            report.tenant_id = grant.claims.tid.clone().or(report.tenant_id);
            report.access_token_expires_at = Some(rfc3339(grant.expires_at));
            if report.mfa == Some(false) {
                ctx.warn("this sign-in carries no MFA claim; Partner Center rejects App+User calls without MFA. Run `csp authorize` and complete MFA");
            }
            super::emit(ctx, &report)
        }
        // A dead sign-in is still a status to report: print it, then fail with exit 4.
        Err(CliError::Auth(e)) if e.needs_sign_in() => {
            super::emit(ctx, &report)?;
            Err(e.into())
        }
        Err(CliError::Remote(crate::http::RemoteError::Auth(e))) if e.needs_sign_in() => {
            super::emit(ctx, &report)?;
            Err(e.into())
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
