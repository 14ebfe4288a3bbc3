//! Progress bars and spinners for long runs and waits: on stderr, only when it is a terminal
//! and not `-q`. A bar shows the time left as "eta 12s" from the run's own average pace, and
//! is cleared however it ends (finished, dropped on an error or Ctrl-C).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressState, ProgressStyle};

use crate::context::Context;

/// Items that must be done before the time left is shown: the first few finish in a burst
/// (several run at once) and say little about the pace.
const ETA_AFTER: u64 = 5;

pub fn bar(ctx: &Context, len: u64, what: &str) -> ProgressBar {
    let target = if !ctx.io.stderr_tty || ctx.settings.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    styled(target, len, what)
}

fn styled(target: ProgressDrawTarget, len: u64, what: &str) -> ProgressBar {
    // Dropped unfinished (an error, Ctrl-C), the bar is cleared, not left on the screen.
    let bar =
        ProgressBar::with_draw_target(Some(len), target).with_finish(ProgressFinish::AndClear);
    let eta = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        if let Some(left) = time_left(state.elapsed(), state.pos(), state.len().unwrap_or(0)) {
            let _ = write!(w, " eta {}", short(left));
        }
    };
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}{eta_left}") {
        bar.set_style(style.with_key("eta_left", eta).progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// The time left, at the average pace so far (`elapsed / done` per item), once `ETA_AFTER`
/// items are done; `None` before, and when all are. indicatif's own estimate follows the last
/// few items only, which early in a run of concurrent work reads far too low.
pub fn time_left(elapsed: Duration, done: u64, len: u64) -> Option<Duration> {
    if done < ETA_AFTER || done >= len {
        return None;
    }
    Some(elapsed.mul_f64((len - done) as f64 / done as f64))
}

/// "45s", "3m05s", "1h02m": whole seconds, rounded up (an estimate never says 0s too early).
pub fn short(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;

    #[test]
    fn the_time_left_follows_the_average_pace_not_the_last_burst() {
        // 55 of 464 rows after 6.5 s: about 48 s to go, not the "2s" a short moving average
        // gave after a burst of fast rows.
        let left = time_left(Duration::from_millis(6500), 55, 464).unwrap();
        assert_eq!(left.as_secs(), 48);
        assert_eq!(
            time_left(Duration::from_secs(10), 10, 20),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn no_time_left_is_shown_before_a_few_items_or_after_the_last() {
        assert_eq!(time_left(Duration::from_secs(3), 0, 100), None);
        assert_eq!(time_left(Duration::from_secs(3), ETA_AFTER - 1, 100), None);
        assert!(time_left(Duration::from_secs(3), ETA_AFTER, 100).is_some());
        assert_eq!(time_left(Duration::from_secs(3), 100, 100), None);
    }

    #[test]
    fn durations_are_short_and_rounded_up() {
        assert_eq!(short(Duration::from_millis(400)), "1s");
        assert_eq!(short(Duration::from_secs(12)), "12s");
        assert_eq!(short(Duration::from_secs(185)), "3m05s");
        assert_eq!(short(Duration::from_secs(3720)), "1h02m");
    }

    /// A terminal that records what was written to it.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_labels_the_time_left() {
        let screen = Screen::default();
        let bar = styled(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            100,
            "consenting",
        );
        bar.inc(10);
        bar.tick();
        let shown = screen.0.lock().unwrap().clone();
        assert!(shown.contains("10/100 eta "), "{shown:?}");
        bar.finish_and_clear();
    }
}
