//! GDAP details for `csp audit` and `csp doctor`: a relationship's access assignments, the
//! signed-in user's group memberships, and the partner app's registration.

use serde::Deserialize;

use super::Graph;
use crate::http::RemoteError;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessAssignment {
    pub id: String,
    #[serde(default, rename = "@odata.etag")]
    pub etag: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub access_container: Option<AccessContainer>,
    #[serde(default)]
    pub access_details: Option<super::model::AccessDetails>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessContainer {
    pub access_container_id: String,
}

impl AccessAssignment {
    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some("active")
    }

    pub fn role_ids(&self) -> impl Iterator<Item = &str> {
        self.access_details.iter().flat_map(|a| {
            a.unified_roles
                .iter()
                .map(|r| r.role_definition_id.as_str())
        })
    }

    pub fn group(&self) -> Option<&str> {
        self.access_container
            .as_ref()
            .map(|c| c.access_container_id.as_str())
    }
}

#[derive(Debug, Clone, Deserialize)]
struct DirectoryObject {
    id: String,
}

/// The partner app's registration, as far as `doctor` reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(default)]
    pub is_fallback_public_client: Option<bool>,
}

impl Graph {
    /// The access assignments of one GDAP relationship (partner tenant).
    pub async fn access_assignments(
        &self,
        relationship_id: &str,
    ) -> Result<Vec<AccessAssignment>, RemoteError> {
        self.list(
            None,
            &format!(
                "v1.0/tenantRelationships/delegatedAdminRelationships/{relationship_id}/accessAssignments"
            ),
        )
        .await
    }

    /// The ids of the groups the signed-in user belongs to (directly or not), in the partner
    /// tenant.
    pub async fn my_group_ids(&self) -> Result<Vec<String>, RemoteError> {
        let groups: Vec<DirectoryObject> = self
            .list(None, "v1.0/me/transitiveMemberOf?$select=id")
            .await?;
        Ok(groups
            .into_iter()
            .map(|g| g.id.to_ascii_lowercase())
            .collect())
    }

    /// The partner app's registration in the partner tenant (`None` when not found).
    pub async fn application(&self, app_id: &str) -> Result<Option<Application>, RemoteError> {
        let token = self.tokens.access_token(&self.scope, None).await?.token;
        let url = self.api.url(&format!(
            "v1.0/applications(appId='{app_id}')?$select=id,appId,isFallbackPublicClient"
        ));
        match self.api.get_json(url, Some(&token), Vec::new()).await {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
