//! `csp token`: prints one access token (or, with `--refresh-token`, the stored refresh token)
//! and nothing else on stdout. The one command allowed to print a secret.

use secrecy::ExposeSecret;
use url::Url;

use crate::auth::AuthError;
use crate::cli::TokenArgs;
use crate::cloud::Cloud;
use crate::context::Context;
use crate::error::CliError;
use crate::ids::TenantRef;

pub async fn run(ctx: &Context, args: &TokenArgs) -> Result<(), CliError> {
    if args.refresh_token {
        let secrets =
            ctx.stored_sign_in(&ctx.sign_in())
                .await?
                .ok_or_else(|| AuthError::NotSignedIn {
                    profile: ctx.settings.profile.clone(),
                })?;
        // Always said, even with -q: this token reaches every customer tenant.
        ctx.io.err_line("warning: this is the partner's refresh token; it reaches every customer tenant. Keep it only in a secret store (CSP_REFRESH_TOKEN in CI), never in a file or a log.");
        return ctx
            .io
            .out(&format!("{}\n", secrets.refresh_token.expose_secret()))
            .map_err(CliError::output);
    }
    let scope = scope_for(ctx.settings.cloud, args.resource.as_deref())?;
    let tenant = match &args.tenant {
        None => None,
        Some(t) => Some(TenantRef::parse(t).ok_or_else(|| {
            CliError::usage(
                format!("--tenant must be a tenant id or a domain: {t:?}"),
                None,
            )
        })?),
    };
    let provider = ctx.token_provider().await?;
    let grant = provider
        .access_token(&scope, tenant.as_ref().map(TenantRef::as_str))
        .await?;
    ctx.io
        .out(&format!("{}\n", grant.token.expose_secret()))
        .map_err(CliError::output)
}

/// `partner-center`, `graph`, or an https resource or scope URL. A bare resource URL gets
/// `/.default`. Scopes always name the cloud's resource, never an endpoint override.
pub fn scope_for(cloud: Cloud, resource: Option<&str>) -> Result<String, CliError> {
    let bad = |r: &str| {
        CliError::usage(
            format!("--resource must be partner-center, graph or an https:// resource URL: {r:?}"),
            Some("for example --resource https://management.azure.com"),
        )
    };
    match resource.map(str::trim) {
        None | Some("partner-center") => Ok(cloud.partner_center_scope()),
        Some("graph") => Ok(cloud.graph_scope()),
        Some(r) => {
            let url = Url::parse(r).map_err(|_| bad(r))?;
            if url.scheme() != "https"
                || url.host_str().is_none()
                || url.query().is_some()
                || url.fragment().is_some()
                || r.chars().any(char::is_whitespace)
            {
                return Err(bad(r));
            }
            let trimmed = r.trim_end_matches('/');
            if url.path() == "/" {
                Ok(format!("{trimmed}/.default"))
            } else {
                Ok(trimmed.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_become_scopes() {
        assert_eq!(
            scope_for(Cloud::Public, None).unwrap(),
            "https://api.partnercenter.microsoft.com/user_impersonation"
        );
        assert_eq!(
            scope_for(Cloud::Public, Some("graph")).unwrap(),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            scope_for(Cloud::Public, Some("https://management.azure.com/")).unwrap(),
            "https://management.azure.com/.default"
        );
        assert_eq!(
            scope_for(Cloud::Public, Some("https://graph.microsoft.com/User.Read")).unwrap(),
            "https://graph.microsoft.com/User.Read"
        );
        for bad in ["http://management.azure.com", "arm", "https://x/?a", ""] {
            assert!(scope_for(Cloud::Public, Some(bad)).is_err(), "{bad}");
        }
    }
}
