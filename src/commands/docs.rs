//! `csp completions`, `csp man` and `csp exit-codes`: generated from the clap definitions and
//! the exit-code table, so they never drift from the real flags and codes.

use std::path::Path;

use clap::CommandFactory;
use serde::Serialize;

use crate::cli::{Cli, CompletionsArgs, ExitCodesArgs, ManArgs, OutputFormat};
use crate::context::Context;
use crate::error::CliError;
use crate::exit_codes::ExitCode;
use crate::files;
use crate::output::Render;

pub fn completions(ctx: &Context, args: &CompletionsArgs) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "csp", &mut out);
    ctx.io
        .out(&String::from_utf8_lossy(&out))
        .map_err(CliError::output)
}

pub fn man(ctx: &Context, args: &ManArgs) -> Result<(), CliError> {
    let Some(dir) = &args.dir else {
        let out = render(man_command())?;
        return ctx
            .io
            .out(&String::from_utf8_lossy(&out))
            .map_err(CliError::output);
    };
    // Render every page before writing any, so a failure leaves no half set behind.
    let pages = man_pages()?;
    std::fs::create_dir_all(dir).map_err(|e| cannot_write(dir, e))?;
    let mut written = String::new();
    for (name, roff) in pages {
        let path = dir.join(name);
        files::write_atomic(&path, &roff, false).map_err(|e| CliError::Refused {
            message: e.to_string(),
            hint: None,
        })?;
        written.push_str(&format!("{}\n", path.display()));
    }
    ctx.io.out(&written).map_err(CliError::output)
}

/// The pages `csp man --dir` writes: `csp.1` and one per subcommand at any depth, named as man
/// links them (`csp-map-import.1`), each with its roff text.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut pages = Vec::new();
    collect(man_command(), &mut pages)?;
    Ok(pages)
}

/// The command tree the pages describe: without `help`, which has no page (`csp help X` is
/// `csp X --help`), and built, which fills in the names the pages go by (`csp-map-import`).
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn collect(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> Result<(), CliError> {
    let name = clap_mangen::Man::new(cmd.clone()).get_filename();
    pages.push((name, render(cmd.clone())?));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub.clone(), pages)?;
    }
    Ok(())
}

fn render(cmd: clap::Command) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    // Every page names csp and its version as the source, not the subcommand's own name.
    clap_mangen::Man::new(cmd)
        .source(format!("csp {}", crate::cli::VERSION))
        .render(&mut out)
        .map_err(CliError::output)?;
    Ok(out)
}

fn cannot_write(dir: &Path, e: std::io::Error) -> CliError {
    CliError::Refused {
        message: format!("cannot create the directory {}: {e}", dir.display()),
        hint: None,
    }
}

/// One row of `csp exit-codes -o json|csv`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExitCodeRow {
    code: i32,
    summary: &'static str,
    meaning: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ExitCodeTable(Vec<ExitCodeRow>);

impl Render for ExitCodeTable {
    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .0
            .iter()
            .map(|r| vec![r.code.to_string(), r.summary.into(), r.meaning.into()])
            .collect();
        (vec!["code", "summary", "meaning"], rows)
    }
}

pub fn exit_codes(ctx: &Context, _args: &ExitCodesArgs) -> Result<(), CliError> {
    if ctx.settings.output == OutputFormat::Table {
        // The same text as `csp help exit-codes`, which people already know.
        return ctx
            .io
            .out(&ExitCode::table_text())
            .map_err(CliError::output);
    }
    let table = ExitCodeTable(
        ExitCode::ALL
            .iter()
            .map(|c| ExitCodeRow {
                code: c.code(),
                summary: c.summary(),
                meaning: c.meaning(),
            })
            .collect(),
    );
    super::emit(ctx, &table)
}
