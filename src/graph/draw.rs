//! The flow graph drawn as Graphviz DOT or Mermaid, one cluster per stage.

use super::{Edge, FlowGraph, Node};
use crate::blocks::Ending;
use petgraph::visit::EdgeRef;
use std::fmt::Write;

fn node_name(node: Node) -> String {
    match node {
        Node::Start => "start".into(),
        Node::FellOff => "fell_off".into(),
        Node::Block(i) => format!("b{i}"),
    }
}

fn node_label(graph: &FlowGraph, i: usize) -> String {
    let b = &graph.blocks[i];
    let title = b.ty.map_or(b.block.kind.value.as_str(), |t| t.title);
    let mut label = format!("{}\\n{}", b.block.id.value, title);
    if let Some(when) = &b.block.when {
        label.push_str(&format!("\\nwhen {}", when.text));
    }
    label.replace('"', "\\\"")
}

fn edge_label(edge: Edge) -> &'static str {
    match edge {
        Edge::Next => "",
        Edge::Skip => "else",
        Edge::Jump => "then",
    }
}

/// The blocks of stage `s`, with their indices.
fn blocks_of_stage<'g, 'f>(
    graph: &'g FlowGraph<'f>,
    s: usize,
) -> impl Iterator<Item = (usize, &'g super::BlockInfo<'f>)> {
    graph
        .blocks
        .iter()
        .enumerate()
        .filter(move |(_, b)| b.stage_index == s)
}

/// Whether some edge leads past the last block without a decision.
fn can_fall_off(graph: &FlowGraph) -> bool {
    graph
        .graph
        .edges_directed(graph.fell_off, petgraph::Direction::Incoming)
        .next()
        .is_some()
}

/// Every edge as (from, to, label) node names.
fn edges<'g>(graph: &'g FlowGraph) -> impl Iterator<Item = (String, String, &'static str)> + 'g {
    graph.graph.edge_references().map(|e| {
        (
            node_name(graph.graph[e.source()]),
            node_name(graph.graph[e.target()]),
            edge_label(*e.weight()),
        )
    })
}

/// Graphviz DOT.
pub fn dot(graph: &FlowGraph) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, style=rounded];",
        graph.flow.name.value.replace('"', "\\\"")
    );
    let _ = writeln!(out, "  start [shape=circle, label=\"start\"];");
    for (s, stage) in graph.flow.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{s} {{\n    label=\"{}\";",
            stage.name.value.replace('"', "\\\"")
        );
        for (i, b) in blocks_of_stage(graph, s) {
            let shape = match b.ending() {
                Ending::Deny => ", color=red",
                Ending::Allow => ", color=darkgreen",
                Ending::Jump => ", shape=diamond",
                Ending::Continues => "",
            };
            let _ = writeln!(out, "    b{i} [label=\"{}\"{shape}];", node_label(graph, i));
        }
        let _ = writeln!(out, "  }}");
    }
    if can_fall_off(graph) {
        let _ = writeln!(
            out,
            "  fell_off [shape=octagon, color=orange, label=\"no decision\"];"
        );
    }
    for (a, b, label) in edges(graph) {
        if label.is_empty() {
            let _ = writeln!(out, "  {a} -> {b};");
        } else {
            let _ = writeln!(out, "  {a} -> {b} [label=\"{label}\"];");
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart.
pub fn mermaid(graph: &FlowGraph) -> String {
    let mut out = String::from("flowchart TD\n  start((start))\n");
    for (s, stage) in graph.flow.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph stage{s}[\"{}\"]",
            stage.name.value.replace('"', "#quot;")
        );
        for (i, b) in blocks_of_stage(graph, s) {
            let label = node_label(graph, i)
                .replace("\\n", "<br/>")
                .replace("\\\"", "#quot;");
            let _ = match b.ending() {
                Ending::Jump => writeln!(out, "    b{i}{{\"{label}\"}}"),
                _ => writeln!(out, "    b{i}[\"{label}\"]"),
            };
        }
        out.push_str("  end\n");
    }
    if can_fall_off(graph) {
        out.push_str("  fell_off{{no decision}}\n");
    }
    for (a, b, label) in edges(graph) {
        if label.is_empty() {
            let _ = writeln!(out, "  {a} --> {b}");
        } else {
            let _ = writeln!(out, "  {a} -->|{label}| {b}");
        }
    }
    out
}
