//! What `cargo race replay` prints: the shrunk schedule of each finding
//! (default) or the original schedule (`--full`), step by step, with how
//! much shrinking saved and the `GORO_REPLAY` value that replays it.

use crate::finding::Finding;
use crate::render;
use crate::trace::TraceStep;

/// The replay's environment, with `GORO_REPLAY` when an explicit schedule
/// was given.
pub(crate) fn with_schedule(
    mut env: Vec<(&'static str, String)>,
    schedule: Option<&str>,
) -> Vec<(&'static str, String)> {
    if let Some(s) = schedule {
        env.push((crate::env::REPLAY, s.to_string()));
    }
    env
}

/// The traces to print: the shrunk schedules' (one per finding that was
/// shrunk), else, or with `full`, the original schedule's.
pub(crate) fn traces(trace: &[TraceStep], findings: &[Finding], full: bool) -> String {
    let shrunk: Vec<&TraceStep> = trace.iter().filter(|s| s.is_shrunk()).collect();
    let mut out = String::new();
    if full || shrunk.is_empty() {
        let lines: Vec<TraceStep> = trace.iter().filter(|s| !s.is_shrunk()).cloned().collect();
        out.push_str(&render::trace(&lines));
    } else {
        // One group per shrunk schedule, in the order written.
        let mut groups: Vec<(Option<&str>, Vec<TraceStep>)> = Vec::new();
        for s in shrunk {
            let key = s.replay.as_deref();
            match groups.last_mut() {
                Some((k, lines)) if *k == key && s.seq != Some(0) => lines.push(s.clone()),
                _ => groups.push((key, vec![s.clone()])),
            }
        }
        for (schedule, lines) in groups {
            let schedule = schedule.unwrap_or("?");
            let of: Vec<String> = findings
                .iter()
                .filter(|f| f.shrink.as_ref().is_some_and(|s| s.schedule == schedule))
                .map(|f| format!("{} at {}", f.kind, f.primary.location()))
                .collect();
            out.push_str(&format!(
                "shortest schedule for {}: GORO_REPLAY={schedule}\n",
                if of.is_empty() {
                    "a finding".to_string()
                } else {
                    of.join(", ")
                }
            ));
            out.push_str(&render::trace(&lines));
        }
    }
    for f in findings {
        if let Some(s) = &f.shrink {
            out.push_str(&format!(
                "{} at {}: {} (GORO_SEED={} GORO_REPLAY={})\n",
                f.kind,
                f.primary.location(),
                s.summary(),
                f.seed,
                s.schedule
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Shrink, Site, SCHEMA};
    use crate::FindingKind;

    fn step(seq: u64, op: &str, shrunk: Option<&str>) -> TraceStep {
        TraceStep {
            seq: Some(seq),
            op: op.into(),
            file: "src/lib.rs".into(),
            line: 3,
            column: 1,
            goroutine: 1,
            schedule: Some(if shrunk.is_some() { "shrunk" } else { "full" }.into()),
            replay: shrunk.map(str::to_string),
            ..TraceStep::default()
        }
    }

    fn finding() -> Finding {
        let site = Site {
            file: "src/lib.rs".into(),
            line: 3,
            column: 1,
            goroutine: 1,
            goroutine_name: None,
            op: "close".into(),
            frames: Vec::new(),
        };
        Finding {
            schema: SCHEMA.into(),
            kind: FindingKind::DoubleClose,
            observed: true,
            message: "close of closed channel".into(),
            primary: site.clone(),
            related: vec![site],
            goroutines: Vec::new(),
            notes: Vec::new(),
            help: String::new(),
            seed: 9,
            schedule: 0,
            test: None,
            expected: false,
            shrink: Some(Shrink {
                original_steps: 40,
                original_preemptions: 7,
                steps: 6,
                preemptions: 1,
                schedule: "_x2,3".into(),
                replays: 30,
            }),
            strategy: None,
        }
    }

    #[test]
    fn the_shrunk_trace_by_default_the_full_one_on_request() {
        let trace = vec![
            step(0, "make(chan)", None),
            step(1, "full-only-op", None),
            step(0, "make(chan)", Some("_x2,3")),
            step(1, "shrunk-only-op", Some("_x2,3")),
        ];
        let f = [finding()];
        let text = traces(&trace, &f, false);
        assert!(
            text.contains("shrunk-only-op") && !text.contains("full-only-op"),
            "{text}"
        );
        assert!(
            text.contains(
                "shortest schedule for double-close at src/lib.rs:3:1: GORO_REPLAY=_x2,3"
            ),
            "{text}"
        );
        assert!(
            text.contains("shrunk from 40 steps and 7 preemptions to 6 steps and 1 preemption"),
            "{text}"
        );
        let text = traces(&trace, &f, true);
        assert!(
            text.contains("full-only-op") && !text.contains("shrunk-only-op"),
            "{text}"
        );
    }
}
