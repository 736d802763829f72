//! Helpers the benchmarks and the integration tests (`tests/common`, `tests/support`) share,
//! included with `#[path]`: benches and tests are separate crates.

#![allow(dead_code)]

use std::path::Path;

/// Copies a directory tree (regular files and directories), skipping files named `.removed`
/// (the diff fixtures' list of deleted files) and `.authflow` directories (the git-ignored store
/// of runs made by hand in an example must not change what a test sees).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == ".authflow" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else if entry.file_name() != ".removed" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// An argon2id PHC string at argon2's minimum cost (m=8 KiB, t=1, p=1), so benchmarks measure
/// the simulator rather than password hashing.
pub fn cheap_hash(password: &str) -> String {
    use argon2::PasswordHasher;
    let params = argon2::Params::new(8, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let hash: argon2::password_hash::phc::PasswordHash = argon
        .hash_password_with_salt(password.as_bytes(), b"benchsaltbenchsalt")
        .unwrap();
    hash.to_string()
}
