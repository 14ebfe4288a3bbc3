//! Reading back what an app holds in a customer tenant (Graph's servicePrincipal and oauth2PermissionGrant resources): its service principal by
//! appId, its delegated permission grants, and each grant's resource resolved from
//! service-principal object id to appId (cached for the tenant).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use super::Graph;
use crate::auth::AuthError;
use crate::http::{ApiError, RemoteError};

/// AADSTS codes meaning the tenant does not let the app in yet: nothing is consented.
pub const NOT_CONSENTED: [u32; 2] = [65001, 700016];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    id: String,
    app_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionGrant {
    resource_id: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    consent_type: Option<String>,
}

/// What the app holds in one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// The app's service principal exists there.
    pub service_principal: bool,
    /// Its object id, when it exists.
    pub service_principal_id: Option<String>,
    /// Delegated scopes per resource appId (lowercase), any consent type.
    pub scopes: BTreeMap<String, BTreeSet<String>>,
    /// The tenant-wide (`AllPrincipals`, admin-consented) part of `scopes`.
    pub tenant_wide: BTreeMap<String, BTreeSet<String>>,
    /// Grants whose resource could not be identified (service-principal object ids).
    pub unidentified: Vec<String>,
}

/// Why the readback could not be done.
#[derive(Debug)]
pub enum ReadbackError {
    /// The tenant refuses a token for the app: nothing is consented there (yet).
    NotConsented,
    Remote(RemoteError),
}

impl Graph {
    /// What `app_id` holds in `tenant`. A tenant that refuses the token because nothing is
    /// consented gives `NotConsented`; a missing service principal gives an empty `Held`.
    pub async fn held_by(&self, tenant: &str, app_id: &str) -> Result<Held, ReadbackError> {
        let token = match self.tokens.access_token(&self.scope, Some(tenant)).await {
            Ok(g) => g.token,
            Err(e) if e.aadsts().is_some_and(|c| NOT_CONSENTED.contains(&c)) => {
                return Err(ReadbackError::NotConsented);
            }
            Err(e) => return Err(ReadbackError::Remote(e.into())),
        };
        let url = self.api.url(&format!(
            "v1.0/servicePrincipals(appId='{app_id}')?$select=id,appId"
        ));
        let sp: ServicePrincipal = match self.api.get_json(url, Some(&token), Vec::new()).await {
            Ok(sp) => sp,
            Err(e) if e.status() == Some(404) => return Ok(Held::default()),
            Err(e) => return Err(ReadbackError::Remote(e.into())),
        };
        let grants: Vec<PermissionGrant> = self
            .list(
                Some(tenant),
                &format!("v1.0/servicePrincipals/{}/oauth2PermissionGrants", sp.id),
            )
            .await
            .map_err(ReadbackError::Remote)?;
        let mut held = Held {
            service_principal: true,
            service_principal_id: Some(sp.id.clone()),
            ..Held::default()
        };
        let mut resolved: HashMap<String, Option<String>> = HashMap::new();
        for g in grants {
            let app = match resolved.get(&g.resource_id) {
                Some(a) => a.clone(),
                None => {
                    let a = self
                        .resource_app_id(tenant, &token, &g.resource_id)
                        .await
                        .map_err(ReadbackError::Remote)?;
                    resolved.insert(g.resource_id.clone(), a.clone());
                    a
                }
            };
            let Some(app) = app else {
                held.unidentified.push(g.resource_id);
                continue;
            };
            let scopes: Vec<String> = g
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let app = app.to_ascii_lowercase();
            if g.consent_type.as_deref() == Some("AllPrincipals") {
                held.tenant_wide
                    .entry(app.clone())
                    .or_default()
                    .extend(scopes.iter().cloned());
            }
            held.scopes.entry(app).or_default().extend(scopes);
        }
        Ok(held)
    }

    /// The application permissions (app role assignments) granted to the service principal
    /// `sp_id` in `tenant`, as "resource display name: app role id" lines.
    pub async fn app_role_assignments(
        &self,
        tenant: &str,
        sp_id: &str,
    ) -> Result<Vec<String>, RemoteError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Assignment {
            #[serde(default)]
            resource_display_name: Option<String>,
            #[serde(default)]
            resource_id: Option<String>,
            #[serde(default)]
            app_role_id: Option<String>,
        }
        let rows: Vec<Assignment> = self
            .list(
                Some(tenant),
                &format!("v1.0/servicePrincipals/{sp_id}/appRoleAssignments"),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let resource = a
                    .resource_display_name
                    .or(a.resource_id)
                    .unwrap_or_else(|| "?".into());
                format!(
                    "{resource}: {}",
                    a.app_role_id.unwrap_or_else(|| "?".into())
                )
            })
            .collect())
    }

    /// The appId of the service principal with object id `sp_id`, or `None` when Graph does
    /// not know it.
    async fn resource_app_id(
        &self,
        _tenant: &str,
        token: &secrecy::SecretString,
        sp_id: &str,
    ) -> Result<Option<String>, RemoteError> {
        if crate::ids::parse_guid(sp_id).is_none() {
            return Ok(None);
        }
        let url = self
            .api
            .url(&format!("v1.0/servicePrincipals/{sp_id}?$select=id,appId"));
        match self
            .api
            .get_json::<ServicePrincipal>(url, Some(token), Vec::new())
            .await
        {
            Ok(sp) => Ok(sp.app_id),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl From<AuthError> for ReadbackError {
    fn from(e: AuthError) -> Self {
        ReadbackError::Remote(e.into())
    }
}

impl From<ApiError> for ReadbackError {
    fn from(e: ApiError) -> Self {
        ReadbackError::Remote(e.into())
    }
}
