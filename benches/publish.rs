//! Releases: verifying a signed bundle (parse the archive, check the Ed25519 signature, hash
//! every member, cross-check the lock entries and plans) beside the baseline of hashing the
//! same bytes once with sha256, and taking a snapshot and signing a new bundle (publish's
//! work after the gate) beside reading the same workspace.
//!
//! A second group loads a workspace whose module vendors an npm package, with and without
//! unpacking and resolving it (`release::npm::load`).
//!
//! The workspace is the action-modules example (one flow, one action pinning a module with
//! two versions), in a temporary copy.

use authflow::release::bundle::Bundle;
use authflow::release::keys::PrivateKey;
use authflow::release::publish::{self, Origin, Outcome};
use authflow::release::snapshot::sha256_hex;
use authflow::release::{Lock, Snapshot};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

#[path = "support.rs"]
mod support;
use support::copy_tree;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/action-modules"),
        root,
    );
    let key = PrivateKey::generate().unwrap();
    let public = key.public();
    let load = || authflow::cli::load::load(None, Some(root)).unwrap();
    let origin = Origin {
        commit: None,
        dirty: true,
    };
    let prepare = |loaded: &authflow::cli::load::Loaded| {
        let snap = Snapshot::take(&loaded.ws, &loaded.flows).unwrap();
        match publish::prepare(
            &snap,
            &Lock::new(),
            None,
            origin.clone(),
            "2026-01-01T00:00:00Z".into(),
            &key,
        )
        .unwrap()
        {
            Outcome::Published(p) => p,
            Outcome::Unchanged(_) => panic!("a first publish always records a release"),
        }
    };
    let publication = prepare(&load());
    let bytes = publication.bundle.clone();
    let lock = publication.lock.clone();
    println!(
        "bundle: {} bytes, {} members",
        bytes.len(),
        publication.release.files.len() + 3
    );

    let mut group = c.benchmark_group("release");
    group.bench_function("verify bundle (signature, every hash, lock, plans)", |b| {
        b.iter(|| {
            let verified = Bundle::read(black_box(&bytes))
                .unwrap()
                .verify(Some(&public), Some(&lock))
                .unwrap();
            black_box(verified.plans.len())
        })
    });
    group.bench_function("baseline: sha256 of the bundle bytes", |b| {
        b.iter(|| black_box(sha256_hex(black_box(&bytes))))
    });
    group.bench_function("snapshot + sign a release (after loading)", |b| {
        let loaded = load();
        b.iter(|| black_box(prepare(&loaded).bundle.len()))
    });
    group.bench_function("baseline: load the workspace", |b| {
        b.iter(|| black_box(load().flows.len()))
    });
    group.finish();

    // Vendored npm packages: the fixture's module declares one hand-made package (two files,
    // one relative require) vendored as a tarball.
    let npm_root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check/af075-ok-vendored-package");
    let load_ws = || {
        let mut diagnostics = Vec::new();
        authflow::workspace::Workspace::load(&npm_root, &mut diagnostics).unwrap()
    };
    let mut ws = load_ws();
    authflow::release::npm::load(&mut ws);
    assert_eq!(
        ws.npm["dates"].packages.len(),
        1,
        "the fixture's package resolves"
    );
    let mut group = c.benchmark_group("npm");
    group.bench_function(
        "load the workspace + unpack and resolve its npm package",
        |b| {
            b.iter(|| {
                let mut ws = load_ws();
                authflow::release::npm::load(&mut ws);
                black_box(ws.npm.len())
            })
        },
    );
    group.bench_function("baseline: load the workspace", |b| {
        b.iter(|| black_box(load_ws().modules.len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
