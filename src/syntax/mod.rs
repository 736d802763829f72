//! Source text -> spanned AST. Two front ends (YAML, the DSL) produce one `ast::Flow`.
//!
//! Parsing never panics and never resolves names: that is `graph`'s and `check`'s job.

pub mod ast;
pub mod conform;
pub mod dsl;
pub mod print;
pub mod scalar;
pub mod schema;
pub mod tree;
pub mod yaml;

use crate::diagnostic::{Diagnostic, FileId};

/// Which front end reads a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Dsl,
}

impl Syntax {
    /// By file extension: `.flow` is the DSL, anything else YAML.
    pub fn of_path(path: &std::path::Path) -> Syntax {
        match path.extension().and_then(|e| e.to_str()) {
            Some("flow") => Syntax::Dsl,
            _ => Syntax::Yaml,
        }
    }
}

/// Parses a flow file with the front end its syntax names.
pub fn parse(source: &str, file: FileId, syntax: Syntax) -> Result<ast::Flow, Vec<Diagnostic>> {
    match syntax {
        Syntax::Yaml => yaml::parse(source, file),
        Syntax::Dsl => dsl::parse(source, file),
    }
}
