use super::*;
use crate::digest::sha256_hex;

fn step(dir: &std::path::Path, script: &str) -> StepCommand {
    StepCommand {
        program: Program::Shell(script.to_owned()),
        cwd: dir.to_path_buf(),
        env: vec![("WRKR_STEP_ID".to_owned(), "s1".to_owned())],
        log_dir: dir.join("logs"),
        log_name: "s1-1".to_owned(),
        log_cap: 1 << 20,
        deadline: None,
        grace: Duration::from_millis(300),
        tee: false,
        tee_stdout_to_stderr: false,
        protocol: false,
        pass_stdin: false,
        terminal: false,
    }
}

fn never() -> StopWhen<fn() -> Option<String>> {
    StopWhen(|| None)
}

#[test]
fn exit_code_output_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&step(dir.path(), "echo \"id=$WRKR_STEP_ID\"; echo oops >&2; exit 3"), &mut never()).unwrap();
    assert_eq!(out.ending, Ending::Exited(3));
    assert_eq!(out.exit_code(), 3);
    assert_eq!(out.stdout.as_ref().unwrap().sha256, sha256_hex(b"id=s1\n"));
    assert_eq!(out.stderr.as_ref().unwrap().bytes, 5);
    assert_eq!(std::fs::read(dir.path().join("logs/s1-1.stdout.log")).unwrap(), b"id=s1\n");
}

#[test]
fn deadline_kills_mid_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(dir.path(), "sleep 100");
    cmd.deadline = Some(Instant::now() + Duration::from_millis(300));
    let out = run(&cmd, &mut never()).unwrap();
    assert_eq!(out.ending, Ending::TimedOut);
    assert!(out.duration < Duration::from_secs(5), "killed, not waited for: {:?}", out.duration);
}

#[test]
fn sigterm_ignored_means_sigkill_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(dir.path(), "trap '' TERM; sleep 100 & wait");
    cmd.deadline = Some(Instant::now() + Duration::from_millis(200));
    let out = run(&cmd, &mut never()).unwrap();
    assert_eq!(out.ending, Ending::TimedOut);
    assert!(out.duration < Duration::from_secs(5), "{:?}", out.duration);
}

#[test]
fn stop_request_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let asked = Instant::now() + Duration::from_millis(200);
    let mut stop = StopWhen(|| (Instant::now() > asked).then(|| "canceled".to_owned()));
    let out = run(&step(dir.path(), "sleep 100"), &mut stop).unwrap();
    assert_eq!(out.ending, Ending::Stopped("canceled".to_owned()));
    assert!(out.duration < Duration::from_secs(5));
}

#[test]
fn background_children_do_not_hang_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&step(dir.path(), "sleep 100 & echo started"), &mut never()).unwrap();
    assert_eq!(out.ending, Ending::Exited(0));
    assert!(out.duration < Duration::from_secs(5), "{:?}", out.duration);
    assert_eq!(out.stdout.unwrap().bytes, 8);
}

#[test]
fn missing_program_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(dir.path(), "");
    cmd.program = Program::Argv(vec!["/no/such/program".into()]);
    let out = run(&cmd, &mut never()).unwrap();
    assert!(matches!(out.ending, Ending::FailedToStart(_)));
    assert_eq!(out.exit_code(), 127);
}

/// Collects what the step reports and stops it after `stop_after` records.
struct Recorder {
    lines: Vec<ProtocolLine>,
    stop_after: usize,
}

impl Supervisor for Recorder {
    fn record(&mut self, line: ProtocolLine) {
        self.lines.push(line);
    }
    fn should_stop(&mut self) -> Option<String> {
        (self.lines.len() >= self.stop_after).then(|| "budget exceeded".to_owned())
    }
}

#[test]
fn protocol_records_arrive_from_fd_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(
        dir.path(),
        r#"echo '{"type":"tool_call"}' >&"$WRKR_EVENTS_FD"; echo '{"type":"tokens","count":5}' >> "$WRKR_EVENTS_PATH"; printf 'garbage' >> "$WRKR_EVENTS_PATH""#,
    );
    cmd.protocol = true;
    let mut rec = Recorder { lines: vec![], stop_after: usize::MAX };
    let out = run(&cmd, &mut rec).unwrap();
    assert_eq!(out.ending, Ending::Exited(0));
    let mut got: Vec<String> = rec
        .lines
        .iter()
        .map(|l| match l {
            ProtocolLine::Line(b) => String::from_utf8_lossy(b).into_owned(),
            ProtocolLine::TooLong => "<too long>".into(),
        })
        .collect();
    got.sort();
    assert_eq!(got, ["garbage", r#"{"type":"tokens","count":5}"#, r#"{"type":"tool_call"}"#]);
}

#[test]
fn records_can_stop_the_step_mid_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd =
        step(dir.path(), r#"for i in 1 2 3 4 5; do echo '{"type":"tool_call"}' >&"$WRKR_EVENTS_FD"; done; sleep 100"#);
    cmd.protocol = true;
    let mut rec = Recorder { lines: vec![], stop_after: 3 };
    let out = run(&cmd, &mut rec).unwrap();
    assert_eq!(out.ending, Ending::Stopped("budget exceeded".into()));
    assert!(out.duration < Duration::from_secs(5));
    assert_eq!(rec.lines.len(), 5);
}

#[test]
fn oversized_record_is_reported_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(
        dir.path(),
        r#"head -c 200000 /dev/zero | tr '\0' x >&"$WRKR_EVENTS_FD"; echo >&"$WRKR_EVENTS_FD"; echo '{"type":"tool_call"}' >&"$WRKR_EVENTS_FD""#,
    );
    cmd.protocol = true;
    let mut rec = Recorder { lines: vec![], stop_after: usize::MAX };
    run(&cmd, &mut rec).unwrap();
    assert_eq!(rec.lines, [ProtocolLine::TooLong, ProtocolLine::Line(br#"{"type":"tool_call"}"#.to_vec())]);
}
