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

/// A spinner on stderr while something is awaited; nothing when stderr is not a terminal or
/// with `-q`. It is cleared when dropped, so a wait cut short (Ctrl-C, an error) leaves no
/// spinner behind.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn set_message(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A spinner with `message` (see `Spinner`).
pub fn spinner(ctx: &Context, message: String) -> Spinner {
    if !ctx.io.stderr_tty || ctx.settings.quiet {
        return Spinner(None);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    Spinner(Some(bar))
}
