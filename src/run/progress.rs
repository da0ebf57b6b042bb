//! Live progress while `submit`, `resume` or `wrap` runs a job: one updating line on a terminal.
//!
//! The line shows the current step (i/N, id, how long it has run; for `wrap`, the command), its
//! latest progress note, and usage against the budgets that are set. It is drawn on stderr by a thread of its own, from the
//! ledger (tailed incrementally, as `wrkr-events --follow` does), at most five times a second.
//! The runner does not know it exists: nothing is added to the per-step path, and when stderr is
//! not a terminal (and `-v` was not asked for) no thread starts at all, so the output is
//! byte-for-byte what it was without it.
//!
//! `-v` adds a permanent line per finished step attempt (also when stderr is not a terminal);
//! `-q` turns everything off. When the job stops on a failing step, the last lines of that step's
//! output are shown under the line, so the cause is on screen without a second command. Colour
//! only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).
//!
//! `wrap` shows the wrapped command's own output on the same terminal. Its copy goes through
//! [`write_output`], which erases the line before the output and holds the line back while the
//! output stands in the middle of a line (a prompt), so the two never end up on one line. For
//! `wrap`, `-v` writes each progress note the command reports as a permanent line instead.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// What the terminal's last line holds: the progress line, or output of a wrapped command that
/// did not end its line yet. One lock, so a redraw and the command's output never interleave.
struct Screen {
    line_drawn: bool,
    output_mid_line: bool,
}

static SCREEN: Mutex<Screen> = Mutex::new(Screen { line_drawn: false, output_mid_line: false });

fn screen() -> std::sync::MutexGuard<'static, Screen> {
    SCREEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write a wrapped command's `chunk` of output to `out`, a terminal: the progress line is erased
/// first (it is redrawn at the next tick, under the output) and held back while the output stands
/// in the middle of a line.
pub fn write_output(out: &mut dyn Write, chunk: &[u8]) -> std::io::Result<()> {
    let mut screen = screen();
    if screen.line_drawn {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
        screen.line_drawn = false;
    }
    if let Some(last) = chunk.last() {
        screen.output_mid_line = *last != b'\n';
    }
    out.write_all(chunk)?;
    out.flush()
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
        Progress::start_labelled(store, job, display, None)
    }

    /// Start drawing for a job without steps (`wrap`): the line names `label` (the command) and
    /// how long it has run, against `limits`, and `-v` makes each progress note a permanent line.
    pub fn start_for_command(
        store: &dyn Store,
        job: &JobId,
        display: Display,
        label: String,
        limits: Limits,
    ) -> Progress {
        Progress::start_labelled(store, job, display, Some((label, limits)))
    }

    fn start_labelled(store: &dyn Store, job: &JobId, display: Display, label: Option<(String, Limits)>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        // The display's own store handle (and the job's local logs); none, no display: drawing is
        // never worth failing the run for.
        let location = store.location();
        let handle = || Some((crate::store::open_at(&location).ok()?, local::job_dir(&location, job).ok()?));
        let thread = display.active().then(handle).flatten().map(|(store, job_dir)| {
            let mut tracker = Tracker::new(store, job_dir, job.clone(), display);
            (tracker.label, tracker.limits) = label.unzip();
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

    /// Stop drawing and clear the line, showing no output (`wrap`: the command's output was on
    /// screen as it ran).
    pub fn stop(self) {
        self.finish(&Ok::<(), crate::contract::Error>(()));
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
    /// A job without steps (`wrap`): the command the line names.
    label: Option<String>,
    /// When the display started: how long the labelled command has run.
    since: Instant,
    /// The last progress note reported with `-v` (labelled jobs), by its time and text.
    reported_note: Option<(String, String)>,
    /// The budgets of a job without a JobSpec (`wrap`'s flags); else the spec's are read.
    limits: Option<Limits>,
}

impl Tracker {
    fn new(store: Box<dyn Store + Send>, job_dir: PathBuf, job: JobId, display: Display) -> Tracker {
        let history = History::new(job.as_str());
        Tracker {
            store,
            job_dir,
            job,
            display,
            history,
            attempts: Attempts::default(),
            reported: 0,
            label: None,
            since: Instant::now(),
            reported_note: None,
            limits: None,
        }
    }

    /// `-v` reports the attempts that end from now on: a resumed job's earlier steps were
    /// reported by the run that ran them.
    fn skip_what_ended_before(&mut self) {
        let verbosity = self.display.verbosity;
        self.display.verbosity = Verbosity::Normal;
        self.poll();
        self.display.verbosity = verbosity;
        self.reported = self.attempts.list.iter().take_while(|a| a.outcome.is_some()).count();
        self.reported_note = self.attempts.latest_note.clone();
    }

    /// Read what was appended since the last poll. A read error only skips a frame: the display
    /// must never be the reason a job fails.
    fn poll(&mut self) {
        let (history, attempts) = (&mut self.history, &mut self.attempts);
        let lean = if history.spec.is_some() { &[][..] } else { crate::run::history::LEAN };
        let _ = self.store.read_events_lean(&self.job, history.last_seq + 1, lean, &mut |record, line| {
            history.apply_line(record, line);
            attempts.observe(record);
            if let Some(spec) = history.spec.as_ref().filter(|_| record.event_type == crate::store::JOBSPEC_EVENT) {
                attempts.step_total = spec.step_total;
            }
            Ok(())
        });
        // Only the budgets and the step count are needed from the spec; a big spec is not kept twice.
        self.history.forget_spec();
        if self.display.verbosity == Verbosity::Verbose {
            self.report_finished();
        }
    }

    /// `-v`: one permanent line per attempt that ended since the last poll (for a labelled job,
    /// per progress note: it has no steps to report).
    fn report_finished(&mut self) {
        if self.label.is_some() {
            let note = self.attempts.latest_note.clone();
            if note.is_some() && note != self.reported_note {
                let text = note.as_ref().map(|(text, _)| text.as_str()).unwrap_or_default();
                let mut screen = screen();
                let mut err = std::io::stderr().lock();
                let start = if screen.line_drawn { "\r\x1b[2K" } else { "" };
                let _ = writeln!(err, "{start}{} {text}", self.paint("2", "·"));
                screen.line_drawn = false;
                self.reported_note = note;
            }
            return;
        }
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

    /// The latest note, unless it was reported before the current step started: a note belongs
    /// to its step, and the next step's line must not carry the last one's (`fetched 12 files`
    /// under `2/2 build`). The ledger's fold keeps the latest note whatever the step (`status`
    /// shows it with its age), so the step is checked here.
    fn current_note(&self) -> Option<&str> {
        let (note, noted_at) = self.attempts.latest_note.as_ref()?;
        let step_started = self.attempts.latest().and_then(|step| Timestamp::parse(&step.started_at));
        match (step_started, Timestamp::parse(noted_at)) {
            (Some(started), Some(noted)) if noted < started => None,
            _ => Some(note),
        }
    }

    /// The line itself, cut to the terminal's width.
    fn line(&self, frame: usize, now: Timestamp) -> String {
        const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
        let mut parts = Vec::new();
        match (&self.label, self.attempts.latest().filter(|a| a.outcome.is_none())) {
            (Some(label), _) => {
                let ran = duration(self.since.elapsed().as_secs());
                parts.push(format!("{} {} {ran}", SPINNER[frame % 4], self.paint("1", label)));
            }
            (None, Some(step)) => {
                let ran = Timestamp::parse(&step.started_at).map(|t| now.seconds_since(t)).unwrap_or(0);
                let retry = if step.attempt > 1 { format!(" (attempt {})", step.attempt) } else { String::new() };
                parts.push(format!("{} {}{retry} {}", SPINNER[frame % 4], self.position(step), duration(ran)));
            }
            (None, None) => {
                parts.push(format!("{} {} {}", SPINNER[frame % 4], self.job.as_str(), self.history.status.plain()));
            }
        }
        if let Some(note) = self.current_note() {
            parts.push(note.to_owned());
        }
        let limits = self.limits.clone().or_else(|| self.history.limits()).unwrap_or_default();
        let budget = budget_text(&self.history.usage(now), &limits);
        if !budget.is_empty() {
            parts.push(self.paint("2", &budget));
        }
        parts.join(" · ")
    }

    fn draw(&self, frame: usize) {
        let line = self.line(frame, Timestamp::now());
        let fitted = fit(&line, terminal_width().saturating_sub(1));
        let mut screen = screen();
        if screen.output_mid_line {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{fitted}");
        let _ = err.flush();
        screen.line_drawn = true;
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
    let mut screen = screen();
    if screen.output_mid_line {
        // The command's unfinished line stays; ours starts on the next.
        let _ = writeln!(std::io::stderr().lock());
        screen.output_mid_line = false;
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
    screen.line_drawn = false;
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
