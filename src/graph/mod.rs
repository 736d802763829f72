//! AST -> petgraph DAG: one node per block plus a start node and a "fell off the end" node,
//! edges from stage order, guards and branches; and the must-availability dataflow over it.
//!
//! The graph resolves names (block types, branch targets) but reports nothing itself; the
//! checks turn what it could not resolve into diagnostics.

use crate::blocks::{self, BlockType, Ending, Fact};
use crate::syntax::ast::{Block, ConfigValue, Flow, Stage};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::{BTreeSet, HashMap};

pub mod draw;

/// A node of the flow graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Start,
    /// Index into `FlowGraph::blocks`.
    Block(usize),
    /// Reached when control passes the last block without a Deny or Issue Session.
    FellOff,
}

/// Why control moves along an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// The block ran (or, for a guarded block, ran or was skipped) and control continues.
    Next,
    /// A guarded terminal or branch block whose guard was false.
    Skip,
    /// A branch taken.
    Jump,
}

/// One block with what the graph resolved about it.
pub struct BlockInfo<'f> {
    pub block: &'f Block,
    pub stage: &'f Stage,
    pub stage_index: usize,
    /// `None` when the type is not in the catalogue.
    pub ty: Option<&'static BlockType>,
    pub node: NodeIndex,
    /// The block index a branch jumps to, when `to` names an existing block.
    pub jump_to: Option<usize>,
}

impl BlockInfo<'_> {
    pub fn guarded(&self) -> bool {
        self.block.when.is_some()
    }

    pub fn ending(&self) -> Ending {
        self.ty.map_or(Ending::Continues, |t| t.ending)
    }

    /// The value of the block's key that names a later block (a branch's `to`).
    pub fn jump_target(&self) -> Option<&ConfigValue> {
        self.block.config(self.ty?.block_ref()?)
    }

    /// The value of the block's key that names a custom action (Run Custom Action's `action`).
    pub fn action(&self) -> Option<&ConfigValue> {
        self.block.config(self.ty?.action_ref()?)
    }
}

pub struct FlowGraph<'f> {
    pub flow: &'f Flow,
    pub graph: DiGraph<Node, Edge>,
    pub start: NodeIndex,
    pub fell_off: NodeIndex,
    pub blocks: Vec<BlockInfo<'f>>,
    /// First block with each id.
    pub by_id: HashMap<&'f str, usize>,
    /// Branches whose target is not later in the flow: they would form cycles and are left
    /// out of `graph` so the dataflow stays well-defined; `check` reports them.
    pub backward_jumps: Vec<(usize, usize)>,
}

impl<'f> FlowGraph<'f> {
    pub fn build(flow: &'f Flow) -> FlowGraph<'f> {
        let mut graph = DiGraph::new();
        let start = graph.add_node(Node::Start);
        let mut blocks = Vec::new();
        let mut by_id = HashMap::new();
        for (stage_index, stage) in flow.stages.iter().enumerate() {
            for block in &stage.blocks {
                let index = blocks.len();
                let node = graph.add_node(Node::Block(index));
                by_id.entry(block.id.value.as_str()).or_insert(index);
                let ty = blocks::block_type(&block.kind.value);
                blocks.push(BlockInfo {
                    block,
                    stage,
                    stage_index,
                    ty,
                    node,
                    jump_to: None,
                });
            }
        }
        let fell_off = graph.add_node(Node::FellOff);
        let node_after =
            |i: usize, blocks: &[BlockInfo]| blocks.get(i + 1).map_or(fell_off, |b| b.node);
        graph.add_edge(
            start,
            blocks.first().map_or(fell_off, |b| b.node),
            Edge::Next,
        );

        let mut backward_jumps = Vec::new();
        for i in 0..blocks.len() {
            let info = &blocks[i];
            let next = node_after(i, &blocks);
            match info.ending() {
                Ending::Continues => {
                    graph.add_edge(info.node, next, Edge::Next);
                }
                Ending::Deny | Ending::Allow => {
                    if info.guarded() {
                        graph.add_edge(info.node, next, Edge::Skip);
                    }
                }
                Ending::Jump => {
                    let target = info
                        .jump_target()
                        .and_then(|v| v.as_str())
                        .and_then(|id| by_id.get(id).copied());
                    match target {
                        Some(t) if t > i => {
                            graph.add_edge(info.node, blocks[t].node, Edge::Jump);
                            if info.guarded() {
                                graph.add_edge(info.node, next, Edge::Skip);
                            }
                        }
                        Some(t) => {
                            backward_jumps.push((i, t));
                            graph.add_edge(info.node, next, Edge::Skip);
                        }
                        None => {
                            graph.add_edge(info.node, next, Edge::Skip);
                        }
                    }
                    blocks[i].jump_to = target;
                }
            }
        }
        FlowGraph {
            flow,
            graph,
            start,
            fell_off,
            blocks,
            by_id,
            backward_jumps,
        }
    }

    /// Blocks that no path from the start reaches.
    pub fn unreachable_blocks(&self) -> Vec<usize> {
        let reached = self.reachable();
        (0..self.blocks.len())
            .filter(|&i| !reached[self.blocks[i].node.index()])
            .collect()
    }

    /// Reachability from the start, indexed by node index.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.graph.node_count()];
        let mut dfs = petgraph::visit::Dfs::new(&self.graph, self.start);
        while let Some(n) = dfs.next(&self.graph) {
            seen[n.index()] = true;
        }
        seen
    }

    /// Reachable blocks with an edge into the fell-off node.
    pub fn blocks_falling_off(&self) -> Vec<usize> {
        let reached = self.reachable();
        if !reached[self.fell_off.index()] {
            return Vec::new();
        }
        self.graph
            .edges_directed(self.fell_off, petgraph::Direction::Incoming)
            .filter(|e| reached[e.source().index()])
            .filter_map(|e| match self.graph[e.source()] {
                Node::Block(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    /// Must-availability: for each block, what holds on every path reaching it.
    /// `effects(i)` is what block `i` establishes when it completes.
    pub fn availability(&self, effects: impl Fn(usize) -> Available) -> Vec<Option<Available>> {
        let order = petgraph::algo::toposort(&self.graph, None).unwrap_or_default();
        let mut at_node: Vec<Option<Available>> = vec![None; self.graph.node_count()];
        at_node[self.start.index()] = Some(Available::default());
        for node in order {
            let Some(here) = at_node[node.index()].clone() else {
                continue;
            };
            let after = match self.graph[node] {
                Node::Block(i) if !self.blocks[i].guarded() => here.union(&effects(i)),
                _ => here,
            };
            for edge in self.graph.edges(node) {
                let slot = &mut at_node[edge.target().index()];
                *slot = Some(match slot.take() {
                    None => after.clone(),
                    Some(existing) => existing.intersect(&after),
                });
            }
        }
        self.blocks
            .iter()
            .map(|b| at_node[b.node.index()].clone())
            .collect()
    }
}

/// What holds at a point of the flow: built-in facts and `step.<slug>.<key>` outputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Available {
    pub facts: BTreeSet<Fact>,
    pub steps: BTreeSet<(String, String)>,
}

impl Available {
    pub fn union(&self, other: &Available) -> Available {
        Available {
            facts: self.facts.union(&other.facts).copied().collect(),
            steps: self.steps.union(&other.steps).cloned().collect(),
        }
    }

    pub fn intersect(&self, other: &Available) -> Available {
        Available {
            facts: self.facts.intersection(&other.facts).copied().collect(),
            steps: self.steps.intersection(&other.steps).cloned().collect(),
        }
    }

    pub fn has(&self, fact: Fact) -> bool {
        self.facts.contains(&fact)
    }
}
