//! `csp demo`: the onboarding story end to end on the built-in simulator, through the real
//! commands and their real output, narrated on stderr: set-up and sign-in, customers, mapping,
//! consent and audit, a repair, and a brand-new customer onboarded from no relationship at all.
//! Runs in a fresh temporary sandbox that it removes afterwards. With `-o json` stdout is one
//! JSON document of every step's result; with `-q` only errors are said.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{
    AuditArgs, AuthorizeArgs, Command, ConsentArgs, CustomersArgs, DemoArgs, GdapArgs,
    GdapAssignArgs, GdapCommand, GdapRequestArgs, GdapWaitArgs, MapArgs, MapCommand, MapImportArgs,
    MapSuggestArgs, OutputFormat, SetupArgs,
};
use crate::context::Context;
use crate::error::{CliError, ExitCode};
use crate::io::IoStreams;
use crate::settings::Settings;

/// The partner's own client list: names as a partner writes them, one without a match.
const CLIENTS: &[&str] = &[
    "Fabrikam Inc",
    "Tailspin Toys Ltd",
    "Wingtip Toys",
    "Adatum Corp",
    "Litware",
    "Woodgrove Bank Ltd.",
    "Alpine Ski House",
    "Coho Winery",
    "Fourth Coffee",
    "Wide World Importers",
    "Proseware",
    "Trey Research Ltd",
    "Blue Yonder Airlines",
];

/// The brand-new customer the demo onboards: whoever approves the link becomes it.
const NEW_CLIENT: &str = "Adventure Works";

/// One step's result in `-o json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StepResult {
    story: String,
    command: String,
    exit_code: i32,
    result: serde_json::Value,
}

/// The demo's sandbox directory, removed when the demo ends, however it ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A step: what it shows, the command line a user would type, and the command.
struct Step {
    story: &'static str,
    shown: String,
    command: Command,
}

impl Step {
    fn new(story: &'static str, shown: impl Into<String>, command: Command) -> Step {
        Step {
            story,
            shown: shown.into(),
            command,
        }
    }
}

/// What the demo learns while it runs.
#[derive(Default)]
struct Tally {
    /// Steps that ended with customers to look at.
    partial: usize,
    /// The last audit's customers needing attention, of how many.
    needs_look: Option<(usize, usize)>,
    results: Vec<StepResult>,
}

pub async fn run(ctx: &Context, args: &DemoArgs) -> Result<(), CliError> {
    let dir = TempDir(new_dir()?);
    let mut base = ctx.settings.clone();
    base.config_dir = dir.0.clone();
    base.sandbox = true;
    let (settings, sim) = crate::sandbox::enter(base, ctx.settings.sandbox_seed).await?;
    let json = ctx.settings.output == OutputFormat::Json;
    ctx.note(&format!(
        "\n▶ csp demo: the whole onboarding on csp's built-in simulator of Entra, Partner Center and Graph ({}); nothing leaves this machine",
        sim.base
    ));
    let clients = dir.0.join("clients.txt");
    std::fs::write(&clients, CLIENTS.join("\n") + "\n").map_err(|source| CliError::Io {
        action: "write the demo's client list",
        source,
    })?;
    let suggested = dir.0.join("suggested.csv");
    let mut tally = Tally::default();
    for step in story(&clients, &suggested) {
        if step.shown.starts_with("csp map import") {
            // The import reads the suggestions as `map suggest -o csv` writes them.
            write_suggestions(&settings, &clients, &suggested).await?;
        }
        run_step(ctx, args, &settings, step, json, &mut tally).await?;
    }
    // A brand-new customer, from no relationship to a green audit.
    let request = Step::new(
        "Onboard a brand-new customer: request a GDAP relationship with only the role csp needs, for whoever approves the link",
        "csp gdap request --new --template consent",
        gdap(GdapCommand::Request(GdapRequestArgs {
            new: true,
            template: Some("consent".into()),
            ..GdapRequestArgs::default()
        })),
    );
    run_step(ctx, args, &settings, request, json, &mut tally).await?;
    // The relationship the request made, to name in the next steps as a user would copy it.
    let id = sim
        .world()
        .relationships
        .iter()
        .rev()
        .find(|r| r.customer.is_none())
        .map(|r| r.id.clone())
        .unwrap_or_default();
    let assign = GdapAssignArgs {
        relationship: Some(id.clone()),
        create_groups: true,
        add_member: Some("me".into()),
        jobs: 8,
        wait: 60,
        ..GdapAssignArgs::default()
    };
    let onboarding = vec![
        Step::new(
            "The customer's admin opens the link and approves (the sandbox approves after a moment); wait for it",
            format!("csp gdap wait {id}"),
            gdap(GdapCommand::Wait(GdapWaitArgs {
                id: Some(id.clone()),
                timeout: 120,
                ..GdapWaitArgs::default()
            })),
        ),
        Step::new(
            "Give the role to a security group of its own, created now, with the signed-in account in it",
            format!("csp gdap assign --relationship {id} --create-groups --add-member me"),
            gdap(GdapCommand::Assign(assign)),
        ),
        Step::new(
            "Map the new customer by its domain",
            format!("csp map --customer '{NEW_CLIENT}' --domain adventure-works.com"),
            map(NEW_CLIENT, "adventure-works.com"),
        ),
        Step::new(
            "Consent the app there",
            format!("csp consent --customer '{NEW_CLIENT}'"),
            Command::Consent(consent_args(&[NEW_CLIENT], false)),
        ),
        Step::new(
            "Audit it: in order",
            format!("csp audit --customer '{NEW_CLIENT}'"),
            Command::Audit(AuditArgs {
                customer: vec![NEW_CLIENT.into()],
                jobs: 8,
                ..AuditArgs::default()
            }),
        ),
    ];
    for step in onboarding {
        run_step(ctx, args, &settings, step, json, &mut tally).await?;
    }
    unattended_run(ctx, args, &settings, &sim, json, &mut tally).await?;
    sim.save();
    if json {
        ctx.io
            .out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&tally.results)
                    .map_err(std::io::Error::other)
                    .map_err(CliError::output)?
            ))
            .map_err(CliError::output)?;
    }
    let looks = match tally.needs_look {
        Some((0, _)) | None => "no customer needs a look".to_string(),
        Some((n, total)) => format!(
            "{n} of {total} customers need a look (the audit above says why, and how to repair each)"
        ),
    };
    ctx.note(&format!(
        "\n▶ Done: {looks}; the new customer is onboarded and in order. Try any command yourself with `csp --sandbox …` (its state lives in <config-dir>/sandbox)."
    ));
    Ok(())
}

/// The story before the new customer: set-up, sign-in, customers, mapping, consent, audit and
/// a repair.
fn story(clients: &Path, suggested: &Path) -> Vec<Step> {
    vec![
        Step::new(
            "Set up the partner's own app registration (the sandbox already has one: nothing to change)",
            "csp setup",
            Command::Setup(SetupArgs {
                name: "csp".into(),
                bootstrap_client_id: "14d82eec-204b-4c2f-b7e8-296a70dab67e".into(),
                ..SetupArgs::default()
            }),
        ),
        Step::new(
            "Sign in as the partner (device code; the sandbox approves it by itself)",
            "csp authorize",
            Command::Authorize(AuthorizeArgs::default()),
        ),
        Step::new(
            "List every customer, with its GDAP relationship",
            "csp customers --gdap",
            Command::Customers(CustomersArgs {
                search: None,
                gdap: true,
            }),
        ),
        Step::new(
            "Map two clients by a domain they own (Northwind is reached only through GDAP)",
            "csp map --customer Contoso --domain contoso.com",
            map("Contoso", "contoso.com"),
        ),
        Step::new(
            "",
            "csp map --customer Northwind --domain northwindtraders.com",
            map("Northwind", "northwindtraders.com"),
        ),
        Step::new(
            "Suggest which customer each of the other clients is, by company name",
            format!("csp map suggest --clients {}", clients.display()),
            Command::Map(map_sub(MapCommand::Suggest(MapSuggestArgs {
                clients: clients.to_path_buf(),
            }))),
        ),
        Step::new(
            "Import the suggestions (written with -o csv) after review",
            format!("csp map import {}", suggested.display()),
            Command::Map(map_sub(MapCommand::Import(MapImportArgs {
                file: suggested.to_path_buf(),
                replace: false,
                jobs: 8,
            }))),
        ),
        Step::new(
            "Consent the app in every mapped customer, proven by readback",
            "csp consent --all",
            Command::Consent(consent_args(&[], false)),
        ),
        Step::new(
            "Audit: which customers are not ready, and why",
            "csp audit",
            Command::Audit(AuditArgs {
                jobs: 8,
                ..AuditArgs::default()
            }),
        ),
        Step::new(
            "Repair the drifted customer the audit named",
            "csp consent --customer 'Wingtip Toys' --force",
            Command::Consent(consent_args(&["Wingtip Toys"], true)),
        ),
    ]
}

/// Runs one step: says what it is, pauses with `--step` (Ctrl-C there stops the demo at
/// once), runs the command, and notes its result.
async fn run_step(
    ctx: &Context,
    args: &DemoArgs,
    settings: &Settings,
    step: Step,
    json: bool,
    tally: &mut Tally,
) -> Result<(), CliError> {
    if !step.story.is_empty() {
        ctx.note(&format!("\n▶ {}", step.story));
    }
    let shown = format!("$ {}", step.shown.replacen("csp", "csp --sandbox", 1));
    if args.step && ctx.io.stdin_tty {
        ctx.io
            .err_line(&format!("{shown}   (press Enter to run it)"));
        // On a blocking thread, so that Ctrl-C while waiting ends the demo at once.
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)
        })
        .await;
    } else {
        ctx.note(&shown);
    }
    let mut step_settings = settings.clone();
    step_settings.quiet = ctx.settings.quiet;
    step_settings.output = if json {
        OutputFormat::Json
    } else {
        OutputFormat::Table
    };
    let (io, captured) = if json {
        let (io, out, err) = IoStreams::memory("");
        (io, Some((out, err)))
    } else {
        (IoStreams::system(), None)
    };
    let inner = Context::new(step_settings, io);
    let result = crate::run(&step.command, &inner, std::future::pending()).await;
    let code = match &result {
        Ok(()) => 0,
        Err(e) => e.exit_code().code(),
    };
    if let Some((out, err)) = captured {
        let text = err.contents();
        if !ctx.settings.quiet && !text.is_empty() {
            ctx.io.err_line(text.trim_end());
        }
        tally.results.push(StepResult {
            story: step.story.to_string(),
            command: step.shown.clone(),
            exit_code: code,
            result: serde_json::from_str(&out.contents()).unwrap_or(serde_json::Value::Null),
        });
    }
    match result {
        Ok(()) => {
            if let Command::Audit(a) = &step.command
                && a.customer.is_empty()
            {
                tally.needs_look = Some((0, 0));
            }
            Ok(())
        }
        // Customers that fail or need attention are part of the story.
        Err(e) if e.exit_code() == ExitCode::Partial => {
            tally.partial += 1;
            if let (Command::Audit(a), CliError::Partial { failed, total, .. }) =
                (&step.command, &e)
                && a.customer.is_empty()
            {
                tally.needs_look = Some((*failed, *total));
            }
            ctx.note(&format!("  ({e}: the demo world has seeded problems)"));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn gdap(command: GdapCommand) -> Command {
    Command::Gdap(GdapArgs { command })
}

fn map(customer: &str, domain: &str) -> Command {
    Command::Map(MapArgs {
        command: None,
        customer: Some(customer.into()),
        domain: Some(domain.into()),
        replace: false,
    })
}

/// The unattended run CI does: the sign-in stored in (the simulated) Azure Key Vault, then a
/// later run that redeems it and writes the renewed refresh token back as a new version.
async fn unattended_run(
    ctx: &Context,
    args: &DemoArgs,
    settings: &Settings,
    sim: &crate::sandbox::Simulator,
    json: bool,
    tally: &mut Tally,
) -> Result<(), CliError> {
    let mut vault_settings = settings.clone();
    sim.use_key_vault(&mut vault_settings);
    let secret = vault_settings.key_vault.secret.value.clone();
    let steps = [
        Step::new(
            "Unattended runs (CI): keep the sign-in in Azure Key Vault (here the simulator's), reached with an Azure credential",
            "CSP_KEY_VAULT_URL=… csp authorize --token-store azure-key-vault",
            Command::Authorize(AuthorizeArgs {
                token_store: Some("azure-key-vault".into()),
                ..AuthorizeArgs::default()
            }),
        ),
        Step::new(
            "A later scheduled run redeems the refresh token; the renewed one is written back to the vault",
            "CSP_TOKEN_STORE=azure-key-vault csp status",
            Command::Status(crate::cli::StatusArgs::default()),
        ),
    ];
    for step in steps {
        run_step(ctx, args, &vault_settings, step, json, tally).await?;
        let versions = sim.world().key_vault.versions(&secret);
        ctx.note(&format!(
            "  (the vault now holds {versions} version(s) of secret {secret}; the newest is the current refresh token)"
        ));
    }
    Ok(())
}

fn map_sub(sub: MapCommand) -> MapArgs {
    MapArgs {
        command: Some(sub),
        customer: None,
        domain: None,
        replace: false,
    }
}

fn consent_args(customers: &[&str], force: bool) -> ConsentArgs {
    ConsentArgs {
        customer: customers.iter().map(|c| c.to_string()).collect(),
        all: customers.is_empty(),
        force,
        jobs: 16,
        verify_timeout: 30,
        rate: 48,
        ..ConsentArgs::default()
    }
}

/// Runs `map suggest -o csv` quietly into `to`.
async fn write_suggestions(settings: &Settings, clients: &Path, to: &Path) -> Result<(), CliError> {
    let mut s = settings.clone();
    s.output = OutputFormat::Csv;
    s.quiet = true;
    let (io, out, _) = IoStreams::memory("");
    let ctx = Context::new(s, io);
    crate::run(
        &Command::Map(map_sub(MapCommand::Suggest(MapSuggestArgs {
            clients: clients.to_path_buf(),
        }))),
        &ctx,
        std::future::pending(),
    )
    .await?;
    std::fs::write(to, out.contents()).map_err(|source| CliError::Io {
        action: "write the suggestions",
        source,
    })
}

/// A fresh directory for the demo's sandbox.
fn new_dir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("csp-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
        action: "create the demo's directory",
        source,
    })?;
    Ok(dir)
}
