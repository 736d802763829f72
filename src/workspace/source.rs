//! The table of source files a command read, so diagnostics can name files and show text.

use crate::diagnostic::FileId;
use std::path::{Path, PathBuf};

/// One file as it was read.
pub struct SourceFile {
    /// The path as shown to the user (relative to the current directory where possible).
    pub path: PathBuf,
    pub text: String,
}

/// Every file read by one command, indexed by `FileId`.
#[derive(Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile { path, text });
        id
    }

    /// How many files were read; their ids are `FileId(0)..FileId(len)`.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, id: FileId) -> &str {
        &self.get(id).text
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).path
    }

    /// 1-based line and column (in chars) of a byte offset.
    pub fn line_column(&self, id: FileId, offset: u32) -> (usize, usize) {
        line_column(self.text(id), offset as usize)
    }
}

/// 1-based line and column (in chars) of a byte offset into `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut offset = offset;
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}
