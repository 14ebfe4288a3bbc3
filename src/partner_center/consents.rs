//! Partner Center's application-consent API (the control-panel-vendor APIs): `POST` one resource's grant and
//! `DELETE` the app's consent, each under the per-application rate limit, with `ValidateMfa`.

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;

use super::PartnerCenter;
use crate::consent::manifest::Grant;
use crate::http::{ApiError, Call, RemoteError};

/// How a consent write ended.
#[derive(Debug)]
pub enum Posted {
    Created,
    /// 409, or an answer saying "Permission entry already exists" (Microsoft's docs list neither; peers such as CIPP meet both).
    AlreadyExists,
}

fn validate_mfa() -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("validatemfa"),
        HeaderValue::from_static("true"),
    )
}

/// Whether a refusal says the consent already exists.
pub fn says_already_exists(e: &ApiError) -> bool {
    e.status() == Some(409)
        || e.fault()
            .and_then(|f| f.message.as_deref())
            .is_some_and(|m| m.to_ascii_lowercase().contains("already exists"))
}

impl PartnerCenter {
    /// Consents `grant` (one resource) for `app_id` in `tenant`.
    pub async fn post_consent(
        &self,
        tenant: &str,
        app_id: &str,
        display_name: &str,
        grant: &Grant,
    ) -> Result<Posted, RemoteError> {
        let token = self.token().await?;
        self.limits.consent(app_id).await;
        let body = json!({
            "applicationId": app_id,
            "displayName": display_name,
            "applicationGrants": [{
                "enterpriseApplicationId": grant.resource,
                "scope": grant.scope_list(),
            }],
        });
        let call = Call {
            method: Method::POST,
            json: Some(body),
            headers: vec![validate_mfa()],
            ..Call::get(
                self.api
                    .url(&format!("v1/customers/{tenant}/applicationconsents")),
                Some(&token),
            )
        };
        match self.api.send(call).await {
            Ok(_) => Ok(Posted::Created),
            Err(e) if says_already_exists(&e) => Ok(Posted::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `app_id`'s consent in `tenant` (every resource's grant).
    pub async fn delete_consent(&self, tenant: &str, app_id: &str) -> Result<(), RemoteError> {
        let token = self.token().await?;
        self.limits.consent(app_id).await;
        let call = Call {
            method: Method::DELETE,
            headers: vec![validate_mfa()],
            ..Call::get(
                self.api.url(&format!(
                    "v1/customers/{tenant}/applicationconsents/{app_id}"
                )),
                Some(&token),
            )
        };
        self.api.send(call).await?;
        Ok(())
    }
}
