//! Stamps the commit and build date into the binary for `wrkr version` (rules in build/stamp.rs).
//!
//! Reruns when HEAD moves or a stamping variable changes, not on every source edit.

#[path = "build/stamp.rs"]
mod stamp;

use std::path::Path;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let dir = Path::new(&dir);
    let git = |args: &[&str]| stamp::run_git(dir, args);
    let env = |name: &str| std::env::var(name).ok();
    let stamp = stamp::stamp(&stamp::Inputs { env: &env, git: &git });
    println!("cargo:rustc-env=WRKR_COMMIT={}", stamp.commit);
    println!("cargo:rustc-env=WRKR_BUILD_DATE={}", stamp.date);
    println!("cargo:rustc-env=WRKR_BUILD_SOURCE={}", stamp.source);
    for var in ["WRKR_COMMIT", "WRKR_BUILD_DATE", "SOURCE_DATE_EPOCH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build/stamp.rs");
    // HEAD (per worktree) and the branch it names (in the common dir, loose or packed).
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
    }
    if let (Some(common), Some(branch)) =
        (git(&["rev-parse", "--git-common-dir"]), git(&["symbolic-ref", "-q", "HEAD"]))
    {
        let common = if Path::new(&common).is_absolute() { Path::new(&common).to_path_buf() } else { dir.join(common) };
        for path in [common.join(&branch), common.join("packed-refs")] {
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
