//! The GDAP relationship lifecycle in the partner tenant (Graph v1.0,
//! `tenantRelationships/delegatedAdminRelationships`): create, lock for approval, read, turn
//! auto-extend on, terminate, and the access assignments that give the roles to security
//! groups. Writes whose answer was lost are read back before anything is sent again, so one
//! command never makes two relationships or two assignments.

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::Graph;
use super::gdap::AccessAssignment;
use super::model::GdapRelationship;
use crate::http::{ApiError, RemoteError};

const BASE: &str = "v1.0/tenantRelationships/delegatedAdminRelationships";

/// A relationship to create.
#[derive(Debug, Clone)]
pub struct NewRelationship {
    pub display_name: String,
    /// ISO 8601: `P730D`.
    pub duration: String,
    /// The customer's tenant id and name; `None` for a customer who does not exist yet (any
    /// customer may approve; Graph fills the customer in then).
    pub customer: Option<(String, String)>,
    pub role_ids: Vec<String>,
    pub auto_extend: bool,
}

/// Whether a failed write may have happened anyway: its answer was lost (a broken connection,
/// a timeout, a 5xx), so it must be read back before it is sent again.
pub fn answer_lost(e: &RemoteError) -> bool {
    match e {
        RemoteError::Api(ApiError::Network { .. }) => true,
        RemoteError::Api(a) => matches!(a.status(), Some(500..=599)),
        RemoteError::Auth(_) => false,
    }
}

fn if_match(etag: Option<&str>) -> Vec<(HeaderName, HeaderValue)> {
    etag.and_then(|e| HeaderValue::from_str(e).ok())
        .map(|v| vec![(reqwest::header::IF_MATCH, v)])
        .unwrap_or_default()
}

fn roles_json(role_ids: &[String]) -> Value {
    json!({"unifiedRoles": role_ids.iter().map(|id| json!({"roleDefinitionId": id})).collect::<Vec<_>>()})
}

/// Whether an access assignment returned by `create_assignment` is this call's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// Graph answered the POST with it.
    Created,
    /// Graph answered 409: the group had it before.
    AlreadyThere,
    /// The answer was lost and it was read back: this call may or may not have made it.
    PerhapsCreated,
}

impl Graph {
    /// One relationship, with its ETag; `None` when Graph does not know it.
    pub async fn relationship(&self, id: &str) -> Result<Option<GdapRelationship>, RemoteError> {
        self.get_one(&format!("{BASE}/{id}")).await
    }

    /// Creates a relationship (status `created`). If the answer is lost, the partner's
    /// relationships are read back by name: a relationship that was made is returned as it
    /// is, and only one that was not is posted again (once).
    pub async fn create_relationship(
        &self,
        new: &NewRelationship,
    ) -> Result<GdapRelationship, RemoteError> {
        let mut body = json!({
            "displayName": new.display_name,
            "duration": new.duration,
            "accessDetails": roles_json(&new.role_ids),
            "autoExtendDuration": if new.auto_extend { crate::gdap::rules::AUTO_EXTEND } else { crate::gdap::rules::NO_AUTO_EXTEND },
        });
        if let Some((tenant, name)) = &new.customer {
            body["customer"] = json!({"tenantId": tenant, "displayName": name});
        }
        let mut tries = 0;
        loop {
            tries += 1;
            match self
                .write(Method::POST, BASE, Some(body.clone()), Vec::new())
                .await
            {
                Ok(r) => return self.read(&r, "POST", &format!("/{BASE}")),
                Err(e) if answer_lost(&e) => {
                    tracing::info!(
                        "the answer to creating {:?} was lost ({e}); reading back",
                        new.display_name
                    );
                    let found = self.gdap_relationships().await?.into_iter().find(|r| {
                        r.display_name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&new.display_name))
                    });
                    match found {
                        Some(r) => return Ok(r),
                        None if tries < 2 => continue,
                        None => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks Graph to act on a relationship: `lockForApproval` (the customer may then approve
    /// it) or `terminate`.
    pub async fn relationship_request(&self, id: &str, action: &str) -> Result<(), RemoteError> {
        self.write(
            Method::POST,
            &format!("{BASE}/{id}/requests"),
            Some(json!({"action": action})),
            Vec::new(),
        )
        .await?;
        Ok(())
    }

    /// Deletes a relationship; Graph allows it only while it is `created`.
    pub async fn delete_relationship(
        &self,
        id: &str,
        etag: Option<&str>,
    ) -> Result<(), RemoteError> {
        self.write(
            Method::DELETE,
            &format!("{BASE}/{id}"),
            None,
            if_match(etag),
        )
        .await?;
        Ok(())
    }

    /// Turns auto-extend on (P180D) with the relationship's ETag. Graph answers 200, 204, or
    /// 202 for a change it finishes later; a stale ETag is 412.
    pub async fn enable_auto_extend(
        &self,
        id: &str,
        etag: Option<&str>,
    ) -> Result<(), RemoteError> {
        self.write(
            Method::PATCH,
            &format!("{BASE}/{id}"),
            Some(json!({"autoExtendDuration": crate::gdap::rules::AUTO_EXTEND})),
            if_match(etag),
        )
        .await?;
        Ok(())
    }

    /// Gives `role_ids` to the security group `group_id` in an active relationship. Graph keeps
    /// one assignment per group: a 409, or a lost answer, is read back, and the assignment
    /// found for the group is returned, with whether this call made it.
    pub async fn create_assignment(
        &self,
        relationship: &str,
        group_id: &str,
        role_ids: &[String],
    ) -> Result<(AccessAssignment, Made), RemoteError> {
        let path = format!("{BASE}/{relationship}/accessAssignments");
        let body = json!({
            "accessContainer": {"accessContainerId": group_id, "accessContainerType": "securityGroup"},
            "accessDetails": roles_json(role_ids),
        });
        match self
            .write(Method::POST, &path, Some(body), Vec::new())
            .await
        {
            Ok(r) => Ok((self.read(&r, "POST", &format!("/{path}"))?, Made::Created)),
            Err(e) if e_status(&e) == Some(409) || answer_lost(&e) => {
                // A lost answer may have created it; a 409 means it was there before.
                let made = if answer_lost(&e) {
                    Made::PerhapsCreated
                } else {
                    Made::AlreadyThere
                };
                let existing = self.access_assignments(relationship).await?;
                existing
                    .into_iter()
                    .find(|a| {
                        a.group().is_some_and(|g| g.eq_ignore_ascii_case(group_id))
                            && !matches!(a.status.as_deref(), Some("deleted" | "deleting"))
                    })
                    .map(|a| (a, made))
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the roles of an existing assignment (with its ETag).
    pub async fn update_assignment(
        &self,
        relationship: &str,
        assignment: &AccessAssignment,
        role_ids: &[String],
    ) -> Result<(), RemoteError> {
        self.write(
            Method::PATCH,
            &format!("{BASE}/{relationship}/accessAssignments/{}", assignment.id),
            Some(json!({"accessDetails": roles_json(role_ids)})),
            if_match(assignment.etag.as_deref()),
        )
        .await?;
        Ok(())
    }
}

fn e_status(e: &RemoteError) -> Option<u16> {
    match e {
        RemoteError::Api(a) => a.status(),
        RemoteError::Auth(_) => None,
    }
}
