//! `csp gdap roles` and `csp gdap templates`: what a relationship can ask for.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::context::Context;
use crate::error::CliError;
use crate::gdap::templates::Source;
use crate::output::Render;
use crate::roles::ROLES;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleRow {
    id: &'static str,
    name: &'static str,
    can_consent: bool,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct RoleList(Vec<RoleRow>);

impl Render for RoleList {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["id"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["name", "id", "canConsent"],
            self.0
                .iter()
                .map(|r| {
                    vec![
                        r.name.to_string(),
                        r.id.to_string(),
                        r.can_consent.to_string(),
                    ]
                })
                .collect(),
        )
    }
}

pub fn roles(ctx: &Context) -> Result<(), CliError> {
    let mut rows: Vec<RoleRow> = ROLES
        .iter()
        .map(|r| RoleRow {
            id: r.id,
            name: r.name,
            can_consent: r.can_consent(),
        })
        .collect();
    rows.sort_by_key(|r| r.name);
    super::super::emit(ctx, &RoleList(rows))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateRow {
    name: String,
    source: Source,
    roles: Vec<String>,
    duration: String,
    auto_extend: bool,
    /// Role name → partner security group.
    groups: BTreeMap<String, String>,
    description: String,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct TemplateList(Vec<TemplateRow>);

impl Render for TemplateList {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["source", "groups"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "name",
                "source",
                "roles",
                "duration",
                "autoExtend",
                "groups",
            ],
            self.0
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        serde_json::to_value(t.source)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        t.roles.join(", "),
                        t.duration.clone(),
                        t.auto_extend.to_string(),
                        t.groups
                            .iter()
                            .map(|(r, g)| format!("{r} → {g}"))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect(),
        )
    }
}

pub fn templates(ctx: &Context) -> Result<(), CliError> {
    let rows = super::all_templates(ctx)?
        .into_iter()
        .map(|t| TemplateRow {
            roles: t.roles.iter().map(|r| r.name.to_string()).collect(),
            groups: t
                .roles
                .iter()
                .map(|r| (r.name.to_string(), t.group_for(r)))
                .collect(),
            duration: t.duration(),
            auto_extend: t.auto_extend,
            source: t.source,
            description: t.description.clone(),
            name: t.name,
        })
        .collect();
    super::super::emit(ctx, &TemplateList(rows))
}
