//! Flow against flow, on ASTs without spans: stages added, removed and reordered; blocks
//! added, removed, moved between stages and reordered within one; and per block its type,
//! guard, `on_error`, config keys and branch target.
//!
//! Blocks are matched by id and stages by name, so a block that keeps its id is the same block
//! wherever it goes. "Reordered" is minimal: the blocks that keep their relative order form a
//! longest increasing subsequence, and only the others are reported as moved within a stage.

use super::Change;
use crate::syntax::ast::{Block, Flow};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Every change from `old` to `new`.
pub fn changes(old: &Flow, new: &Flow) -> Vec<Change> {
    let mut out = Vec::new();
    let (old_description, new_description) = (
        old.description.as_ref().map(|d| d.value.clone()),
        new.description.as_ref().map(|d| d.value.clone()),
    );
    if old_description != new_description {
        out.push(Change::Description {
            old: old_description,
            new: new_description,
        });
    }
    stage_changes(old, new, &mut out);
    block_changes(old, new, &mut out);
    out
}

fn stage_changes(old: &Flow, new: &Flow, out: &mut Vec<Change>) {
    let old_names: Vec<&str> = old.stages.iter().map(|s| s.name.as_str()).collect();
    let new_names: Vec<&str> = new.stages.iter().map(|s| s.name.as_str()).collect();
    for (index, name) in new_names.iter().enumerate() {
        if !old_names.contains(name) {
            out.push(Change::StageAdded {
                stage: name.to_string(),
                position: index + 1,
            });
        }
    }
    for name in &old_names {
        if !new_names.contains(name) {
            out.push(Change::StageRemoved {
                stage: name.to_string(),
            });
        }
    }
    for name in reordered(&old_names, &new_names) {
        out.push(Change::StageReordered {
            stage: name.to_string(),
            old_after: predecessor(&old_names, name),
            new_after: predecessor(&new_names, name),
        });
    }
}

/// Where a block is: its stage and 1-based position in it.
struct Place<'a> {
    stage: &'a str,
    position: usize,
    block: &'a Block,
}

fn places(flow: &Flow) -> HashMap<&str, Place<'_>> {
    let mut map = HashMap::new();
    for stage in &flow.stages {
        for (index, block) in stage.blocks.iter().enumerate() {
            // A duplicate id is a check error; the first block with the id is the one compared.
            map.entry(block.id.as_str()).or_insert(Place {
                stage: stage.name.as_str(),
                position: index + 1,
                block,
            });
        }
    }
    map
}

fn block_changes(old: &Flow, new: &Flow, out: &mut Vec<Change>) {
    let old_places = places(old);
    let new_places = places(new);
    // Reorders within a stage: per stage, the blocks that stayed in it, in old and new order.
    let mut reorders: BTreeSet<String> = BTreeSet::new();
    for stage in &new.stages {
        let stayed = |flow: &'_ Flow| -> Vec<String> {
            flow.stages
                .iter()
                .filter(|s| s.name.value == stage.name.value)
                .flat_map(|s| s.blocks.iter())
                .filter(|b| {
                    matches!(
                        (old_places.get(b.id.as_str()), new_places.get(b.id.as_str())),
                        (Some(a), Some(n)) if a.stage == n.stage
                    )
                })
                .map(|b| b.id.value.clone())
                .collect()
        };
        let (before, after) = (stayed(old), stayed(new));
        let before: Vec<&str> = before.iter().map(String::as_str).collect();
        let after: Vec<&str> = after.iter().map(String::as_str).collect();
        reorders.extend(reordered(&before, &after).into_iter().map(str::to_string));
    }
    for stage in &new.stages {
        for block in &stage.blocks {
            let id = block.id.as_str();
            let Some(now) = new_places.get(id).filter(|p| std::ptr::eq(p.block, block)) else {
                continue;
            };
            let Some(before) = old_places.get(id) else {
                out.push(Change::BlockAdded {
                    block: id.to_string(),
                    kind: block.kind.value.clone(),
                    stage: now.stage.to_string(),
                    position: now.position,
                });
                continue;
            };
            if before.stage != now.stage {
                out.push(Change::BlockMoved {
                    block: id.to_string(),
                    old_stage: before.stage.to_string(),
                    new_stage: now.stage.to_string(),
                    position: now.position,
                });
            } else if reorders.contains(id) {
                let ids = |flow: &Flow| -> Vec<String> {
                    flow.stages
                        .iter()
                        .filter(|s| s.name.value == now.stage)
                        .flat_map(|s| s.blocks.iter().map(|b| b.id.value.clone()))
                        .collect()
                };
                out.push(Change::BlockReordered {
                    block: id.to_string(),
                    stage: now.stage.to_string(),
                    old_after: predecessor(&ids(old), id),
                    new_after: predecessor(&ids(new), id),
                });
            }
            content_changes(before.block, block, out);
        }
    }
    for stage in &old.stages {
        for block in &stage.blocks {
            let id = block.id.as_str();
            if !new_places.contains_key(id)
                && old_places
                    .get(id)
                    .is_some_and(|p| std::ptr::eq(p.block, block))
            {
                out.push(Change::BlockRemoved {
                    block: id.to_string(),
                    kind: block.kind.value.clone(),
                    stage: stage.name.value.clone(),
                });
            }
        }
    }
}

/// Type, guard, on_error, config and branch target of one block kept by id.
fn content_changes(old: &Block, new: &Block, out: &mut Vec<Change>) {
    let block = new.id.value.clone();
    if old.kind.value != new.kind.value {
        out.push(Change::BlockType {
            block: block.clone(),
            old: old.kind.value.clone(),
            new: new.kind.value.clone(),
        });
    }
    let (old_guard, new_guard) = (
        old.when.as_ref().map(|c| c.text.as_str()),
        new.when.as_ref().map(|c| c.text.as_str()),
    );
    if !same_condition(old_guard, new_guard) {
        out.push(Change::Guard {
            block: block.clone(),
            old: old_guard.map(display_condition),
            new: new_guard.map(display_condition),
        });
    }
    let on_error = |b: &Block| {
        b.on_error
            .as_ref()
            .map_or(crate::blocks::DEFAULT_ON_ERROR, |o| o.as_str())
            .to_string()
    };
    if on_error(old) != on_error(new) {
        out.push(Change::OnError {
            block: block.clone(),
            old: on_error(old),
            new: on_error(new),
        });
    }
    let config = |b: &Block| -> BTreeMap<String, Value> {
        b.config
            .iter()
            .map(|e| (e.key.value.clone(), e.value.to_json()))
            .collect()
    };
    let (a, b) = (config(old), config(new));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (before, after) = (a.get(key), b.get(key));
        if before == after {
            continue;
        }
        // The key that names a jump target, by each side's catalogue row (a branch's `to`).
        let jump_key =
            |b: &Block| crate::blocks::block_type(&b.kind.value).and_then(|t| t.block_ref());
        if jump_key(old) == Some(key.as_str()) && jump_key(new) == Some(key.as_str()) {
            let target = |v: Option<&Value>| {
                v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            };
            out.push(Change::BranchTarget {
                block: block.clone(),
                old: target(before),
                new: target(after),
            });
        } else {
            out.push(Change::Config {
                block: block.clone(),
                key: key.clone(),
                old: before.cloned(),
                new: after.cloned(),
            });
        }
    }
}

/// A condition as shown: trimmed, runs of whitespace outside string literals as one space
/// (environment values are padded to their reference's width, see `workspace::env`).
fn display_condition(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut space = false;
    for ch in text.trim().chars() {
        match quote {
            Some(q) => {
                out.push(ch);
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == q {
                    quote = None;
                }
            }
            None if ch.is_whitespace() => space = true,
            None => {
                if space {
                    out.push(' ');
                    space = false;
                }
                if ch == '"' || ch == '\'' {
                    quote = Some(ch);
                }
                out.push(ch);
            }
        }
    }
    out
}

/// Whether two guards mean the same: equal parse trees (spans, whitespace and redundant
/// parentheses aside), or equal text when either does not parse.
fn same_condition(old: Option<&str>, new: Option<&str>) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(a), Some(b)) => match (crate::expr::parse(a), crate::expr::parse(b)) {
            (Ok(x), Ok(y)) => canonical(&x) == canonical(&y),
            _ => a.split_whitespace().eq(b.split_whitespace()),
        },
        _ => false,
    }
}

/// A fully parenthesised rendering of a condition without spans, for comparison only.
fn canonical(expr: &crate::expr::Expr) -> String {
    use crate::expr::{ExprKind, Literal};
    let literal = |l: &Literal| match l {
        Literal::String(s) => format!("{s:?}"),
        Literal::Number(n) => format!("{n:?}"),
        Literal::Bool(b) => b.to_string(),
        Literal::Null => "null".into(),
    };
    match &expr.kind {
        ExprKind::Literal(l) => literal(l),
        ExprKind::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|(l, _)| literal(l))
                .collect::<Vec<_>>()
                .join(",")
        ),
        ExprKind::Field(path) => path.to_string(),
        ExprKind::Not(inner) => format!("!({})", canonical(inner)),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            format!("({} {} {})", canonical(lhs), op.as_str(), canonical(rhs))
        }
        ExprKind::Call { name, args, .. } => format!(
            "{name}({})",
            args.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
    }
}

/// The element before `name` in `sequence`; `None` when it is first (or absent).
fn predecessor<S: AsRef<str>>(sequence: &[S], name: &str) -> Option<String> {
    let index = sequence.iter().position(|s| s.as_ref() == name)?;
    index
        .checked_sub(1)
        .map(|i| sequence[i].as_ref().to_string())
}

/// The elements common to both sequences that changed their relative order: every element
/// of `new` found in `old`, except a longest run that keeps its order.
fn reordered<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<&'a str> {
    let old_index: HashMap<&str, usize> = old.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let common: Vec<(usize, usize)> = new
        .iter()
        .enumerate()
        .filter_map(|(j, s)| old_index.get(s).map(|&i| (i, j)))
        .collect();
    let keep = longest_increasing(&common.iter().map(|(i, _)| *i).collect::<Vec<_>>());
    common
        .iter()
        .enumerate()
        .filter(|(k, _)| !keep.contains(k))
        .map(|(_, &(_, j))| new[j])
        .collect()
}

/// Indices (into `values`) of one longest strictly increasing subsequence, in O(n log n).
fn longest_increasing(values: &[usize]) -> BTreeSet<usize> {
    // tails[k]: index of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; values.len()];
    for (i, &v) in values.iter().enumerate() {
        let k = tails.partition_point(|&t| values[t] < v);
        previous[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut keep = BTreeSet::new();
    let mut cursor = tails.last().copied();
    while let Some(i) = cursor {
        keep.insert(i);
        cursor = previous[i];
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_moved_ahead_is_the_only_reorder() {
        let old = ["a", "b", "c", "d"];
        let new = ["d", "a", "b", "c"];
        assert_eq!(reordered(&old, &new), vec!["d"]);
        assert!(reordered(&old, &old).is_empty());
        // Insertions and removals are not reorders.
        assert!(reordered(&["a", "b"], &["a", "x", "b"]).is_empty());
    }

    #[test]
    fn conditions_show_without_padding_but_keep_their_strings() {
        assert_eq!(
            display_condition("  event.a == \"x  y\"      &&   event.b  "),
            "event.a == \"x  y\" && event.b"
        );
    }

    #[test]
    fn guards_compare_by_meaning() {
        assert!(same_condition(
            Some("event.a == 1 && event.b"),
            Some("(event.a==1)  &&  event.b")
        ));
        assert!(!same_condition(Some("event.a == 1"), Some("event.a == 2")));
        assert!(!same_condition(None, Some("event.a")));
        // Text that does not parse still compares, by its words.
        assert!(same_condition(Some("event.a =="), Some("event.a  ==")));
    }
}
