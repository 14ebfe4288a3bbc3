//! The partner tenant's security groups and users, for GDAP access assignments: groups by
//! display name (`$filter=displayName eq '…'`) or id, new security groups, members added by
//! `$ref` (Graph's 400 for one already there), the signed-in user and users by UPN.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, list, request_json};
use crate::sandbox::reply::{graph_error, graph_not_found, json_response};
use crate::sandbox::state::SimState;
use crate::sandbox::world::{self, Group, derived_guid};

fn group_json(g: &Group) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "securityEnabled": true, "mailEnabled": false})
}

/// `GET /groups[?$filter=displayName eq '…']`.
pub async fn list_groups(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let wanted = match q.get("$filter") {
        None => None,
        Some(f) => match f
            .strip_prefix("displayName eq '")
            .and_then(|r| r.strip_suffix('\''))
        {
            Some(name) => Some(name.replace("''", "'")),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported query.",
                );
            }
        },
    };
    let value: Vec<Value> = sim
        .world()
        .groups
        .iter()
        .filter(|g| {
            wanted
                .as_deref()
                .is_none_or(|n| g.display_name.eq_ignore_ascii_case(n))
        })
        .map(group_json)
        .collect();
    list(&sim, &uri, &headers, "groups", value)
}

/// `GET /groups/{id}`.
pub async fn group(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let world = sim.world();
    match world.groups.iter().find(|g| g.id.eq_ignore_ascii_case(&id)) {
        Some(g) => json_response(StatusCode::OK, group_json(g)),
        None => graph_not_found(&id),
    }
}

/// `POST /groups`: a security group; a mail-enabled or non-security one is refused, as csp
/// must never ask for one.
pub async fn create_group(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.may(&sim, &["Group.Create", "Group.ReadWrite.All"]) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let name = req["displayName"].as_str().unwrap_or_default().trim();
    if name.is_empty()
        || req["mailNickname"].as_str().is_none_or(str::is_empty)
        || req["securityEnabled"] != true
        || req["mailEnabled"] != false
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "A security group needs displayName, mailNickname, securityEnabled true and mailEnabled false.",
        );
    }
    let mut w = sim.world();
    let g = Group {
        id: derived_guid(&format!("group/{name}/{}", w.groups.len())),
        display_name: name.to_string(),
        members: Vec::new(),
    };
    let body = group_json(&g);
    w.groups.push(g);
    json_response(StatusCode::CREATED, body)
}

/// `POST /groups/{id}/members/$ref`.
pub async fn add_member(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller.may(&sim, &["GroupMember.ReadWrite.All", "Group.ReadWrite.All"]) {
        return r.into_response();
    }
    let req = match request_json(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let user = req["@odata.id"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut w = sim.world();
    let known_user = user == world::USER_ID || w.users.iter().any(|u| u.id == user);
    let Some(pos) = w.groups.iter().position(|g| g.id.eq_ignore_ascii_case(&id)) else {
        return graph_not_found(&id);
    };
    if !known_user {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The reference does not name a user of the tenant.",
        );
    }
    let already = if user == world::USER_ID {
        w.in_group(&id)
    } else {
        w.groups[pos].members.contains(&user)
    };
    if already {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
        );
    }
    if user == world::USER_ID {
        let gid = w.groups[pos].id.clone();
        w.user_groups.push(gid);
    } else {
        w.groups[pos].members.push(user);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /me`.
pub async fn me(_caller: Caller) -> Response {
    json_response(
        StatusCode::OK,
        json!({"id": world::USER_ID, "userPrincipalName": world::USER}),
    )
}

/// `GET /users/{id or UPN}`.
pub async fn user(
    State(sim): State<Arc<SimState>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Response {
    if let Err(r) = caller.partner_only() {
        return r.into_response();
    }
    let key = key.to_ascii_lowercase();
    if key == world::USER || key == world::USER_ID {
        return me(caller).await;
    }
    let w = sim.world();
    match w
        .users
        .iter()
        .find(|u| u.id == key || u.user_principal_name.eq_ignore_ascii_case(&key))
    {
        Some(u) => json_response(
            StatusCode::OK,
            json!({"id": u.id, "userPrincipalName": u.user_principal_name}),
        ),
        None => graph_not_found(&key),
    }
}
