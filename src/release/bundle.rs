//! Release bundles: one signed file per release holding everything a login needs.
//!
//! A bundle is a POSIX tar archive (deterministic: sorted members, mode 0644, owner 0, time
//! 0) with these members:
//!
//! - `MANIFEST.json`: the release (number, environment, commit, dirty, time), the signer's
//!   public key, and every other member's sha256 and size. **Its exact bytes are what is
//!   signed** (Ed25519, RFC 8032, the message is the whole member, no prehash).
//! - `SIGNATURE`: the standard base64 of the 64-byte signature, then a newline.
//! - `lock.json`: the lock entries of the release: its `Release` record and every item
//!   version it names.
//! - `plans/<flow>.json`: each flow compiled to its execution plan.
//! - `sources/<path>`: every file of every item (flows, actions, modules, settings, users),
//!   at its workspace-relative path.
//!
//! Verification fails closed, in this order, with the first reason: unreadable archive,
//! missing or malformed manifest, missing signature, wrong key, signature mismatch, a member
//! not in the manifest, a member missing, a hash mismatch, lock entries that disagree with the
//! manifest or with the files, plans that disagree with the flows and actions they were built
//! from, and (when a workspace lock is given) a release that the lock records differently.

use super::keys::{PrivateKey, PublicKey};
use super::lock::{ItemKey, ItemKind, ItemVersion, Lock, Release, check_path};
use super::snapshot::{self, Snapshot, sha256_hex};
use crate::compile::Plan;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

pub const FORMAT: &str = "authflow-bundle/1";
pub const MANIFEST: &str = "MANIFEST.json";
pub const SIGNATURE: &str = "SIGNATURE";
pub const LOCK_ENTRIES: &str = "lock.json";
pub const PLANS_DIR: &str = "plans/";
pub const SOURCES_DIR: &str = "sources/";

/// Bounds on what a bundle may hold; a larger one is refused before it is read whole.
pub const BUNDLE_LIMIT: crate::files::Limit = crate::files::Limit {
    bytes: 256 * 1024 * 1024,
    what: "release bundles",
};
pub const MAX_MEMBER_BYTES: u64 = 64 * 1024 * 1024;
pub const MAX_MEMBERS: usize = 10_000;

/// `MANIFEST.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `authflow-bundle/1`.
    pub format: String,
    pub release: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    pub commit: Option<String>,
    pub dirty: bool,
    pub time: String,
    /// The key that signed the bundle (`ed25519:<base64>`).
    pub public_key: String,
    /// Every member but the manifest and the signature.
    pub files: BTreeMap<String, FileEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub sha256: String,
    pub size: u64,
}

/// `lock.json`: the lock entries of one release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntries {
    pub release: Release,
    pub items: BTreeMap<String, ItemVersion>,
}

/// A bundle read from bytes, not yet trusted.
pub struct Bundle {
    pub manifest_bytes: Vec<u8>,
    pub signature: Option<Vec<u8>>,
    pub members: BTreeMap<String, Vec<u8>>,
}

/// A bundle that passed verification: its parts, parsed.
#[derive(Debug)]
pub struct Verified {
    pub manifest: Manifest,
    pub entries: LockEntries,
    /// Flow name -> plan.
    pub plans: BTreeMap<String, Plan>,
    /// Workspace-relative path -> bytes.
    pub sources: BTreeMap<String, Vec<u8>>,
    /// Whether the signature was checked against a given key (`false`: integrity only).
    pub signature_checked: bool,
}

/// Why a bundle was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BundleError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, BundleError> {
    Err(BundleError(message.into()))
}

/// The member name of a flow's plan.
pub fn plan_member(flow: &str) -> String {
    format!("{PLANS_DIR}{flow}.json")
}

/// Builds the signed bundle of `release` from a snapshot and the lock that records it.
pub fn build(
    snap: &Snapshot,
    lock: &Lock,
    release: &Release,
    key: &PrivateKey,
) -> Result<Vec<u8>, BundleError> {
    let members = members(snap, lock, release)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        release: release.release,
        env: release.env.clone(),
        commit: release.commit.clone(),
        dirty: release.dirty,
        time: release.time.clone(),
        public_key: key.public().to_string(),
        files: members
            .iter()
            .map(|(name, bytes)| {
                (
                    name.clone(),
                    FileEntry {
                        sha256: sha256_hex(bytes),
                        size: bytes.len() as u64,
                    },
                )
            })
            .collect(),
    };
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError(format!("manifest: {e}")))?;
    manifest_bytes.push(b'\n');
    let signature = format!("{}\n", STANDARD.encode(key.sign(&manifest_bytes)));
    let mut archive = tar::Builder::new(Vec::new());
    let mut append = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, name, bytes)
            .map_err(|e| BundleError(format!("{name}: {e}")))
    };
    append(MANIFEST, &manifest_bytes)?;
    append(SIGNATURE, signature.as_bytes())?;
    for (name, bytes) in &members {
        append(name, bytes)?;
    }
    archive
        .into_inner()
        .map_err(|e| BundleError(format!("archive: {e}")))
}

/// Every member but the manifest and signature, by name. The `files` of `release` must be
/// the hashes of these (less `lock.json`); `release_files` computes them.
fn members(
    snap: &Snapshot,
    lock: &Lock,
    release: &Release,
) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let mut members = content_members(snap)?;
    let entries = LockEntries {
        release: release.clone(),
        items: release
            .items
            .iter()
            .filter_map(|(key, version)| Some((key.clone(), lock.version(key, *version)?.clone())))
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&entries)
        .map_err(|e| BundleError(format!("lock entries: {e}")))?;
    bytes.push(b'\n');
    members.insert(LOCK_ENTRIES.into(), bytes);
    Ok(members)
}

/// The plans and sources of a snapshot, as bundle members.
fn content_members(snap: &Snapshot) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let mut members = BTreeMap::new();
    for (flow, plan) in &snap.plans {
        let name = plan_member(flow);
        check_path(&name).map_err(|e| BundleError(format!("flow `{flow}`: {e}")))?;
        let mut bytes = serde_json::to_vec_pretty(plan)
            .map_err(|e| BundleError(format!("plan of `{flow}`: {e}")))?;
        bytes.push(b'\n');
        members.insert(name, bytes);
    }
    for (path, bytes) in &snap.files {
        members.insert(format!("{SOURCES_DIR}{path}"), bytes.clone());
    }
    Ok(members)
}

/// The file hashes a release records: every bundle member but the manifest, the signature
/// and `lock.json`.
pub fn release_files(snap: &Snapshot) -> Result<BTreeMap<String, String>, BundleError> {
    Ok(content_members(snap)?
        .into_iter()
        .map(|(name, bytes)| (name, sha256_hex(&bytes)))
        .collect())
}

impl Bundle {
    /// Reads the archive, refusing anything but regular files with safe relative names,
    /// duplicates, and sizes over the bounds.
    pub fn read(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() as u64 > BUNDLE_LIMIT.bytes {
            return refuse(format!(
                "the bundle is larger than {} bytes",
                BUNDLE_LIMIT.bytes
            ));
        }
        let not_a_bundle =
            |e: std::io::Error| BundleError(format!("not a bundle (a tar archive): {e}"));
        let mut archive = tar::Archive::new(bytes);
        let mut members = BTreeMap::new();
        for entry in archive.entries().map_err(not_a_bundle)? {
            let mut entry = entry.map_err(not_a_bundle)?;
            let name = entry
                .path()
                .map_err(not_a_bundle)?
                .to_str()
                .map(str::to_string)
                .ok_or_else(|| BundleError("a member's name is not UTF-8".into()))?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                return refuse(format!(
                    "member `{name}` is not a regular file (links and directories are never part of a bundle)"
                ));
            }
            check_path(&name).map_err(|e| BundleError(format!("member {e}")))?;
            let size = entry.size();
            if size > MAX_MEMBER_BYTES {
                return refuse(format!(
                    "member `{name}` is larger than {MAX_MEMBER_BYTES} bytes"
                ));
            }
            let mut data = Vec::with_capacity(size as usize);
            (&mut entry)
                .take(MAX_MEMBER_BYTES)
                .read_to_end(&mut data)
                .map_err(not_a_bundle)?;
            if members.insert(name.clone(), data).is_some() {
                return refuse(format!("member `{name}` appears twice"));
            }
            if members.len() > MAX_MEMBERS {
                return refuse(format!("the bundle has more than {MAX_MEMBERS} members"));
            }
        }
        let Some(manifest_bytes) = members.remove(MANIFEST) else {
            return refuse(format!("no {MANIFEST}: this is not an authflow bundle"));
        };
        let signature = members.remove(SIGNATURE);
        Ok(Bundle {
            manifest_bytes,
            signature,
            members,
        })
    }

    /// Verifies the bundle. With `key`, the signature must be that key's over the manifest;
    /// without, only integrity is checked (every member against the manifest, the lock entries
    /// and the plans against the files), and `Verified::signature_checked` says so.
    /// With `lock`, the release must be recorded there exactly as in the bundle.
    pub fn verify(
        self,
        key: Option<&PublicKey>,
        lock: Option<&Lock>,
    ) -> Result<Verified, BundleError> {
        let manifest: Manifest = serde_json::from_slice(&self.manifest_bytes)
            .map_err(|e| BundleError(format!("{MANIFEST} is malformed: {e}")))?;
        if manifest.format != FORMAT {
            return refuse(format!(
                "{MANIFEST} says format `{}`; this authflow reads `{FORMAT}`",
                manifest.format
            ));
        }
        let Some(signature_text) = &self.signature else {
            return refuse(format!(
                "the bundle is not signed: it has no {SIGNATURE} member (stripped?)"
            ));
        };
        let signature = std::str::from_utf8(signature_text)
            .ok()
            .and_then(|t| STANDARD.decode(t.trim()).ok())
            .ok_or_else(|| BundleError(format!("{SIGNATURE} is not base64 text")))?;
        if signature.len() != 64 {
            return refuse(format!(
                "{SIGNATURE} holds {} bytes; an Ed25519 signature has 64 (altered?)",
                signature.len()
            ));
        }
        if let Some(key) = key {
            if manifest.public_key != key.to_string() {
                return refuse(format!(
                    "the bundle says it was signed by {}, not by the given key {key}",
                    manifest.public_key
                ));
            }
            key.verify(&self.manifest_bytes, &signature).map_err(|_| {
                BundleError(format!(
                    "the signature does not match {MANIFEST}: the manifest or the signature was altered after signing"
                ))
            })?;
        }
        for name in self.members.keys() {
            if !manifest.files.contains_key(name) {
                return refuse(format!(
                    "member `{name}` is not listed in the signed manifest (added after signing)"
                ));
            }
        }
        for (name, entry) in &manifest.files {
            let Some(bytes) = self.members.get(name) else {
                return refuse(format!(
                    "`{name}` is listed in the manifest but missing from the bundle"
                ));
            };
            if bytes.len() as u64 != entry.size || sha256_hex(bytes) != entry.sha256 {
                return refuse(format!(
                    "`{name}` does not match its sha256 in the manifest (altered)"
                ));
            }
        }
        let mut members = self.members;
        let entries: LockEntries = members
            .remove(LOCK_ENTRIES)
            .ok_or_else(|| BundleError(format!("the bundle has no {LOCK_ENTRIES}")))
            .and_then(|bytes| {
                serde_json::from_slice(&bytes)
                    .map_err(|e| BundleError(format!("{LOCK_ENTRIES} is malformed: {e}")))
            })?;
        let release = &entries.release;
        if release.release != manifest.release
            || release.env != manifest.env
            || release.commit != manifest.commit
            || release.dirty != manifest.dirty
            || release.time != manifest.time
        {
            return refuse(format!(
                "{LOCK_ENTRIES} describes another release than {MANIFEST}"
            ));
        }
        let listed: BTreeMap<&String, &String> = manifest
            .files
            .iter()
            .filter(|(name, _)| name.as_str() != LOCK_ENTRIES)
            .map(|(name, entry)| (name, &entry.sha256))
            .collect();
        let recorded: BTreeMap<&String, &String> = release.files.iter().collect();
        if listed != recorded {
            let differing = listed
                .keys()
                .chain(recorded.keys())
                .find(|name| listed.get(*name) != recorded.get(*name))
                .map_or_else(String::new, |n| format!(" (first: `{n}`)"));
            return refuse(format!(
                "the lock entries' file hashes differ from the manifest{differing}"
            ));
        }
        let mut sources = BTreeMap::new();
        let mut plans = BTreeMap::new();
        for (name, bytes) in members {
            if let Some(path) = name.strip_prefix(SOURCES_DIR) {
                sources.insert(path.to_string(), bytes);
            } else if let Some(flow) = name
                .strip_prefix(PLANS_DIR)
                .and_then(|n| n.strip_suffix(".json"))
            {
                let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| {
                    BundleError(format!("`{name}` is not a plan this authflow reads: {e}"))
                })?;
                plans.insert(flow.to_string(), plan);
            } else {
                return refuse(format!("member `{name}` has no place in a bundle"));
            }
        }
        check_items(&entries, &sources, &plans)?;
        if let Some(lock) = lock {
            match lock.release(release.release) {
                Some(recorded) if recorded == release => {}
                Some(_) => {
                    return refuse(format!(
                        "the lock records release {} differently from this bundle",
                        release.release
                    ));
                }
                None => {
                    return refuse(format!("the lock has no release {}", release.release));
                }
            }
            for (key, version) in &entries.items {
                if lock.version(key, version.version) != Some(version) {
                    return refuse(format!(
                        "the lock records {key} version {} differently from this bundle",
                        version.version
                    ));
                }
            }
        }
        Ok(Verified {
            manifest,
            entries,
            plans,
            sources,
            signature_checked: key.is_some(),
        })
    }
}

/// Every item of the release is present with the recorded hashes, and every plan was built
/// from the flow and action versions of the release.
fn check_items(
    entries: &LockEntries,
    sources: &BTreeMap<String, Vec<u8>>,
    plans: &BTreeMap<String, Plan>,
) -> Result<(), BundleError> {
    let release = &entries.release;
    for (key, version) in &release.items {
        match entries.items.get(key) {
            Some(v) if v.version == *version && v.release <= release.release => {}
            _ => {
                return refuse(format!(
                    "{LOCK_ENTRIES} lacks the entry of {key} version {version}"
                ));
            }
        }
    }
    if entries.items.len() != release.items.len() {
        return refuse(format!(
            "{LOCK_ENTRIES} holds item versions the release does not name"
        ));
    }
    let file_sha = |path: &str| sources.get(path).map(|b| sha256_hex(b));
    let mut used = std::collections::BTreeSet::new();
    for (key, version) in &entries.items {
        let item = ItemKey::parse(key)
            .ok_or_else(|| BundleError(format!("`{key}` is not an item key")))?;
        for (path, sha) in &version.files {
            match file_sha(path) {
                Some(actual) if &actual == sha => {
                    used.insert(path.clone());
                }
                Some(_) => {
                    return refuse(format!(
                        "{path} does not match the hash the lock records for {key}"
                    ));
                }
                None => return refuse(format!("{path} of {key} is missing from the bundle")),
            }
        }
        let module = |name: &str| {
            entries
                .items
                .get(&ItemKey::new(ItemKind::Module, name).to_string())
                .map(ItemVersion::parts)
        };
        let actual = snapshot::item_hash(item.kind, version.parts(), &module);
        if actual != version.sha256 {
            return refuse(format!(
                "the content of {key} does not hash to the sha256 the lock records"
            ));
        }
    }
    if let Some(extra) = sources.keys().find(|p| !used.contains(*p)) {
        return refuse(format!("sources/{extra} belongs to no item of the release"));
    }
    for (flow, plan) in plans {
        let key = ItemKey::new(ItemKind::Flow, flow.clone()).to_string();
        let Some(item) = entries.items.get(&key) else {
            return refuse(format!(
                "plans/{flow}.json belongs to no flow of the release"
            ));
        };
        if plan.source_sha256 != item.sha256 {
            return refuse(format!(
                "plans/{flow}.json was not compiled from the flow version the lock records"
            ));
        }
        for (slug, action) in &plan.actions {
            if file_sha(&action.file).as_deref() != Some(action.sha256.as_str()) {
                return refuse(format!(
                    "plans/{flow}.json pins action `{slug}` at a source the bundle does not hold"
                ));
            }
            for (name, module) in &action.modules {
                if file_sha(&module.file).as_deref() != Some(module.sha256.as_str()) {
                    return refuse(format!(
                        "plans/{flow}.json pins module `{name}` at a source the bundle does not hold"
                    ));
                }
            }
        }
    }
    for key in entries.items.keys() {
        if let Some(flow) = key.strip_prefix("flow:")
            && !plans.contains_key(flow)
        {
            return refuse(format!("the plan of flow `{flow}` is missing"));
        }
    }
    Ok(())
}
