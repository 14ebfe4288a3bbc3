//! Security groups and users in the partner tenant, for GDAP access assignments: find a group
//! by name or object id, create one (security-enabled, not mail-enabled), and make sure a user
//! is a member.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::Graph;
use crate::http::RemoteError;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub security_enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

/// What adding a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Added,
    AlreadyMember,
}

fn quote(s: &str) -> String {
    s.replace('\'', "''")
}

impl Graph {
    /// The groups called `name_or_id`: the one with that object id, else every group with that
    /// display name (more than one is the caller's to refuse).
    pub async fn groups_named(&self, name_or_id: &str) -> Result<Vec<Group>, RemoteError> {
        if let Some(id) = crate::ids::parse_guid(name_or_id) {
            return Ok(self
                .get_one::<Group>(&format!(
                    "v1.0/groups/{id}?$select=id,displayName,securityEnabled"
                ))
                .await?
                .into_iter()
                .collect());
        }
        let filter: String = url::form_urlencoded::byte_serialize(
            format!("displayName eq '{}'", quote(name_or_id.trim())).as_bytes(),
        )
        .collect();
        self.list(
            None,
            &format!("v1.0/groups?$filter={filter}&$select=id,displayName,securityEnabled"),
        )
        .await
    }

    /// A security group (not mail-enabled), as Microsoft recommends for GDAP: one per role.
    pub async fn create_group(&self, name: &str) -> Result<Group, RemoteError> {
        let nickname: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(56)
            .collect();
        let body = json!({
            "displayName": name,
            "description": "Holds a GDAP role in customer tenants (created by csp)",
            "mailEnabled": false,
            "mailNickname": if nickname.is_empty() { "gdap".to_string() } else { nickname },
            "securityEnabled": true,
        });
        let r = self
            .write(Method::POST, "v1.0/groups", Some(body), Vec::new())
            .await?;
        self.read(&r, "POST", "/v1.0/groups")
    }

    /// The signed-in user.
    pub async fn me(&self) -> Result<User, RemoteError> {
        Ok(self
            .get_one("v1.0/me?$select=id,userPrincipalName")
            .await?
            .unwrap_or(User {
                id: String::new(),
                user_principal_name: None,
            }))
    }

    /// A user of the partner tenant by user principal name; `None` when there is none.
    pub async fn user(&self, upn: &str) -> Result<Option<User>, RemoteError> {
        let key: String = url::form_urlencoded::byte_serialize(upn.trim().as_bytes()).collect();
        self.get_one(&format!("v1.0/users/{key}?$select=id,userPrincipalName"))
            .await
    }

    /// Makes `user_id` a member of `group_id`. Graph answers 400 "already exist" for a member
    /// already there: that is success.
    pub async fn add_member(
        &self,
        group_id: &str,
        user_id: &str,
    ) -> Result<Membership, RemoteError> {
        let body =
            json!({"@odata.id": format!("{}v1.0/directoryObjects/{user_id}", self.api.base())});
        match self
            .write(
                Method::POST,
                &format!("v1.0/groups/{group_id}/members/$ref"),
                Some(body),
                Vec::new(),
            )
            .await
        {
            Ok(_) => Ok(Membership::Added),
            Err(RemoteError::Api(e))
                if e.status() == Some(400)
                    && e.fault()
                        .and_then(|f| f.message.as_deref())
                        .is_some_and(|m| m.to_ascii_lowercase().contains("already exist")) =>
            {
                Ok(Membership::AlreadyMember)
            }
            Err(e) => Err(e),
        }
    }
}
