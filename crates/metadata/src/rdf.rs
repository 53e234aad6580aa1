//! A small in-memory RDF graph and its two serialisations, Turtle and JSON-LD.
//!
//! Both outputs are written from the same list of triples, so the DCAT documents in Turtle and JSON-LD describe
//! exactly the same graph (the tool test checks they are isomorphic with rdflib).
//!
//! The Turtle writer is hand-written rather than taken from `oxttl`/`oxrdf`: it is about a hundred lines, the
//! graphs are small (one catalogue at most), and it spares the build two crates and their dependencies. It writes
//! every blank node as a labelled `_:bN` node and every IRI either as a prefixed name (when its local part is
//! plainly safe) or as `<…>` with the characters IRIREF forbids percent-encoded.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

/// The namespaces the documents use, with their prefixes (Turtle `@prefix` and JSON-LD context terms).
pub(crate) const PREFIXES: &[(&str, &str)] = &[
    ("adms", "http://www.w3.org/ns/adms#"),
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("gsp", "http://www.opengis.net/ont/geosparql#"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("spdx", "http://spdx.org/rdf/terms#"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

pub(crate) const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";

/// Expands a `prefix:local` name of [`PREFIXES`]; panics on an unknown prefix (names are written in this crate).
pub(crate) fn ns(name: &str) -> String {
    let (prefix, local) = name.split_once(':').unwrap_or(("", name));
    let base = PREFIXES.iter().find(|(p, _)| *p == prefix).map(|(_, iri)| *iri).unwrap_or_else(|| {
        debug_assert!(false, "unknown prefix in {name}");
        ""
    });
    format!("{base}{local}")
}

/// A node or value of the graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Term {
    /// An absolute IRI, already normalised by [`Term::iri`].
    Iri(String),
    /// A blank node label (without `_:`).
    Blank(String),
    Literal {
        value: String,
        kind: LiteralKind,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LiteralKind {
    /// `xsd:string`.
    Plain,
    Lang(String),
    /// A datatype IRI.
    Typed(String),
}

impl Term {
    /// An IRI, with the characters Turtle's IRIREF forbids percent-encoded, so both serialisations carry the very
    /// same IRI.
    pub(crate) fn iri(value: &str) -> Term {
        Term::Iri(escape_iri(value))
    }

    /// An IRI if `value` is an absolute http(s), mailto or tel URL; `None` otherwise (a relative IRI would resolve
    /// against the document's address differently in each format).
    pub(crate) fn checked_iri(value: &str) -> Option<Term> {
        let parsed = url::Url::parse(value.trim()).ok()?;
        matches!(parsed.scheme(), "http" | "https" | "mailto" | "tel").then(|| Term::iri(value.trim()))
    }

    pub(crate) fn plain(value: impl Into<String>) -> Term {
        Term::Literal { value: value.into(), kind: LiteralKind::Plain }
    }

    pub(crate) fn lang(value: impl Into<String>, lang: &str) -> Term {
        Term::Literal { value: value.into(), kind: LiteralKind::Lang(lang.to_string()) }
    }

    /// A literal typed with a `prefix:local` datatype, e.g. `xsd:date`.
    pub(crate) fn typed(value: impl Into<String>, datatype: &str) -> Term {
        Term::Literal { value: value.into(), kind: LiteralKind::Typed(ns(datatype)) }
    }
}

/// Percent-encodes the characters not allowed in a Turtle IRIREF: controls and space, `<>"{}|^`\`.
pub(crate) fn escape_iri(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c <= ' ' || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\') || c == '\u{7f}' {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes a literal for a Turtle `"…"` string: `\\`, `\"`, `\n`, `\r`, `\t`, and the other control characters as
/// `\uXXXX`. Everything else, Chinese included, is written as is (Turtle is UTF-8).
pub(crate) fn escape_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A subject with its predicates, each with its objects.
type Subject<'g> = (&'g Term, Vec<(&'g str, Vec<&'g Term>)>);

/// A set of triples, in insertion order, with a blank node counter.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    triples: Vec<(Term, String, Term)>,
    blanks: usize,
}

impl Graph {
    /// A fresh blank node.
    pub(crate) fn blank(&mut self) -> Term {
        self.blanks += 1;
        Term::Blank(format!("b{}", self.blanks))
    }

    /// Adds `subject predicate object`; `predicate` is a `prefix:local` name (or `a` for `rdf:type`).
    pub(crate) fn add(&mut self, subject: &Term, predicate: &str, object: Term) {
        let predicate = if predicate == "a" { RDF_TYPE.to_string() } else { ns(predicate) };
        let triple = (subject.clone(), predicate, object);
        if !self.triples.contains(&triple) {
            self.triples.push(triple);
        }
    }

    /// `subject a class` with a `prefix:local` class name.
    pub(crate) fn add_type(&mut self, subject: &Term, class: &str) {
        self.add(subject, "a", Term::Iri(ns(class)));
    }

    /// Adds a triple only when there is an object.
    pub(crate) fn add_opt(&mut self, subject: &Term, predicate: &str, object: Option<Term>) {
        if let Some(object) = object {
            self.add(subject, predicate, object);
        }
    }

    #[cfg(test)]
    pub(crate) fn triples(&self) -> &[(Term, String, Term)] {
        &self.triples
    }

    /// Subjects in first-seen order, each with its (predicate, objects) in first-seen order.
    fn grouped(&self) -> Vec<Subject<'_>> {
        let mut out: Vec<Subject<'_>> = Vec::new();
        for (s, p, o) in &self.triples {
            let index = match out.iter().position(|(subject, _)| *subject == s) {
                Some(i) => i,
                None => {
                    out.push((s, Vec::new()));
                    out.len() - 1
                }
            };
            let predicates = &mut out[index].1;
            match predicates.iter_mut().find(|(predicate, _)| *predicate == p) {
                Some((_, objects)) => objects.push(o),
                None => predicates.push((p, vec![o])),
            }
        }
        out
    }

    /// The graph as Turtle, with the prefixes of [`PREFIXES`].
    pub(crate) fn to_turtle(&self) -> String {
        let mut out = String::new();
        for (prefix, iri) in PREFIXES {
            let _ = writeln!(out, "@prefix {prefix}: <{iri}> .");
        }
        for (subject, predicates) in self.grouped() {
            out.push('\n');
            out.push_str(&turtle_term(subject));
            for (i, (predicate, objects)) in predicates.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { " ;\n    " });
                if *predicate == RDF_TYPE {
                    out.push('a');
                } else {
                    out.push_str(&turtle_iri(predicate));
                }
                for (j, object) in objects.iter().enumerate() {
                    out.push_str(if j == 0 { " " } else { ",\n        " });
                    out.push_str(&turtle_term(object));
                }
            }
            out.push_str(" .\n");
        }
        out
    }

    /// The graph as JSON-LD: an inline `@context` of the prefixes (no remote context, so it parses offline) and
    /// an `@graph` of node objects, every value in expanded form (`{"@id"}` / `{"@value", "@type"|"@language"}`).
    pub(crate) fn to_jsonld(&self) -> Value {
        let mut context = Map::new();
        for (prefix, iri) in PREFIXES {
            context.insert((*prefix).to_string(), Value::String((*iri).to_string()));
        }
        let mut nodes = Vec::new();
        for (subject, predicates) in self.grouped() {
            let mut node = Map::new();
            node.insert("@id".into(), Value::String(node_id(subject)));
            for (predicate, objects) in predicates {
                if predicate == RDF_TYPE {
                    let types = objects
                        .iter()
                        .filter_map(|o| match o {
                            Term::Iri(iri) => Some(Value::String(compact(iri))),
                            _ => None,
                        })
                        .collect();
                    node.insert("@type".into(), Value::Array(types));
                    continue;
                }
                let values = objects.iter().map(|o| jsonld_value(o)).collect();
                node.insert(compact(predicate), Value::Array(values));
            }
            nodes.push(Value::Object(node));
        }
        json!({ "@context": Value::Object(context), "@graph": nodes })
    }
}

/// `prefix:local` when `iri` is in a known namespace and the local part is a safe PN_LOCAL; the IRI otherwise.
fn prefixed(iri: &str) -> Option<String> {
    PREFIXES.iter().find_map(|(prefix, base)| {
        let local = iri.strip_prefix(base)?;
        let safe = local.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        safe.then(|| format!("{prefix}:{local}"))
    })
}

fn turtle_iri(iri: &str) -> String {
    prefixed(iri).unwrap_or_else(|| format!("<{}>", escape_iri(iri)))
}

fn turtle_term(term: &Term) -> String {
    match term {
        Term::Iri(iri) => turtle_iri(iri),
        Term::Blank(label) => format!("_:{label}"),
        Term::Literal { value, kind } => {
            let quoted = format!("\"{}\"", escape_literal(value));
            match kind {
                LiteralKind::Plain => quoted,
                LiteralKind::Lang(lang) => format!("{quoted}@{lang}"),
                LiteralKind::Typed(datatype) if datatype == XSD_STRING => quoted,
                LiteralKind::Typed(datatype) => format!("{quoted}^^{}", turtle_iri(datatype)),
            }
        }
    }
}

/// A predicate or class IRI as a compact IRI when it has a prefix (the inline context defines them all).
fn compact(iri: &str) -> String {
    prefixed(iri).unwrap_or_else(|| iri.to_string())
}

fn node_id(term: &Term) -> String {
    match term {
        Term::Iri(iri) => iri.clone(),
        Term::Blank(label) => format!("_:{label}"),
        // Literals are never subjects.
        Term::Literal { value, .. } => value.clone(),
    }
}

fn jsonld_value(term: &Term) -> Value {
    match term {
        // Full IRIs in `@id` (never compacted), so no value can be mistaken for a prefixed name.
        Term::Iri(_) | Term::Blank(_) => json!({ "@id": node_id(term) }),
        Term::Literal { value, kind } => match kind {
            LiteralKind::Plain => json!({ "@value": value }),
            LiteralKind::Lang(lang) => json!({ "@value": value, "@language": lang }),
            LiteralKind::Typed(datatype) => json!({ "@value": value, "@type": compact(datatype) }),
        },
    }
}

/// Counts of subjects per `rdf:type`, keyed by compact IRI; used by tests of the documents.
#[cfg(test)]
pub(crate) fn type_counts(graph: &Graph) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (_, p, o) in graph.triples() {
        if p == RDF_TYPE
            && let Term::Iri(iri) = o
        {
            *counts.entry(compact(iri)).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_newlines_and_keep_chinese() {
        assert_eq!(escape_literal("臺南市 \"東區\"\n第二行\r\t\\"), "臺南市 \\\"東區\\\"\\n第二行\\r\\t\\\\");
        assert_eq!(escape_literal("a\u{1}b"), "a\\u0001b");
        let mut graph = Graph::default();
        let s = Term::iri("https://example.org/x");
        graph.add(&s, "dct:title", Term::lang("人口 \"統計\"\n", "zh-TW"));
        let ttl = graph.to_turtle();
        assert!(ttl.contains("dct:title \"人口 \\\"統計\\\"\\n\"@zh-TW ."), "{ttl}");
    }

    #[test]
    fn iris_percent_encode_forbidden_characters() {
        assert_eq!(escape_iri("https://x.org/a b<c>\"{d}|^`\\"), "https://x.org/a%20b%3Cc%3E%22%7Bd%7D%7C%5E%60%5C");
        // Non-ASCII is allowed in IRIs and kept.
        assert_eq!(escape_iri("https://x.org/臺南"), "https://x.org/臺南");
        let term = Term::iri("https://x.org/a b");
        assert_eq!(turtle_term(&term), "<https://x.org/a%20b>");
        assert_eq!(node_id(&term), "https://x.org/a%20b", "JSON-LD carries the same IRI");
        assert!(Term::checked_iri("not a url").is_none());
        assert!(Term::checked_iri("ftp://x.org/").is_none());
    }

    #[test]
    fn prefixed_names_only_when_safe() {
        assert_eq!(turtle_iri(&ns("dcat:Dataset")), "dcat:Dataset");
        assert_eq!(turtle_iri("http://purl.org/dc/terms/a.b"), "<http://purl.org/dc/terms/a.b>");
        assert_eq!(turtle_iri("http://purl.org/dc/terms/"), "<http://purl.org/dc/terms/>");
    }

    #[test]
    fn typed_literals_and_jsonld_values() {
        let mut graph = Graph::default();
        let s = graph.blank();
        graph.add(&s, "dcat:byteSize", Term::typed("12", "xsd:nonNegativeInteger"));
        graph.add_type(&s, "dcat:Distribution");
        let ttl = graph.to_turtle();
        assert!(
            ttl.contains("_:b1 dcat:byteSize \"12\"^^xsd:nonNegativeInteger ;\n    a dcat:Distribution ."),
            "{ttl}"
        );
        let doc = graph.to_jsonld();
        assert_eq!(doc["@graph"][0]["@type"], json!(["dcat:Distribution"]));
        assert_eq!(doc["@graph"][0]["dcat:byteSize"], json!([{"@value": "12", "@type": "xsd:nonNegativeInteger"}]));
        assert_eq!(type_counts(&graph).get("dcat:Distribution"), Some(&1));
    }
}
