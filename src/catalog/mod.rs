//! The catalogues: event fields and the custom-action api surface (the block catalogue is
//! `crate::blocks`, one file per block type).
//!
//! Everything that names a platform concept is listed here once; other modules look things
//! up and never keep their own lists.

pub mod allowlist;
pub mod api;
pub mod event;
pub mod stream_events;
pub mod types_dts;

/// The candidate closest to `wanted` by edit distance, if it is close enough to be a likely
/// typo: at most a third of the longer name, and at most 3 edits. This is the one "did you
/// mean" of the project: names, fields, functions, presets and event types all use it.
///
/// The distance is strsim's optimal string alignment over chars, which counts an adjacent
/// transposition as one edit (`tpye` for `type` is the commonest typo).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = strsim::osa_distance(wanted, candidate);
        let limit = (wanted.chars().count().max(candidate.chars().count()) / 3).clamp(1, 3);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// " (did you mean `x`?)" for the [`closest`] candidate, or nothing when none is close.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, candidates)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("identity_lokup", ["identity_lookup", "deny"]),
            Some("identity_lookup")
        );
        assert_eq!(closest("zzz", ["identity_lookup", "deny"]), None);
        assert_eq!(closest("lowr", ["lower", "len"]), Some("lower"));
        assert_eq!(closest("lenght", ["lower", "len"]), None);
        assert_eq!(closest("tpye", ["type", "id"]), Some("type"));
    }
}
