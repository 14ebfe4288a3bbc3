//! `csp domains`: a customer tenant's domains from Graph in that tenant, or, before the app is
//! consented there, from Partner Center's record of the customer.

use serde::Serialize;

use crate::cli::DomainsArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::http::RemoteError;
use crate::output::Render;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainRow {
    pub domain: String,
    pub is_default: Option<bool>,
    pub is_initial: Option<bool>,
    pub is_verified: Option<bool>,
    /// `graph` or `partner_center`.
    pub source: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DomainList(Vec<DomainRow>);

impl Render for DomainList {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["source", "isInitial"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let flag = |v: Option<bool>| super::yes_no(v);
        (
            vec!["domain", "isDefault", "isInitial", "isVerified", "source"],
            self.0
                .iter()
                .map(|d| {
                    vec![
                        d.domain.clone(),
                        flag(d.is_default),
                        flag(d.is_initial),
                        flag(d.is_verified),
                        d.source.to_string(),
                    ]
                })
                .collect(),
        )
    }
}

/// AADSTS codes that mean "this tenant does not (yet) let the app in": no consent, app unknown
/// there, user without access.
const NOT_CONSENTED: [u32; 4] = [65001, 700016, 50020, 50177];

pub async fn run(ctx: &Context, args: &DomainsArgs) -> Result<(), CliError> {
    let target = super::resolve::customer_tenant(ctx, &args.customer).await?;
    let graph = ctx.graph().await?;
    let rows = match graph.domains(&target.tenant_id).await {
        Ok(domains) => domains
            .into_iter()
            .map(|d| DomainRow {
                domain: d.id.to_ascii_lowercase(),
                is_default: d.is_default,
                is_initial: d.is_initial,
                is_verified: d.is_verified,
                source: "graph",
            })
            .collect(),
        Err(e) if no_access(&e) => {
            let customer = match ctx
                .partner_center()
                .await?
                .customer(&target.tenant_id)
                .await
            {
                Ok(c) => c,
                Err(pc) if no_commerce_relationship(&pc) => {
                    return Err(gdap_only(ctx, &graph, &target, &e, pc).await);
                }
                Err(pc) => return Err(pc.into()),
            };
            ctx.note(&format!(
                "note: {} cannot be read with Graph ({}); showing Partner Center's record of the customer instead",
                target.tenant_id,
                reason(&e)
            ));
            let mut rows: Vec<DomainRow> = Vec::new();
            if let Some(d) = customer.domain() {
                rows.push(DomainRow {
                    is_initial: Some(d.to_ascii_lowercase().ends_with(".onmicrosoft.com")),
                    domain: d.to_ascii_lowercase(),
                    is_default: None,
                    is_verified: None,
                    source: "partner_center",
                });
            }
            for d in customer.custom_domains.unwrap_or_default() {
                let d = d.to_ascii_lowercase();
                if rows.iter().all(|r| r.domain != d) {
                    rows.push(DomainRow {
                        domain: d,
                        is_default: None,
                        is_initial: Some(false),
                        is_verified: None,
                        source: "partner_center",
                    });
                }
            }
            rows
        }
        Err(e) => return Err(e.into()),
    };
    let mut rows = rows;
    rows.sort_by(|a, b| {
        (b.is_default == Some(true), b.is_initial == Some(true))
            .cmp(&(a.is_default == Some(true), a.is_initial == Some(true)))
            .then_with(|| a.domain.cmp(&b.domain))
    });
    super::emit(ctx, &DomainList(rows))
}

/// Partner Center's answer for a tenant that is not its customer (403 code 20002, or 404).
fn no_commerce_relationship(e: &RemoteError) -> bool {
    match e {
        RemoteError::Api(api) => matches!(api.status(), Some(403 | 404)),
        RemoteError::Auth(_) => false,
    }
}

/// Graph refused and Partner Center has no record: when a GDAP relationship reaches the
/// tenant, say that it is a GDAP-only customer whose domains only Graph can list; otherwise
/// Partner Center's own error stands.
async fn gdap_only(
    ctx: &Context,
    graph: &crate::graph::Graph,
    target: &super::resolve::Target,
    graph_error: &RemoteError,
    pc_error: RemoteError,
) -> CliError {
    let reached = match graph.gdap_relationships().await {
        Ok(rels) => rels
            .iter()
            .any(|r| r.tenant_id().as_deref() == Some(target.tenant_id.as_str())),
        Err(_) => false,
    };
    if !reached {
        return pc_error.into();
    }
    let csp = ctx.csp();
    let who = if target.label == target.tenant_id {
        target.label.clone()
    } else {
        format!("{} ({})", target.label, target.tenant_id)
    };
    CliError::Refused {
        message: format!(
            "{who} is reached only through GDAP: Partner Center has no record of it, so only Graph can list its domains, and Graph refused ({})",
            reason(graph_error)
        ),
        hint: Some(format!(
            "consent the app in that tenant first (`{csp} consent --customer {}` once it is mapped), then run this again; `{csp} customers --gdap` shows what csp knows of it",
            target.label
        )),
    }
}

fn no_access(e: &RemoteError) -> bool {
    match e {
        RemoteError::Auth(a) => a.aadsts().is_some_and(|c| NOT_CONSENTED.contains(&c)),
        RemoteError::Api(api) => matches!(api.status(), Some(401 | 403)),
    }
}

fn reason(e: &RemoteError) -> String {
    match e {
        RemoteError::Auth(a) => match a.aadsts() {
            Some(65001) => "AADSTS65001: the app is not consented there yet".into(),
            Some(c) => format!("AADSTS{c}: the partner user or app has no access there"),
            None => a.to_string(),
        },
        RemoteError::Api(api) => format!(
            "Graph answered {}: the app's Graph permissions are not granted there",
            api.status().unwrap_or_default()
        ),
    }
}
