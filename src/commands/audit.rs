//! `csp audit`: a read-only check of every mapped customer: GDAP (relationship, consent role,
//! access assignment, the user's group, expiry), the app's service principal, and its granted
//! scopes against the manifest. Names every problem and the command that repairs it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::cli::AuditArgs;
use crate::consent::manifest::{Manifest, ManifestFlags, alias_of, missing};
use crate::context::Context;
use crate::error::CliError;
use crate::failure::{Failure, FailureCode};
use crate::graph::Graph;
use crate::graph::model::{GdapRelationship, snake_case};
use crate::graph::readback::ReadbackError;
use crate::mapping::{Mapping, MappingStore};
use crate::output::Render;
use crate::roles::{self, ConsentCapability};

/// Days before a relationship's end that `audit` starts warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GdapCheck {
    /// `active` when any relationship with the customer is; else the latest one's status; `none`.
    pub status: String,
    pub relationships: usize,
    /// The role that can consent, by name, from an active relationship.
    pub consent_role: Option<String>,
    /// `microsoft` (a role Microsoft names for consent) or `peers_practice` (Application
    /// Administrator, which CIPP and Rewst use).
    pub consent_role_source: Option<&'static str>,
    /// Whether that role sits in an active access assignment.
    pub role_assigned: Option<bool>,
    /// Whether the signed-in user is in that assignment's group (`null`: Graph would not say).
    pub user_in_group: Option<bool>,
    pub end_date: Option<String>,
    pub auto_extend: bool,
    pub expires_soon: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub customer: String,
    pub tenant_id: String,
    pub gdap: GdapCheck,
    pub service_principal: Option<bool>,
    /// Declared scopes not granted, per resource (`null` without a manifest or a readback).
    pub missing_scopes: Option<BTreeMap<String, Vec<String>>>,
    /// Granted scopes not declared, per resource.
    pub extra_scopes: Option<BTreeMap<String, Vec<String>>>,
    pub ok: bool,
    pub problems: Vec<String>,
    /// The failure code of each problem, in the same order.
    pub problem_codes: Vec<FailureCode>,
    pub warnings: Vec<String>,
    /// The command that repairs the first problem, when csp can (`csp gdap …` or `csp
    /// consent …`).
    pub repair: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct AuditReport(Vec<AuditRow>);

fn mark(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "?",
    }
}

impl Render for AuditReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["servicePrincipal", "assigned", "consentRole"])
            .with_min_text(40)
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "customer",
                "gdap",
                "consentRole",
                "assigned",
                "servicePrincipal",
                "scopes",
                "detail",
            ],
            self.0
                .iter()
                .map(|r| {
                    let scopes_ok = r.missing_scopes.as_ref().map(|m| m.is_empty());
                    let mut detail: Vec<String> = r.problems.clone();
                    detail.extend(r.warnings.iter().map(|w| format!("! {w}")));
                    vec![
                        r.customer.clone(),
                        format!(
                            "{} {}",
                            mark(Some(r.gdap.status == "active")),
                            r.gdap.status
                        ),
                        match &r.gdap.consent_role {
                            Some(role) => format!("✓ {role}"),
                            None => "✗".into(),
                        },
                        mark(r.gdap.role_assigned).to_string(),
                        mark(r.service_principal).to_string(),
                        mark(scopes_ok).to_string(),
                        if detail.is_empty() {
                            "in order".into()
                        } else {
                            detail.join("; ")
                        },
                    ]
                })
                .collect(),
        )
    }
}

/// What is read once for the whole run.
struct Shared {
    graph: Graph,
    relationships: Vec<GdapRelationship>,
    my_groups: Option<BTreeSet<String>>,
    manifest: Option<Manifest>,
    app_id: String,
    now: chrono::DateTime<chrono::Utc>,
    /// How to invoke csp in repair lines (`csp`, `csp --sandbox`, …).
    csp: String,
}

pub async fn run(ctx: &Context, args: &AuditArgs) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let profile = settings.profile_config();
    let sign_in_client = settings
        .env_sign_in
        .client_id
        .clone()
        .or(profile.client_id.clone());
    let flags = ManifestFlags {
        app_id: args.app_id.clone(),
        display_name: None,
        grants: args.grant.clone(),
    };
    let manifest =
        Manifest::resolve_optional(profile.consent.as_ref(), &flags, sign_in_client.as_deref())
            .map_err(|m| CliError::usage(m, None))?;
    let app_id = match &manifest {
        Some(m) => m.application_id.clone(),
        None => args
            .app_id
            .clone()
            .or(sign_in_client)
            .ok_or(crate::auth::AuthError::NoClientId)?,
    };
    if manifest.is_none() {
        ctx.warn("no consent manifest ([profiles.NAME.consent] or --grant): granted scopes are not compared");
    }
    let targets = targets(ctx, &args.customer)?;
    let graph = ctx.graph().await?;
    let relationships = graph.gdap_relationships().await?;
    let my_groups = match graph.my_group_ids().await {
        Ok(g) => Some(g.into_iter().collect()),
        Err(e) => {
            tracing::info!("cannot read the signed-in user's groups: {e}");
            None
        }
    };
    let shared = Arc::new(Shared {
        graph,
        relationships,
        my_groups,
        manifest,
        app_id,
        now: chrono::Utc::now(),
        csp: ctx.csp(),
    });
    let bar = super::progress::bar(ctx, targets.len() as u64, "auditing");
    let mut rows: Vec<(usize, AuditRow)> = futures::stream::iter(targets.iter().enumerate())
        .map(|(i, m)| {
            let shared = Arc::clone(&shared);
            let bar = bar.clone();
            async move {
                let row = audit_one(&shared, m).await;
                bar.inc(1);
                (i, row)
            }
        })
        .buffer_unordered(usize::from(args.jobs))
        .collect()
        .await;
    bar.finish_and_clear();
    rows.sort_by_key(|(i, _)| *i);
    let rows: Vec<AuditRow> = rows.into_iter().map(|(_, r)| r).collect();
    let attention = rows.iter().filter(|r| !r.ok).count();
    let repairs: Vec<String> = rows.iter().filter_map(|r| r.repair.clone()).collect();
    let total = rows.len();
    super::emit(ctx, &AuditReport(rows))?;
    if settings.output == crate::cli::OutputFormat::Table && !repairs.is_empty() {
        let mut text = String::from("\nTo repair:\n");
        for r in &repairs {
            text.push_str(&format!("  {r}\n"));
        }
        ctx.io.out(&text).map_err(CliError::output)?;
    }
    if attention > 0 {
        return Err(CliError::Partial {
            failed: attention,
            total,
            what: "customers need attention",
        });
    }
    Ok(())
}

fn targets(ctx: &Context, names: &[String]) -> Result<Vec<Mapping>, CliError> {
    let mappings = MappingStore::new(&ctx.settings.mappings_path).load()?;
    if names.is_empty() {
        return Ok(mappings.all().to_vec());
    }
    names
        .iter()
        .map(|n| {
            mappings
                .client(n)
                .cloned()
                .ok_or_else(|| super::resolve::not_a_client(&mappings, n))
        })
        .collect()
}

async fn audit_one(shared: &Shared, m: &Mapping) -> AuditRow {
    let mut problems: Vec<Failure> = Vec::new();
    let mut warnings = Vec::new();
    let gdap = check_gdap(shared, &m.tenant_id, &mut problems, &mut warnings).await;
    let gdap_ok = problems.is_empty();

    let (service_principal, missing_scopes, extra_scopes, fewer) =
        match shared.graph.held_by(&m.tenant_id, &shared.app_id).await {
            Ok(held) => {
                let (missing_s, extra_s, fewer) =
                    compare(shared.manifest.as_ref(), &held.tenant_wide);
                (Some(held.service_principal), missing_s, extra_s, fewer)
            }
            Err(ReadbackError::NotConsented) => {
                let (missing_s, extra_s, _) = compare(shared.manifest.as_ref(), &BTreeMap::new());
                (Some(false), missing_s, extra_s, false)
            }
            Err(ReadbackError::Remote(e)) => {
                problems.push(Failure::new(
                    FailureCode::of_remote(&e),
                    format!("cannot read the app's grants: {e}"),
                ));
                (None, None, None, false)
            }
        };
    if service_principal == Some(false) {
        problems.push(Failure::new(
            FailureCode::ConsentMissing,
            "no service principal: the app is not consented in this tenant",
        ));
    }
    if let Some(missing_s) = missing_scopes.as_ref().filter(|m| !m.is_empty())
        && service_principal == Some(true)
    {
        problems.push(Failure::new(
            FailureCode::ScopesDiffer,
            format!("missing scopes: {}", describe(missing_s)),
        ));
    }
    if let Some(extra) = extra_scopes.as_ref().filter(|m| !m.is_empty()) {
        warnings.push(format!("scopes beyond the manifest: {}", describe(extra)));
    }
    let consent_needed =
        service_principal == Some(false) || missing_scopes.as_ref().is_some_and(|m| !m.is_empty());
    if consent_needed && !gdap_ok {
        warnings.push("fix GDAP first: consent needs a consent-capable role".into());
    }
    let repair = problems
        .first()
        .and_then(|p| repair(shared, &m.customer, p.code, fewer));
    AuditRow {
        customer: m.customer.clone(),
        tenant_id: m.tenant_id.clone(),
        gdap,
        service_principal,
        missing_scopes,
        extra_scopes,
        ok: problems.is_empty(),
        problem_codes: problems.iter().map(|p| p.code).collect(),
        problems: problems.into_iter().map(|p| p.message).collect(),
        warnings,
        repair,
    }
}

/// The command that fixes a problem of this code for `customer`, when csp has one: GDAP
/// first (a relationship with a consent role, its assignment, the user's group), then consent.
fn repair(shared: &Shared, customer: &str, code: FailureCode, fewer: bool) -> Option<String> {
    let who = shell_quote(customer);
    let csp = &shared.csp;
    Some(match code {
        FailureCode::GdapMissing | FailureCode::GdapRoleMissing => {
            format!("{csp} gdap request --customer {who} --template consent")
        }
        FailureCode::RoleUnassigned => {
            format!("{csp} gdap assign --customer {who} --create-groups --add-member me")
        }
        FailureCode::NotInGroup => format!("{csp} gdap assign --customer {who} --add-member me"),
        FailureCode::ConsentMissing | FailureCode::ScopesDiffer if shared.manifest.is_some() => {
            format!(
                "{csp} consent --customer {who}{}",
                if fewer { " --force" } else { "" }
            )
        }
        _ => return None,
    })
}

async fn check_gdap(
    shared: &Shared,
    tenant: &str,
    problems: &mut Vec<Failure>,
    warnings: &mut Vec<String>,
) -> GdapCheck {
    let rels: Vec<&GdapRelationship> = shared
        .relationships
        .iter()
        .filter(|r| r.tenant_id().as_deref() == Some(tenant))
        .collect();
    let active: Vec<&GdapRelationship> = rels.iter().copied().filter(|r| r.is_active()).collect();
    let status = if !active.is_empty() {
        "active".to_string()
    } else {
        rels.iter()
            .max_by(|a, b| a.end_date_time.cmp(&b.end_date_time))
            .and_then(|r| r.status.clone())
            .map(|s| snake_case(&s))
            .unwrap_or_else(|| "none".into())
    };
    let mut check = GdapCheck {
        status,
        relationships: rels.len(),
        consent_role: None,
        consent_role_source: None,
        role_assigned: None,
        user_in_group: None,
        end_date: None,
        auto_extend: false,
        expires_soon: false,
    };
    if rels.is_empty() {
        problems.push(Failure::new(
            FailureCode::GdapMissing,
            "no GDAP relationship with this customer",
        ));
        return check;
    }
    if active.is_empty() {
        problems.push(Failure::new(
            FailureCode::GdapMissing,
            format!("no active GDAP relationship (latest is {})", check.status),
        ));
        return check;
    }
    // The relationship and role that can consent: a role Microsoft names first.
    let capable = |cap: ConsentCapability| {
        active.iter().find_map(|r| {
            r.role_ids()
                .filter_map(roles::by_id)
                .find(|role| role.consent == cap)
                .map(|role| (*r, role))
        })
    };
    let Some((rel, role)) =
        capable(ConsentCapability::Microsoft).or_else(|| capable(ConsentCapability::PeersPractice))
    else {
        problems.push(Failure::new(FailureCode::GdapRoleMissing, "no active relationship grants a role that can consent (Global Administrator, Privileged Role Administrator or Cloud Application Administrator; Application Administrator by peers' practice)"));
        return check;
    };
    check.consent_role = Some(role.name.to_string());
    check.consent_role_source = Some(match role.consent {
        ConsentCapability::Microsoft => "microsoft",
        _ => "peers_practice",
    });
    if role.consent == ConsentCapability::PeersPractice {
        warnings.push("Application Administrator is what peers use to consent; Microsoft names Cloud Application Administrator".into());
    }
    check.end_date = rel.end_date_time.clone();
    check.auto_extend = rel.auto_extends();
    if let Some(end) = rel
        .end_date_time
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
    {
        let days = (end.with_timezone(&chrono::Utc) - shared.now).num_days();
        if days < EXPIRY_WARNING_DAYS {
            check.expires_soon = true;
            warnings.push(format!(
                "the GDAP relationship ends in {} days ({}){}",
                days.max(0),
                &end.to_rfc3339()[..10],
                if check.auto_extend {
                    ", auto-extend is on"
                } else {
                    ", auto-extend is off: renew it"
                }
            ));
        }
    }
    // Is the role in an active access assignment, and is the user in its group?
    let consent_ids: Vec<&str> = roles::ROLES
        .iter()
        .filter(|r| r.consent != ConsentCapability::None)
        .map(|r| r.id)
        .collect();
    let mut groups = BTreeSet::new();
    let mut assignment_error = None;
    for r in &active {
        match shared.graph.access_assignments(&r.id).await {
            Ok(assignments) => {
                for a in assignments.iter().filter(|a| a.is_active()) {
                    if a.role_ids()
                        .any(|id| consent_ids.iter().any(|c| c.eq_ignore_ascii_case(id)))
                        && let Some(g) = a.group()
                    {
                        groups.insert(g.to_ascii_lowercase());
                    }
                }
            }
            Err(e) => assignment_error = Some(CliError::from(e).to_string()),
        }
    }
    if let Some(e) = assignment_error.filter(|_| groups.is_empty()) {
        problems.push(Failure::new(
            FailureCode::RemoteError,
            format!("cannot read the relationship's access assignments: {e}"),
        ));
        return check;
    }
    check.role_assigned = Some(!groups.is_empty());
    if groups.is_empty() {
        problems.push(Failure::new(
            FailureCode::RoleUnassigned,
            format!(
                "the {} role is in no active access assignment: assign it to a security group in the GDAP relationship",
                role.name
            ),
        ));
        return check;
    }
    if let Some(mine) = &shared.my_groups {
        let member = groups.iter().any(|g| mine.contains(g));
        check.user_in_group = Some(member);
        if !member {
            problems.push(Failure::new(
                FailureCode::NotInGroup,
                "the signed-in user is in none of the groups assigned the consent role",
            ));
        }
    }
    check
}

/// Missing and extra scopes per resource label, and whether some declared resource is held
/// with fewer scopes (a repair then needs `--force`).
type ScopeMap = BTreeMap<String, Vec<String>>;

fn compare(
    manifest: Option<&Manifest>,
    held: &BTreeMap<String, BTreeSet<String>>,
) -> (Option<ScopeMap>, Option<ScopeMap>, bool) {
    let Some(m) = manifest else {
        return (None, None, false);
    };
    let label = |id: &str| alias_of(id).map_or_else(|| id.to_string(), str::to_string);
    let mut missing_s = BTreeMap::new();
    let mut extra_s = BTreeMap::new();
    let mut fewer = false;
    for g in &m.grants {
        let have = held.get(&g.resource).cloned().unwrap_or_default();
        let lacking = missing(&g.scopes, &have);
        if !lacking.is_empty() {
            fewer |= !have.is_empty();
            missing_s.insert(label(&g.resource), lacking);
        }
    }
    for (resource, extra) in m.extra_scopes(held) {
        extra_s.insert(label(&resource), extra);
    }
    (Some(missing_s), Some(extra_s), fewer)
}

fn describe(m: &ScopeMap) -> String {
    m.iter()
        .map(|(r, s)| format!("{r}: {}", s.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A client name as one shell word.
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
