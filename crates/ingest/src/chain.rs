//! Several files read as one table: columns matched by name (after the pipeline's renames), and a source column
//! naming each row's file when there is more than one.
//!
//! One file with no renames is passed through untouched, so the common case costs nothing. Otherwise each row is
//! copied once into a buffer in the table's column order.

use std::collections::HashMap;

use tapwater_types::TransformEntry;

use crate::source::{ColumnNames, RecordSource, Row};
use crate::{IngestError, IngestOptions, Prepared, open_table};

/// The default name of the column that says which file a row came from.
pub const DEFAULT_SOURCE_COLUMN: &str = "source_file";

pub(crate) struct ChainSource<'a> {
    prepared: &'a [Prepared],
    options: &'a IngestOptions,
    /// On pass 2: each file's own columns as pass 1 found them.
    known: Option<&'a [Vec<String>]>,
    current: Option<Box<dyn RecordSource>>,
    index: usize,
    /// The table's columns, the source column last.
    names: ColumnNames,
    by_name: HashMap<String, usize>,
    aliases: Vec<Vec<String>>,
    /// For the current file: its column `i` is the table's column `map[i]`.
    map: Vec<usize>,
    source_column: Option<usize>,
    passthrough: bool,
    buf: Vec<u8>,
    /// The current row's cells in the file's own column order.
    raw: Vec<(usize, usize)>,
    spans: Vec<(usize, usize)>,
    rows_per_file: Vec<u64>,
    /// Each file's own column names (after shaping, before renames).
    layout: Vec<Vec<String>>,
    log: Vec<TransformEntry>,
    bytes_before: u64,
}

impl<'a> ChainSource<'a> {
    /// Opens the first file. `known` is `None` on pass 1 and the [`ChainSource::layout`] of pass 1 on pass 2.
    pub(crate) fn open(
        prepared: &'a [Prepared],
        options: &'a IngestOptions,
        known: Option<&'a [Vec<String>]>,
    ) -> Result<Self, IngestError> {
        let multi = prepared.len() > 1;
        let mut chain = ChainSource {
            prepared,
            options,
            known,
            current: None,
            index: 0,
            names: ColumnNames::default(),
            by_name: HashMap::new(),
            aliases: Vec::new(),
            map: Vec::new(),
            source_column: None,
            passthrough: !multi && options.pipeline.renames.is_empty(),
            buf: Vec::new(),
            raw: Vec::new(),
            spans: Vec::new(),
            rows_per_file: Vec::new(),
            layout: Vec::new(),
            log: Vec::new(),
            bytes_before: 0,
        };
        if multi {
            // The source column comes first: later files may add columns at the end.
            let name = options.pipeline.source_column.as_deref().unwrap_or(DEFAULT_SOURCE_COLUMN);
            chain.names.push(name);
            chain.by_name.insert(chain.names.names()[0].clone(), 0);
            chain.aliases.push(Vec::new());
            chain.source_column = Some(0);
        }
        chain.open_file(0)?;
        Ok(chain)
    }

    fn multi(&self) -> bool {
        self.prepared.len() > 1
    }

    fn open_file(&mut self, index: usize) -> Result<(), IngestError> {
        let p = &self.prepared[index];
        let known = self.known.and_then(|k| k.get(index)).map(Vec::as_slice);
        let check_utf8 = self.known.is_none();
        let source = open_table(p, self.options, check_utf8, known).map_err(|e| self.name_file(e, index))?;
        self.index = index;
        self.rows_per_file.push(0);
        self.layout.push(Vec::new());
        self.map.clear();
        self.current = Some(source);
        self.extend_map()?;
        Ok(())
    }

    /// Gives every column the current file knows (beyond those mapped already) a place in the table.
    fn extend_map(&mut self) -> Result<(), IngestError> {
        let multi = self.multi();
        let Some(source) = self.current.as_ref() else { return Ok(()) };
        let headers = source.headers();
        let source_aliases = source.aliases();
        for (i, published) in headers.iter().enumerate().skip(self.map.len()) {
            self.layout[self.index].push(published.clone());
            let target = self.options.pipeline.renames.get(published).unwrap_or(published);
            let position = match self.by_name.get(target) {
                Some(&position) if !self.map.contains(&position) && Some(position) != self.source_column => position,
                _ => {
                    self.names.push(target);
                    let name = self.names.names()[self.names.len() - 1].clone();
                    self.by_name.insert(name, self.names.len() - 1);
                    self.aliases.push(Vec::new());
                    self.names.len() - 1
                }
            };
            let aliases = &mut self.aliases[position];
            if published != target && !aliases.contains(published) {
                aliases.push(published.clone());
            }
            for alias in source_aliases.get(i).into_iter().flatten() {
                if !aliases.contains(alias) {
                    aliases.push(alias.clone());
                }
            }
            if published != target {
                let entry = entry(&mut self.log, self.prepared, self.index, multi, "rename", Some(target));
                if entry.count == 0 {
                    entry.count = 1;
                    entry.detail = Some(format!("{published} → {target}"));
                }
            }
            self.map.push(position);
        }
        if self.options.max_columns < self.names.len() {
            return Err(IngestError::TooManyColumns { count: self.names.len(), max: self.options.max_columns });
        }
        Ok(())
    }

    fn name_file(&self, error: IngestError, index: usize) -> IngestError {
        if self.multi() { error.in_file(&self.prepared[index].input.name) } else { error }
    }

    /// Rows read from each file so far.
    pub(crate) fn rows_per_file(&self) -> &[u64] {
        &self.rows_per_file
    }

    /// Each file's own columns, for pass 2.
    pub(crate) fn layout(&self) -> Vec<Vec<String>> {
        if self.passthrough {
            // A JSON source discovers its columns as it reads: its headers are complete only now.
            return vec![self.current.as_ref().map(|s| s.headers().to_vec()).unwrap_or_default()];
        }
        self.layout.clone()
    }

    /// Drops what pass 2 logged again (pass 1 logged it already).
    pub(crate) fn discard_log(&mut self) {
        self.log.clear();
    }
}

fn entry<'l>(
    log: &'l mut Vec<TransformEntry>,
    prepared: &[Prepared],
    index: usize,
    multi: bool,
    rule: &str,
    column: Option<&str>,
) -> &'l mut TransformEntry {
    let file = multi.then(|| prepared[index].input.name.clone());
    let found = log.iter().position(|e| e.rule == rule && e.column.as_deref() == column && e.file == file);
    let i = found.unwrap_or_else(|| {
        log.push(TransformEntry {
            file,
            column: column.map(str::to_string),
            rule: rule.to_string(),
            ..TransformEntry::default()
        });
        log.len() - 1
    });
    &mut log[i]
}

impl RecordSource for ChainSource<'_> {
    fn headers(&self) -> &[String] {
        if self.passthrough {
            return self.current.as_ref().map_or(&[], |s| s.headers());
        }
        self.names.names()
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        if self.passthrough {
            let Some(source) = self.current.as_mut() else { return Ok(None) };
            let row = source.next_row()?;
            if row.is_some() {
                self.rows_per_file[self.index] += 1;
            }
            return Ok(row);
        }
        loop {
            let index = self.index;
            let Some(source) = self.current.as_mut() else { return Ok(None) };
            // Copy the cells out first: the row borrows the source, whose headers may have to be read next.
            let read = match source.next_row() {
                Err(e) => Err(e),
                Ok(None) => Ok(None),
                Ok(Some(row)) => {
                    self.buf.clear();
                    self.raw.clear();
                    for i in 0..row.width() {
                        match row.cell(i) {
                            Some(cell) => {
                                let start = self.buf.len();
                                self.buf.extend_from_slice(cell);
                                self.raw.push((start, self.buf.len()));
                            }
                            None => self.raw.push((0, 0)),
                        }
                    }
                    Ok(Some((row.line(), row.width())))
                }
            };
            match read {
                Err(e) => return Err(self.name_file(e, index)),
                Ok(Some((line, width))) => {
                    if width > self.map.len() {
                        self.extend_map()?; // a JSON source met a new key
                    }
                    self.spans.clear();
                    self.spans.resize(self.names.len(), (0, 0));
                    for (i, &span) in self.raw.iter().enumerate() {
                        self.spans[self.map[i]] = span;
                    }
                    if let Some(column) = self.source_column {
                        let start = self.buf.len();
                        self.buf.extend_from_slice(self.prepared[index].input.name.as_bytes());
                        self.spans[column] = (start, self.buf.len());
                    }
                    self.rows_per_file[index] += 1;
                    return Ok(Some(Row::new(&self.buf, &self.spans, line, self.names.len())));
                }
                Ok(None) => {
                    // This file is done: on to the next one.
                    let mut done = self.current.take().expect("a current source");
                    self.bytes_before += done.bytes_read();
                    self.log.extend(done.take_log());
                    if index + 1 < self.prepared.len() {
                        self.open_file(index + 1)?;
                    } else {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes_before + self.current.as_ref().map_or(0, |s| s.bytes_read())
    }

    fn aliases(&self) -> &[Vec<String>] {
        if self.passthrough {
            return self.current.as_ref().map_or(&[], |s| s.aliases());
        }
        &self.aliases
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        let mut log = std::mem::take(&mut self.log);
        if let Some(current) = self.current.as_mut() {
            log.extend(current.take_log());
        }
        log
    }
}
