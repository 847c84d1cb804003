//! The HTML report: its structure from the renderer alone, then the page as
//! a real browser (headless Chromium) sees it after its scripts ran, and
//! screenshots of the data-race and deadlock sections.
//!
//! Without Chromium the browser tests print why and pass, except under CI
//! (`CI` set), where `.ci/run` installs it and its absence is a failure.
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use goro_analyzer::finding::{read_json_lines, Finding, FindingKind};
use goro_analyzer::render::{self, Entry, Sources};
use goro_analyzer::trace::{read_trace, TraceStep};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn findings(name: &str) -> Vec<Finding> {
    let file = std::fs::File::open(data().join("reports").join(name)).unwrap();
    let (good, bad) = read_json_lines(std::io::BufReader::new(file)).unwrap();
    assert!(bad.is_empty(), "fixture lines must parse: {bad:?}");
    good
}

fn traces(name: &str) -> Vec<TraceStep> {
    let file = std::fs::File::open(data().join("reports").join(name)).unwrap();
    read_trace(std::io::BufReader::new(file)).unwrap()
}

fn all_kinds() -> (Vec<Entry>, Vec<TraceStep>) {
    (
        render::gather(findings("all-kinds.jsonl")),
        traces("all-kinds.trace"),
    )
}

fn page(entries: &[Entry], steps: &[TraceStep]) -> String {
    render::html(entries, steps, &mut Sources::new(data().join("service")))
}

/// The section of finding `i`, as text.
fn section(html: &str, i: usize) -> &str {
    let start = html
        .find(&format!(
            "<section class=\"finding unexpected\" id=\"finding-{i}\""
        ))
        .or_else(|| html.find(&format!("id=\"finding-{i}\"")))
        .unwrap_or_else(|| panic!("no section for finding {i}"));
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}

/// Every value of `attr="..."` in `text`.
fn attrs<'a>(text: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!("{attr}=\"");
    text.match_indices(&pat)
        .map(|(i, _)| {
            let rest = &text[i + pat.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

fn kind_index(entries: &[Entry], kind: FindingKind) -> usize {
    entries.iter().position(|e| e.finding.kind == kind).unwrap()
}

#[test]
fn every_finding_has_a_section_and_a_summary_row() {
    let (entries, steps) = all_kinds();
    let html = page(&entries, &steps);
    assert_eq!(entries.len(), FindingKind::ALL.len());
    for (i, e) in entries.iter().enumerate() {
        let s = section(&html, i);
        assert!(s.contains(&format!("data-kind=\"{}\"", e.finding.kind)));
        assert!(html.contains(&format!("<a href=\"#finding-{i}\">")));
        assert!(
            s.contains("<svg class=\"seq\""),
            "{}: a diagram",
            e.finding.kind
        );
    }
    for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(remote), "self-contained: no {remote}");
    }
    assert!(
        !html.contains("<link"),
        "self-contained: no stylesheet links"
    );
}

#[test]
fn highlighted_sites_name_the_findings_own_lines() {
    let (entries, steps) = all_kinds();
    let html = page(&entries, &steps);
    for (i, e) in entries.iter().enumerate() {
        let f = &e.finding;
        let want: BTreeSet<String> = std::iter::once(&f.primary)
            .chain(&f.related)
            .map(|s| format!("{}:{}", s.file, s.line))
            .collect();
        let svg = &section(&html, i)[..section(&html, i).find("</svg>").unwrap()];
        let got: BTreeSet<String> = attrs(svg, "data-site")
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(got, want, "{}: highlighted sites", f.kind);
    }
}

#[test]
fn a_data_race_draws_two_red_unordered_accesses() {
    let (entries, steps) = all_kinds();
    let html = page(&entries, &steps);
    let s = section(&html, kind_index(&entries, FindingKind::DataRace));
    assert_eq!(s.matches("class=\"op hl race\"").count(), 2);
    assert!(s.contains("No path of arrows leads from one access"));
    // The fixture's trace has from_step edges: spawn and the lock.
    assert!(s.contains("class=\"hb go\""), "spawn edges are drawn");
    assert!(!s.contains("no-trace"));
}

#[test]
fn a_deadlock_draws_its_wait_for_cycle_and_a_lock_inversion_its_lock_graph() {
    let (entries, steps) = all_kinds();
    let html = page(&entries, &steps);
    let d = section(&html, kind_index(&entries, FindingKind::Deadlock));
    assert!(d.contains("class=\"graph wait-for\""));
    assert!(d.contains(">recv on pong<") && d.contains(">recv on ping<"));
    assert!(d.contains("class=\"hb send\""), "send -> receive edge");
    let l = section(&html, kind_index(&entries, FindingKind::LockOrderInversion));
    assert!(l.contains("class=\"graph lock-order\""));
    assert!(l.contains(">lock a<") && l.contains(">lock b<"));
    assert!(l.contains("class=\"hb unlock\""), "unlock -> lock edge");
    let leak = section(&html, kind_index(&entries, FindingKind::GoroutineLeak));
    assert!(leak.contains(">blocked forever<"));
}

#[test]
fn edges_are_inferred_from_objects_when_the_trace_has_no_from_step() {
    let (entries, mut steps) = all_kinds();
    for s in &mut steps {
        s.from_step = None;
        s.from_seq = None;
        s.peer = None;
    }
    let html = page(&entries, &steps);
    let d = section(&html, kind_index(&entries, FindingKind::Deadlock));
    assert!(d.contains("class=\"hb send\""), "k-th send -> k-th recv");
    assert!(d.contains("class=\"hb go\""), "go -> first step");
    let l = section(&html, kind_index(&entries, FindingKind::LockOrderInversion));
    assert!(l.contains("class=\"hb unlock\""), "unlock -> next lock");
    let r = section(&html, kind_index(&entries, FindingKind::DataRace));
    assert!(r.contains("No path of arrows"));
}

#[test]
fn findings_without_a_trace_draw_their_sites_and_say_so() {
    let (entries, _) = all_kinds();
    let html = page(&entries, &[]);
    for i in 0..entries.len() {
        let s = section(&html, i);
        assert!(s.contains("class=\"caption no-trace\""));
        assert!(s.contains("class=\"lane-label\""));
    }
}

#[test]
fn sources_show_context_and_an_unreadable_file_is_a_note() {
    let (entries, steps) = all_kinds();
    let html = page(&entries, &steps);
    let s = section(&html, 0);
    assert!(s.contains("<span class=\"at\">"), "the site's own line");
    assert!(s.contains("<span class=\"ctx\">"), "context lines");
    let html = render::html(
        &entries,
        &steps,
        &mut Sources::new(data().join("no-such-dir")),
    );
    assert!(html.contains("class=\"unreadable\">note: cannot read src/service.rs"));
    assert!(html.contains("<svg class=\"seq\""), "still a whole report");
}

#[test]
fn user_text_is_escaped() {
    let (mut entries, steps) = all_kinds();
    let f = &mut entries[0].finding;
    f.message = "<script>alert(1)</script> & \"quotes\"".into();
    f.primary.file = "src/<evil>.rs".into();
    f.notes.push("<img src=x onerror=alert(2)>".into());
    let html = page(&entries, &steps);
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
    assert!(html.contains("src/&lt;evil&gt;.rs"));
}

/// 100 findings, each with a 200-operation trace: under 2 MB.
fn hundred() -> (Vec<Entry>, Vec<TraceStep>) {
    let (entries, _) = all_kinds();
    let mut findings = Vec::new();
    let mut steps = Vec::new();
    for i in 0..100u64 {
        let mut f = entries[(i % 9) as usize].finding.clone();
        f.seed = 1000 + i;
        f.primary.line = 1 + i as u32;
        f.primary.column = 100 + i as u32;
        f.test = Some(format!("svc::t{i}"));
        for k in 0..200u64 {
            let g = 1 + k % 4;
            steps.push(TraceStep {
                schema: goro_analyzer::trace::TRACE_SCHEMA.into(),
                test: f.test.clone(),
                seed: f.seed,
                step: k,
                goroutine: g,
                goroutine_name: Some(format!("worker-{g}")),
                op: ["send", "recv", "lock", "unlock", "read"][(k % 5) as usize].into(),
                file: "src/service.rs".into(),
                line: 10 + (k % 50) as u32,
                column: 5,
                obj: Some(k % 3),
                ..TraceStep::default()
            });
        }
        findings.push(f);
    }
    (render::gather(findings), steps)
}

#[test]
fn a_report_of_100_findings_is_under_2_mb() {
    let (entries, steps) = hundred();
    assert_eq!(entries.len(), 100);
    let html = page(&entries, &steps);
    eprintln!("100 findings: {} bytes", html.len());
    if let Some(out) = std::env::var_os("GORO_HTML_OUT") {
        // For timing the page by hand in a browser.
        std::fs::write(out, &html).unwrap();
    }
    assert!(
        html.len() < 2 * 1024 * 1024,
        "100 findings take {} bytes",
        html.len()
    );
}

// ---- in a real browser ----

/// Chromium, or `None` (with the reason printed) when it is absent outside
/// CI; under CI its absence fails.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new(name).arg("--version").output() {
            if out.status.success() {
                return Some(PathBuf::from(name));
            }
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but chromium is not installed (.ci/run installs it)"
    );
    eprintln!("skipped: chromium is not installed (apt-get install chromium)");
    None
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("goro-html-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn browser(chromium: &Path, profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs")
}

/// The DOM after the page's scripts ran.
fn dump_dom(chromium: &Path, file: &Path) -> String {
    let profile = file.with_extension("profile");
    let out = browser(
        chromium,
        &profile,
        &["--dump-dom".into()],
        &format!("file://{}", file.display()),
    );
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_page_in_browser(chromium: &Path, html: &str, entries: &[Entry], tag: &str) {
    let dir = tmpdir(tag);
    let file = dir.join("report.html");
    std::fs::write(&file, html).unwrap();
    let dom = dump_dom(chromium, &file);
    assert!(dom.contains("data-script=\"ran\""), "the page's script ran");
    assert!(
        dom.contains("<div id=\"script-errors\" hidden=\"\"></div>"),
        "script errors: {}",
        &dom[dom.find("script-errors").unwrap()..]
            [..300.min(dom.len() - dom.find("script-errors").unwrap())]
    );
    for (i, e) in entries.iter().enumerate() {
        let s = section(&dom, i);
        // One label per lane, each lane a goroutine of the trace or sites.
        let lanes = attrs(s, "data-goroutine");
        let labels = s.matches("class=\"lane-label\"").count();
        assert!(!lanes.is_empty(), "{}: lanes", e.finding.kind);
        assert_eq!(
            lanes.len(),
            labels,
            "{}: every lane labelled",
            e.finding.kind
        );
        let f = &e.finding;
        let want: BTreeSet<String> = std::iter::once(&f.primary)
            .chain(&f.related)
            .map(|s| format!("{}:{}", s.file, s.line))
            .collect();
        for site in attrs(s, "data-site") {
            assert!(
                want.contains(site)
                    || f.goroutines
                        .iter()
                        .any(|g| g.created_at.as_deref().is_some_and(|c| c.starts_with(site))),
                "{}: highlighted {site} is not one of its sites",
                f.kind
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_all_kinds_report_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let (entries, steps) = all_kinds();
    assert_page_in_browser(&chromium, &page(&entries, &steps), &entries, "all-kinds");
}

#[test]
fn the_demo_crates_report_in_chromium() {
    let Some(chromium) = chromium() else { return };
    // Recorded with `GORO_RACE=1 GORO_TRACE=1 GORO_REPORT_DIR=.. cargo test -p goro-demo`.
    let entries = render::gather(findings("demo.jsonl"));
    assert!(!entries.is_empty());
    let steps = traces("demo.trace");
    assert!(!steps.is_empty());
    // The demo's report names files relative to the workspace root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let html = render::html(&entries, &steps, &mut Sources::new(root));
    assert!(
        !html.contains("class=\"unreadable\""),
        "the demo's sources are read"
    );
    assert!(
        html.contains("class=\"op hl race\""),
        "the demo's race is drawn from its trace"
    );
    // Recorded with the shrinker: the shrunk schedules, with arrows from the
    // trace's own from_seq and go peers.
    assert!(html.contains("shrunk from "), "the shrink summary is shown");
    assert!(html.contains("class=\"hb go\""), "spawn arrows");
    assert!(html.contains("class=\"hb send\"") || html.contains("class=\"hb unlock\""));
    assert_page_in_browser(&chromium, &html, &entries, "demo");
}

/// Pixels that are not the page's white background.
fn ink(png_file: &Path) -> (usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bpp = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let total = px.len() / bpp;
    let inked = px
        .chunks(bpp)
        .filter(|p| p.iter().take(3).any(|&c| c < 0xf0))
        .count();
    (inked, total)
}

/// Screenshots one finding alone (a page per finding: a headless screenshot
/// does not scroll to an anchor).
fn screenshot(chromium: &Path, kind: FindingKind) -> PathBuf {
    let (entries, steps) = all_kinds();
    let one: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.finding.kind == kind)
        .collect();
    let dir = tmpdir(kind.as_str());
    let file = dir.join("report.html");
    std::fs::write(&file, page(&one, &steps)).unwrap();
    let shot = dir.join("shot.png");
    let out = browser(
        chromium,
        &dir.join("profile"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,900".into(),
        ],
        &format!("file://{}", file.display()),
    );
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    shot
}

#[test]
fn screenshots_of_a_data_race_and_a_deadlock_are_not_blank() {
    let Some(chromium) = chromium() else { return };
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots-html");
    for kind in [FindingKind::DataRace, FindingKind::Deadlock] {
        let shot = screenshot(&chromium, kind);
        let (inked, total) = ink(&shot);
        assert!(total >= 1200 * 900, "{kind}: a full window");
        // Text, lanes, boxes and arrows: several percent of the window.
        assert!(
            inked * 50 > total,
            "{kind}: only {inked} of {total} pixels drawn"
        );
        let keep = snapshots.join(format!("{kind}.png"));
        if std::env::var_os("GORO_UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(&snapshots).unwrap();
            std::fs::copy(&shot, &keep).unwrap();
        }
        let _ = std::fs::remove_dir_all(shot.parent().unwrap());
    }
}

#[test]
fn the_kept_snapshots_are_not_blank() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots-html");
    for kind in ["data-race", "deadlock"] {
        let (inked, total) = ink(&snapshots.join(format!("{kind}.png")));
        assert!(
            inked * 50 > total,
            "{kind}.png: only {inked} of {total} pixels drawn"
        );
    }
}

#[test]
fn tests_sharing_a_seed_do_not_mix_their_schedules() {
    // In the demo's report every test's first schedule has seed 0; the lost
    // cancel found without a test name has its own six-step trace.
    let nameless: Vec<Finding> = findings("demo.jsonl")
        .into_iter()
        .filter(|f| f.test.is_none())
        .collect();
    assert_eq!(nameless.len(), 1);
    let entries = render::gather(nameless);
    let html = page(&entries, &traces("demo.trace"));
    let i = 0;
    let s = section(&html, i);
    let svg = &s[..s.find("</svg>").unwrap()];
    assert!(svg.contains("handler.rs"), "its own operations");
    assert!(!svg.contains("cache.rs"), "not the cache test's");
    assert!(!svg.contains("pool.rs"), "not the pool test's");
}
