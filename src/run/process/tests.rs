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
    }
}

fn never() -> Option<String> {
    None
}

#[test]
fn exit_code_output_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&step(dir.path(), "echo \"id=$WRKR_STEP_ID\"; echo oops >&2; exit 3"), &never).unwrap();
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
    let out = run(&cmd, &never).unwrap();
    assert_eq!(out.ending, Ending::TimedOut);
    assert!(out.duration < Duration::from_secs(5), "killed, not waited for: {:?}", out.duration);
}

#[test]
fn sigterm_ignored_means_sigkill_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(dir.path(), "trap '' TERM; sleep 100 & wait");
    cmd.deadline = Some(Instant::now() + Duration::from_millis(200));
    let out = run(&cmd, &never).unwrap();
    assert_eq!(out.ending, Ending::TimedOut);
    assert!(out.duration < Duration::from_secs(5), "{:?}", out.duration);
}

#[test]
fn stop_request_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let asked = Instant::now() + Duration::from_millis(200);
    let out = run(&step(dir.path(), "sleep 100"), &|| (Instant::now() > asked).then(|| "canceled".to_owned())).unwrap();
    assert_eq!(out.ending, Ending::Stopped("canceled".to_owned()));
    assert!(out.duration < Duration::from_secs(5));
}

#[test]
fn background_children_do_not_hang_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&step(dir.path(), "sleep 100 & echo started"), &never).unwrap();
    assert_eq!(out.ending, Ending::Exited(0));
    assert!(out.duration < Duration::from_secs(5), "{:?}", out.duration);
    assert_eq!(out.stdout.unwrap().bytes, 8);
}

#[test]
fn missing_program_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = step(dir.path(), "");
    cmd.program = Program::Argv(vec!["/no/such/program".into()]);
    let out = run(&cmd, &never).unwrap();
    assert!(matches!(out.ending, Ending::FailedToStart(_)));
    assert_eq!(out.exit_code(), 127);
}
