//! Progress of the command line's long commands (`migrate`, `seed --scale`, `admin
//! reclaim`): a bar on a terminal (indicatif), and one plain line per step otherwise — a
//! pipe, a CI log, the journal — where a redrawn bar would only be noise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress over a known number of steps.
pub struct Progress {
    what: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress of `what` over `total` steps, drawn on stderr when it is a terminal.
    pub fn steps(what: &'static str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {wide_msg} {elapsed}")
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::new(total).with_style(style).with_prefix(what);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self { what, total, bar }
    }

    /// Step `done` (1-based) is finished; `message` says what it was.
    pub fn step(&self, done: u64, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(message.to_owned());
            }
            None => eprintln!("{} {done}/{}: {message}", self.what, self.total),
        }
    }

    /// Within a step: shows `message` on the bar; prints nothing off a terminal.
    pub fn note(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        }
    }

    /// Prints a result line to stdout without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    /// How many steps there are.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Clears the bar (the command prints its result after).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
