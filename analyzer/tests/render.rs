//! Snapshot tests of the renderers over hand-written findings of every kind
//! (tests/data/reports/all-kinds.jsonl, pointing into
//! tests/data/service/src/service.rs), and structural checks of the SARIF.
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use goro_analyzer::finding::{read_json_lines, Finding, FindingKind};
use goro_analyzer::render::{self, Entry, RunOutcome, Sources, Status};
use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn all_kinds() -> Vec<Finding> {
    let file = std::fs::File::open(data().join("reports/all-kinds.jsonl")).unwrap();
    let (good, bad) = read_json_lines(std::io::BufReader::new(file)).unwrap();
    assert!(bad.is_empty(), "fixture lines must parse: {bad:?}");
    good
}

fn sources() -> Sources {
    Sources::new(data().join("service"))
}

#[test]
fn the_fixture_covers_every_kind() {
    let kinds: BTreeSet<FindingKind> = all_kinds().iter().map(|f| f.kind).collect();
    assert_eq!(kinds, FindingKind::ALL.into_iter().collect());
}

#[test]
fn human_rendering_of_every_kind() {
    let entries = render::gather(all_kinds());
    let mut sources = sources();
    for e in &entries {
        let text = render::human(std::slice::from_ref(e), &mut sources, false);
        // Every site a finding names is labelled on its real source line.
        for site in std::iter::once(&e.finding.primary).chain(&e.finding.related) {
            let line = sources.line_text(&site.file, site.line).unwrap();
            assert!(
                text.contains(&line),
                "{}: no `{line}` in\n{text}",
                e.finding.kind
            );
            assert!(text.contains(&format!("{} by goroutine {}", site.op, site.goroutine)));
        }
        assert!(text.contains(&format!("= help: {}", e.finding.help)));
        assert!(text.contains(&format!(
            "= reproduce: cargo race replay --seed {}",
            e.finding.seed
        )));
        insta::assert_snapshot!(format!("human_{}", e.finding.kind), text);
    }
}

#[test]
fn expected_findings_render_as_warnings() {
    let entries = render::gather(all_kinds());
    let expected: Vec<&Entry> = entries.iter().filter(|e| e.finding.expected).collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(expected[0].status, Status::Expected);
    let text = render::human(&[expected[0].clone()], &mut sources(), false);
    assert!(text.starts_with("warning[double-close]"), "{text}");
    assert!(text.contains("expected by its test: does not fail the run"));
}

#[test]
fn an_unreadable_source_renders_without_a_snippet() {
    let entries = render::gather(all_kinds());
    let race = entries
        .iter()
        .find(|e| e.finding.kind == FindingKind::DataRace)
        .unwrap();
    let mut sources = Sources::new(data().join("no-such-dir"));
    let text = render::human(std::slice::from_ref(race), &mut sources, false);
    assert!(text.contains("src/service.rs:19:23"), "{text}");
    assert!(text.contains("source not available"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn color_is_ansi_only_when_asked() {
    let entries = render::gather(all_kinds());
    let plain = render::human(&entries, &mut sources(), false);
    let colored = render::human(&entries, &mut sources(), true);
    assert!(!plain.contains('\u{1b}'));
    assert!(colored.contains("\u{1b}["));
}

#[test]
fn summary_table_counts_kinds_and_names_tests() {
    let entries = render::gather(all_kinds());
    let text = render::summary(&entries, RunOutcome::Failed(Some(101)));
    insta::assert_snapshot!(text);
}

#[test]
fn json_lines_round_trip_in_the_analyzer_schema() {
    let findings = all_kinds();
    let entries = render::gather(findings.clone());
    let text = render::json_lines(&entries);
    assert_eq!(text.lines().count(), findings.len());
    let (back, bad) = read_json_lines(text.as_bytes()).unwrap();
    assert!(bad.is_empty());
    let mut want = findings;
    want.sort_by_key(|f| f.key());
    let mut got = back;
    got.sort_by_key(|f| f.key());
    assert_eq!(got, want);
    insta::assert_snapshot!(text);
}

fn sarif_text() -> (Value, String) {
    let entries = render::gather(all_kinds());
    let mut sources = sources();
    let log = render::sarif(&entries, &mut sources);
    // The absolute source root differs between machines.
    let root = log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let text = serde_json::to_string_pretty(&log)
        .unwrap()
        .replace(&root, "file:///ROOT/");
    (log, text)
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!(sarif_text().1);
}

/// The properties the SARIF 2.1.0 schema requires, checked by hand (no
/// schema validator among the dependencies), plus what GitHub code scanning
/// needs to show a result on a line.
#[test]
fn sarif_has_the_schema_required_fields() {
    let (log, _) = sarif_text();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "cargo-race");
    let rules = driver["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        rule_ids,
        FindingKind::ALL.map(FindingKind::as_str).to_vec(),
        "one rule per finding kind"
    );
    for r in rules {
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
    }
    let root = runs[0]["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );

    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 9);
    let check_location = |loc: &Value| {
        let phys = &loc["physicalLocation"];
        let uri = phys["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(uri, "src/service.rs");
        assert_eq!(phys["artifactLocation"]["uriBaseId"], "SRCROOT");
        assert!(phys["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(phys["region"]["startColumn"].as_u64().unwrap() >= 1);
        assert!(!loc["message"]["text"].as_str().unwrap().is_empty());
    };
    for r in results {
        let rule_id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], rule_id, "ruleIndex points at its rule");
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        assert!(["error", "warning", "note", "none"].contains(&r["level"].as_str().unwrap()));
        let locations = r["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1);
        check_location(&locations[0]);
        for rel in r["relatedLocations"].as_array().unwrap() {
            assert!(rel["id"].as_u64().is_some(), "related locations need ids");
            check_location(rel);
        }
        assert_eq!(
            r["partialFingerprints"]["goroFinding/v1"]
                .as_str()
                .unwrap()
                .len(),
            16
        );
        if let Some(flows) = r["codeFlows"].as_array() {
            for flow in flows {
                for tf in flow["threadFlows"].as_array().unwrap() {
                    let locs = tf["locations"].as_array().unwrap();
                    assert!(!locs.is_empty(), "threadFlow.locations is required");
                    for l in locs {
                        check_location(&l["location"]);
                    }
                }
            }
        }
    }
    // The two sides of the race, one thread flow per goroutine.
    let race = results.iter().find(|r| r["ruleId"] == "data-race").unwrap();
    let flows = race["codeFlows"][0]["threadFlows"].as_array().unwrap();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0]["id"], "goroutine-2");
    assert_eq!(flows[1]["id"], "goroutine-3");
    // Only the expected finding is suppressed.
    let suppressed: Vec<&str> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(suppressed, ["double-close"]);
}

#[test]
fn github_annotations_one_per_finding() {
    let entries = render::gather(all_kinds());
    let text = render::github_annotations(&entries);
    assert_eq!(text.lines().count(), entries.len());
    for line in text.lines() {
        assert!(
            line.starts_with("::error file=src/service.rs,line=")
                || line.starts_with("::warning file=src/service.rs,line="),
            "{line}"
        );
        assert!(line.contains(",col="));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn a_shrunk_finding_says_how_short_its_schedule_is() {
    let mut f = all_kinds().remove(0);
    let plain = render::human(&render::gather(vec![f.clone()]), &mut sources(), false);
    assert!(!plain.contains("shortest schedule"), "{plain}");
    f.shrink = Some(goro_analyzer::finding::Shrink {
        original_steps: 40,
        original_preemptions: 5,
        steps: 12,
        preemptions: 1,
        schedule: "_x3,2".into(),
        replays: 9,
    });
    let text = render::human(&render::gather(vec![f]), &mut sources(), false);
    assert!(
        text.contains(
            "= shortest schedule: shrunk from 40 steps and 5 preemptions to 12 steps and 1 preemption"
        ),
        "{text}"
    );
}
