//! Catalog files: JSON Lines or CSV, validated completely before anything is served.
//!
//! JSON Lines (`.jsonl`, `.ndjson`): one object per line, `{"id": "...", "title": "...",
//! "vector": [...]}` with `title` optional. A line may instead name a topic that `--likes` can
//! use: `{"topic": "jazz", "vector": [...]}`. CSV (`.csv`): header `id,title,f0,f1,...`.
//! NumPy (`.npy` with a `.ids` file beside it): [`crate::catalog_npy`]. Parquet (`.parquet`):
//! [`crate::catalog_parquet`].
//! A bad row, a wrong dimension, NaN or infinity, a duplicate id or an empty file stops the load
//! with an error naming the file and line.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
pub use veilrank_core::api::Topic;
use veilrank_core::V1_128;

use crate::error::CatalogLoadError;

/// Longest item id, title or topic name, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;

/// One item as read from a file or generated.
#[derive(Clone, Debug, PartialEq)]
pub struct RawItem {
    /// Unique id.
    pub id: String,
    /// Display title (may be empty).
    pub title: String,
    /// The item's embedding.
    pub vector: Vec<f32>,
}

/// A catalog before quantization.
#[derive(Clone, Debug, PartialEq)]
pub struct RawCatalog {
    /// The items' dimension.
    pub dim: usize,
    /// The items, in file order.
    pub items: Vec<RawItem>,
    /// Named topics, possibly none.
    pub topics: Vec<Topic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    id: Option<String>,
    title: Option<String>,
    topic: Option<String>,
    vector: Vec<f32>,
}

/// A catalog file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines (`.jsonl`, `.ndjson`).
    JsonLines,
    /// CSV with a header `id,title,f0,...` (`.csv`).
    Csv,
}

impl Format {
    /// The format a file's extension names, if any.
    pub fn of(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Reads and validates a catalog file, choosing the format by extension.
pub fn load(path: &Path) -> Result<RawCatalog, CatalogLoadError> {
    let error = |message: String| CatalogLoadError {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        return crate::catalog_npy::load(path);
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        return crate::catalog_parquet::load(path);
    }
    let format = Format::of(path).ok_or_else(|| {
        error(
            "unknown catalog format: use .jsonl, .ndjson, .csv, .parquet or .npy (with its .ids)"
                .into(),
        )
    })?;
    let file = File::open(path).map_err(|e| error(format!("cannot open: {e}")))?;
    read(file, format, path)
}

/// Reads and validates a catalog in `format` from `input`; errors name `path` and the line.
pub fn read(input: impl Read, format: Format, path: &Path) -> Result<RawCatalog, CatalogLoadError> {
    let error = |line: Option<u64>, message: String| CatalogLoadError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut builder = Builder::default();
    match format {
        Format::JsonLines => {
            for (index, line) in BufReader::new(input).lines().enumerate() {
                let number = index as u64 + 1;
                let line = line.map_err(|e| error(Some(number), format!("cannot read: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: JsonLine = serde_json::from_str(&line)
                    .map_err(|e| error(Some(number), format!("invalid JSON item: {e}")))?;
                match (parsed.id, parsed.topic) {
                    (Some(id), None) => {
                        builder.item(id, parsed.title.unwrap_or_default(), parsed.vector)
                    }
                    (None, Some(name)) if parsed.title.is_none() => {
                        builder.topic(name, parsed.vector)
                    }
                    _ => Err(
                        "a line has either \"id\" (an item, with optional \"title\") or \"topic\""
                            .into(),
                    ),
                }
                .map_err(|m| error(Some(number), m))?;
            }
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(input);
            let headers = reader
                .headers()
                .map_err(|e| error(Some(1), format!("invalid CSV header: {e}")))?
                .clone();
            let valid_header = headers.len() >= 3
                && &headers[0] == "id"
                && &headers[1] == "title"
                && headers
                    .iter()
                    .skip(2)
                    .enumerate()
                    .all(|(i, h)| h == format!("f{i}"));
            if !valid_header {
                return Err(error(
                    Some(1),
                    "the header must be id,title,f0,f1,...".into(),
                ));
            }
            for record in reader.records() {
                let record = record.map_err(|e| {
                    let line = e.position().map(|p| p.line());
                    error(line, format!("invalid CSV row: {e}"))
                })?;
                let number = record.position().map(|p| p.line());
                let vector = record
                    .iter()
                    .skip(2)
                    .enumerate()
                    .map(|(i, field)| {
                        field
                            .trim()
                            .parse::<f32>()
                            .map_err(|_| format!("f{i} is not a number: {field:?}"))
                    })
                    .collect::<Result<Vec<f32>, String>>()
                    .map_err(|m| error(number, m))?;
                builder
                    .item(record[0].to_string(), record[1].to_string(), vector)
                    .map_err(|m| error(number, m))?;
            }
        }
    }
    builder.finish().map_err(|m| error(None, m))
}

/// Accumulates items and topics, checking each as it comes.
#[derive(Default)]
pub struct Builder {
    dim: Option<usize>,
    ids: HashSet<String>,
    items: Vec<RawItem>,
    topics: Vec<Topic>,
}

impl Builder {
    fn check_vector(&mut self, vector: &[f32]) -> Result<(), String> {
        if let Some(i) = vector.iter().position(|v| !v.is_finite()) {
            return Err(format!("vector value {i} is not a finite number"));
        }
        match self.dim {
            Some(dim) if dim != vector.len() => Err(format!(
                "vector has {} values, the catalog's dimension is {dim}",
                vector.len()
            )),
            Some(_) => Ok(()),
            None => {
                if vector.is_empty() || vector.len() > V1_128.max_dim {
                    return Err(format!(
                        "vector has {} values; the dimension must be 1 to {}",
                        vector.len(),
                        V1_128.max_dim
                    ));
                }
                self.dim = Some(vector.len());
                Ok(())
            }
        }
    }

    /// Adds an item.
    pub fn item(&mut self, id: String, title: String, vector: Vec<f32>) -> Result<(), String> {
        if id.is_empty() || id.len() > MAX_TEXT_LEN {
            return Err(format!("item id must be 1 to {MAX_TEXT_LEN} bytes"));
        }
        if title.len() > MAX_TEXT_LEN {
            return Err(format!(
                "title of {id:?} is longer than {MAX_TEXT_LEN} bytes"
            ));
        }
        self.check_vector(&vector)?;
        if !self.ids.insert(id.clone()) {
            return Err(format!("duplicate item id {id:?}"));
        }
        self.items.push(RawItem { id, title, vector });
        Ok(())
    }

    /// Adds a topic.
    pub fn topic(&mut self, name: String, vector: Vec<f32>) -> Result<(), String> {
        if name.is_empty() || name.len() > MAX_TEXT_LEN {
            return Err(format!("topic name must be 1 to {MAX_TEXT_LEN} bytes"));
        }
        if self.topics.iter().any(|t| t.name == name) {
            return Err(format!("duplicate topic {name:?}"));
        }
        self.check_vector(&vector)?;
        self.topics.push(Topic { name, vector });
        Ok(())
    }

    /// The catalog, unless it has no items.
    pub fn finish(self) -> Result<RawCatalog, String> {
        match self.dim {
            Some(dim) if !self.items.is_empty() => Ok(RawCatalog {
                dim,
                items: self.items,
                topics: self.topics,
            }),
            _ => Err("the catalog has no items".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        (dir, path)
    }

    fn load_err(name: &str, content: &str) -> String {
        let (_dir, path) = write(name, content);
        load(&path).unwrap_err().to_string()
    }

    #[test]
    fn jsonl_with_topics_and_optional_titles_loads() {
        let (_dir, path) = write(
            "c.jsonl",
            "{\"id\":\"a\",\"title\":\"A\",\"vector\":[1,2]}\n\n{\"id\":\"b\",\"vector\":[-1,0.5]}\n{\"topic\":\"t\",\"vector\":[0,1]}\n",
        );
        let catalog = load(&path).unwrap();
        assert_eq!(catalog.dim, 2);
        assert_eq!(catalog.items.len(), 2);
        assert_eq!(catalog.items[1].title, "");
        assert_eq!(catalog.topics[0].name, "t");
    }

    #[test]
    fn csv_loads() {
        let (_dir, path) = write("c.csv", "id,title,f0,f1\na,Alpha,1,2\nb,,3,-4\n");
        let catalog = load(&path).unwrap();
        assert_eq!(catalog.items[1].vector, vec![3.0, -4.0]);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = load_err(
            "c.jsonl",
            "{\"id\":\"a\",\"vector\":[1,2]}\n{\"id\":\"b\",\"vector\":[1]}\n",
        );
        assert!(e.contains("c.jsonl:2") && e.contains("dimension"), "{e}");
        let e = load_err(
            "c.jsonl",
            "{\"id\":\"a\",\"vector\":[1]}\n{\"id\":\"a\",\"vector\":[2]}\n",
        );
        assert!(e.contains(":2") && e.contains("duplicate"), "{e}");
        let e = load_err("c.jsonl", "{\"id\":\"a\",\"vector\":[1e39]}\n");
        assert!(e.contains(":1") && e.contains("finite"), "{e}");
        let e = load_err("c.jsonl", "not json\n");
        assert!(e.contains(":1") && e.contains("invalid JSON"), "{e}");
        let e = load_err("c.jsonl", "\n\n");
        assert!(e.contains("c.jsonl") && e.contains("no items"), "{e}");
        let e = load_err("c.csv", "id,title,f0\na,A,1\nb,B,NaN\n");
        assert!(e.contains("c.csv:3") && e.contains("finite"), "{e}");
        let e = load_err("c.csv", "id,title,f0\na,A,x\n");
        assert!(e.contains("c.csv:2") && e.contains("not a number"), "{e}");
        let e = load_err("c.csv", "name,f0\na,1\n");
        assert!(e.contains(":1") && e.contains("header"), "{e}");
        let e = load_err("c.csv", "id,title,f0\na,A,1,2\n");
        assert!(e.contains("c.csv:2"), "{e}");
        let e = load_err("c.txt", "x");
        assert!(e.contains("unknown catalog format"), "{e}");
    }
}
