//! One module per command: orchestration only. Commands call services, collect typed results
//! and hand them to `output`; they build no HTTP requests and print nothing directly except
//! through the context's streams.

pub mod audit;
pub mod authorize;
pub mod consent;
pub mod customers;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod docs;
pub mod doctor;
pub mod domains;
pub mod gdap;
pub mod logout;
pub mod map;
pub mod progress;
pub mod resolve;
pub mod setup;
pub mod status;
pub mod tally;
pub mod token;

use crate::cli::Command;
use crate::context::Context;
use crate::error::CliError;
use crate::output::{self, Render};

pub async fn dispatch(command: &Command, ctx: &Context) -> Result<(), CliError> {
    match command {
        Command::Authorize(args) => authorize::run(ctx, args).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::Logout(args) => logout::run(ctx, args).await,
        Command::Token(args) => token::run(ctx, args).await,
        Command::Customers(args) => customers::run(ctx, args).await,
        Command::Domains(args) => domains::run(ctx, args).await,
        Command::Map(args) => map::run(ctx, args).await,
        Command::Consent(args) => consent::run(ctx, args).await,
        Command::Gdap(args) => gdap::run(ctx, args).await,
        Command::Audit(args) => audit::run(ctx, args).await,
        Command::Setup(args) => setup::run(ctx, args).await,
        Command::Completions(args) => docs::completions(ctx, args),
        Command::Man(args) => docs::man(ctx, args),
        Command::ExitCodes(args) => docs::exit_codes(ctx, args),
        Command::Doctor(args) => doctor::run(ctx, args).await,
        // Boxed: the demo runs the other commands through `dispatch`.
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => Box::pin(demo::run(ctx, args)).await,
        #[cfg(not(feature = "sandbox"))]
        Command::Demo(_) => Err(CliError::usage(
            "this csp was built without the sandbox (cargo feature `sandbox`)",
            None,
        )),
    }
}

/// Writes a result to stdout in the chosen format; says on stderr which table columns were
/// left out to fit the terminal.
pub(crate) fn emit<T: Render>(ctx: &Context, value: &T) -> Result<(), CliError> {
    // Nothing to list: say so on stderr, in every format. A table of nothing would be a bare
    // header, so it is not drawn; JSON stays `[]` and CSV empty.
    if !value.single() && value.rows().1.is_empty() {
        ctx.note(&value.when_empty(&ctx.csp()));
        if ctx.settings.output == crate::cli::OutputFormat::Table {
            return Ok(());
        }
    }
    let emitted = output::emit(&ctx.io, ctx.settings.output, value, ctx.table_style())
        .map_err(CliError::output)?;
    if !emitted.hidden.is_empty() {
        ctx.note(&format!(
            "left out to fit the terminal: {} (-o json has every column)",
            emitted.hidden.join(", ")
        ));
    }
    Ok(())
}

pub(crate) fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "unknown".into(),
    }
}
