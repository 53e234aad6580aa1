//! The `tapwater` binary: publishing from the command line into the same catalog a server reads, clear one-line
//! errors, and a `kill -9` in the middle of a large publish that loses nothing.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::tapwater_cli as tapwater;
use crate::support::*;

#[tokio::test]
async fn cli_publishes_into_a_running_server() {
    let t = spawn_app().await;
    let file = t.dir.path().join("stops.csv");
    std::fs::write(&file, "區,站名,到達\n三民區,建工路口,07:30\n苓雅區,光華路,08:05\n").unwrap();
    let output = tapwater(&t)
        .args(["publish", file.to_str().unwrap(), "--dataset", "stops", "--title", "垃圾車站點"])
        .args(["--publisher", "kcg", "--frequency", "weekly", "--tag", "垃圾車", "--tag", "清潔", "--quiet"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("published stops v1: 2 rows"));
    let (status, body) = t.get_json(&t.url_with("/api/v1/datasets/stops/rows", &[("區", "苓雅區")])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0]["站名"], "光華路");
    let (_, detail) = t.get_json(&t.url("/api/v1/datasets/stops")).await;
    assert_eq!(detail["title"], "垃圾車站點");
    assert_eq!(detail["frequency"], "weekly");
    assert_eq!(detail["tags"], serde_json::json!(["垃圾車", "清潔"]));
}

#[tokio::test]
async fn cli_errors_are_one_line_with_the_place() {
    let t = spawn_app().await;
    let bad = t.dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n1,2,3\n").unwrap();
    let output = tapwater(&t).args(["publish", bad.to_str().unwrap(), "--dataset", "bad", "--quiet"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("bad.csv") && lines[0].contains('3'), "names file and line: {stderr}");
    let missing = tapwater(&t).args(["publish", "/no/such/file.csv", "--dataset", "x", "--quiet"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/file.csv"));
    let slug = tapwater(&t).args(["publish", bad.to_str().unwrap(), "--dataset", "Bad Slug"]).output().unwrap();
    assert!(!slug.status.success());
    assert!(String::from_utf8_lossy(&slug.stderr).contains("invalid_slug"));
}

/// A publish killed with SIGKILL at any point leaves the previous version serving and no half-written version.
#[tokio::test]
async fn kill_9_during_a_large_publish_keeps_the_previous_version() {
    let t = spawn_app().await;
    t.publish_new("big", "v1.csv", generated_csv(100)).await;
    let file = t.dir.path().join("large.csv");
    std::fs::write(&file, generated_csv(1_500_000)).unwrap();
    let mut child =
        tapwater(&t).args(["publish", file.to_str().unwrap(), "--dataset", "big", "--quiet"]).spawn().unwrap();
    // Let it get well into the work: staging a Parquet file means type inference is over.
    let started = Instant::now();
    let staging = t.data_dir().join("tmp");
    loop {
        let converting = std::fs::read_dir(&staging)
            .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("parquet-")))
            .unwrap_or(false);
        if converting || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let finished_early = child.try_wait().unwrap().is_some();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!finished_early, "the publish finished before it could be killed; make the file larger");

    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/big/rows?_limit=1")).await;
    assert_eq!(rows["total"], 100, "the previous version still serves");
    let (_, versions) = t.get_json(&t.url("/api/v1/datasets/big/versions")).await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "no half-written version is visible");
    // The killed publish may have left files under an id no catalog row points to; `tapwater gc` removes them.
    let gc = tapwater(&t).args(["gc", "--older-than-minutes", "0"]).output().unwrap();
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    let left = std::fs::read_dir(t.data_dir().join("files").join("versions")).unwrap().count();
    assert_eq!(left, 1, "only the committed version's files remain");
    // And the catalog is not left locked: the next publish goes through.
    let (status, v2) = t.publish("big", "v2.csv", generated_csv(10)).await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["seq"], 2);
}

/// Every flag the binary accepts is documented in docs/operations.md (a setting nobody can find does not exist).
#[test]
fn every_cli_flag_is_documented() {
    let docs = include_str!("../../../../docs/operations.md");
    // Every subcommand, found by walking the `Commands:` lists of the help pages, so a new one is covered at once.
    let mut pending = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        seen += 1;
        let output = Command::new(env!("CARGO_BIN_EXE_tapwater")).args(&path).arg("--help").output().unwrap();
        assert!(output.status.success(), "{path:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        let commands = help.split("Commands:").nth(1).map(|rest| rest.split("\n\n").next().unwrap_or(""));
        for line in commands.unwrap_or("").lines() {
            if let Some(name) = line.split_whitespace().next().filter(|n| *n != "help") {
                pending.push(path.iter().cloned().chain([name.to_string()]).collect());
            }
        }
        for word in help.split_whitespace() {
            let flag = word.trim_matches(['(', ')', ',', '.', ';']);
            let Some(name) = flag.strip_prefix("--") else { continue };
            let name = name.split(['=', '<', '[']).next().unwrap_or("");
            if name.is_empty() || ["help", "version"].contains(&name) {
                continue;
            }
            assert!(docs.contains(&format!("`--{name}")), "--{name} ({path:?}) is not in docs/operations.md");
        }
    }
    // tapwater, its 8 subcommands, pipeline show/set and the sources subcommands at least.
    assert!(seen >= 13, "only {seen} help pages found");
}
