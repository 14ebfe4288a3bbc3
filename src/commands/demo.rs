//! `csp demo`: the onboarding story end to end on the built-in simulator, through the real
//! commands and their real output, narrated on stderr. Runs in a fresh temporary sandbox.

use std::path::PathBuf;

use crate::cli::{
    AuditArgs, AuthorizeArgs, Command, ConsentArgs, CustomersArgs, DemoArgs, MapArgs, MapCommand,
    MapImportArgs, MapSuggestArgs, OutputFormat, SetupArgs,
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

pub async fn run(ctx: &Context, args: &DemoArgs) -> Result<(), CliError> {
    let dir = tempfile_dir()?;
    let mut base = ctx.settings.clone();
    base.config_dir = dir.clone();
    base.sandbox = true;
    let (settings, sim) = crate::sandbox::enter(base, None).await?;
    let say = |text: &str| ctx.io.err_line(&format!("\n▶ {text}"));
    say(&format!(
        "csp demo: the whole onboarding on csp's built-in simulator of Entra, Partner Center and Graph ({}); nothing leaves this machine",
        sim.base
    ));
    let clients = dir.join("clients.txt");
    std::fs::write(&clients, CLIENTS.join("\n") + "\n").map_err(|source| CliError::Io {
        action: "write the demo's client list",
        source,
    })?;
    let suggested = dir.join("suggested.csv");
    let map = |customer: &str, domain: &str| {
        Command::Map(MapArgs {
            command: None,
            customer: Some(customer.into()),
            domain: Some(domain.into()),
            replace: false,
        })
    };
    let steps: Vec<(&str, String, Command, OutputFormat)> = vec![
        (
            "Set up the partner's own app registration (the sandbox already has one: nothing to change)",
            "csp setup".into(),
            Command::Setup(SetupArgs {
                name: "csp".into(),
                bootstrap_client_id: "14d82eec-204b-4c2f-b7e8-296a70dab67e".into(),
                ..SetupArgs::default()
            }),
            OutputFormat::Table,
        ),
        (
            "Sign in as the partner (device code; the sandbox approves it by itself)",
            "csp authorize".into(),
            Command::Authorize(AuthorizeArgs::default()),
            OutputFormat::Table,
        ),
        (
            "List every customer, with its GDAP relationship",
            "csp customers --gdap".into(),
            Command::Customers(CustomersArgs {
                search: None,
                gdap: true,
            }),
            OutputFormat::Table,
        ),
        (
            "Map two clients by a domain they own (Northwind is reached only through GDAP)",
            "csp map --customer Contoso --domain contoso.com".into(),
            map("Contoso", "contoso.com"),
            OutputFormat::Table,
        ),
        (
            "",
            "csp map --customer Northwind --domain northwindtraders.com".into(),
            map("Northwind", "northwindtraders.com"),
            OutputFormat::Table,
        ),
        (
            "Suggest which customer each of the other clients is, by company name",
            format!("csp map suggest --clients {}", clients.display()),
            Command::Map(map_sub(MapCommand::Suggest(MapSuggestArgs {
                clients: clients.clone(),
            }))),
            OutputFormat::Table,
        ),
        (
            "Import the suggestions (written with -o csv) after review",
            format!("csp map import {}", suggested.display()),
            Command::Map(map_sub(MapCommand::Import(MapImportArgs {
                file: suggested.clone(),
                replace: false,
                jobs: 8,
            }))),
            OutputFormat::Table,
        ),
        (
            "Consent the app in every mapped customer, proven by readback",
            "csp consent --all".into(),
            Command::Consent(consent_args(&[], false)),
            OutputFormat::Table,
        ),
        (
            "Audit: which customers are not ready, and why",
            "csp audit".into(),
            Command::Audit(AuditArgs {
                jobs: 8,
                ..AuditArgs::default()
            }),
            OutputFormat::Table,
        ),
        (
            "Repair the drifted customer the audit named",
            "csp consent --customer 'Wingtip Toys' --force".into(),
            Command::Consent(consent_args(&["Wingtip Toys"], true)),
            OutputFormat::Table,
        ),
    ];
    let mut partial = 0;
    for (i, (story, shown, command, output)) in steps.into_iter().enumerate() {
        if !story.is_empty() {
            say(story);
        }
        if args.step && ctx.io.stdin_tty {
            ctx.io.err_line("  (press Enter to run it)");
            let _ = ctx.io.read_line();
        }
        ctx.io.err_line(&format!("$ {shown}"));
        if i == 6 {
            // The import reads the suggestions as `map suggest -o csv` writes them.
            write_suggestions(&settings, &clients, &suggested).await?;
        }
        let mut step_settings = settings.clone();
        step_settings.output = output;
        let step = Context::new(step_settings, IoStreams::system());
        let result = crate::run(&command, &step, std::future::pending()).await;
        match result {
            Ok(()) => {}
            // Customers that fail or need attention are part of the story.
            Err(e) if e.exit_code() == ExitCode::Partial => {
                partial += 1;
                ctx.io
                    .err_line(&format!("  ({e}: the demo world has seeded problems)"));
            }
            Err(e) => {
                sim.save();
                return Err(e);
            }
        }
    }
    unattended_run(ctx, &settings, &sim).await?;
    sim.save();
    say(&format!(
        "Done. The simulated world had {partial} steps with customers to look at, as real ones do. Try any command yourself with --sandbox (state in <config-dir>/sandbox); this demo's files are in {}",
        dir.display()
    ));
    Ok(())
}

/// The unattended run CI does: the sign-in stored in (the simulated) Azure Key Vault, then a
/// later run that redeems it and writes the renewed refresh token back as a new version.
async fn unattended_run(
    ctx: &Context,
    settings: &Settings,
    sim: &crate::sandbox::Simulator,
) -> Result<(), CliError> {
    let mut vault_settings = settings.clone();
    sim.use_key_vault(&mut vault_settings);
    let secret = vault_settings.key_vault.secret.value.clone();
    let versions = || sim.world().key_vault.versions(&secret);
    let steps = [
        (
            format!(
                "Unattended runs (CI): keep the sign-in in Azure Key Vault (here the simulator's, {}), reached with an Azure credential",
                sim.url()
            ),
            "CSP_KEY_VAULT_URL=… csp authorize --token-store azure-key-vault",
            Command::Authorize(AuthorizeArgs {
                token_store: Some("azure-key-vault".into()),
                ..AuthorizeArgs::default()
            }),
        ),
        (
            "A later scheduled run redeems the refresh token; the renewed one is written back to the vault".into(),
            "CSP_TOKEN_STORE=azure-key-vault csp status",
            Command::Status(crate::cli::StatusArgs::default()),
        ),
    ];
    for (story, shown, command) in steps {
        ctx.io.err_line(&format!("\n▶ {story}"));
        ctx.io.err_line(&format!("$ {shown}"));
        let step = Context::new(vault_settings.clone(), IoStreams::system());
        crate::run(&command, &step, std::future::pending()).await?;
        ctx.io.err_line(&format!(
            "  (the vault now holds {} version(s) of secret {secret}; the newest is the current refresh token)",
            versions()
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
async fn write_suggestions(
    settings: &Settings,
    clients: &std::path::Path,
    to: &std::path::Path,
) -> Result<(), CliError> {
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

/// A fresh directory for the demo's sandbox, kept after the run so it can be looked at.
fn tempfile_dir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("csp-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
        action: "create the demo's directory",
        source,
    })?;
    Ok(dir)
}
