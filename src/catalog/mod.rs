//! The catalogues: event fields and the custom-action api surface (the block catalogue is
//! `crate::blocks`, one file per block type).
//!
//! Everything that names a platform concept is listed here once; other modules look things
//! up and never keep their own lists.

pub mod api;
pub mod event;
pub mod stream_events;
pub mod types_dts;

/// The candidate closest to `wanted` by edit distance, if it is close enough to be a likely
/// typo (at most a third of the longer name, and at most 3 edits).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(wanted, candidate);
        let limit = (wanted.len().max(candidate.len()) / 3).clamp(1, 3);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance over chars, counting an adjacent transposition as one edit (optimal
/// string alignment), since `tpye` for `type` is the commonest typo.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
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
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("tpye", ["type", "id"]), Some("type"));
    }
}
