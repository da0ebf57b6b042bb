//! "Did you mean …?": the closest known name by edit distance.

/// The candidate closest to `given`, if it is close enough to be a plausible typo.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(given, c), c))
        .filter(|(d, c)| *d <= limit || c.starts_with(given) && !given.is_empty())
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// `unknown <command> subcommand "x"`, with the closest of `verbs` suggested (exit 6).
pub fn unknown_verb(command: &str, given: &str, verbs: &[&str]) -> crate::contract::Error {
    let err = crate::contract::Error::invalid_input(format!("unknown {command} subcommand {given:?}"))
        .with("subcommand", given);
    match closest(given, verbs.iter().copied()) {
        Some(best) => err.with_hint(format!("did you mean 'wrkr {command} {best}'? wrkr {command} --help")),
        None => err.with_hint(format!("wrkr {command} takes {}; wrkr {command} --help", verbs.join(", "))),
    }
}

/// For a command whose first word is a subcommand or else a file (`wrkr accept run J` or `wrkr
/// accept PACK`, `wrkr-schema show X` or `wrkr-schema FILE`): a word that names no file and is a
/// plausible typo of a subcommand (`rnu`) is refused with the suggestion, rather than opened as
/// a file that is not there.
pub fn check_verb(command: &str, given: &str, verbs: &[&str]) -> crate::contract::Result<()> {
    if given == "-" || std::path::Path::new(given).exists() || closest(given, verbs.iter().copied()).is_none() {
        return Ok(());
    }
    Err(unknown_verb(command, given, verbs))
}

/// `job not found` from any command, with the ids of the store that look like the one given: the
/// same letters in another case (`toktypo` for `TokTypo`; ids are case-sensitive), else the closest
/// by edit distance. Only this error path lists the store, so a found job costs nothing.
pub fn similar_job_ids(err: crate::contract::Error, store: Option<&std::path::Path>) -> crate::contract::Error {
    let Some(given) = crate::store::not_found_job_id(&err).map(str::to_owned) else { return err };
    let Ok(jobs) = crate::store::open(store).and_then(|store| store.list_jobs()) else { return err };
    let ids: Vec<&str> = jobs.iter().map(|(id, _)| id.as_str()).collect();
    let mut similar: Vec<&str> = ids.iter().copied().filter(|id| id.eq_ignore_ascii_case(&given)).collect();
    if similar.is_empty() {
        similar.extend(closest(&given, ids.iter().copied()));
    }
    similar.sort_unstable();
    let Some(first) = similar.first().copied() else { return err };
    let rest = err.hint.clone().map(|hint| format!(" {hint}")).unwrap_or_default();
    let case = if first.eq_ignore_ascii_case(&given) { " Job ids are case-sensitive." } else { "" };
    // Quoted: `did you mean mine?` reads as English, `did you mean 'mine'?` names a job.
    let named = similar.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(" or ");
    err.with("similar_job_ids", similar.clone()).with_hint(format!("did you mean {named}?{case}{rest}"))
}

/// Edit distance over chars (optimal string alignment: a swap of two neighbours, `shwo` for
/// `show`, is one edit, the commonest typo).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_only() {
        let names = ["jcs", "schema", "version", "help"];
        assert_eq!(closest("shcema", names), Some("schema"));
        assert_eq!(closest("verison", names), Some("version"));
        assert_eq!(closest("nosuchtool", names), None);
        assert_eq!(closest("sch", names), Some("schema"));
        assert_eq!(closest("shwo", ["show", "raise", "report"]), Some("show"));
    }
}
