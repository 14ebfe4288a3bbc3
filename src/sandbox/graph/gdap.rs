//! GDAP in the partner tenant: the delegated admin relationships (`$top` up
//! to 300) and each one's access assignments. The write routes (create, `/requests`,
//! assignment POST/PATCH) belong here too, beside the reads.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, collection, list};
use crate::sandbox::reply::graph_error;
use crate::sandbox::state::SimState;
use crate::sandbox::world::{AccessAssignment, Relationship};

/// The most relationships one page may hold (Graph's documented `$top` limit).
const MAX_RELATIONSHIPS: usize = 300;
const CREATED: &str = "2025-02-10T11:24:42Z";
const ACTIVATED: &str = "2025-02-10T11:26:44Z";

fn roles_json(roles: &[String]) -> Value {
    json!({"unifiedRoles": roles.iter().map(|id| json!({"roleDefinitionId": id})).collect::<Vec<_>>()})
}

pub fn relationship_json(r: &Relationship) -> Value {
    let approved = !matches!(r.status.as_str(), "created" | "approvalPending");
    let mut v = json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": format!("W/\"{}\"", &r.id[..8]),
        "id": r.id,
        "displayName": r.display_name,
        "duration": r.duration,
        "accessDetails": roles_json(&r.roles),
        "status": r.status,
        "autoExtendDuration": r.auto_extend_duration,
        "createdDateTime": CREATED,
        "lastModifiedDateTime": if approved { ACTIVATED } else { CREATED },
        "activatedDateTime": if approved { Some(ACTIVATED) } else { None },
        "endDateTime": r.end,
    });
    if let Some(c) = &r.customer {
        let mut customer = json!({});
        if let Some(t) = &c.tenant_id {
            customer["tenantId"] = json!(t);
        }
        if let Some(n) = &c.display_name {
            customer["displayName"] = json!(n);
        }
        v["customer"] = customer;
    }
    v
}

pub fn assignment_json(a: &AccessAssignment) -> Value {
    json!({
        "@odata.etag": format!("W/\"{}\"", &a.id[..a.id.len().min(8)]),
        "id": a.id,
        "status": a.status,
        "accessContainer": {"accessContainerId": a.group, "accessContainerType": "securityGroup"},
        "accessDetails": roles_json(&a.roles),
        "createdDateTime": ACTIVATED,
        "lastModifiedDateTime": ACTIVATED,
    })
}

pub async fn relationships(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let all: Vec<Value> = sim
        .world()
        .relationships
        .iter()
        .map(relationship_json)
        .collect();
    collection(
        &sim,
        &uri,
        &headers,
        "tenantRelationships/delegatedAdminRelationships",
        all,
        MAX_RELATIONSHIPS,
    )
}

pub async fn access_assignments(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let value: Option<Vec<Value>> = sim
        .world()
        .relationships
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.assignments.iter().map(assignment_json).collect());
    match value {
        Some(v) => list(
            &sim,
            &uri,
            &headers,
            "tenantRelationships/delegatedAdminRelationships/accessAssignments",
            v,
        ),
        None => graph_error(
            axum::http::StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "The relationship was not found.",
        ),
    }
}
