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

/// A block's label as lines of raw text: id, type title, and its guard.
fn node_label(graph: &FlowGraph, i: usize) -> Vec<String> {
    let b = &graph.blocks[i];
    let title = b.ty.map_or(b.block.kind.value.as_str(), |t| t.title);
    let mut lines = vec![b.block.id.value.clone(), title.to_string()];
    if let Some(when) = &b.block.when {
        lines.push(format!("when {}", when.text));
    }
    lines
}

/// `text` with each character that `replace` maps written as its replacement.
fn escape_with(text: &str, replace: fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match replace(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    out
}

/// Text inside a DOT double-quoted string: backslashes and quotes escaped (a lone `\` would
/// start an escape such as `\l`), line breaks as DOT's `\n`.
fn dot_text(text: &str) -> String {
    escape_with(text, |c| match c {
        '\\' => Some("\\\\"),
        '"' => Some("\\\""),
        '\n' | '\r' => Some("\\n"),
        _ => None,
    })
}

/// Text inside a Mermaid quoted label: `#`, quotes and angle brackets as Mermaid's entity
/// codes (the label is HTML), line breaks as `<br/>`.
fn mermaid_text(text: &str) -> String {
    escape_with(text, |c| match c {
        '#' => Some("#35;"),
        '"' => Some("#quot;"),
        '<' => Some("#lt;"),
        '>' => Some("#gt;"),
        '\n' | '\r' => Some("<br/>"),
        _ => None,
    })
}

/// A block's label for DOT.
fn dot_label(graph: &FlowGraph, i: usize) -> String {
    join_label(&node_label(graph, i), "\\n", dot_text)
}

/// The label's lines, each escaped, joined by `separator`.
fn join_label(lines: &[String], separator: &str, escape: fn(&str) -> String) -> String {
    lines
        .iter()
        .map(|line| escape(line))
        .collect::<Vec<_>>()
        .join(separator)
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
        dot_text(&graph.flow.name.value)
    );
    let _ = writeln!(out, "  start [shape=circle, label=\"start\"];");
    for (s, stage) in graph.flow.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{s} {{\n    label=\"{}\";",
            dot_text(&stage.name.value)
        );
        for (i, b) in blocks_of_stage(graph, s) {
            let shape = match b.ending() {
                Ending::Deny => ", color=red",
                Ending::Allow => ", color=darkgreen",
                Ending::Jump => ", shape=diamond",
                Ending::Continues => "",
            };
            let _ = writeln!(out, "    b{i} [label=\"{}\"{shape}];", dot_label(graph, i));
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
            mermaid_text(&stage.name.value)
        );
        for (i, b) in blocks_of_stage(graph, s) {
            let label = join_label(&node_label(graph, i), "<br/>", mermaid_text);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_escape_what_their_format_would_read() {
        let source = r#"flow: 'a "b" \c'
stages:
  - name: 's "1" \n'
    blocks:
      - id: deny
        type: deny
        when: 'event.user.email == "a\\b\"c<d>#x"'
"#;
        let flow = crate::syntax::yaml::parse(source, crate::diagnostic::FileId(0))
            .expect("the flow parses");
        let graph = FlowGraph::build(&flow);
        let dot = dot(&graph);
        assert!(dot.contains(r#"digraph "a \"b\" \\c""#), "{dot}");
        assert!(dot.contains(r#"label="s \"1\" \\n";"#), "{dot}");
        assert!(
            dot.contains(r#"label="deny\nDeny\nwhen event.user.email == \"a\\\\b\\\"c<d>#x\"""#),
            "{dot}"
        );
        let mermaid = mermaid(&graph);
        assert!(
            mermaid.contains(r#"subgraph stage0["s #quot;1#quot; \n"]"#),
            "{mermaid}"
        );
        assert!(
            mermaid.contains(
                r#"b0["deny<br/>Deny<br/>when event.user.email == #quot;a\\b\#quot;c#lt;d#gt;#35;x#quot;"]"#
            ),
            "{mermaid}"
        );
    }
}
