//! One self-contained HTML page: a summary table and, per finding, a
//! sequence diagram of its schedule, the graphs that explain it and its
//! source lines.
//!
//! Everything is drawn here, in Rust, as inline SVG: the page needs no
//! network and no script to show its essentials. The small inline script
//! only adds a filter box and hover highlighting, and records its own
//! errors in `#script-errors` (the browser tests assert it stays empty).
//!
//! Happens-before edges come from a trace step's `from_step` when the trace
//! has it; otherwise they are inferred from the operations and their
//! per-schedule object ids (`obj`): the k-th send on a channel pairs with its
//! k-th receive, an unlock precedes the next lock of the same mutex, and so
//! on. Both fields are optional: a trace without them still draws its
//! lanes, and a finding without a trace draws its sites alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::{goroutine_name, reproduce, Entry, Sources, Status};
use crate::finding::{Finding, FindingKind, Site};
use crate::trace::TraceStep;

/// Lines of context shown above and below each site.
const CONTEXT: u32 = 2;
/// The most operations one diagram draws (the last ones: where the finding
/// happened). Keeps a report of many long traces small.
const MAX_OPS: usize = 60;
const LANE_W: usize = 170;
const ROW_H: usize = 26;
const TOP: usize = 58;

/// Renders `entries` as one HTML page, drawing each finding's schedule from
/// the steps of `traces` that share its seed and test name. Source lines
/// come from `sources`; a file that cannot be read is a note in the page,
/// never an error. All user text is escaped.
///
/// # Examples
///
/// ```
/// # use goro_analyzer::finding::{Finding, FindingKind, Site, SCHEMA};
/// use goro_analyzer::render::{gather, html, Sources};
///
/// let site = Site { file: "src/<lib>.rs".into(), line: 2, column: 5, goroutine: 1,
///     goroutine_name: None, op: "close".into(), frames: vec![] };
/// let finding = Finding { schema: SCHEMA.into(), kind: FindingKind::DoubleClose,
///     observed: true, message: "close of closed channel".into(), primary: site,
///     related: vec![], goroutines: vec![], notes: vec![], help: String::new(),
///     seed: 3, schedule: 0, test: None, expected: false, shrink: None,
///     strategy: None };
///
/// let page = html(&gather(vec![finding]), &[], &mut Sources::new("/nonexistent"));
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains(r#"<section class="finding unexpected" id="finding-0""#));
/// assert!(page.contains("src/&lt;lib&gt;.rs:2"), "file names are escaped");
/// ```
pub fn html(entries: &[Entry], traces: &[TraceStep], sources: &mut Sources) -> String {
    let mut out = String::with_capacity(16 * 1024 + entries.len() * 8 * 1024);
    out.push_str(HEAD);
    let failing = entries.iter().filter(|e| e.status.fails()).count();
    let _ = writeln!(
        out,
        "<header><h1>goro race report</h1><p class=\"counts\">{} finding(s), {} failing the run</p>\
         <input id=\"filter\" type=\"search\" placeholder=\"filter by kind, message, test or file\" hidden></header>",
        entries.len(),
        failing
    );
    summary_table(&mut out, entries);
    for (i, entry) in entries.iter().enumerate() {
        let steps = trace_of(&entry.finding, traces);
        section(&mut out, i, entry, &steps, sources);
    }
    out.push_str(SCRIPT);
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn summary_table(out: &mut String, entries: &[Entry]) {
    out.push_str(
        "<table class=\"summary\"><thead><tr><th>kind</th><th>message</th><th>test</th>\
         <th>site</th></tr></thead><tbody>\n",
    );
    for (i, e) in entries.iter().enumerate() {
        let f = &e.finding;
        let _ = writeln!(
            out,
            "<tr class=\"{}\" data-finding=\"finding-{i}\"><td><span class=\"kind\">{}</span></td>\
             <td><a href=\"#finding-{i}\">{}</a></td><td>{}</td><td><code>{}</code></td></tr>",
            status_class(e.status),
            f.kind,
            esc(&f.message),
            esc(&e.tests.join(", ")),
            esc(&f.primary.location()),
        );
    }
    out.push_str("</tbody></table>\n");
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Unexpected => "unexpected",
        Status::Expected => "expected",
        Status::Known => "known",
    }
}

/// One operation of the diagram: a trace step (a site, when the finding
/// has no trace).
type Op = TraceStep;

fn location(o: &Op) -> String {
    format!("{}:{}:{}", o.file, o.line, o.column)
}

/// The steps of the schedule that found `f`, as diagram operations: its
/// shrunk schedule when the trace has it, else the schedule as explored.
fn trace_of(f: &Finding, traces: &[TraceStep]) -> Vec<Op> {
    let shrunk = |s: &TraceStep| {
        s.is_shrunk()
            && f.shrink
                .as_ref()
                .is_none_or(|k| s.replay.as_deref() == Some(k.schedule.as_str()))
    };
    let mine = |s: &&TraceStep| s.seed == f.seed && s.test == f.test;
    let want_shrunk = f.shrink.is_some() && traces.iter().filter(mine).any(shrunk);
    let mut ops: Vec<Op> = traces
        .iter()
        .filter(|s| {
            if want_shrunk {
                shrunk(s)
            } else {
                !s.is_shrunk()
            }
        })
        // The process that wrote the finding wrote its trace with the same
        // seed and test name (none when the test was unknown): a looser
        // match would mix the schedules of tests that share a seed.
        .filter(|s| s.seed == f.seed && s.test == f.test)
        // Call and return are the shadow stack's bookkeeping, not
        // synchronization; drawn only where a site names one (a leak's
        // `return` of main).
        .filter(|s| {
            (s.op != "call" && s.op != "return")
                || sites(f).any(|(_, site)| {
                    site.goroutine == s.goroutine && site.file == s.file && site.line == s.line
                })
        })
        .cloned()
        .collect();
    if ops.len() > MAX_OPS {
        ops.drain(..ops.len() - MAX_OPS);
    }
    ops
}

/// The finding's sites: primary first.
fn sites(f: &Finding) -> impl Iterator<Item = (bool, &Site)> {
    std::iter::once((true, &f.primary)).chain(f.related.iter().map(|s| (false, s)))
}

fn section(out: &mut String, i: usize, entry: &Entry, trace: &[Op], sources: &mut Sources) {
    let f = &entry.finding;
    let _ = writeln!(
        out,
        "<section class=\"finding {}\" id=\"finding-{i}\" data-kind=\"{}\">\n\
         <h2><span class=\"kind\">{}</span> {}</h2>",
        status_class(entry.status),
        f.kind,
        f.kind,
        esc(&f.message)
    );
    let _ = write!(
        out,
        "<p class=\"meta\">at <code>{}</code> &middot; {} &middot; seed {} &middot; {}",
        esc(&f.primary.location()),
        if f.observed {
            format!("observed in schedule {}", f.schedule)
        } else {
            "predicted by happens-before".to_string()
        },
        f.seed,
        match entry.tests.as_slice() {
            [] => "test unknown".to_string(),
            t => format!("test <code>{}</code>", esc(&t.join(", "))),
        }
    );
    shrink_line(out, f);
    out.push_str("</p>\n<div class=\"cols\"><div class=\"diagram\">\n");
    if trace.len() == MAX_OPS {
        let _ = writeln!(
            out,
            "<p class=\"caption\">The last {MAX_OPS} operations of the schedule, where the \
             finding happened; <code>{}</code> prints it whole.</p>",
            esc(&reproduce(entry))
        );
    }
    let drawn = if trace.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"caption no-trace\">No schedule trace was recorded for this finding: \
             the diagram shows its sites only. <code>{}</code> records one.</p>",
            esc(&reproduce(entry))
        );
        sites_as_ops(f)
    } else {
        trace.to_vec()
    };
    sequence_diagram(out, f, &drawn);
    match f.kind {
        FindingKind::Deadlock | FindingKind::GoroutineLeak => wait_graph(out, f),
        FindingKind::LockOrderInversion => lock_graph(out, f),
        _ => {}
    }
    out.push_str("</div>\n<div class=\"source\">\n");
    source_pane(out, f, sources);
    out.push_str("<ul class=\"notes\">");
    for n in &f.notes {
        let _ = write!(out, "<li>note: {}</li>", esc(n));
    }
    if !f.help.is_empty() {
        let _ = write!(out, "<li class=\"help\">help: {}</li>", esc(&f.help));
    }
    let _ = write!(
        out,
        "<li>reproduce: <code>{}</code></li></ul>",
        esc(&reproduce(entry))
    );
    out.push_str("\n</div></div>\n</section>\n");
}

/// The shrinker's numbers, when the finding carries them.
fn shrink_line(out: &mut String, f: &Finding) {
    if let Some(k) = &f.shrink {
        let _ = write!(out, " &middot; {}", esc(&k.summary()));
    }
}

/// Without a trace: one operation per site, related sites first (they
/// usually came first), so the lanes and highlights still show.
fn sites_as_ops(f: &Finding) -> Vec<Op> {
    let mut v: Vec<&Site> = f.related.iter().collect();
    v.push(&f.primary);
    v.iter()
        .enumerate()
        .map(|(i, s)| Op {
            step: i as u64,
            goroutine: s.goroutine,
            goroutine_name: s.goroutine_name.clone(),
            op: s.op.clone(),
            file: s.file.clone(),
            line: s.line,
            column: s.column,
            ..Op::default()
        })
        .collect()
}

/// For each site, the index of the operation it names: the last one of its
/// goroutine at its line (the finding is where the schedule ended), at its
/// column if there is one there, else of its operation, else any.
fn site_rows(f: &Finding, ops: &[Op]) -> Vec<(usize, bool)> {
    let mut rows = Vec::new();
    for (primary, s) in sites(f) {
        let at = |o: &Op| o.goroutine == s.goroutine && o.file == s.file && o.line == s.line;
        let found = ops
            .iter()
            .rposition(|o| at(o) && o.column == s.column)
            .or_else(|| ops.iter().rposition(|o| at(o) && o.op == s.op))
            .or_else(|| ops.iter().rposition(at));
        if let Some(i) = found {
            if !rows.iter().any(|&(r, _)| r == i) {
                rows.push((i, primary));
            }
        }
    }
    rows
}

const RELEASES: [&str; 5] = ["unlock", "unlock (write)", "runlock", "release", "wg.add"];
const SENDS: [&str; 2] = ["send", "send (rendezvous)"];

/// Happens-before edges between operations (indices into `ops`).
fn edges(f: &Finding, ops: &[Op]) -> Vec<(usize, usize, &'static str)> {
    let mut out = Vec::new();
    // `go` names the goroutine it created: an arrow to that goroutine's
    // first operation.
    let spawns: Vec<(usize, usize, &'static str)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let child = o.peer.filter(|_| o.op == "go")?;
            let j = ops.iter().position(|c| c.goroutine == child)?;
            (j > i).then_some((i, j, "go"))
        })
        .collect();
    if ops.iter().any(|o| o.from_seq.is_some()) {
        let at: HashMap<u64, usize> = ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| Some((o.seq?, i)))
            .collect();
        for (j, o) in ops.iter().enumerate() {
            if let Some(&i) = o.from_seq.and_then(|q| at.get(&q)) {
                if i < j && ops[i].goroutine != o.goroutine {
                    out.push((i, j, edge_kind(&ops[i].op)));
                }
            }
        }
        out.extend(spawns);
        return out;
    }
    let explicit = ops.iter().any(|o| o.from_step.is_some());
    if explicit {
        for (j, o) in ops.iter().enumerate() {
            let Some(from) = o.from_step else { continue };
            // A step may hold several operations of one goroutine: the
            // synchronizing one is the last before `o` in that step.
            if let Some(i) = ops[..j].iter().rposition(|p| p.step == from) {
                if ops[i].goroutine != o.goroutine {
                    out.push((i, j, edge_kind(&ops[i].op)));
                }
            }
        }
        out.extend(spawns);
        return out;
    }
    if !spawns.is_empty() {
        out.extend(spawns);
    } else {
        // go -> the child's first operation: goroutine ids are handed out in
        // spawn order, main is 1.
        let parents: HashMap<u64, Option<u64>> =
            f.goroutines.iter().map(|g| (g.id, g.parent)).collect();
        let mut first: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, o) in ops.iter().enumerate() {
            first.entry(o.goroutine).or_insert(i);
        }
        let gos: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].op == "go").collect();
        // Only a trace that starts in main numbers its spawns from goroutine 2.
        let complete = ops.first().is_some_and(|o| o.goroutine == 1);
        if complete {
            for (k, &i) in gos.iter().enumerate() {
                let child = k as u64 + 2;
                let parent_ok = parents
                    .get(&child)
                    .is_none_or(|p| p.is_none_or(|p| p == ops[i].goroutine));
                if let Some(&j) = first.get(&child) {
                    if j > i && parent_ok {
                        out.push((i, j, "go"));
                    }
                }
            }
        }
    }
    // Per object, in trace order.
    let mut by_obj: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, o) in ops.iter().enumerate() {
        if let Some(obj) = o.obj {
            by_obj.entry(obj).or_default().push(i);
        }
    }
    for idx in by_obj.values() {
        let sends: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| SENDS.contains(&ops[i].op.as_str()))
            .collect();
        let recvs: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| ops[i].op == "recv")
            .collect();
        for (&s, &r) in sends.iter().zip(&recvs) {
            out.push((s, r, "send"));
        }
        let mut last_close = None;
        let mut last_release: Option<usize> = None;
        let mut adds: Vec<usize> = Vec::new();
        for &i in idx {
            let op = ops[i].op.as_str();
            match op {
                "close" => last_close = Some(i),
                "recv (closed)" => {
                    if let Some(c) = last_close {
                        out.push((c, i, "close"));
                    }
                }
                "wg.add" => adds.push(i),
                "wg.wait" => {
                    for &a in &adds {
                        out.push((a, i, "done"));
                    }
                }
                _ if RELEASES.contains(&op) => last_release = Some(i),
                "lock" | "lock (write)" | "rlock" | "acquire" => {
                    if let Some(r) = last_release.take() {
                        out.push((r, i, "unlock"));
                    }
                }
                _ => {}
            }
        }
    }
    out.retain(|&(i, j, _)| ops[i].goroutine != ops[j].goroutine);
    out
}

fn edge_kind(op: &str) -> &'static str {
    match op {
        "go" => "go",
        "close" => "close",
        "wg.add" => "done",
        o if SENDS.contains(&o) => "send",
        o if RELEASES.contains(&o) => "unlock",
        _ => "sync",
    }
}

/// Whether `to` is reachable from `from` by program order and edges.
fn reachable(ops: &[Op], edges: &[(usize, usize, &str)], from: usize, to: usize) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![from];
    while let Some(i) = stack.pop() {
        if i == to {
            return true;
        }
        if !seen.insert(i) {
            continue;
        }
        if let Some(next) = (i + 1..ops.len()).find(|&k| ops[k].goroutine == ops[i].goroutine) {
            stack.push(next);
        }
        stack.extend(edges.iter().filter(|e| e.0 == i).map(|e| e.1));
    }
    false
}

fn sequence_diagram(out: &mut String, f: &Finding, ops: &[Op]) {
    // Lanes in goroutine id order.
    let mut lanes: Vec<(u64, Option<String>)> = Vec::new();
    for o in ops {
        match lanes.iter_mut().find(|l| l.0 == o.goroutine) {
            Some(l) => {
                if l.1.is_none() {
                    l.1.clone_from(&o.goroutine_name);
                }
            }
            None => lanes.push((o.goroutine, o.goroutine_name.clone())),
        }
    }
    lanes.sort_by_key(|l| l.0);
    let lane_x = |g: u64| -> usize {
        let i = lanes.iter().position(|l| l.0 == g).unwrap_or(0);
        20 + i * LANE_W + LANE_W / 2
    };
    let width = 40 + lanes.len().max(1) * LANE_W;
    let height = TOP + ops.len() * ROW_H + 16;
    let edges = edges(f, ops);
    let highlights = site_rows(f, ops);
    let race = f.kind == FindingKind::DataRace;

    let _ = writeln!(
        out,
        "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"sequence diagram of the schedule\">"
    );
    for (g, name) in &lanes {
        let x = lane_x(*g);
        let created = f
            .goroutines
            .iter()
            .find(|m| m.id == *g)
            .map(|m| {
                let at = m.creation_site().map_or_else(
                    || "creation site unknown".to_string(),
                    |c| format!("created at {}", c.location()),
                );
                match m.parent {
                    Some(p) => format!("{at} by goroutine {p}"),
                    None if *g == 1 => "the main goroutine".to_string(),
                    None => at,
                }
            })
            .unwrap_or_else(|| {
                if *g == 1 {
                    "the main goroutine".into()
                } else {
                    "creation site unknown".into()
                }
            });
        let label = match name {
            Some(n) => format!("g{g} {n}"),
            None => format!("g{g}"),
        };
        let _ = writeln!(
            out,
            "<g class=\"lane\" data-goroutine=\"{g}\"><title>{}: {}</title>\
             <line x1=\"{x}\" y1=\"40\" x2=\"{x}\" y2=\"{}\" class=\"lifeline\"/>\
             <rect x=\"{}\" y=\"8\" width=\"{}\" height=\"26\" rx=\"4\" class=\"lane-head\"/>\
             <text x=\"{x}\" y=\"26\" class=\"lane-label\" text-anchor=\"middle\">{}</text></g>",
            esc(&goroutine_name(*g, name.as_deref())),
            esc(&created),
            height - 8,
            x - LANE_W / 2 + 8,
            LANE_W - 16,
            esc(&truncate(&label, 20)),
        );
    }
    for &(i, j, kind) in &edges {
        let (x1, y1) = (lane_x(ops[i].goroutine), TOP + i * ROW_H + 10);
        let (x2, y2) = (lane_x(ops[j].goroutine), TOP + j * ROW_H + 10);
        let (x1, x2) = if x2 > x1 {
            (x1 + 66, x2 - 66)
        } else {
            (x1 - 66, x2 + 66)
        };
        // Kept short: a long trace draws many edges (the arrowhead and
        // stroke come from the stylesheet).
        let _ = writeln!(
            out,
            "<line class=\"hb {kind}\" x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\"/>"
        );
    }
    for (i, o) in ops.iter().enumerate() {
        let x = lane_x(o.goroutine);
        let y = TOP + i * ROW_H;
        let hl = highlights.iter().find(|h| h.0 == i);
        let class = match hl {
            Some(_) if race => "op hl race",
            Some((_, true)) => "op hl primary",
            Some((_, false)) => "op hl related",
            None => "op",
        };
        let site_attr = match hl {
            Some(_) => format!(" data-site=\"{}\"", esc(&format!("{}:{}", o.file, o.line))),
            None => String::new(),
        };
        let line = if o.line == 0 {
            String::new()
        } else {
            format!(" :{}", o.line)
        };
        let _ = writeln!(
            out,
            "<g class=\"{class}\"{site_attr}><title>step {}: g{} {} at {}</title>\
             <rect x=\"{}\" y=\"{y}\"/><text x=\"{x}\" y=\"{}\">{}</text></g>",
            o.step,
            o.goroutine,
            esc(&o.op),
            esc(&location(o)),
            x - 68,
            y + 14,
            esc(&truncate(&format!("{}{line}", o.op), 22)),
        );
    }
    out.push_str("</svg>\n");
    if race && highlights.len() >= 2 {
        let (a, b) = (
            highlights[0].0.min(highlights[1].0),
            highlights[0].0.max(highlights[1].0),
        );
        if reachable(ops, &edges, a, b) {
            out.push_str(
                "<p class=\"caption\">The drawn edges connect the two accesses (red); the \
                 detector's happens-before, which sees every access, does not order them.</p>\n",
            );
        } else {
            out.push_str(
                "<p class=\"caption race-caption\">No path of arrows leads from one access \
                 (red) to the other: nothing orders them, so they race.</p>\n",
            );
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('\u{2026}');
        t
    }
}

/// A small graph of labelled nodes on a circle with labelled edges.
fn small_graph(
    out: &mut String,
    class: &str,
    title: &str,
    nodes: &[String],
    edges: &[(usize, usize, String)],
) {
    let n = nodes.len().max(1);
    let (w, h) = (520usize, if n <= 2 { 150usize } else { 260 });
    let (cx, cy, r) = (
        w as f64 / 2.0,
        h as f64 / 2.0,
        if n <= 2 { 0.0 } else { 90.0 },
    );
    let pos = |i: usize| -> (f64, f64) {
        if n <= 2 {
            (if i == 0 { 110.0 } else { 410.0 }, cy)
        } else {
            let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
            (cx + r * 1.8 * a.cos(), cy + r * a.sin())
        }
    };
    let _ = writeln!(
        out,
        "<h3>{}</h3><svg class=\"graph {class}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" \
         height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><defs><marker id=\"garrow-{class}\" \
         viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b91c1c\"/></marker></defs>",
        esc(title),
        esc(title)
    );
    for (k, (a, b, label)) in edges.iter().enumerate() {
        let (x1, y1) = pos(*a);
        let (x2, y2) = pos(*b);
        // Two opposite edges bow apart so both stay visible.
        let bow = if n <= 2 {
            if a < b {
                -40.0
            } else {
                40.0
            }
        } else {
            0.0
        };
        let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 + bow);
        let (sx, ex) = if x2 >= x1 {
            (x1 + 70.0, x2 - 70.0)
        } else {
            (x1 - 70.0, x2 + 70.0)
        };
        let (sx, ex) = if n <= 2 { (sx, ex) } else { (x1, x2) };
        let _ = writeln!(
            out,
            "<path class=\"gedge\" d=\"M{sx:.0},{y1:.0} Q{mx:.0},{:.0} {ex:.0},{y2:.0}\" fill=\"none\" \
             marker-end=\"url(#garrow-{class})\"/><text x=\"{mx:.0}\" y=\"{:.0}\" text-anchor=\"middle\" \
             class=\"glabel\" data-edge=\"{k}\">{}</text>",
            my + bow,
            my + if bow < 0.0 { -4.0 } else { 14.0 },
            esc(&truncate(label, 40))
        );
    }
    for (i, label) in nodes.iter().enumerate() {
        let (x, y) = pos(i);
        let _ = writeln!(
            out,
            "<g class=\"gnode\"><rect x=\"{:.0}\" y=\"{:.0}\" width=\"140\" height=\"26\" rx=\"13\"/>\
             <text x=\"{x:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text></g>",
            x - 70.0,
            y - 13.0,
            y + 5.0,
            esc(&truncate(label, 22))
        );
    }
    out.push_str("</svg>\n");
}

/// Deadlock: the wait-for cycle from its note; leak: the blocked goroutine
/// and why nobody can wake it.
fn wait_graph(out: &mut String, f: &Finding) {
    let cycle = f
        .notes
        .iter()
        .find_map(|n| n.strip_prefix("wait-for cycle: "));
    if let Some(cycle) = cycle {
        let mut nodes: Vec<String> = Vec::new();
        let mut edges = Vec::new();
        let idx = |s: &str, nodes: &mut Vec<String>| -> usize {
            let s = s.trim().to_string();
            match nodes.iter().position(|n| *n == s) {
                Some(i) => i,
                None => {
                    nodes.push(s);
                    nodes.len() - 1
                }
            }
        };
        for link in cycle.split(" -> ") {
            let Some((a, rest)) = link.split_once(" waits for ") else {
                continue;
            };
            let (b, why) = match rest.split_once(" (") {
                Some((b, why)) => (b, why.trim_end_matches(')')),
                None => (rest, ""),
            };
            let (i, j) = (idx(a, &mut nodes), idx(b, &mut nodes));
            edges.push((i, j, why.to_string()));
        }
        if !edges.is_empty() {
            small_graph(out, "wait-for", "wait-for cycle", &nodes, &edges);
            return;
        }
    }
    // No cycle: the blocked operations, and the sites that left them blocked.
    let nodes: Vec<String> = sites(f)
        .map(|(_, s)| format!("{} {}", short_goroutine(s), s.op))
        .collect();
    let edges: Vec<(usize, usize, String)> = (1..nodes.len())
        .map(|j| (0, j, "nobody left to wake it".to_string()))
        .collect();
    let title = if f.kind == FindingKind::Deadlock {
        "blocked operations"
    } else {
        "blocked forever"
    };
    small_graph(out, "wait-for", title, &nodes, &edges);
}

fn short_goroutine(s: &Site) -> String {
    match &s.goroutine_name {
        Some(n) => format!("g{} {n}", s.goroutine),
        None => format!("g{}", s.goroutine),
    }
}

/// Lock-order inversion: each goroutine holds one lock and wants the next
/// goroutine's; the sites name the held lock (`lock while holding a`).
fn lock_graph(out: &mut String, f: &Finding) {
    let mut held: Vec<(String, &Site)> = Vec::new();
    for (_, s) in sites(f) {
        if let Some(lock) = s.op.strip_prefix("lock while holding ") {
            held.push((lock.to_string(), s));
        }
    }
    if held.is_empty() {
        return;
    }
    let nodes: Vec<String> = held.iter().map(|(l, _)| format!("lock {l}")).collect();
    let n = nodes.len();
    let edges: Vec<(usize, usize, String)> = held
        .iter()
        .enumerate()
        .map(|(i, (_, s))| {
            (
                i,
                (i + 1) % n,
                format!("{} at :{}", short_goroutine(s), s.line),
            )
        })
        .collect();
    small_graph(out, "lock-order", "lock-order cycle", &nodes, &edges);
}

/// Every site's source lines with context; an unreadable file is a note.
fn source_pane(out: &mut String, f: &Finding, sources: &mut Sources) {
    let mut shown: HashSet<(String, u32)> = HashSet::new();
    let mut all: Vec<(String, &Site)> = sites(f)
        .map(|(p, s)| (if p { "primary" } else { "related" }.to_string(), s))
        .collect();
    let created: Vec<Site> = f
        .goroutines
        .iter()
        .filter_map(|g| {
            let mut site = g.creation_site()?;
            site.op = format!("go ({} created)", goroutine_name(g.id, g.name.as_deref()));
            Some(site)
        })
        .collect();
    all.extend(created.iter().map(|s| ("created".to_string(), s)));
    for (role, s) in all {
        if !shown.insert((s.file.clone(), s.line)) {
            continue;
        }
        let _ = write!(
            out,
            "<figure class=\"snippet {role}\" data-site=\"{}\"><figcaption><code>{}</code> {}</figcaption>",
            esc(&format!("{}:{}", s.file, s.line)),
            esc(&s.location()),
            esc(&s.op)
        );
        match sources.get(&s.file) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                let line = s.line as usize;
                if line == 0 || line > lines.len() {
                    let _ = write!(
                        out,
                        "<p class=\"unreadable\">note: {} has no line {}</p>",
                        esc(&s.file),
                        s.line
                    );
                } else {
                    out.push_str("<pre>");
                    let lo = line.saturating_sub(CONTEXT as usize).max(1);
                    let hi = (line + CONTEXT as usize).min(lines.len());
                    for (k, l) in lines.iter().enumerate().take(hi).skip(lo - 1) {
                        let n = k + 1;
                        // Block spans, no newline: `pre` would double the breaks.
                        let _ = write!(
                            out,
                            "<span class=\"{}\"><span class=\"ln\">{n:>4}</span> {}</span>",
                            if n == line { "at" } else { "ctx" },
                            esc(l)
                        );
                    }
                    out.push_str("</pre>");
                }
            }
            Err(why) => {
                let _ = write!(
                    out,
                    "<p class=\"unreadable\">note: cannot read {}: {}</p>",
                    esc(&s.file),
                    esc(why)
                );
            }
        }
        out.push_str("</figure>\n");
    }
}

const HEAD: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>goro race report</title>
<script>
window.onerror = function (msg, src, line) {
  var e = document.getElementById("script-errors");
  if (e) { e.hidden = false; e.textContent += msg + " (" + line + ")\n"; }
};
</script>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 40px; color: #111; background: #fff; }
header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin: 0 0 4px; } h3 { font-size: 13px; margin: 12px 0 4px; }
code, pre, svg text { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
#script-errors { color: #b91c1c; white-space: pre; }
table.summary { border-collapse: collapse; width: 100%; margin-bottom: 24px; }
table.summary td, table.summary th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
.kind { display: inline-block; background: #fee2e2; color: #991b1b; border-radius: 3px; padding: 0 6px; font-size: 12px; font-weight: 600; }
tr.expected .kind, tr.known .kind, section.expected .kind, section.known .kind { background: #e5e7eb; color: #374151; }
section.finding { border-top: 2px solid #e5e7eb; padding: 16px 0; content-visibility: auto; contain-intrinsic-size: auto 700px; }
section.finding:target { background: #fffbeb; }
.meta { color: #555; margin: 0 0 8px; }
.cols { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
.diagram { overflow-x: auto; max-width: 100%; }
.source { flex: 1; min-width: 360px; }
svg text { font-size: 11px; fill: #111; }
.lifeline { stroke: #9ca3af; stroke-dasharray: 4 3; }
.lane-head { fill: #eef2ff; stroke: #6366f1; }
.lane-label { font-weight: 600; }
.op rect { fill: #f9fafb; stroke: #9ca3af; width: 136px; height: 20px; rx: 3px; }
.op text { text-anchor: middle; }
.op.hl.primary rect { fill: #fef3c7; stroke: #d97706; stroke-width: 2; }
.op.hl.related rect { fill: #fef9c3; stroke: #ca8a04; stroke-width: 1.5; }
.op.hl.race rect { fill: #fee2e2; stroke: #dc2626; stroke-width: 2; }
.op.hl.race text { fill: #991b1b; font-weight: 600; }
.hb { stroke: #2563eb; stroke-width: 1.3; marker-end: url(#hb-arrow); }
.gnode rect { fill: #fff1f2; stroke: #b91c1c; }
.gedge { stroke: #b91c1c; stroke-width: 1.5; }
.glabel { fill: #7f1d1d; }
.caption { color: #374151; font-style: italic; max-width: 640px; }
.race-caption { color: #991b1b; }
figure.snippet { margin: 0 0 10px; }
figure.snippet pre { margin: 2px 0; background: #f6f8fa; padding: 4px 8px; overflow-x: auto; }
figure.snippet.primary figcaption code { color: #b45309; font-weight: 600; }
pre .at { background: #fef3c7; display: block; }
pre .ctx { color: #555; display: block; }
.ln { color: #9ca3af; }
.unreadable { color: #92400e; }
.notes { padding-left: 18px; } .help { color: #065f46; }
.hover rect { stroke: #2563eb !important; stroke-width: 3 !important; }
figure.hover { outline: 2px solid #2563eb; }
</style>
</head>
<body>
<div id="script-errors" hidden></div>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><marker id="hb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#2563eb"/></marker></defs></svg>
"##;

const SCRIPT: &str = r##"<script>
(function () {
  var filter = document.getElementById("filter");
  filter.hidden = false;
  filter.addEventListener("input", function () {
    var q = filter.value.toLowerCase();
    document.querySelectorAll("table.summary tbody tr").forEach(function (row) {
      var hit = row.textContent.toLowerCase().indexOf(q) >= 0;
      row.hidden = !hit;
      var s = document.getElementById(row.getAttribute("data-finding"));
      if (s) { s.hidden = !hit; }
    });
  });
  // Hovering a site highlights it in both the diagram and the source pane.
  document.querySelectorAll("section.finding").forEach(function (sec) {
    sec.querySelectorAll("[data-site]").forEach(function (el) {
      var key = el.getAttribute("data-site");
      function mark(on) {
        sec.querySelectorAll("[data-site]").forEach(function (o) {
          if (o.getAttribute("data-site") === key) { o.classList.toggle("hover", on); }
        });
      }
      el.addEventListener("mouseenter", function () { mark(true); });
      el.addEventListener("mouseleave", function () { mark(false); });
    });
  });
  document.body.setAttribute("data-script", "ran");
})();
</script>
"##;
