//! Stamps the commit and build date into the binary for `wrkr version` (rules in build/stamp.rs).
//!
//! Reruns when a stamping variable changes, or HEAD moves (unless WRKR_COMMIT fixes the
//! commit), not on every source edit.

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
    // HEAD and its branch, unless WRKR_COMMIT fixes the stamp (see stamp::rerun_paths).
    for path in stamp::rerun_paths(&stamp::Inputs { env: &env, git: &git }, dir) {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
