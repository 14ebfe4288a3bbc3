//! Progress bars and spinners for long runs and waits: on stderr, only when it is a terminal
//! and not `-q`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::context::Context;

pub fn bar(ctx: &Context, len: u64, what: &str) -> ProgressBar {
    if !ctx.io.stderr_tty || ctx.settings.quiet {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// A spinner with `message` while something is awaited (a sign-in, say); `None` when stderr is
/// not a terminal or with `-q`. Clear it with `finish_and_clear` when the wait ends.
pub fn spinner(ctx: &Context, message: String) -> Option<ProgressBar> {
    if !ctx.io.stderr_tty || ctx.settings.quiet {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
