//! The rough edges a newcomer hit (issue 12), each a regression test through the real binary:
//! `--json` after `wrap --` belongs to the command, acceptance counts wall time as budgets do,
//! job ids are never rewritten and default ids never collide, the footer's verify command works
//! as printed.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::Sandbox;

/// `wrkr init`'s JobSpec (a step, a decision gate, a last step) named `name`, with a wall-time
/// limit of `wall` seconds.
fn spec(sb: &Sandbox, name: &str, wall: u64) -> String {
    let text = include_str!("../src/cmd/init/jobspec.yaml")
        .replace("name: demo_refactor_job", &format!("name: {name}"))
        .replace("max_wall_time_seconds: 3600", &format!("max_wall_time_seconds: {wall}"));
    assert!(text.contains(&format!("name: {name}")) && text.contains(&format!("max_wall_time_seconds: {wall}")));
    let path = sb.work().join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Submit `spec` as `job`; it stops at its decision gate. Returns the checkpoint to approve.
fn submit_to_gate(sb: &Sandbox, spec: &str, job: &str) -> String {
    let out = sb.wrkr().args(["--json", "submit", spec, "--job-id", job]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["status"], "blocked_decision", "{report:#}");
    report["checkpoint_id"].as_str().unwrap().to_owned()
}

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// W2: `wrkr wrap -- CMD --json` took `--json` away from CMD (and switched wrkr to JSON).
#[test]
fn json_after_dashdash_reaches_the_wrapped_command() {
    let sb = Sandbox::new();
    let check = ["sh", "-c", "test \"$1\" = --json && test \"$#\" = 1", "sh", "--json"];
    let out = sb.wrkr().args(["wrap", "--job-id", "w_text", "--"]).args(check).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The summary is text, on stderr (stdout is the command's).
    let text = stderr(&out);
    assert!(text.starts_with("job_id=w_text\n"), "wrkr's own output stays text: {text}");
    // wrkr's --json before `--` still selects JSON; the command's stays with the command.
    let out = sb.wrkr().args(["wrap", "--json", "--job-id", "w_json", "--"]).args(check).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["adapter_result"]["status"], "completed");
}

/// W4: `accept run` counted the time a job waited for approval as used wall time and failed
/// `max_budget_use` ("used 3 of 2") while `budget show` said the job had used 0 seconds.
#[test]
fn accept_counts_wall_time_as_the_budget_does() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "waits", 2);
    sb.wrkr().args(["submit", &spec, "--job-id", "waits"]).assert().success();
    std::thread::sleep(Duration::from_millis(3200));
    let list = json_out(&sb.wrkr().args(["--json", "checkpoint", "list", "waits"]).output().unwrap());
    let decision = list.as_array().unwrap().iter().find(|c| c["type"] == "decision-needed").unwrap();
    let cp = decision["checkpoint_id"].as_str().unwrap();
    sb.wrkr().args(["approve", "waits", "--checkpoint", cp, "--reason", "ok"]).assert().success();
    sb.wrkr().args(["resume", "waits"]).assert().success();
    let budget = json_out(&sb.wrkr().args(["--json", "budget", "show", "waits"]).output().unwrap());
    let used = budget["usage"]["wall_time_seconds"].as_u64().unwrap();
    assert!(used < 2, "the steps are instant: {budget}");
    std::fs::write(sb.work().join("accept.yaml"), "max_budget_use: 1.0\n").unwrap();
    let out = sb.wrkr().args(["--json", "accept", "run", "waits"]).output().unwrap();
    let result = json_out(&out);
    assert_eq!(out.status.code(), Some(0), "{result:#}");
    let check = result["checks"].as_array().unwrap().iter().find(|c| c["name"] == "max_budget_use");
    assert_eq!(check.unwrap()["status"], "passed", "{result:#}");
    // The GitHub summary's budget table says the same.
    let out = sb.wrkr().args(["--json", "report", "github", "waits"]).output().unwrap();
    let summary = json_out(&out);
    let md = std::fs::read_to_string(summary["summary_markdown_path"].as_str().unwrap()).unwrap();
    let row = md.lines().find(|l| l.contains("wall_time_seconds")).unwrap();
    assert!(row.starts_with(&format!("| wall_time_seconds | {used} | 2 |")), "{row}");
}

/// W5: `--job-id TokTypo` became `toktypo`, so `wrkr status TokTypo` did not find the job; an
/// invalid id was silently rewritten instead of refused.
#[test]
fn job_ids_are_used_as_given_or_refused_with_a_suggestion() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "ids", 60);
    let out = sb.wrkr().args(["submit", &spec, "--job-id", "TokTypo"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("job_id=TokTypo"), "{}", stderr(&out));
    let status = json_out(&sb.wrkr().args(["--json", "status", "TokTypo"]).output().unwrap());
    assert_eq!(status["job_id"], "TokTypo");
    let other = sb.wrkr().args(["status", "toktypo"]).output().unwrap();
    assert!(stderr(&other).contains("job not found"), "ids are case-sensitive: {}", stderr(&other));
    for (command, args) in [("submit", vec![spec.as_str()]), ("wrap", vec![])] {
        let mut cmd = sb.wrkr();
        cmd.arg(command).args(&args).args(["--job-id", "My Job!"]);
        if command == "wrap" {
            cmd.args(["--", "true"]);
        }
        let before = support::tree(sb.home());
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{command}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("invalid job id \"My Job!\""), "{command}: {err}");
        assert!(err.contains("^[A-Za-z0-9._-]+$") && err.contains("did you mean My_Job?"), "{command}: {err}");
        assert_eq!(support::tree(sb.home()), before, "{command}: nothing was created");
    }
}

/// W5: two submits of one spec in the same second collided on `<name>_<unix seconds>` and the
/// second failed with "job already exists".
#[test]
fn default_ids_never_collide() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "twice", 60);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let out = sb.wrkr().args(["--json", "submit", &spec, "--detach"]).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            json_out(&out)["job_id"].as_str().unwrap().to_owned()
        })
        .collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 3, "{ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("twice_")), "{ids:?}");
}

/// W6: with `--out-dir`, the footer said `verify="wrkr verify <id>"`, which looks in ./wrkr-out and
/// fails; the command in the footer must work as printed (from any directory).
#[test]
fn footer_verify_command_works_as_printed() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "foot", 60);
    sb.wrkr().args(["submit", &spec, "--job-id", "foot"]).assert().success();
    let elsewhere = tempfile::TempDir::new().unwrap();
    let out_dir = sb.work().join("my out");
    let cases: [(&str, Vec<&str>); 3] = [
        ("export", vec!["export", "foot"]),
        ("export --out-dir", vec!["export", "foot", "--out-dir", out_dir.to_str().unwrap()]),
        ("receipt --out-dir", vec!["receipt", "foot", "--out-dir", out_dir.to_str().unwrap()]),
    ];
    for (what, args) in cases {
        let out = sb.wrkr().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let footer = text.lines().map(|l| l.strip_prefix("footer=").unwrap_or(l)).find(|l| l.starts_with("WRKR "));
        let footer = footer.unwrap_or_else(|| panic!("{what}: {text}"));
        let command = footer.split("verify=\"").nth(1).unwrap().trim_end_matches('"');
        // Run it as printed, through a shell; from the work dir for the default place, else from
        // another directory too.
        let mut dirs = vec![sb.work().to_path_buf()];
        if what != "export" {
            dirs.push(elsewhere.path().to_path_buf());
        }
        for dir in dirs {
            let run = std::process::Command::new("sh")
                .args(["-c", &format!("wrkr() {{ \"$WRKR\" \"$@\"; }}; {command}")])
                .env("WRKR", support::bin())
                .env("WRKR_HOME", sb.home())
                .current_dir(&dir)
                .output()
                .unwrap();
            assert_eq!(run.status.code(), Some(0), "{what}: `{command}` in {}: {}", dir.display(), stderr(&run));
        }
    }
}

/// W11: approvals recorded `$USER` or the literal `unknown`; now `--approved-by`, else
/// `$WRKR_APPROVED_BY`, else the OS account (getpwuid), with its source in the jobpack.
#[test]
fn approvals_record_a_real_identity_and_its_source() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "who", 60);
    let account = String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let account = account.trim();
    // (job, approve flags, $WRKR_APPROVED_BY, recorded name, recorded source)
    type Case<'a> = (&'a str, Vec<&'a str>, Option<&'a str>, &'a str, &'a str);
    let cases: [Case; 3] = [
        ("flag", vec!["--approved-by", "alice"], Some("bob"), "alice", "flag"),
        ("env", vec![], Some("bob"), "bob", "env"),
        ("account", vec![], None, account, "os_account"),
    ];
    for (job, flags, env, name, source) in cases {
        let cp = submit_to_gate(&sb, &spec, job);
        let mut cmd = sb.wrkr();
        // The sandbox sets USER=tester: it must not be taken for the account.
        cmd.args(["--json", "approve", job, "--checkpoint", &cp, "--reason", "ok"]).args(&flags);
        if let Some(env) = env {
            cmd.env("WRKR_APPROVED_BY", env);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{job}: {}", stderr(&out));
        let record = json_out(&out);
        assert_eq!((record["approved_by"].as_str(), record["approved_by_source"].as_str()), (Some(name), Some(source)));
        sb.wrkr().args(["resume", job]).assert().success();
        let export = json_out(&sb.wrkr().args(["--json", "export", job]).output().unwrap());
        let pack = export["path"].as_str().unwrap();
        sb.wrkr().args(["verify", pack]).assert().success();
        // Entries are stored (not compressed): the event's line is in the pack's bytes as written.
        let bytes = std::fs::read(pack).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let line = text.lines().find(|l| l.contains("\"type\":\"x-approval_identity\"")).unwrap_or_else(|| {
            panic!("{job}: no x-approval_identity event in the pack");
        });
        let identity: Value = serde_json::from_str(&line[line.rfind("{\"created_at\"").unwrap()..]).unwrap();
        assert_eq!(identity["payload"]["approved_by"], name);
        assert_eq!(identity["payload"]["approved_by_source"], source);
        assert_eq!(identity["payload"]["checkpoint_id"], cp.as_str());
    }
}

/// W13: step logs and the job directory were 0644/0755 (world-readable) although a step's output
/// may hold secrets; the ledger was already 0600.
#[test]
fn job_files_that_may_hold_secrets_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let spec = spec(&sb, "perm", 60).replace("perm.yaml", "perm2.yaml");
    let text = std::fs::read_to_string(sb.work().join("perm.yaml")).unwrap().replace(
        "command: \"mkdir -p reports && echo plan > reports/plan.md\"",
        "command: \"echo token=s3cret; echo warn >&2; mkdir -p reports && echo plan > reports/plan.md\"",
    );
    assert!(text.contains("token=s3cret"));
    std::fs::write(&spec, text).unwrap();
    sb.wrkr().args(["submit", &spec, "--job-id", "perm"]).assert().success();
    sb.wrkr().args(["wrap", "--job-id", "wperm", "--", "sh", "-c", "echo token=s3cret"]).assert().success();
    sb.wrkr().args(["submit", &spec, "--job-id", "dperm", "--detach"]).assert().success();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let jobs = sb.home().join("jobs");
    assert_eq!(mode(&jobs), 0o700, "jobs/");
    let mut logs = 0;
    for job in ["perm", "wperm", "dperm"] {
        let dir = jobs.join(job);
        assert_eq!(mode(&dir), 0o700, "{job}/");
        for entry in std::fs::read_dir(&dir).unwrap().chain(std::fs::read_dir(dir.join("logs")).into_iter().flatten()) {
            let path = entry.unwrap().path();
            let want = if path.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&path), want, "{}", path.display());
            logs += usize::from(path.extension().is_some_and(|e| e == "log"));
        }
    }
    assert!(logs >= 3, "step logs, wrap logs and runner.log were checked ({logs})");
}

/// W9: `report --help` and `bridge --help` described accept's --out-dir ("accept run: where packs
/// and reports go") instead of what they write there.
#[test]
fn report_and_bridge_help_describe_their_own_out_dir() {
    let sb = Sandbox::new();
    for (command, writes) in [("report", "github_summary_<id>"), ("bridge", "work_item_<id>_<cp>")] {
        let out = sb.wrkr().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with("--out-dir"))
            .unwrap_or_else(|| panic!("{command}: {help}"));
        assert!(line.contains(writes) && !line.contains("accept run"), "{command}: {line}");
    }
}

/// W9: `job inspect` sorted events of one batch (one timestamp) by id text: evt_10 before evt_9.
#[test]
fn job_inspect_orders_events_by_seq() {
    let sb = Sandbox::new();
    let batch: String = (0..12).map(|i| format!("{{\"type\":\"x-note\",\"payload\":{{\"n\":{i}}}}}\n")).collect();
    sb.program("wrkr-events").args(["--append", "--create", "many"]).write_stdin(batch).assert().success();
    let inspection = json_out(&sb.wrkr().args(["--json", "job", "inspect", "many"]).output().unwrap());
    let ids: Vec<&str> = inspection["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "event")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (1..=ids.len()).map(|n| format!("evt_{n}")).collect();
    assert!(ids.len() >= 13, "{ids:?}");
    assert_eq!(ids, want);
}

/// W9: `wrkr-events --follow` on an idle job never noticed that its reader had gone (it wrote
/// nothing, so it never met EPIPE) and ran forever; and it had no way to stop at a blocked job.
#[test]
fn events_follow_ends_when_its_reader_goes_and_can_stop_when_blocked() {
    use std::io::Read;
    use std::process::Stdio;
    let sb = Sandbox::new();
    sb.program("wrkr-events").args(["--append", "--create", "idle"]).write_stdin("").assert().success();
    let mut cmd: std::process::Command = {
        let mut c = std::process::Command::new(support::bin());
        std::os::unix::process::CommandExt::arg0(&mut c, "wrkr-events");
        c
    };
    let mut child = cmd
        .args(["--follow", "idle"])
        .env("WRKR_HOME", sb.home())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(5) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.and_then(|s| s.code()), Some(0), "the follower outlived its reader");
    // --until-blocked: a job waiting for a decision ends the follow, with every event printed.
    let spec = spec(&sb, "gate", 60);
    submit_to_gate(&sb, &spec, "gate");
    let out = sb
        .program("wrkr-events")
        .args(["--follow", "--until-blocked", "gate"])
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert!(last["seq"].as_u64().unwrap() > 10, "{last}");
}

/// W12: `-` for a file or directory flag was taken as a file named `-` (`--out-dir -` made a
/// directory called `-`); now it is stdin/stdout where that makes sense, else refused.
#[test]
fn dash_is_stdio_or_refused() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "dash", 60);
    submit_to_gate(&sb, &spec, "dash");
    for args in [
        vec!["export", "dash", "--out-dir", "-"],
        vec!["report", "github", "dash", "--out-dir", "-"],
        vec!["accept", "run", "dash", "--junit", "-"],
        vec!["export", "dash", "--sign", "-"],
    ] {
        let out = sb.wrkr().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stderr(&out));
        let why = if args.contains(&"--junit") {
            "stdout already carries the acceptance result"
        } else {
            "`-` (stdin/stdout) is not supported here"
        };
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
    assert!(!sb.work().join("-").exists(), "no file or directory named -");
    // accept init --path - prints the template.
    let out = sb.wrkr().args(["accept", "init", "--path", "-"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("required_checkpoint_types"));
    assert!(!sb.work().join("-").exists() && !sb.work().join("accept.yaml").exists());
    // wrkr-pack -o - is stdout: the same bytes as without -o.
    let records = sb.program("wrkr-events").args(["--records", "dash"]).output().unwrap().stdout;
    let plain = sb.program("wrkr-pack").write_stdin(records.clone()).output().unwrap();
    let dash = sb.program("wrkr-pack").args(["-o", "-"]).write_stdin(records).output().unwrap();
    assert_eq!(dash.status.code(), Some(0), "{}", stderr(&dash));
    assert!(plain.stdout.starts_with(b"PK") && plain.stdout == dash.stdout);
}

/// U7: `wrkr-jcs --version` was "unknown flag"; a mistyped subcommand (`budget shwo`) had no
/// "did you mean".
#[test]
fn tools_answer_version_and_subcommand_typos_get_a_suggestion() {
    let sb = Sandbox::new();
    let plain = sb.wrkr().arg("version").output().unwrap();
    for tool in ["wrkr-jcs", "wrkr-verify", "wrkr-events"] {
        for flag in ["--version", "-V"] {
            let out = sb.program(tool).arg(flag).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{tool} {flag}: {}", stderr(&out));
            assert_eq!(out.stdout, plain.stdout, "{tool} {flag}");
        }
    }
    for (args, hint) in [
        (vec!["budget", "shwo", "j"], "did you mean 'wrkr budget show'?"),
        (vec!["checkpoint", "lsit", "j"], "did you mean 'wrkr checkpoint list'?"),
        (vec!["job", "inspcet", "j"], "did you mean 'wrkr job inspect'?"),
        (vec!["report", "githb", "j"], "did you mean 'wrkr report github'?"),
        (vec!["bridge", "work-itme", "j"], "did you mean 'wrkr bridge work-item'?"),
    ] {
        let out = sb.wrkr().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{args:?}");
        assert!(stderr(&out).contains(hint), "{args:?}: {}", stderr(&out));
    }
}

/// U7: `job diff` took only pack files, called every event of two runs "changed" (their
/// timestamps differ), did not name the changed files, and had no --exit-code.
#[test]
fn job_diff_takes_job_ids_names_files_and_ignores_timestamps() {
    let sb = Sandbox::new();
    let spec = spec(&sb, "runs", 60);
    submit_to_gate(&sb, &spec, "run_a");
    std::thread::sleep(Duration::from_millis(1100));
    submit_to_gate(&sb, &spec, "run_b");
    let out = sb.wrkr().args(["--json", "job", "diff", "run_a", "run_b"]).output().unwrap();
    let d = json_out(&out);
    assert_eq!(out.status.code(), Some(0), "{d:#}");
    assert_eq!((d["job_id_a"].as_str(), d["job_id_b"].as_str()), (Some("run_a"), Some("run_b")));
    for kind in ["events", "checkpoints"] {
        let c = &d["records"][kind];
        assert_eq!(c["changed"], serde_json::json!([]), "{kind}: two runs of one spec differ only in time: {d:#}");
        assert_eq!(c["added"], serde_json::json!([]), "{kind}: {d:#}");
    }
    assert!(d["changed"].as_array().unwrap().iter().any(|f| f == "events.jsonl"), "{d:#}");
    let text = sb.wrkr().args(["job", "diff", "run_a", "run_b", "--exit-code"]).output().unwrap();
    assert_eq!(text.status.code(), Some(1), "the packs differ in their files: {}", stderr(&text));
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("  ~ events.jsonl"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    sb.wrkr().args(["job", "diff", "run_a", "run_a", "--exit-code"]).assert().code(0);
}

/// U9: "E_INVALID_INPUT_SCHEMA: job not found" did not say which job, nor which store.
#[test]
fn errors_name_the_job_and_the_store() {
    let sb = Sandbox::new();
    let out = sb.wrkr().args(["status", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let first = stderr(&out).lines().next().unwrap().to_owned();
    assert!(first.starts_with("E_INVALID_INPUT_SCHEMA: job not found"), "{first}");
    assert!(first.contains("job_id=nope") && first.contains(&format!("store={}", sb.home().display())), "{first}");
}

/// U9: an environment mismatch said only "environment fingerprint mismatch" (which rule? what
/// changed?); hints said `wrkr resume JOB` instead of the job's id.
#[test]
fn env_mismatch_names_the_rule_and_hints_carry_the_id() {
    let sb = Sandbox::new();
    let path = spec(&sb, "envy", 60);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("rules: [go_version, os, arch]", "rules: [os, env:DEPLOY_TARGET]");
    assert!(text.contains("env:DEPLOY_TARGET"));
    std::fs::write(&path, text).unwrap();
    let out = sb.wrkr().args(["--json", "submit", &path, "--job-id", "envy"]).env("DEPLOY_TARGET", "staging").output();
    let cp = json_out(&out.unwrap())["checkpoint_id"].as_str().unwrap().to_owned();
    sb.wrkr().args(["approve", "envy", "--checkpoint", &cp, "--reason", "ok"]).assert().success();
    let out = sb.wrkr().args(["resume", "envy"]).env("DEPLOY_TARGET", "prod").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("env:DEPLOY_TARGET was \"staging\" and is now \"prod\""), "{err}");
    assert!(err.contains("wrkr resume envy --force-env"), "{err}");
    // A failing step's hint names the job.
    let failing = std::fs::read_to_string(&path)
        .unwrap()
        .replace("command: \"mkdir -p reports && echo plan > reports/plan.md\"", "command: \"exit 3\"");
    std::fs::write(&path, failing).unwrap();
    let out = sb.wrkr().args(["submit", &path, "--job-id", "fails"]).env("DEPLOY_TARGET", "x").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("wrkr resume fails"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("JOB"), "{}", stderr(&out));
}
