//! wrkr demo: a small real job, start to finish, offline and in well under a second.
//!
//! It writes a JobSpec whose steps run real commands (they write `reports/demo.md` in a workspace
//! under `<store>/demo/<job>`), submits it, runs it (plan, progress and completed checkpoints),
//! exports its jobpack to `<out>/jobpacks/`, verifies it, and prints the ticket footer. The store is
//! the usual one (`--store`, `$WRKR_HOME`, `~/.wrkr`); the pack goes under `--out-dir` (default
//! `./wrkr-out`), as for `wrkr export`.

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::cmd::export::{DEFAULT_OUT_DIR, OUT_DIR};
use crate::cmd::submit;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::jobspec;
use crate::pack::export::{ExportOptions, export_job};
use crate::pack::verify;
use crate::run::runner::{self, Options};
use crate::store::{JobId, Store};

pub const COMMAND: Command = Command {
    name: "demo",
    kind: Kind::Command,
    about: "Run a small demo job end to end",
    usage: "[--out-dir DIR]",
    long_about: "Creates job_demo_<unix seconds> in the store, runs two real steps, exports and verifies its \
                 jobpack, and prints the job id, the jobpack path and the ticket footer. Offline; well under a second.",
    flags: &[&OUT_DIR],
    examples: &[Example { command: "wrkr demo", what: "Prints job_id=, jobpack= and footer= lines." }],
    run,
};

const DEMO_SPEC: &str = r#"
schema_id: wrkr.jobspec
schema_version: v1
producer_version: demo
name: demo
objective: Show a supervised job end to end.
adapter: {name: reference}
inputs:
  workspace: WORKSPACE
  steps:
    - id: plan
      summary: demo plan
      command: "mkdir -p reports && printf '# demo\n\nplanned\n' > reports/demo.md"
      artifacts: [reports/demo.md]
    - id: work
      summary: demo progress
      command: "printf 'done\n' >> reports/demo.md"
      artifacts: [reports/demo.md]
expected_artifacts: [reports/demo.md]
budgets: {max_wall_time_seconds: 60, max_retries: 0, max_step_count: 10, max_tool_calls: 10}
checkpoint_policy: {min_interval_seconds: 1, required_types: [plan, progress, completed]}
environment_fingerprint: {rules: []}
"#;

fn run(args: Args, io: &mut Io) -> Result<()> {
    if let Some(extra) = args.positionals.first() {
        return Err(Error::invalid_input(format!("demo takes no arguments (got {extra:?})")));
    }
    let store = args.file_store()?;
    let job = free_job_id(&store)?;
    let workspace = store.root().join("demo").join(job.as_str());
    std::fs::create_dir_all(&workspace).map_err(|e| Error::io(format!("create {}", workspace.display()), e))?;
    let quoted = serde_json::to_string(&workspace.display().to_string()).unwrap_or_default();
    let text = DEMO_SPEC.replace("WORKSPACE", &quoted);
    let mut spec = jobspec::parse(text.as_bytes(), false)?;
    let spec_path = workspace.join("jobspec.yaml");
    std::fs::write(&spec_path, &text).map_err(|e| Error::io("write the demo jobspec", e))?;
    submit::create(&store, &job, &mut spec, &spec_path)?;
    let report = runner::drive(&store, &job, &Options::default())?;
    let out_dir = std::path::PathBuf::from(args.value(OUT_DIR.long).unwrap_or(DEFAULT_OUT_DIR));
    let pack = export_job(&store, &job, &out_dir, &ExportOptions::default())?;
    let file = std::fs::File::open(&pack.path).map_err(|e| Error::io(format!("open {}", pack.path.display()), e))?;
    let verified = verify::verify(file, &verify::Options::default())?;
    if io.json {
        io.pretty(&json!({"footer": pack.footer, "job_id": job.as_str(), "jobpack": pack.path.display().to_string(),
                          "manifest": pack.manifest_sha256, "status": report.status.as_str(),
                          "files_verified": verified.files_verified}))
    } else {
        io.line(&format!("job_id={}", job.as_str()))?;
        io.line(&format!("status={}", report.status))?;
        io.line(&format!("jobpack={}", pack.path.display()))?;
        io.line(&format!("verified files={}", verified.files_verified))?;
        io.line(&format!("footer={}", pack.footer))
    }
}

/// `job_demo_<unix seconds>`, with a suffix when a demo already ran this second.
fn free_job_id(store: &crate::store::FsStore) -> Result<JobId> {
    let base = format!("job_demo_{}", Timestamp::now().unix_seconds());
    for n in 0..1000 {
        let id = if n == 0 { base.clone() } else { format!("{base}_{n}") };
        let job = JobId::parse(&id)?;
        if store.state(&job).is_err() && !store.job_dir(&job).exists() {
            return Ok(job);
        }
    }
    Err(Error::generic("no free demo job id"))
}
