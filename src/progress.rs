//! A progress line on stderr for the long steps of a command (reading the repository, reading
//! live state, applying), shown only on a terminal, only once a step has taken about a second,
//! and never for machine formats: what a person at a terminal sees while a large fleet is read.
//!
//! The steps report through [`step`] and [`advance`] whether or not a line is shown: a command
//! turns the line on with [`enable`] (when stderr is a terminal and its output is for people),
//! and [`finish`] clears it before the command prints its result.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// After how long a step's line appears.
const DELAY: Duration = Duration::from_secs(1);

struct Line {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
    /// Hidden until the next step ([`hide`]: a prompt is waiting for an answer).
    paused: bool,
}

static LINE: Mutex<Option<Line>> = Mutex::new(None);

/// Shows progress from now on (the caller checked that stderr is a terminal and the output is for
/// people).
pub fn enable() {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let mut line = LINE.lock().unwrap_or_else(|p| p.into_inner());
    *line = Some(Line { bar, started: Instant::now(), shown: false, paused: false });
    drop(line);
    // Shows a step's line once it has taken DELAY, however rarely it reports.
    std::thread::spawn(|| {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let mut guard = LINE.lock().unwrap_or_else(|p| p.into_inner());
            let Some(line) = guard.as_mut() else { return };
            show_if_due(line);
        }
    });
}

/// A new step: `what` (`reading ZooKeeper`), of `total` units (`services`) when known.
pub fn step(what: &str, total: Option<u64>, unit: &str) {
    with(|line| {
        line.bar.set_position(0);
        line.bar.set_length(total.unwrap_or(0));
        let style = match total {
            Some(_) => {
                ProgressStyle::with_template(&format!("{{spinner}} {what}: {{pos}}/{{len}} {unit} ({{elapsed}})"))
            }
            None => ProgressStyle::with_template(&format!("{{spinner}} {what} ({{elapsed}})")),
        };
        if let Ok(style) = style {
            line.bar.set_style(style);
        }
        line.bar.reset_elapsed();
        line.started = Instant::now();
        line.paused = false;
    });
}

/// Clears the line until the next step (a prompt, or output that must not be interleaved).
pub fn hide() {
    with(|line| {
        line.paused = true;
        if line.shown {
            line.shown = false;
            line.bar.disable_steady_tick();
            line.bar.set_draw_target(ProgressDrawTarget::hidden());
        }
    });
}

/// Runs `write` with the line cleared, then draws it again (for output printed during a step).
pub fn suspend<T>(write: impl FnOnce() -> T) -> T {
    let guard = LINE.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(line) if line.shown => line.bar.suspend(write),
        _ => write(),
    }
}

/// `n` more units of the current step done.
pub fn advance(n: u64) {
    with(|line| line.bar.inc(n));
}

/// Clears the line (before the command prints), and stops showing it.
pub fn finish() {
    let mut line = LINE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(line) = line.take() {
        line.bar.finish_and_clear();
    }
}

/// Runs `f` on the line when progress is on, showing it once the step took [`DELAY`].
fn with(f: impl FnOnce(&mut Line)) {
    let mut guard = LINE.lock().unwrap_or_else(|p| p.into_inner());
    let Some(line) = guard.as_mut() else { return };
    f(line);
    show_if_due(line);
}

fn show_if_due(line: &mut Line) {
    if !line.shown && !line.paused && line.started.elapsed() >= DELAY {
        line.shown = true;
        line.bar.set_draw_target(ProgressDrawTarget::stderr());
        line.bar.enable_steady_tick(Duration::from_millis(120));
    }
}
