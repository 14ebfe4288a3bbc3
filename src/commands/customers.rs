//! `csp customers`: every Partner Center customer, optionally searched, optionally with GDAP.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cli::CustomersArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::graph::model::{GdapRelationship, snake_case};
use crate::output::{Render, or_dash};
use crate::partner_center::model::Customer;
use crate::roles;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRow {
    pub tenant_id: String,
    pub name: String,
    pub domain: Option<String>,
    /// Partner Center's `relationshipToPartner` (`reseller`, `advisor`, …), or `gdap_only`.
    pub relationship: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gdap: Option<GdapSummary>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GdapSummary {
    /// `active` when any relationship with the customer is; else the latest one's status;
    /// `none` without any.
    pub status: String,
    /// The roles of the active relationships, by name.
    pub roles: Vec<String>,
    /// When the (latest-ending) active relationship ends.
    pub end_date: Option<String>,
    /// Whether an active relationship extends itself automatically.
    pub auto_extend: bool,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct CustomerList {
    rows: Vec<CustomerRow>,
    #[serde(skip)]
    gdap: bool,
    /// What `--search` asked for, to say so when nothing matches.
    #[serde(skip)]
    search: Option<String>,
}

impl Render for CustomerList {
    fn when_empty(&self, invocation: &str) -> String {
        match &self.search {
            Some(s) => {
                format!("no customers match {s:?} (`{invocation} customers` lists them all)")
            }
            None => "no customers: Partner Center lists none for this partner".into(),
        }
    }

    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["relationship", "tenantId", "domain", "gdapEnds"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let mut headers = vec!["name", "domain", "tenantId", "relationship"];
        if self.gdap {
            headers.extend(["gdap", "roles", "gdapEnds"]);
        }
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.name.clone(),
                    or_dash(&r.domain),
                    r.tenant_id.clone(),
                    r.relationship.clone(),
                ];
                if let Some(g) = &r.gdap {
                    row.push(g.status.clone());
                    row.push(g.roles.join(", "));
                    row.push(
                        g.end_date
                            .as_deref()
                            .map(|d| d.get(..10).unwrap_or(d).to_string())
                            .unwrap_or_else(|| "-".into()),
                    );
                }
                row
            })
            .collect();
        (headers, rows)
    }
}

pub async fn run(ctx: &Context, args: &CustomersArgs) -> Result<(), CliError> {
    let search = args
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let customers = ctx.partner_center().await?.customers(search).await?;
    let relationships = if args.gdap {
        Some(ctx.graph().await?.gdap_relationships().await?)
    } else {
        None
    };
    if let Some(rels) = &relationships {
        // Created for a customer who has not approved yet: no tenant to join on.
        let waiting = rels.iter().filter(|r| r.tenant_id().is_none()).count();
        if waiting > 0 {
            ctx.note(&format!(
                "{waiting} GDAP relationship(s) have no customer yet (created for a customer who has not approved them)"
            ));
        }
    }
    let rows = build_rows(customers, relationships.as_deref(), search);
    super::emit(
        ctx,
        &CustomerList {
            rows,
            gdap: args.gdap,
            search: search.map(str::to_string),
        },
    )
}

/// Joins Partner Center customers and GDAP relationships by tenant id, sorted by name.
pub fn build_rows(
    customers: Vec<Customer>,
    relationships: Option<&[GdapRelationship]>,
    search: Option<&str>,
) -> Vec<CustomerRow> {
    let mut by_tenant: BTreeMap<String, Vec<&GdapRelationship>> = BTreeMap::new();
    for r in relationships.unwrap_or_default() {
        if let Some(t) = r.tenant_id() {
            by_tenant.entry(t).or_default().push(r);
        }
    }
    let mut rows: Vec<CustomerRow> = customers
        .iter()
        .map(|c| {
            let tenant_id = c.tenant_id();
            CustomerRow {
                gdap: relationships.map(|_| summarise(by_tenant.get(&tenant_id))),
                tenant_id,
                name: c.name(),
                domain: c.domain(),
                relationship: c
                    .relationship_to_partner
                    .as_deref()
                    .map(snake_case)
                    .unwrap_or_else(|| "none".into()),
            }
        })
        .collect();
    let known: BTreeSet<String> = rows.iter().map(|r| r.tenant_id.clone()).collect();
    if relationships.is_some() {
        for (tenant_id, rels) in &by_tenant {
            if known.contains(tenant_id) {
                continue;
            }
            let name = rels
                .iter()
                .find_map(|r| r.customer_name().map(str::to_string))
                .unwrap_or_default();
            if let Some(prefix) = search
                && !name.to_lowercase().starts_with(&prefix.to_lowercase())
            {
                continue;
            }
            rows.push(CustomerRow {
                tenant_id: tenant_id.clone(),
                name,
                domain: None,
                relationship: "gdap_only".into(),
                gdap: Some(summarise(Some(rels))),
            });
        }
    }
    // Lowercased once per row, not once per comparison: this sorts thousands of customers.
    rows.sort_by_cached_key(|r| (r.name.to_lowercase(), r.tenant_id.clone()));
    rows
}

fn summarise(rels: Option<&Vec<&GdapRelationship>>) -> GdapSummary {
    let rels: Vec<&GdapRelationship> = rels.cloned().unwrap_or_default();
    let active: Vec<&&GdapRelationship> = rels.iter().filter(|r| r.is_active()).collect();
    let latest = |set: &[&&GdapRelationship]| {
        set.iter()
            .max_by(|a, b| a.end_date_time.cmp(&b.end_date_time))
            .map(|r| (**r).clone())
    };
    let all: Vec<&&GdapRelationship> = rels.iter().collect();
    let status = if !active.is_empty() {
        "active".to_string()
    } else {
        latest(&all)
            .and_then(|r| r.status)
            .map(|s| snake_case(&s))
            .unwrap_or_else(|| "none".into())
    };
    let roles: BTreeSet<String> = active
        .iter()
        .flat_map(|r| r.role_ids().map(roles::name))
        .collect();
    let end_date = if active.is_empty() {
        latest(&all).and_then(|r| r.end_date_time)
    } else {
        latest(&active).and_then(|r| r.end_date_time)
    };
    GdapSummary {
        status,
        roles: roles.into_iter().collect(),
        end_date,
        auto_extend: active.iter().any(|r| r.auto_extends()),
    }
}
