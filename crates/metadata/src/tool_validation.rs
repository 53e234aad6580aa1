//! The documents checked by the reference tools: `frictionless validate` on the Data Package with a CSV in
//! tapwater's style, and rdflib on the DCAT Turtle and JSON-LD (parsed, isomorphic, the expected nodes present).
//!
//! The tools are Python programs, so these tests run only when `TAPWATER_TEST_VENV` names a virtual environment
//! with `frictionless` and `rdflib` installed (e.g. `python3 -m venv /var/tmp/tapwater-venv &&
//! /var/tmp/tapwater-venv/bin/pip install frictionless rdflib`); otherwise they print a notice and pass:
//!
//! ```text
//! TAPWATER_TEST_VENV=/var/tmp/tapwater-venv cargo test -p tapwater-metadata tool_validation -- --nocapture
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixtures;

fn venv() -> Option<PathBuf> {
    match std::env::var_os("TAPWATER_TEST_VENV") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            eprintln!("TAPWATER_TEST_VENV is not set: skipping the frictionless/rdflib validation");
            None
        }
    }
}

fn run(program: &Path, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{} {args:?} failed:\n{text}", program.display());
    text
}

#[test]
fn frictionless_validates_the_package_with_tapwater_csv() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.csv"), fixtures::CSV).unwrap();
    let package =
        crate::datapackage_with_path(&fixtures::site(), &fixtures::dataset(), &fixtures::version(), "data.csv");
    std::fs::write(dir.path().join("datapackage.json"), serde_json::to_string_pretty(&package).unwrap()).unwrap();
    let out = run(&venv.join("bin/frictionless"), &["validate", "datapackage.json"], dir.path());
    eprintln!("{out}");

    // And a CSV breaking the declared constraints is refused, so the schema is really checked.
    let bad = fixtures::CSV.replace("67000030,67000010,\"東區\"", "6700003X,67000010,北區");
    std::fs::write(dir.path().join("data.csv"), bad).unwrap();
    let status = Command::new(venv.join("bin/frictionless"))
        .args(["validate", "datapackage.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(!status.status.success(), "a broken CSV passed:\n{text}");
    assert!(text.contains("constraint-error"), "{text}");
}

const RDFLIB_CHECK: &str = r#"
import sys
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, DCAT

ttl, jsonld, datasets, distributions, title = sys.argv[1:6]
g_ttl = rdflib.Graph().parse(ttl, format="turtle")
g_json = rdflib.Graph().parse(jsonld, format="json-ld")
assert len(g_ttl) == len(g_json), f"{len(g_ttl)} triples in Turtle, {len(g_json)} in JSON-LD"
assert isomorphic(g_ttl, g_json), "the Turtle and JSON-LD graphs differ"
for g in (g_ttl, g_json):
    n = len(set(g.subjects(RDF.type, DCAT.Dataset)))
    assert n == int(datasets), f"{n} dcat:Dataset"
    n = len(set(g.subjects(RDF.type, DCAT.Distribution)))
    assert n == int(distributions), f"{n} dcat:Distribution"
    assert rdflib.Literal(title, lang="zh-TW") in set(g.objects()), "the Chinese title did not round-trip"
print(f"ok: {len(g_ttl)} triples, isomorphic")
"#;

fn check_rdf(venv: &Path, dir: &Path, name: &str, ttl: &str, jsonld: &serde_json::Value, counts: (usize, usize)) {
    std::fs::write(dir.join(format!("{name}.ttl")), ttl).unwrap();
    std::fs::write(dir.join(format!("{name}.jsonld")), serde_json::to_string_pretty(jsonld).unwrap()).unwrap();
    std::fs::write(dir.join("check.py"), RDFLIB_CHECK).unwrap();
    let title = fixtures::dataset().title;
    let out = run(
        &venv.join("bin/python"),
        &[
            "check.py",
            &format!("{name}.ttl"),
            &format!("{name}.jsonld"),
            &counts.0.to_string(),
            &counts.1.to_string(),
            &title,
        ],
        dir,
    );
    eprintln!("{name}: {out}");
}

#[test]
fn rdflib_reads_the_same_dcat_graph_from_turtle_and_jsonld() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let site = fixtures::site();
    let mut dataset = fixtures::dataset();
    // IRIs with characters Turtle must percent-encode, and literals it must escape.
    dataset.metadata.related.push("https://example.gov.tw/a b|{c}".into());
    dataset.metadata.description_en = Some("Tabs\tand \"quotes\" and back\\slashes\r\nand lines".into());
    let version = fixtures::version();
    let ttl = crate::dcat_dataset_turtle(&site, &dataset, Some(&version));
    let jsonld = crate::dcat_dataset_jsonld(&site, &dataset, Some(&version));
    check_rdf(&venv, dir.path(), "dataset", &ttl, &jsonld, (1, 4));

    let mut other = fixtures::dataset();
    other.slug = tapwater_types::Slug::parse("tainan-districts").unwrap();
    other.metadata.contact = None;
    let datasets = vec![(dataset, Some(version.clone())), (other, Some(version)), (fixtures::dataset(), None)];
    let ttl = crate::dcat_catalog_turtle(&site, &datasets);
    let jsonld = crate::dcat_catalog_jsonld(&site, &datasets);
    // The third entry is the first dataset again without a version: the same node, no new distributions.
    check_rdf(&venv, dir.path(), "catalog", &ttl, &jsonld, (2, 8));
}
