//! `csp logout`: deletes the profile's stored secrets. Idempotent. Keeps the profile's client
//! id and tenant, so the next `csp authorize` needs no flags.

use serde::Serialize;

use crate::cli::LogoutArgs;
use crate::config::{self, ProfileUpdate};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Render;
use crate::secrets::StoreKind;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutReport {
    pub profile: String,
    pub token_store: StoreKind,
    /// Whether a stored sign-in was found and removed.
    pub removed: bool,
}

impl Render for LogoutReport {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["profile", "tokenStore", "removed"],
            vec![vec![
                self.profile.clone(),
                self.token_store.to_string(),
                super::yes_no(Some(self.removed)),
            ]],
        )
    }
    fn single(&self) -> bool {
        true
    }
}

pub async fn run(ctx: &Context, _args: &LogoutArgs) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let sign_in = ctx.sign_in();
    let kind = sign_in.store.value;
    let removed = if kind == StoreKind::Environment {
        ctx.warn("the sign-in comes from CSP_REFRESH_TOKEN and nothing is stored; unset the variable to sign out");
        false
    } else if sign_in.nothing_stored() {
        // Nothing was ever kept in the keyring for this profile: nothing to ask it.
        false
    } else {
        let removed = ctx.vault(kind).delete().await?;
        if settings.config.profile(&settings.profile).is_some() {
            config::update_profile_async(
                &settings.config_path(),
                &settings.profile,
                &ProfileUpdate {
                    remove: vec!["user", "confidential"],
                    ..Default::default()
                },
            )
            .await?;
        }
        removed
    };
    super::emit(
        ctx,
        &LogoutReport {
            profile: settings.profile.clone(),
            token_store: kind,
            removed,
        },
    )
}
