//! `csp completions`, `csp man` and `csp exit-codes`: generated from the clap definitions, so
//! they never drift from the real flags.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ExitCodesArgs, ManArgs};
use crate::context::Context;
use crate::error::CliError;

pub fn completions(ctx: &Context, args: &CompletionsArgs) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "csp", &mut out);
    ctx.io
        .out(&String::from_utf8_lossy(&out))
        .map_err(CliError::output)
}

pub fn man(ctx: &Context, _args: &ManArgs) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(CliError::output)?;
    ctx.io
        .out(&String::from_utf8_lossy(&out))
        .map_err(CliError::output)
}

pub fn exit_codes(ctx: &Context, _args: &ExitCodesArgs) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    let text = cmd
        .find_subcommand_mut("exit-codes")
        .and_then(|c| c.get_long_about().map(|a| a.to_string()))
        .unwrap_or_default();
    ctx.io
        .out(&format!("{}\n", text.trim_end()))
        .map_err(CliError::output)
}
