//! GDAP in the partner tenant: the delegated admin relationships (`$top` up to 300) and each
//! one's access assignments, and their lifecycle as Graph runs it: create (Microsoft's rules on
//! the name, duration and auto-extend), lock for approval, the customer's approval a few reads
//! later (or at once, or never), auto-extend changed with the ETag (412 when stale), terminate,
//! delete while `created`, and access assignments that start `pending` (one per group: a second
//! is 409).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, collection, list, request_json};
use crate::sandbox::reply::{graph_error, json_response};
use crate::sandbox::state::SimState;
use crate::sandbox::world::{
    AccessAssignment, GLOBAL_ADMIN, Relationship, RelationshipCustomer, World, derived_guid,
};

/// The Graph permission GDAP writes need.
const WRITE: &[&str] = &["DelegatedAdminRelationship.ReadWrite.All"];

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
        "@odata.etag": r.etag(),
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
        "@odata.etag": a.etag(),
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
    let all: Vec<Value> = {
        let mut world = sim.world();
        world.advance_gdap();
        world.relationships.iter().map(relationship_json).collect()
    };
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
    let value: Option<Vec<Value>> = {
        let mut world = sim.world();
        world.advance_gdap();
        world
            .relationships
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.assignments.iter().map(assignment_json).collect())
    };
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

fn not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        "The relationship was not found.",
    )
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// The `If-Match` a change names, checked against the current ETag: Graph answers 412 to a
/// stale one.
fn stale(headers: &HeaderMap, etag: &str) -> Option<Response> {
    let given = headers.get("if-match").and_then(|v| v.to_str().ok())?;
    (given != etag && given != "*").then(|| {
        graph_error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "The ETag in If-Match does not match the resource's current ETag.",
        )
    })
}

fn role_ids(access: &Value) -> Vec<String> {
    access["unifiedRoles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["roleDefinitionId"].as_str())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /tenantRelationships/delegatedAdminRelationships`: a relationship `created`, after
/// Microsoft's rules.
pub async fn create(State(sim): State<Arc<SimState>>, caller: Caller, body: Bytes) -> Response {
    if let Err(r) = caller.may(&sim, WRITE) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let name = req["displayName"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    let duration = req["duration"].as_str().unwrap_or_default().to_string();
    let auto = req["autoExtendDuration"]
        .as_str()
        .unwrap_or("PT0S")
        .to_string();
    let roles = role_ids(&req["accessDetails"]);
    let mut world = sim.world();
    if name.is_empty() || name.chars().count() > 50 {
        return bad_request("The displayName must be 1 to 50 characters.");
    }
    if world
        .relationships
        .iter()
        .any(|r| r.display_name.eq_ignore_ascii_case(&name))
    {
        return bad_request(&format!(
            "A relationship with the displayName '{name}' already exists."
        ));
    }
    if crate::gdap::rules::duration_days(&duration).is_err() {
        return bad_request("The duration must be between P1D and P2Y.");
    }
    if !matches!(auto.as_str(), "PT0S" | "P0D" | "P180D") {
        return bad_request("The autoExtendDuration must be PT0S, P0D or P180D.");
    }
    if auto == "P180D" && roles.iter().any(|r| r == GLOBAL_ADMIN) {
        return bad_request(
            "A relationship with the Global Administrator role cannot be auto extended.",
        );
    }
    if roles.is_empty() {
        return bad_request("accessDetails must name at least one role.");
    }
    let customer = req
        .get("customer")
        .filter(|c| c.is_object())
        .map(|c| RelationshipCustomer {
            tenant_id: c["tenantId"].as_str().map(str::to_ascii_lowercase),
            display_name: c["displayName"].as_str().map(str::to_string),
        });
    let n = world.relationships.len();
    let id = format!(
        "{}-{}",
        derived_guid(&format!("rel/{name}/{n}")),
        derived_guid(&format!("rel2/{name}/{n}"))
    );
    let r = Relationship {
        id,
        display_name: name,
        customer,
        status: "created".into(),
        roles,
        duration,
        auto_extend_duration: auto,
        end: None,
        assignments: Vec::new(),
        version: 0,
        approval_reads: None,
    };
    let body = relationship_json(&r);
    world.relationships.push(r);
    json_response(StatusCode::CREATED, body)
}

fn find<'a>(world: &'a mut World, id: &str) -> Option<&'a mut Relationship> {
    world.relationships.iter_mut().find(|r| r.id == id)
}

/// `GET …/delegatedAdminRelationships/{id}`.
pub async fn get_one(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let mut world = sim.world();
    world.advance_gdap();
    match find(&mut world, &id) {
        Some(r) => json_response(StatusCode::OK, relationship_json(r)),
        None => not_found(),
    }
}

/// `PATCH …/{id}`: auto-extend while `created` or `active`, with the current ETag.
pub async fn update(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.may(&sim, WRITE) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut world = sim.world();
    let Some(r) = find(&mut world, &id) else {
        return not_found();
    };
    if let Some(refused) = stale(&headers, &r.etag()) {
        return refused;
    }
    if let Some(auto) = req["autoExtendDuration"].as_str() {
        if !matches!(r.status.as_str(), "created" | "active") {
            return bad_request(
                "autoExtendDuration can change only while the relationship is created or active.",
            );
        }
        if auto == "P180D" && r.roles.iter().any(|x| x == GLOBAL_ADMIN) {
            return bad_request(
                "A relationship with the Global Administrator role cannot be auto extended.",
            );
        }
        r.auto_extend_duration = auto.to_string();
    }
    r.version += 1;
    json_response(StatusCode::OK, relationship_json(r))
}

/// `DELETE …/{id}`: only while `created`.
pub async fn delete(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = caller.may(&sim, WRITE) {
        return r.into_response();
    }
    let mut world = sim.world();
    let Some(r) = find(&mut world, &id) else {
        return not_found();
    };
    if let Some(refused) = stale(&headers, &r.etag()) {
        return refused;
    }
    if r.status != "created" {
        return bad_request(
            "Only a relationship in the created state can be deleted; terminate it instead.",
        );
    }
    world.relationships.retain(|r| r.id != id);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST …/{id}/requests`: `lockForApproval` (then the customer answers a few reads later)
/// or `terminate`.
pub async fn request(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.may(&sim, WRITE) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut world = sim.world();
    let reads = world.switches.approve_after_reads;
    let Some(r) = find(&mut world, &id) else {
        return not_found();
    };
    match req["action"].as_str() {
        Some("lockForApproval") if r.status == "created" => {
            r.status = "approvalPending".into();
            r.approval_reads = Some(reads);
        }
        Some("lockForApproval") => {
            return bad_request(
                "Only a relationship in the created state can be locked for approval.",
            );
        }
        Some("terminate") if r.grants_access() || r.status == "approvalPending" => {
            r.status = "terminated".into();
            r.end = Some(crate::sandbox::days_from_now(0));
        }
        Some("terminate") => {
            return bad_request("Only an active relationship can be terminated.");
        }
        _ => return bad_request("The action must be lockForApproval or terminate."),
    }
    r.version += 1;
    let answer = json!({
        "id": derived_guid(&format!("request/{id}/{}", r.version)),
        "action": req["action"],
        "status": "created",
        "createdDateTime": CREATED,
        "lastModifiedDateTime": CREATED,
    });
    if reads == 0 {
        world.advance_gdap();
    }
    json_response(StatusCode::CREATED, answer)
}

/// `POST …/{id}/accessAssignments`: once active, one assignment per group, `pending` at first.
pub async fn create_assignment(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.may(&sim, WRITE) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let group = req["accessContainer"]["accessContainerId"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let roles = role_ids(&req["accessDetails"]);
    let mut world = sim.world();
    let reads = world.switches.activate_after_reads;
    let known_group = world
        .groups
        .iter()
        .any(|g| g.id.eq_ignore_ascii_case(&group));
    let Some(r) = find(&mut world, &id) else {
        return not_found();
    };
    if !r.grants_access() {
        return bad_request("Access can be assigned only in an active relationship.");
    }
    if !known_group {
        return bad_request(
            "The accessContainerId does not name a security group of the partner tenant.",
        );
    }
    if roles.iter().any(|x| !r.roles.contains(x)) {
        return bad_request("The roles must be among those the customer approved.");
    }
    if r.assignments.iter().any(|a| {
        a.group.eq_ignore_ascii_case(&group) && !matches!(a.status.as_str(), "deleted" | "deleting")
    }) {
        return graph_error(
            StatusCode::CONFLICT,
            "Conflict",
            "The resource already exists.",
        );
    }
    let a = AccessAssignment {
        id: derived_guid(&format!("assignment/{id}/{group}")),
        group,
        roles,
        status: if reads == 0 { "active" } else { "pending" }.into(),
        activation_reads: (reads > 0).then(|| reads - 1),
        version: 0,
    };
    let body = assignment_json(&a);
    r.assignments.push(a);
    json_response(StatusCode::CREATED, body)
}

/// `PATCH …/{id}/accessAssignments/{assignment}`: its roles, with the current ETag.
pub async fn update_assignment(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path((id, assignment)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.may(&sim, WRITE) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut world = sim.world();
    let reads = world.switches.activate_after_reads;
    let Some(r) = find(&mut world, &id) else {
        return not_found();
    };
    let allowed = r.roles.clone();
    let Some(a) = r.assignments.iter_mut().find(|a| a.id == assignment) else {
        return not_found();
    };
    if let Some(refused) = stale(&headers, &a.etag()) {
        return refused;
    }
    let roles = role_ids(&req["accessDetails"]);
    if roles.iter().any(|x| !allowed.contains(x)) {
        return bad_request("The roles must be among those the customer approved.");
    }
    a.roles = roles;
    a.version += 1;
    if reads > 0 {
        a.status = "pending".into();
        a.activation_reads = Some(reads - 1);
    }
    let location = format!(
        "/v1.0/tenantRelationships/delegatedAdminRelationships/{id}/operations/{}",
        a.version
    );
    (
        StatusCode::ACCEPTED,
        [("location", location.as_str()), ("retry-after", "1")],
    )
        .into_response()
}
