//! Live progress while `submit` or `resume` runs a job: one updating line on a terminal.
//!
//! The line shows the current step (i/N, id, how long it has run), its latest progress note, and
//! usage against the budgets that are set. It is drawn on stderr by a thread of its own, from the
//! ledger (tailed incrementally, as `wrkr-events --follow` does), at most five times a second.
//! The runner does not know it exists: nothing is added to the per-step path, and when stderr is
//! not a terminal (and `-v` was not asked for) no thread starts at all, so the output is
//! byte-for-byte what it was without it.
//!
//! `-v` adds a permanent line per finished step attempt (also when stderr is not a terminal);
//! `-q` turns everything off. When the job stops on a failing step, the last lines of that step's
//! output are shown under the line, so the cause is on screen without a second command. Colour
//! only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::contract::time::Timestamp;
use crate::contract::{ReasonCode, Result};
use crate::job::budget::{Limits, Usage};
use crate::run::attempts::{Attempt, Attempts, STREAMS, copy_stream, tail_start};
use crate::run::history::History;
use crate::run::outlook::duration;
use crate::store::{JobId, Store, local};

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(200);
/// How many lines of a failing step's output are shown.
const FAILURE_TAIL_LINES: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// What the person at the terminal asked for and has.
#[derive(Clone, Copy, Debug)]
pub struct Display {
    pub verbosity: Verbosity,
    /// stderr is a terminal: the updating line and the failure tail are drawn.
    pub terminal: bool,
    pub color: bool,
}

impl Display {
    /// From the flags and the environment: `--json` output is for programs and gets none of it.
    pub fn detect(verbosity: Verbosity, json: bool) -> Display {
        let terminal = std::io::stderr().is_terminal() && !json;
        let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Display { verbosity, terminal, color }
    }

    fn live(&self) -> bool {
        self.terminal && self.verbosity != Verbosity::Quiet
    }

    fn active(&self) -> bool {
        self.live() || self.verbosity == Verbosity::Verbose
    }
}

/// A running progress display; [`Progress::finish`] stops it and clears the line.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Tracker>>,
    display: Display,
}

impl Progress {
    /// Start drawing for `job` (a no-op when nothing is to be drawn).
    pub fn start(store: &dyn Store, job: &JobId, display: Display) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        // The display's own store handle (and the job's local logs); none, no display: drawing is
        // never worth failing the run for.
        let location = store.location();
        let handle = || Some((crate::store::open_at(&location).ok()?, local::job_dir(&location, job).ok()?));
        let thread = display.active().then(handle).flatten().map(|(store, job_dir)| {
            let mut tracker = Tracker::new(store, job_dir, job.clone(), display);
            tracker.skip_what_ended_before();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut frame = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    tracker.poll();
                    if display.live() {
                        tracker.draw(frame);
                    }
                    frame += 1;
                    std::thread::sleep(REDRAW);
                }
                tracker
            })
        });
        Progress { stop, thread, display }
    }

    /// Stop drawing; after a failing step, show the end of its output.
    pub fn finish<T>(mut self, result: &Result<T>) {
        self.stop.store(true, Ordering::Relaxed);
        let Some(mut tracker) = self.thread.take().and_then(|t| t.join().ok()) else { return };
        tracker.poll();
        if self.display.live() {
            clear_line();
            if let Err(err) = result
                && err.code == ReasonCode::AdapterFail
            {
                tracker.show_failure_tail();
            }
        }
    }
}

/// Follows the ledger and knows what to draw.
struct Tracker {
    store: Box<dyn Store + Send>,
    /// Where the job's logs are on this host.
    job_dir: PathBuf,
    job: JobId,
    display: Display,
    history: History,
    attempts: Attempts,
    /// Attempts already reported with `-v`.
    reported: usize,
}

impl Tracker {
    fn new(store: Box<dyn Store + Send>, job_dir: PathBuf, job: JobId, display: Display) -> Tracker {
        let history = History::new(job.as_str());
        Tracker { store, job_dir, job, display, history, attempts: Attempts::default(), reported: 0 }
    }

    /// `-v` reports the attempts that end from now on: a resumed job's earlier steps were
    /// reported by the run that ran them.
    fn skip_what_ended_before(&mut self) {
        let verbosity = self.display.verbosity;
        self.display.verbosity = Verbosity::Normal;
        self.poll();
        self.display.verbosity = verbosity;
        self.reported = self.attempts.list.iter().take_while(|a| a.outcome.is_some()).count();
    }

    /// Read what was appended since the last poll. A read error only skips a frame: the display
    /// must never be the reason a job fails.
    fn poll(&mut self) {
        let (history, attempts) = (&mut self.history, &mut self.attempts);
        let _ = self.store.read_events(&self.job, history.last_seq + 1, &mut |record, _| {
            history.apply(record);
            attempts.observe(record);
            Ok(())
        });
        // Only the budgets are needed from the spec; a big spec is not kept twice.
        self.history.take_spec_document();
        if self.display.verbosity == Verbosity::Verbose {
            self.report_finished();
        }
    }

    /// `-v`: one permanent line per attempt that ended since the last poll.
    fn report_finished(&mut self) {
        while let Some(attempt) = self.attempts.list.get(self.reported).filter(|a| a.outcome.is_some()) {
            let line = format!("{} {}", self.position(attempt), attempt.ending());
            let line = match attempt.duration_ms {
                Some(ms) => format!("{line} in {}", seconds(ms)),
                None => line,
            };
            let mark = if attempt.failed() { self.paint("31", "x") } else { self.paint("32", "+") };
            let mut err = std::io::stderr().lock();
            let start = if self.display.live() { "\r\x1b[2K" } else { "" };
            let _ = writeln!(err, "{start}{mark} {line}");
            self.reported += 1;
        }
    }

    /// `2/3 review` (or `review` when the step count is unknown).
    fn position(&self, attempt: &Attempt) -> String {
        let id = self.paint("1", &attempt.step_id);
        match self.attempts.step_total {
            0 => id,
            total => format!("{}/{total} {id}", attempt.step_index + 1),
        }
    }

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.display.color { format!("\x1b[{sgr}m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// The line itself, cut to the terminal's width.
    fn line(&self, frame: usize, now: Timestamp) -> String {
        const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
        let mut parts = Vec::new();
        match self.attempts.latest().filter(|a| a.outcome.is_none()) {
            Some(step) => {
                let ran = Timestamp::parse(&step.started_at).map(|t| now.seconds_since(t)).unwrap_or(0);
                let retry = if step.attempt > 1 { format!(" (attempt {})", step.attempt) } else { String::new() };
                parts.push(format!("{} {}{retry} {}", SPINNER[frame % 4], self.position(step), duration(ran)));
            }
            None => parts.push(format!("{} {} {}", SPINNER[frame % 4], self.job.as_str(), self.history.status)),
        }
        if let Some((note, _)) = &self.attempts.latest_note {
            parts.push(note.clone());
        }
        let budget = budget_text(&self.history.usage(now), &self.history.limits().unwrap_or_default());
        if !budget.is_empty() {
            parts.push(self.paint("2", &budget));
        }
        parts.join(" · ")
    }

    fn draw(&self, frame: usize) {
        let line = self.line(frame, Timestamp::now());
        let fitted = fit(&line, terminal_width().saturating_sub(1));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{fitted}");
        let _ = err.flush();
    }

    /// The last lines of the failing attempt's output, under a header per stream.
    fn show_failure_tail(&self) {
        let Some(failed) = self.attempts.list.iter().rev().find(|a| a.failed()) else { return };
        let job_dir = &self.job_dir;
        let mut err = std::io::stderr().lock();
        for stream in STREAMS {
            let files = failed.log_files(job_dir, stream);
            let Ok(start) = tail_start(&files, FAILURE_TAIL_LINES) else { continue };
            if files.is_empty() {
                continue;
            }
            let header = format!("--- last lines of {} ({stream}) ---", failed.step_id);
            let _ = writeln!(err, "{}", self.paint("2", &header));
            let mut text = Vec::new();
            let _ = copy_stream(&files, start, &mut text);
            if !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            let _ = err.write_all(&text);
        }
    }
}

/// `steps 1/50 · tools 2/50 · wall 3s/10m00s`: each budget that is set, used against its limit.
fn budget_text(usage: &Usage, limits: &Limits) -> String {
    let mut parts = Vec::new();
    if limits.max_step_count > 0 {
        parts.push(format!("steps {}/{}", usage.step_count, limits.max_step_count));
    }
    if limits.max_tool_calls > 0 {
        parts.push(format!("tools {}/{}", usage.tool_call_count, limits.max_tool_calls));
    }
    if let Some(max) = limits.max_tokens.filter(|m| *m > 0) {
        parts.push(format!("tokens {}/{max}", usage.tokens));
    }
    if let Some(max) = limits.max_estimated_cost.filter(|m| *m > 0.0) {
        parts.push(format!("cost ${:.2}/${max:.2}", usage.estimated_cost));
    }
    if limits.max_wall_time_seconds > 0 {
        parts.push(format!("wall {}/{}", duration(usage.wall_time_seconds), duration(limits.max_wall_time_seconds)));
    }
    parts.join(" · ")
}

fn seconds(ms: u64) -> String {
    if ms < 60_000 { format!("{}.{}s", ms / 1000, (ms % 1000) / 100) } else { duration(ms / 1000) }
}

/// Cut `line` to `width` visible characters, keeping colour sequences whole and closing them.
fn fit(line: &str, width: usize) -> String {
    let mut out = String::new();
    let mut visible = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            out.push(c);
            for rest in chars.by_ref() {
                out.push(rest);
                if rest == 'm' {
                    break;
                }
            }
            continue;
        }
        if c.is_control() {
            continue;
        }
        if visible == width {
            out.push_str("\x1b[0m");
            break;
        }
        out.push(c);
        visible += 1;
    }
    out
}

fn clear_line() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// The terminal's width in columns (80 when it cannot be asked).
fn terminal_width() -> usize {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed; fd 2 may be anything, and a
    // failing ioctl leaves the struct as it was.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 { usize::from(size.ws_col) } else { 80 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_visible_characters_and_keeps_colour_whole() {
        assert_eq!(fit("abcdef", 4), "abcd\x1b[0m");
        assert_eq!(fit("\x1b[1mab\x1b[0mcd", 3), "\x1b[1mab\x1b[0mc\x1b[0m");
        assert_eq!(fit("a\nb\tc", 10), "abc");
        assert_eq!(fit("short", 10), "short");
    }

    #[test]
    fn budget_text_names_only_the_limits_set() {
        let usage = Usage { step_count: 1, tool_call_count: 2, wall_time_seconds: 3, ..Usage::default() };
        let limits = Limits { max_step_count: 50, max_wall_time_seconds: 600, ..Limits::default() };
        assert_eq!(budget_text(&usage, &limits), "steps 1/50 · wall 3s/10m00s");
    }
}
