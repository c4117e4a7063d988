//! Where a problem is: file, line and path (`fields[2].pattern`) in a TOML file.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use toml_edit::{ImDocument, Item, Table, Value};

/// One problem in a definition or examples file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DefinitionError {
    /// The file's name, e.g. `parking-permit.toml`.
    pub file: String,
    /// 1-based line, when it can be told.
    pub line: Option<usize>,
    /// The path inside the file, e.g. `rules[1].when`; empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A parsed TOML file that can tell the line of a path.
pub(crate) struct Located<'a> {
    pub file: &'a str,
    pub text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

impl<'a> Located<'a> {
    /// Parses `text`; a syntax error is returned located.
    pub fn parse(file: &'a str, text: &'a str) -> Result<Self, DefinitionError> {
        match ImDocument::parse(text) {
            Ok(doc) => Ok(Self { file, text, doc: Some(doc) }),
            Err(e) => {
                let line = e.span().map(|s| line_at(text, s.start));
                let message = e.message().trim().to_owned();
                Err(DefinitionError { file: file.to_owned(), line, path: String::new(), message })
            }
        }
    }

    /// An error at `path`.
    pub fn error(&self, path: &str, message: impl Into<String>) -> DefinitionError {
        DefinitionError { file: self.file.to_owned(), line: self.line_of(path), path: path.to_owned(), message: message.into() }
    }

    /// Deserializes the file into `T`, reporting the path and line of the first mismatch.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, DefinitionError> {
        let de = toml::Deserializer::new(self.text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            let line = inner.span().map(|s| line_at(self.text, s.start)).or_else(|| self.line_of(&path));
            DefinitionError { file: self.file.to_owned(), line, path, message: inner.message().trim().to_owned() }
        })
    }

    /// The line of the deepest part of `path` that exists in the file.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Item(doc.as_item());
        let mut best = None;
        for seg in segments(path) {
            let (span, next) = match (seg, node) {
                (Seg::Key(k), Node::Item(Item::Table(t)) | Node::Table(t)) => match t.get_key_value(k) {
                    Some((key, item)) => (key.span().or_else(|| item.span()), Node::Item(item)),
                    None => break,
                },
                (Seg::Key(k), Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t))) => {
                    match t.get_key_value(k) {
                        Some((key, item)) => (key.span().or_else(|| item.span()), Node::Item(item)),
                        None => break,
                    }
                }
                (Seg::Index(i), Node::Item(Item::ArrayOfTables(a))) => match a.get(i) {
                    Some(t) => (t.span(), Node::Table(t)),
                    None => break,
                },
                (Seg::Index(i), Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a))) => match a.get(i) {
                    Some(v) => (v.span(), Node::Value(v)),
                    None => break,
                },
                _ => break,
            };
            if let Some(s) = span {
                best = Some(line_at(self.text, s.start));
            }
            node = next;
        }
        best
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_paths() {
        let text = "code = \"x\"\n\n[[fields]]\nname = \"a\"\n\n[[fields]]\nname = \"b\"\noptions = [\n  { value = \"v\", label = \"l\" },\n]\n[[fields.fields]]\nname = \"c\"\n";
        let l = Located::parse("f.toml", text).unwrap();
        assert_eq!(l.line_of("code"), Some(1));
        assert_eq!(l.line_of("fields[1].name"), Some(7));
        assert_eq!(l.line_of("fields[1].options[0].label"), Some(9));
        assert_eq!(l.line_of("fields[1].fields[0].name"), Some(12));
        // A key that is absent points at its table.
        assert_eq!(l.line_of("fields[0].label"), Some(3));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = Located::parse("f.toml", "a = 1\nb = \n").err().unwrap();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.file, "f.toml");
    }
}
