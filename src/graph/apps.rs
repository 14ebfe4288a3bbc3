//! App registrations in the partner tenant, for `csp setup`: find or create the partner's app,
//! its service principal and the resources' service principals, the admin-consent grants, and
//! a client secret. Calls Graph with a token from the bootstrap sign-in (never stored).

use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{ApiClient, ApiError, Call};

/// How long `setup` waits for Microsoft to propagate an object it just created.
pub const PROPAGATION_WAIT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    #[serde(default)]
    pub is_fallback_public_client: Option<bool>,
    #[serde(default)]
    pub public_client: Option<RedirectUris>,
    /// The web platform: where a confidential client's redirect URIs belong.
    #[serde(default)]
    pub web: Option<RedirectUris>,
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUris {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct ResourceAccess {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub oauth2_permission_scopes: Vec<PermissionScope>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PermissionScope {
    pub id: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub resource_id: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub consent_type: Option<String>,
}

/// A new client secret. `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Password {
    pub secret_text: String,
    #[serde(default)]
    pub end_date_time: Option<String>,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Password")
            .field("secret_text", &"[redacted]")
            .field("end_date_time", &self.end_date_time)
            .finish()
    }
}

/// Graph in the partner tenant, with the bootstrap token.
pub struct AppRegistrations<'a> {
    pub api: &'a ApiClient,
    pub token: &'a SecretString,
    /// Told what `setup` is waiting for during propagation retries.
    pub on_wait: &'a (dyn Fn(&str) + Send + Sync),
}

fn quote(s: &str) -> String {
    s.replace('\'', "''")
}

impl AppRegistrations<'_> {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: String) -> Result<T, ApiError> {
        self.api
            .get_json(self.api.url(&path), Some(self.token), Vec::new())
            .await
    }

    async fn write(&self, method: Method, path: String, body: Value) -> Result<Value, ApiError> {
        let response = self
            .api
            .send(Call {
                method: method.clone(),
                json: Some(body),
                ..Call::get(self.api.url(&path), Some(self.token))
            })
            .await?;
        if response.body.is_empty() {
            return Ok(Value::Null);
        }
        self.api.decode(&response, method.as_str(), &path)
    }

    /// Retries `f` while Graph has not caught up with an object created moments ago (404, or
    /// a 400 saying the referenced application does not exist yet).
    async fn propagated<T, F, Fut>(&self, waiting_for: &str, f: F) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let started = Instant::now();
        let mut wait = Duration::from_secs(1);
        loop {
            match f().await {
                Err(e)
                    if matches!(e.status(), Some(400 | 404))
                        && started.elapsed() + wait < PROPAGATION_WAIT =>
                {
                    (self.on_wait)(&format!(
                        "waiting for Microsoft to propagate {waiting_for} (Graph answered {})",
                        e.status().unwrap_or_default()
                    ));
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(15));
                }
                other => return other,
            }
        }
    }

    pub async fn by_app_id(&self, app_id: &str) -> Result<Option<Application>, ApiError> {
        match self
            .get(format!("v1.0/applications(appId='{app_id}')"))
            .await
        {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn by_name(&self, name: &str) -> Result<Vec<Application>, ApiError> {
        let filter: String = url::form_urlencoded::byte_serialize(
            format!("displayName eq '{}'", quote(name)).as_bytes(),
        )
        .collect();
        let url = self.api.url(&format!("v1.0/applications?$filter={filter}"));
        super::all_pages(self.api, self.token, url).await
    }

    pub async fn create(&self, body: Value) -> Result<Application, ApiError> {
        let v = self
            .write(Method::POST, "v1.0/applications".into(), body)
            .await?;
        serde_json::from_value(v).map_err(|e| ApiError::Decode {
            service: self.api.service(),
            method: "POST".into(),
            path: "/v1.0/applications".into(),
            detail: e.to_string(),
        })
    }

    pub async fn update(&self, object_id: &str, body: Value) -> Result<(), ApiError> {
        self.propagated("the application", || {
            self.write(
                Method::PATCH,
                format!("v1.0/applications/{object_id}"),
                body.clone(),
            )
        })
        .await?;
        Ok(())
    }

    /// The service principal of `app_id`, created when missing.
    pub async fn ensure_service_principal(
        &self,
        app_id: &str,
        what: &str,
    ) -> Result<(ServicePrincipal, bool), ApiError> {
        let path = format!(
            "v1.0/servicePrincipals(appId='{app_id}')?$select=id,appId,oauth2PermissionScopes"
        );
        match self.get::<ServicePrincipal>(path.clone()).await {
            Ok(sp) => return Ok((sp, false)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e),
        }
        let created = self
            .propagated(what, || {
                self.write(
                    Method::POST,
                    "v1.0/servicePrincipals".into(),
                    json!({"appId": app_id}),
                )
            })
            .await?;
        let sp: ServicePrincipal =
            serde_json::from_value(created).map_err(|e| ApiError::Decode {
                service: self.api.service(),
                method: "POST".into(),
                path: "/v1.0/servicePrincipals".into(),
                detail: e.to_string(),
            })?;
        Ok((sp, true))
    }

    /// The resource's service principal with its delegated permission scopes.
    pub async fn resource(&self, app_id: &str) -> Result<Option<ServicePrincipal>, ApiError> {
        match self
            .get(format!(
                "v1.0/servicePrincipals(appId='{app_id}')?$select=id,appId,oauth2PermissionScopes"
            ))
            .await
        {
            Ok(sp) => Ok(Some(sp)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The tenant-wide grants of the client service principal (every page).
    pub async fn grants(&self, client_sp: &str) -> Result<Vec<Grant>, ApiError> {
        let url = self.api.url(&format!(
            "v1.0/servicePrincipals/{client_sp}/oauth2PermissionGrants"
        ));
        let all: Vec<Grant> = self
            .propagated("the new service principal", || {
                super::all_pages(self.api, self.token, url.clone())
            })
            .await?;
        Ok(all
            .into_iter()
            .filter(|g| g.consent_type.as_deref() == Some("AllPrincipals"))
            .collect())
    }

    pub async fn grant(
        &self,
        client_sp: &str,
        resource_sp: &str,
        scope: &str,
    ) -> Result<(), ApiError> {
        self.propagated("the new service principal", || {
            self.write(
                Method::POST,
                "v1.0/oauth2PermissionGrants".into(),
                json!({"clientId": client_sp, "consentType": "AllPrincipals", "resourceId": resource_sp, "scope": scope}),
            )
        })
        .await?;
        Ok(())
    }

    pub async fn extend_grant(&self, grant_id: &str, scope: &str) -> Result<(), ApiError> {
        self.write(
            Method::PATCH,
            format!("v1.0/oauth2PermissionGrants/{grant_id}"),
            json!({"scope": scope}),
        )
        .await?;
        Ok(())
    }

    pub async fn add_password(&self, object_id: &str, days: i64) -> Result<Password, ApiError> {
        let end = (chrono::Utc::now() + chrono::Duration::days(days))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let v = self
            .propagated("the application", || {
                self.write(
                    Method::POST,
                    format!("v1.0/applications/{object_id}/addPassword"),
                    json!({"passwordCredential": {"displayName": "csp", "endDateTime": end}}),
                )
            })
            .await?;
        serde_json::from_value(v).map_err(|e| ApiError::Decode {
            service: self.api.service(),
            method: "POST".into(),
            path: "/v1.0/applications/…/addPassword".into(),
            detail: e.to_string(),
        })
    }
}
