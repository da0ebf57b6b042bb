//! The reference coding-agent example (examples/integrations/coding-agent) end to end: its
//! `flow.sh` (the README's steps) against the built binary, in a copy of the folder.

mod support;

use std::process::Command;

use support::Sandbox;

#[test]
fn coding_agent_flow_runs_end_to_end() {
    let sb = Sandbox::new();
    let example = support::repo().join("examples/integrations/coding-agent");
    let dir = sb.work().join("coding-agent");
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["agent.sh", "jobspec.yaml", "flow.sh", "accept.yaml"] {
        std::fs::copy(example.join(file), dir.join(file)).unwrap();
    }
    let out = Command::new("sh")
        .arg("flow.sh")
        .current_dir(&dir)
        .env("WRKR", support::bin())
        .env("WRKR_HOME", sb.home())
        .env("JOB", "agent_e2e")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "flow.sh failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("status=blocked_decision"), "{stdout}");
    assert!(stdout.contains("job_id=agent_e2e status=completed"), "{stdout}");
    assert!(stdout.contains("type=decision-needed"), "{stdout}");
    assert!(stdout.contains("footer=WRKR job_id=agent_e2e"), "{stdout}");
    assert!(stdout.contains("verified job_id=agent_e2e"), "{stdout}");
    assert!(stdout.contains("job_id=agent_e2e checks=6 passed=6 failures=0"), "acceptance ran and passed: {stdout}");
    let pack = std::fs::File::open(dir.join("wrkr-out/jobpacks/jobpack_agent_e2e.zip")).unwrap();
    let names = wrkr::pack::zipread::ZipReader::open(pack, u64::MAX)
        .map(|z| z.entries().iter().map(|e| e.name.clone()).collect::<Vec<_>>());
    assert!(
        names.is_ok_and(|n| n.contains(&"accept/accept_result.json".to_owned())),
        "the export carries the acceptance result"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("workspace/REPORT.md")).unwrap().lines().next(),
        Some("# Change report")
    );

    // What the agent reported is in the ledger: tool calls counted, tokens summed.
    let budget = sb.wrkr().args(["budget", "show", "agent_e2e", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&budget.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("2250"), "tokens 850 + 1400 reported: {text}");
}
