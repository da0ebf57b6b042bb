//! What to tell a person whose step failed: what `wrkr resume` will run, and how to change that.
//!
//! A job runs the JobSpec recorded when it was submitted (the `x-jobspec_recorded` event), never the
//! file on disk, so an edited spec does nothing for a job that exists. People fixed the file and
//! resumed, and the old command ran again. The hint names the recorded command, the real job id,
//! and the two ways forward: fix what the command depends on, or submit the edited spec as a new job.

/// The hint for a step that failed with no retries left.
pub fn after_failed_step(job_id: &str, step_id: &str, command: &str, spec_path: Option<&str>) -> String {
    let resubmit = match spec_path {
        Some(path) if path != "-" && !path.is_empty() => {
            format!("Edits to {path} do not change this job: to run them, submit it as a new job (wrkr submit {path}).")
        }
        _ => "To run an edited spec, submit it as a new job (wrkr submit SPEC).".to_owned(),
    };
    // Two sentences, what resume does and how to change it; the logs command is the error's
    // `logs` detail, on a line of its own.
    format!(
        "`wrkr resume {job_id}` runs step {step_id} again as recorded at submit (sh -c {}): fix what it depends \
         on first. {resubmit}",
        shown_command(command)
    )
}

/// A step's command for one line of text: quoted, its first line only, at most 120 characters.
pub fn shown_command(command: &str) -> String {
    let first = command.trim().lines().next().unwrap_or_default();
    let mut shown: String = first.chars().take(120).collect();
    if shown.len() < command.trim().len() {
        shown.push_str(" ...");
    }
    format!("{shown:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_recorded_command_and_the_way_to_change_it() {
        let hint = after_failed_step("job_1", "build", "make build\nmore", Some("/w/spec.yaml"));
        assert_eq!(
            hint,
            "`wrkr resume job_1` runs step build again as recorded at submit (sh -c \"make build ...\"): fix what \
             it depends on first. Edits to /w/spec.yaml do not change this job: to run them, submit it as a new job \
             (wrkr submit /w/spec.yaml)."
        );
        assert!(after_failed_step("j", "s", "x", Some("-")).ends_with("(wrkr submit SPEC)."));
    }
}
