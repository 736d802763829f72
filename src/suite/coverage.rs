//! Flow coverage from the traces of a suite run: per flow, which blocks ran, whether each
//! guard was seen both true and false, which arms of each branch were taken, which actions
//! ran, and what no case reached; as numbers, a human summary, JSON and LCOV keyed to the
//! flow file's lines.
//!
//! Items counted (each covered or not): every block (ran), both sides of every guard of a
//! non-branch block, every arm of every branch (jump, and fall-through when guarded), every
//! action the flow runs. The percentage is covered items over all items.

use super::load::{SuiteFlow, Target, WorkspaceSuite};
use super::runner::CaseResult;
use crate::run::trace::BlockStatus;
use crate::workspace::source::Sources;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Coverage of one flow.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FlowCoverage {
    pub flow: String,
    pub file: String,
    pub blocks: Vec<BlockCoverage>,
    /// Action slug -> runs.
    pub actions: BTreeMap<String, u64>,
    pub covered: usize,
    pub total: usize,
    pub percent: f64,
}

/// Coverage of one block.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BlockCoverage {
    pub id: String,
    /// The action a Run Custom Action block runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// 1-based line of the block in the flow file.
    pub line: usize,
    /// Cases that reached it (ran or skipped).
    pub reached: u64,
    /// Cases in which it ran (its guard held, or it has none, and it was not skipped).
    pub ran: u64,
    /// For a guarded block: the guard's line and how often it was true and false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardCoverage>,
    /// For a branch: how often it jumped and (when guarded) fell through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<BranchCoverage>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GuardCoverage {
    pub line: usize,
    pub when: String,
    pub true_count: u64,
    pub false_count: u64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BranchCoverage {
    pub to: String,
    pub jumped: u64,
    /// `None` for an unguarded branch, which always jumps.
    pub fell_through: Option<u64>,
}

/// Coverage of every flow the suites' cases ran.
pub fn compute(suites: &[WorkspaceSuite], results: &[CaseResult]) -> Vec<FlowCoverage> {
    let mut out = Vec::new();
    for (s, suite) in suites.iter().enumerate() {
        for (f, flow) in suite.flows.iter().enumerate() {
            let traces = results
                .iter()
                .filter(|r| r.suite == s && suite.cases[r.case].target == Target::Flow(f));
            out.push(flow_coverage(&suite.loaded.ws.sources, flow, traces));
        }
    }
    out
}

fn flow_coverage<'r>(
    sources: &Sources,
    flow: &SuiteFlow,
    results: impl Iterator<Item = &'r CaseResult>,
) -> FlowCoverage {
    let line = |offset: u32| sources.line_column(flow.file, offset).0;
    let ast_blocks: Vec<_> = flow.ast.blocks().map(|(_, b)| b).collect();
    let mut blocks: Vec<BlockCoverage> = flow
        .plan
        .blocks
        .iter()
        .map(|pb| {
            let ast = ast_blocks.iter().find(|b| b.id.value == pb.id);
            let guard = ast.and_then(|b| b.when.as_ref());
            let is_branch = pb.op.block_type().ending == crate::blocks::Ending::Jump;
            BlockCoverage {
                id: pb.id.clone(),
                action: pb.op.action().map(str::to_string),
                line: ast.map_or(1, |b| line(b.span.start)),
                reached: 0,
                ran: 0,
                guard: (!is_branch)
                    .then_some(guard)
                    .flatten()
                    .map(|g| GuardCoverage {
                        line: line(g.span.start),
                        when: g.text.clone(),
                        true_count: 0,
                        false_count: 0,
                    }),
                branch: is_branch.then(|| BranchCoverage {
                    to: pb
                        .op
                        .jump()
                        .and_then(|to| flow.plan.blocks.get(to))
                        .map(|b| b.id.clone())
                        .unwrap_or_default(),
                    jumped: 0,
                    fell_through: guard.map(|_| 0),
                }),
            }
        })
        .collect();
    let mut actions: BTreeMap<String, u64> =
        flow.plan.actions.keys().map(|a| (a.clone(), 0)).collect();
    for result in results {
        let Some(trace) = &result.trace else { continue };
        for bt in &trace.blocks {
            let Some(cov) = blocks.iter_mut().find(|b| b.id == bt.id) else {
                continue;
            };
            cov.reached += 1;
            let ran = bt.status != BlockStatus::Skipped;
            if ran {
                cov.ran += 1;
            }
            if let Some(g) = &mut cov.guard {
                match bt.guard {
                    Some(true) => g.true_count += 1,
                    Some(false) => g.false_count += 1,
                    None => {}
                }
            }
            if let Some(b) = &mut cov.branch {
                if bt.guard == Some(false) {
                    if let Some(n) = &mut b.fell_through {
                        *n += 1;
                    }
                } else if ran {
                    b.jumped += 1;
                }
            }
            if ran
                && let Some(slug) = &bt.action
                && let Some(n) = actions.get_mut(slug)
            {
                *n += 1;
            }
        }
    }
    let mut covered = 0;
    let mut total = 0;
    let mut count = |hit: bool| {
        total += 1;
        covered += usize::from(hit);
    };
    for b in &blocks {
        count(b.ran > 0);
        if let Some(g) = &b.guard {
            count(g.true_count > 0);
            count(g.false_count > 0);
        }
        if let Some(br) = &b.branch {
            count(br.jumped > 0);
            if let Some(n) = br.fell_through {
                count(n > 0);
            }
        }
    }
    for n in actions.values() {
        count(*n > 0);
    }
    FlowCoverage {
        flow: flow.name.clone(),
        file: flow.path.clone(),
        blocks,
        actions,
        covered,
        total,
        percent: percent(covered, total),
    }
}

fn percent(covered: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        (covered as f64 * 1000.0 / total as f64).floor() / 10.0
    }
}

/// Covered and total items over every flow, and the percentage.
pub fn totals(flows: &[FlowCoverage]) -> (usize, usize, f64) {
    let covered = flows.iter().map(|f| f.covered).sum();
    let total = flows.iter().map(|f| f.total).sum();
    (covered, total, percent(covered, total))
}

/// What no case reached or exercised, one phrase per item.
pub fn gaps(flow: &FlowCoverage) -> Vec<String> {
    let mut out = Vec::new();
    for b in &flow.blocks {
        if b.reached == 0 {
            out.push(format!(
                "block `{}` (line {}) was never reached",
                b.id, b.line
            ));
        } else if b.ran == 0 {
            out.push(format!("block `{}` (line {}) never ran", b.id, b.line));
        }
        if let Some(g) = &b.guard {
            if g.true_count == 0 {
                out.push(format!(
                    "guard of `{}` (line {}) was never true: {}",
                    b.id, g.line, g.when
                ));
            }
            if g.false_count == 0 {
                out.push(format!(
                    "guard of `{}` (line {}) was never false: {}",
                    b.id, g.line, g.when
                ));
            }
        }
        if let Some(br) = &b.branch {
            if br.jumped == 0 {
                out.push(format!(
                    "branch `{}` (line {}) never jumped to `{}`",
                    b.id, b.line, br.to
                ));
            }
            if br.fell_through == Some(0) {
                out.push(format!(
                    "branch `{}` (line {}) never fell through",
                    b.id, b.line
                ));
            }
        }
    }
    for (slug, n) in &flow.actions {
        if *n == 0 {
            out.push(format!("action `{slug}` never ran"));
        }
    }
    out
}

/// The human summary: one line per flow, then what was not covered.
pub fn human(flows: &[FlowCoverage]) -> String {
    let mut out = String::from("coverage\n");
    for f in flows {
        out.push_str(&format!(
            "  {:<40} {:>5.1}%  ({}/{} items: blocks, guard sides, branch arms, actions)\n",
            format!("{} ({})", f.flow, f.file),
            f.percent,
            f.covered,
            f.total
        ));
        for gap in gaps(f) {
            out.push_str(&format!("      not covered: {gap}\n"));
        }
    }
    let (covered, total, percent) = totals(flows);
    out.push_str(&format!("  total {percent:.1}% ({covered}/{total})\n"));
    out
}

/// The JSON form.
pub fn json(flows: &[FlowCoverage]) -> Value {
    let (covered, total, percent) = totals(flows);
    json!({
        "flows": flows.iter().map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["not_covered"] = json!(gaps(f));
            v
        }).collect::<Vec<_>>(),
        "covered": covered,
        "total": total,
        "percent": percent,
    })
}

/// LCOV: one record per flow file; blocks are lines (`DA`), guards and branch arms are
/// branches (`BRDA`), actions are functions (`FN`) at their block's line.
pub fn lcov(flows: &[FlowCoverage]) -> String {
    let mut out = String::new();
    for f in flows {
        out.push_str("TN:\n");
        out.push_str(&format!("SF:{}\n", f.file));
        let action_lines: Vec<(String, usize)> = f
            .actions
            .keys()
            .map(|slug| {
                let line = f
                    .blocks
                    .iter()
                    .find(|b| b.action.as_deref() == Some(slug.as_str()))
                    .map_or(1, |b| b.line);
                (slug.clone(), line)
            })
            .collect();
        for (slug, line) in &action_lines {
            out.push_str(&format!("FN:{line},{slug}\n"));
        }
        for (slug, n) in &f.actions {
            out.push_str(&format!("FNDA:{n},{slug}\n"));
        }
        out.push_str(&format!("FNF:{}\n", f.actions.len()));
        out.push_str(&format!(
            "FNH:{}\n",
            f.actions.values().filter(|n| **n > 0).count()
        ));
        let mut branches = (0, 0);
        for (i, b) in f.blocks.iter().enumerate() {
            let mut arm = |line: usize, n: usize, count: u64, reached: u64| {
                let taken = if reached == 0 {
                    "-".to_string()
                } else {
                    count.to_string()
                };
                out.push_str(&format!("BRDA:{line},{i},{n},{taken}\n"));
                branches.0 += 1;
                branches.1 += usize::from(count > 0);
            };
            if let Some(g) = &b.guard {
                arm(g.line, 0, g.true_count, b.reached);
                arm(g.line, 1, g.false_count, b.reached);
            }
            if let Some(br) = &b.branch {
                arm(b.line, 0, br.jumped, b.reached);
                if let Some(n) = br.fell_through {
                    arm(b.line, 1, n, b.reached);
                }
            }
        }
        out.push_str(&format!("BRF:{}\nBRH:{}\n", branches.0, branches.1));
        for b in &f.blocks {
            out.push_str(&format!("DA:{},{}\n", b.line, b.ran));
        }
        out.push_str(&format!("LF:{}\n", f.blocks.len()));
        out.push_str(&format!(
            "LH:{}\n",
            f.blocks.iter().filter(|b| b.ran > 0).count()
        ));
        out.push_str("end_of_record\n");
    }
    out
}
