//! Who decides: the identity recorded in approvals, budget raises and environment overrides.
//!
//! `--approved-by`, else `$WRKR_APPROVED_BY`, else the account the process runs as, looked up with
//! `getpwuid_r(geteuid())` (so NSS sources such as LDAP count, and a missing or spoofed `$USER`
//! does not). An account without a name is recorded as `uid:<n>`. Never `unknown`: an approval
//! that names nobody is no evidence. Where the name came from is recorded beside it, so a reviewer
//! can tell a name someone typed from one the operating system vouched for.

/// An identity and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    pub name: String,
    /// `flag`, `env` (`WRKR_APPROVED_BY`), `os_account` or `os_uid`.
    pub source: &'static str,
}

/// Resolve the identity from the flag's value (if given), the environment, then the OS account.
pub fn resolve(flag: Option<&str>) -> Approver {
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(name) = flag.and_then(given) {
        return Approver { name, source: "flag" };
    }
    if let Some(name) = std::env::var("WRKR_APPROVED_BY").ok().as_deref().and_then(given) {
        return Approver { name, source: "env" };
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    match account_name(uid) {
        Some(name) => Approver { name, source: "os_account" },
        None => Approver { name: format!("uid:{uid}"), source: "os_uid" },
    }
}

/// The login name of `uid` from the password database (`None` when it has no entry).
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: an all-zero passwd is a valid value for the out-parameter to overwrite.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `entry` and `found` are locals, `buf` is
        // writable for `buf.len()` bytes and outlives the use of the strings it holds below.
        let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
        return name.to_str().ok().map(str::to_owned).filter(|n| !n.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_and_blank_means_absent() {
        assert_eq!(resolve(Some(" alice ")), Approver { name: "alice".into(), source: "flag" });
        let fallback = resolve(Some("  "));
        assert_ne!(fallback.source, "flag");
        assert!(!fallback.name.is_empty() && fallback.name != "unknown");
    }

    #[test]
    fn root_has_a_name() {
        assert_eq!(account_name(0).as_deref(), Some("root"));
    }
}
