//! `csp map` and its subcommands: map one client, list, remove, import many, suggest matches.
//! Every mapping is checked before it is written: the domain must resolve to a tenant, and the
//! tenant must be the partner's customer in Partner Center or through an active GDAP
//! relationship. Writes go through the mapping store's lock.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::cli::{MapArgs, MapCommand, MapImportArgs, MapRemoveArgs, MapSuggestArgs};
use crate::context::Context;
use crate::customer_check::{Checked, CustomerCheck, Refusal};
use crate::error::CliError;
use crate::failure::{Failure, FailureCode};
use crate::mapping::{self, Conflict, Mapping, MappingStore, Upserted};
use crate::name_match;
use crate::output::Render;

pub async fn run(ctx: &Context, args: &MapArgs) -> Result<(), CliError> {
    match &args.command {
        None => {
            let (Some(customer), Some(domain)) = (&args.customer, &args.domain) else {
                return Err(CliError::usage(
                    "csp map needs --customer and --domain",
                    None,
                ));
            };
            map_one(ctx, customer, domain, args.replace).await
        }
        Some(MapCommand::List(_)) => list(ctx),
        Some(MapCommand::Remove(a)) => remove(ctx, a).await,
        Some(MapCommand::Import(a)) => import(ctx, a).await,
        Some(MapCommand::Suggest(a)) => suggest(ctx, a).await,
    }
}

fn store(ctx: &Context) -> MappingStore {
    MappingStore::new(&ctx.settings.mappings_path)
}

// ---------- what a refusal means here ----------

/// What to do about a refused mapping, by its code.
fn hint_for(code: FailureCode) -> Option<&'static str> {
    match code {
        FailureCode::UnknownDomain => {
            Some("check the spelling; use a domain the client's tenant has verified")
        }
        FailureCode::NotACustomer => {
            Some("check the domain; a customer reached through GDAP needs an active relationship")
        }
        FailureCode::Conflict => Some("pass --replace to replace the existing mapping"),
        _ => None,
    }
}

/// For a single `csp map`: the error, hint and exit code a refusal deserves.
fn refusal_error(r: Refusal) -> CliError {
    if let Some(remote) = r.remote {
        return CliError::from(remote);
    }
    let hint = hint_for(r.code).map(str::to_string);
    match r.code {
        FailureCode::InvalidInput | FailureCode::UnknownDomain => CliError::Usage {
            message: r.message,
            hint,
        },
        _ => CliError::Refused {
            message: r.message,
            hint,
        },
    }
}

fn conflict_refusal(c: &Conflict) -> Refusal {
    let message = match c {
        Conflict::ClientMapped { existing } => format!(
            "{:?} is already mapped to tenant {} ({}, by {})",
            existing.customer, existing.tenant_id, existing.name, existing.domain
        ),
        Conflict::TenantMapped { existing } => format!(
            "tenant {} is already mapped to client {:?}",
            existing.tenant_id, existing.customer
        ),
    };
    Refusal::new(FailureCode::Conflict, message)
}

async fn checker(ctx: &Context, bulk: bool) -> Result<CustomerCheck, CliError> {
    let (lookup, pc, graph) = (
        ctx.tenant_lookup()?,
        ctx.partner_center().await?,
        ctx.graph().await?,
    );
    Ok(if bulk {
        CustomerCheck::listed(lookup, pc, graph).await?
    } else {
        CustomerCheck::new(lookup, pc, graph)
    })
}

fn now() -> String {
    super::status::rfc3339(std::time::SystemTime::now())
}

fn record(c: &Checked) -> Mapping {
    Mapping {
        customer: c.customer.clone(),
        tenant_id: c.tenant_id.clone(),
        domain: c.domain.clone(),
        name: c.name.clone(),
        mapped_at: now(),
        extra: Default::default(),
    }
}

fn status_word(u: Upserted) -> &'static str {
    match u {
        Upserted::Added => "added",
        Upserted::Unchanged => "unchanged",
        Upserted::Replaced => "replaced",
    }
}

// ---------- csp map ----------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MapReport {
    #[serde(flatten)]
    mapping: Mapping,
    /// `added`, `unchanged` or `replaced`.
    status: &'static str,
}

impl Render for MapReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["mappedAt", "name", "tenantId"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let m = &self.mapping;
        (
            vec![
                "customer", "name", "domain", "tenantId", "mappedAt", "status",
            ],
            vec![vec![
                m.customer.clone(),
                m.name.clone(),
                m.domain.clone(),
                m.tenant_id.clone(),
                m.mapped_at.clone(),
                self.status.to_string(),
            ]],
        )
    }
    fn single(&self) -> bool {
        true
    }
}

async fn map_one(
    ctx: &Context,
    customer: &str,
    domain: &str,
    replace: bool,
) -> Result<(), CliError> {
    let store = store(ctx);
    // Read (and so validate) the file before any remote call: a broken file stops here.
    store.load()?;
    // Bad input is refused before any sign-in or network call.
    mapping::validate_client(customer).map_err(|m| CliError::usage(m, None))?;
    mapping::validate_domain(domain).map_err(|m| CliError::usage(m, None))?;
    let checked = checker(ctx, false)
        .await?
        .check(customer, domain)
        .await
        .map_err(refusal_error)?;
    let new = record(&checked);
    let outcome = store.update(|ms| ms.upsert(new.clone(), replace)).await?;
    let status = outcome.map_err(|c| refusal_error(conflict_refusal(&c)))?;
    let stored = store
        .load()?
        .client(&checked.customer)
        .cloned()
        .unwrap_or(new);
    super::emit(
        ctx,
        &MapReport {
            mapping: stored,
            status: status_word(status),
        },
    )
}

// ---------- csp map list / remove ----------

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct MappingList(Vec<Mapping>);

impl Render for MappingList {
    fn when_empty(&self, invocation: &str) -> String {
        format!(
            "no mappings yet (try `{invocation} map suggest --clients FILE`, or `{invocation} map --customer CLIENT --domain DOMAIN`)"
        )
    }

    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["name", "tenantId", "mappedAt"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["customer", "name", "domain", "tenantId", "mappedAt"],
            self.0
                .iter()
                .map(|m| {
                    vec![
                        m.customer.clone(),
                        m.name.clone(),
                        m.domain.clone(),
                        m.tenant_id.clone(),
                        m.mapped_at.clone(),
                    ]
                })
                .collect(),
        )
    }
}

fn list(ctx: &Context) -> Result<(), CliError> {
    let mappings = store(ctx).load()?;
    super::emit(ctx, &MappingList(mappings.all().to_vec()))
}

async fn remove(ctx: &Context, args: &MapRemoveArgs) -> Result<(), CliError> {
    let client = mapping::validate_client(&args.customer).map_err(|m| CliError::usage(m, None))?;
    let removed = store(ctx).update(|ms| ms.remove(&client).ok_or(())).await?;
    match removed {
        Ok(m) => super::emit(
            ctx,
            &MapReport {
                mapping: m,
                status: "removed",
            },
        ),
        Err(()) => Err(CliError::usage(
            format!("no client named {client:?} is mapped"),
            Some("`csp map list` shows the mapped clients"),
        )),
    }
}

// ---------- csp map import ----------

/// One row of an import file.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    customer: String,
    domain: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RowReport {
    line: u64,
    customer: String,
    domain: String,
    /// `added`, `unchanged`, `replaced` or `failed`.
    status: &'static str,
    tenant_id: Option<String>,
    name: Option<String>,
    error: Option<Failure>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ImportReport(Vec<RowReport>);

impl Render for ImportReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["tenantId", "line"]).with_min_text(30)
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["line", "customer", "domain", "status", "tenantId", "detail"],
            self.0
                .iter()
                .map(|r| {
                    vec![
                        r.line.to_string(),
                        r.customer.clone(),
                        r.domain.clone(),
                        r.status.to_string(),
                        r.tenant_id.clone().unwrap_or_else(|| "-".into()),
                        match &r.error {
                            Some(e) => e.message.clone(),
                            None => r.name.clone().unwrap_or_default(),
                        },
                    ]
                })
                .collect(),
        )
    }
}

/// Reads an import file: UTF-8 (BOM allowed), header `customer,domain` (further columns are
/// ignored), quoted fields, blank lines skipped.
/// The rows of an import file, and the ones left out because `map suggest` did not propose
/// them (its CSV carries every client, with a `status` column).
struct ImportFile {
    rows: Vec<Row>,
    /// Client names, with the status that left them out.
    skipped: Vec<(String, String)>,
}

/// Reads an import file: UTF-8 (BOM allowed), a header naming a `customer` (or `client`, as
/// `map suggest` writes it) and a `domain` column, in any order; other columns are ignored,
/// except `status`: rows whose status is not `suggested` are left out. Quoted fields, blank
/// lines skipped.
fn read_rows(path: &Path) -> Result<ImportFile, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display()), None))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{} is not UTF-8 text", path.display()), None))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let bad_header = || {
        CliError::usage(
            format!(
                "{} must start with a header line naming its columns, as in `customer,domain`",
                path.display()
            ),
            Some(
                "the first line names the columns: customer,domain (map suggest's CSV works as it is)",
            ),
        )
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|_| bad_header())?.clone();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let (Some(customer_col), Some(domain_col)) = (find(&["customer", "client"]), find(&["domain"]))
    else {
        return Err(bad_header());
    };
    let status_col = find(&["status"]);
    let mut file = ImportFile {
        rows: Vec::new(),
        skipped: Vec::new(),
    };
    for record in reader.records() {
        let record =
            record.map_err(|e| CliError::usage(format!("{}: {e}", path.display()), None))?;
        // Counted from the byte offset, past the line breaks csv leaves before a record: its
        // own line count is off after blank lines.
        let bytes = text.as_bytes();
        let mut start = record
            .position()
            .map_or(0, |p| p.byte() as usize)
            .min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        let line = 1 + bytes[..start].iter().filter(|b| **b == b'\n').count() as u64;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let customer = record.get(customer_col).unwrap_or_default().to_string();
        if let Some(status) = status_col.and_then(|c| record.get(c))
            && !status.is_empty()
            && status != "suggested"
        {
            file.skipped.push((customer, status.to_string()));
            continue;
        }
        file.rows.push(Row {
            line,
            customer,
            domain: record.get(domain_col).unwrap_or_default().to_string(),
        });
    }
    Ok(file)
}

async fn import(ctx: &Context, args: &MapImportArgs) -> Result<(), CliError> {
    let store = store(ctx);
    store.load()?;
    let ImportFile { rows, skipped } = read_rows(&args.file)?;
    if !skipped.is_empty() {
        ctx.note(&format!(
            "left out {} row(s) that map suggest did not propose: {}",
            skipped.len(),
            skipped
                .iter()
                .map(|(c, s)| format!("{c} ({s})"))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if rows.is_empty() {
        ctx.note(&format!("{} has no rows to import", args.file.display()));
        return super::emit(ctx, &ImportReport(Vec::new()));
    }
    let checker = Arc::new(checker(ctx, true).await?);
    // From here Ctrl-C starts no new check, abandons the ones in flight (they only read) and
    // maps what checked out, so the report says which rows were mapped and which were not.
    ctx.winds_down_on_interrupt(std::time::Duration::from_secs(10));
    let progress = super::progress::bar(ctx, rows.len() as u64, "checking");
    let checked: Vec<(Row, Result<Checked, Refusal>)> = futures::stream::iter(rows.clone())
        .map(|row| {
            let checker = Arc::clone(&checker);
            let progress = progress.clone();
            async move {
                if ctx.interrupted() {
                    let refusal = Refusal::new(
                        FailureCode::NotStarted,
                        "not mapped: Ctrl-C came before this row was checked",
                    );
                    return (row, Err(refusal));
                }
                let result = tokio::select! {
                    r = checker.check(&row.customer, &row.domain) => r,
                    () = ctx.until_interrupted() => Err(Refusal::new(
                        FailureCode::Interrupted,
                        "not mapped: Ctrl-C came while this row was being checked",
                    )),
                };
                progress.inc(1);
                (row, result)
            }
        })
        .buffered(usize::from(args.jobs))
        .collect()
        .await;
    progress.finish_and_clear();

    // A Partner Center that wants MFA, or a dead sign-in, refuses every row alike: stop.
    let fatal = checked.iter().find_map(|(_, r)| match r {
        Err(refusal) if refusal.code.stops_run() => Some(refusal.code),
        _ => None,
    });

    // Apply the rows that checked out, in file order, under one lock.
    let mut reports: Vec<RowReport> = Vec::new();
    store
        .update(|ms| {
            for (row, result) in &checked {
                let report = match result {
                    Err(refusal) => failed(row, None, refusal),
                    Ok(_) if let Some(code) = fatal => failed(
                        row,
                        None,
                        &Refusal::new(code, "not mapped: the run stopped (see the other rows)"),
                    ),
                    Ok(c) => match ms.upsert(record(c), args.replace) {
                        Ok(u) => RowReport {
                            line: row.line,
                            customer: c.customer.clone(),
                            domain: c.domain.clone(),
                            status: status_word(u),
                            tenant_id: Some(c.tenant_id.clone()),
                            name: Some(c.name.clone()),
                            error: None,
                        },
                        Err(conflict) => {
                            failed(row, Some(&c.tenant_id), &conflict_refusal(&conflict))
                        }
                    },
                };
                reports.push(report);
            }
            Ok::<(), ()>(())
        })
        .await?
        .ok();
    let total = reports.len();
    let counts = super::tally::line(
        &["added", "replaced", "unchanged", "failed"],
        reports
            .iter()
            .map(|r| super::tally::word(r.status, r.error.as_ref())),
    );
    ctx.note(&counts);
    let report = ImportReport(reports);
    super::emit(ctx, &report)?;
    if ctx.interrupted() {
        let mapped = report.0.iter().filter(|r| r.error.is_none()).count();
        let not_mapped: Vec<u64> = report
            .0
            .iter()
            .filter(|r| r.error.is_some())
            .map(|r| r.line)
            .collect();
        let which = match not_mapped.len() {
            0 => String::new(),
            1 => format!("; not mapped: line {}", line_ranges(&not_mapped)),
            _ => format!("; not mapped: lines {}", line_ranges(&not_mapped)),
        };
        ctx.note(&format!(
            "interrupted: {mapped} of {total} rows mapped{which} (listed in the report; import the file again to go on, mapped rows come back unchanged)"
        ));
    }
    CliError::for_run(
        report.0.iter().filter_map(|r| r.error.as_ref()),
        total,
        "rows failed",
        ctx.interrupted(),
    )
}

/// "2, 5-9, 12": line numbers, ascending, with runs shortened.
fn line_ranges(lines: &[u64]) -> String {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &n in lines {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn failed(row: &Row, tenant: Option<&String>, refusal: &Refusal) -> RowReport {
    RowReport {
        line: row.line,
        customer: row.customer.clone(),
        domain: row.domain.clone(),
        status: "failed",
        tenant_id: tenant.cloned(),
        name: None,
        error: Some(Failure::new(refusal.code, refusal.message.clone())),
    }
}

// ---------- csp map suggest ----------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Suggestion {
    /// Your client name, as in the file.
    client: String,
    /// `suggested`, `ambiguous`, `no_match` or `already_mapped`.
    status: &'static str,
    /// The proposed customer's company name, domain and tenant.
    r#match: Option<String>,
    domain: Option<String>,
    tenant_id: Option<String>,
    score: Option<f64>,
    runner_up: Option<String>,
    runner_up_score: Option<f64>,
    /// For `already_mapped`: the client the tenant is mapped to.
    mapped_as: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct SuggestReport(Vec<Suggestion>);

/// A similarity score as csp shows it: two decimals, in JSON and tables alike.
fn rounded(s: f64) -> f64 {
    (s * 100.0).round() / 100.0
}

fn fmt_score(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.2}")).unwrap_or_default()
}

impl Render for SuggestReport {
    fn fit(&self) -> crate::output::Fit {
        crate::output::Fit::dropping(&["runnerUpScore", "score", "runnerUp", "domain"])
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec![
                "client",
                "status",
                "match",
                "domain",
                "score",
                "runnerUp",
                "runnerUpScore",
            ],
            self.0
                .iter()
                .map(|s| {
                    vec![
                        s.client.clone(),
                        s.status.to_string(),
                        s.r#match.clone().unwrap_or_default(),
                        s.domain.clone().unwrap_or_default(),
                        fmt_score(s.score),
                        s.runner_up.clone().unwrap_or_default(),
                        fmt_score(s.runner_up_score),
                    ]
                })
                .collect(),
        )
    }
}

/// Client names: one per line, or the `customer` column of a CSV.
fn read_clients(path: &Path) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display()), None))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first = text.lines().next().unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let column = reader.headers().ok().and_then(|h| {
        h.iter()
            .position(|c| c.eq_ignore_ascii_case("customer"))
            .filter(|_| first.contains(','))
    });
    let names: Vec<String> = match column {
        Some(i) => reader
            .records()
            .filter_map(Result::ok)
            .filter_map(|r| r.get(i).map(str::to_string))
            .collect(),
        // One name per line, quoted or not ("Adatum Corporation" is Adatum Corporation).
        None => csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .filter_map(Result::ok)
            .enumerate()
            .filter_map(|(n, r)| {
                let name = r.iter().collect::<Vec<_>>().join(",").trim().to_string();
                let header = n == 0
                    && (name.eq_ignore_ascii_case("customer")
                        || name.eq_ignore_ascii_case("client"));
                (!header).then_some(name)
            })
            .collect(),
    };
    let mut seen = std::collections::HashSet::new();
    Ok(names
        .into_iter()
        .filter(|n| !n.is_empty() && seen.insert(n.to_lowercase()))
        .collect())
}

async fn suggest(ctx: &Context, args: &MapSuggestArgs) -> Result<(), CliError> {
    let clients = read_clients(&args.clients)?;
    let mappings = store(ctx).load()?;
    let customers: Vec<_> = ctx
        .partner_center()
        .await?
        .customers(None)
        .await?
        .into_iter()
        .filter(|c| c.domain().is_some() && !c.name().trim().is_empty())
        .collect();
    let mut out = Vec::new();
    for client in clients {
        if let Some(m) = mappings.client(&client) {
            out.push(Suggestion {
                client,
                status: "already_mapped",
                r#match: Some(m.name.clone()),
                domain: Some(m.domain.clone()),
                tenant_id: Some(m.tenant_id.clone()),
                score: None,
                runner_up: None,
                runner_up_score: None,
                mapped_as: Some(m.customer.clone()),
            });
            continue;
        }
        let (best, runner) = name_match::best_two(&client, &customers, |c| {
            c.company_profile
                .as_ref()
                .and_then(|p| p.company_name.as_deref())
                .unwrap_or_default()
        });
        let best_score = best.map(|b| b.1);
        let runner_score = runner.map(|r| r.1);
        let mut status = match (best_score, runner_score) {
            (Some(b), _) if b < name_match::GOOD_MATCH => "no_match",
            (Some(b), Some(r)) if b - r < 0.02 => "ambiguous",
            (Some(_), _) => "suggested",
            (None, _) => "no_match",
        };
        let proposed = (status == "suggested").then_some(best).flatten();
        // The tenant may be mapped already, under another name for the client.
        let mapped_as = proposed
            .and_then(|b| mappings.tenant(&b.0.tenant_id()))
            .map(|m| m.customer.clone());
        if mapped_as.is_some() {
            status = "already_mapped";
        }
        out.push(Suggestion {
            client,
            status,
            r#match: best.map(|b| b.0.name()),
            domain: proposed.and_then(|b| b.0.domain()),
            tenant_id: proposed.map(|b| b.0.tenant_id()),
            score: best_score.map(rounded),
            runner_up: runner.map(|r| r.0.name()),
            runner_up_score: runner_score.map(rounded),
            mapped_as,
        });
    }
    let unmatched: Vec<&str> = out
        .iter()
        .filter(|s| matches!(s.status, "no_match" | "ambiguous"))
        .map(|s| s.client.as_str())
        .collect();
    if !unmatched.is_empty() {
        ctx.note(&format!(
            "no clear match, map these yourself: {}",
            unmatched.join("; ")
        ));
    }
    super::emit(ctx, &SuggestReport(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_listed_with_runs_shortened() {
        assert_eq!(line_ranges(&[4]), "4");
        assert_eq!(line_ranges(&[2, 5, 6, 7, 8, 9, 12]), "2, 5-9, 12");
        assert_eq!(line_ranges(&[]), "");
    }
}
