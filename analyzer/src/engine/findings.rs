//! The findings sink: what a detector reports becomes a [`Finding`] naming
//! its sites' goroutines, once per [`FindingKey`].

use crate::event::{Gid, Loc};
use crate::finding::{Finding, FindingKey, FindingKind, Frame, GoroutineInfo, Site, SCHEMA};
use crate::fxhash::FxHashSet as HashSet;

use super::hb::{Frames, Hb};

/// What a detector found, before the engine adds the goroutines it names
/// and the schedule that found it.
pub(crate) struct Report {
    pub(crate) kind: FindingKind,
    /// Happened in this schedule, rather than predicted.
    pub(crate) observed: bool,
    pub(crate) message: String,
    pub(crate) primary: Site,
    pub(crate) related: Vec<Site>,
    pub(crate) notes: Vec<String>,
    pub(crate) help: String,
}

/// The findings of one schedule, in the order they were found.
pub(crate) struct Findings {
    list: Vec<Finding>,
    seen: HashSet<FindingKey>,
    seed: u64,
    schedule: u32,
}

impl Findings {
    pub(crate) fn new(seed: u64, schedule: u32) -> Self {
        Findings {
            list: Vec::new(),
            seen: HashSet::default(),
            seed,
            schedule,
        }
    }

    pub(crate) fn as_slice(&self) -> &[Finding] {
        &self.list
    }

    pub(crate) fn into_vec(self) -> Vec<Finding> {
        self.list
    }

    /// Records `r` unless a finding with its key was recorded already; a
    /// note says where each goroutine its sites name was created.
    pub(crate) fn report(&mut self, hb: &Hb, r: Report) {
        let Report {
            kind,
            observed,
            message,
            primary,
            related,
            mut notes,
            help,
        } = r;
        let mut ids: Vec<Gid> = std::iter::once(&primary)
            .chain(related.iter())
            .filter_map(|s| Gid::new(s.goroutine))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let goroutines: Vec<GoroutineInfo> = ids.iter().map(|&id| info(hb, id)).collect();
        for gi in &goroutines {
            let name = gi
                .name
                .as_deref()
                .map(|n| format!(" [{n}]"))
                .unwrap_or_default();
            match &gi.created_at {
                Some(at) => notes.push(format!(
                    "goroutine {}{name} was created at {at} by goroutine {}",
                    gi.id,
                    gi.parent.unwrap_or(0)
                )),
                None => notes.push(format!("goroutine {}{name} is the main goroutine", gi.id)),
            }
        }
        let f = Finding {
            schema: SCHEMA.to_string(),
            kind,
            observed,
            message,
            primary,
            related,
            goroutines,
            notes,
            help,
            seed: self.seed,
            schedule: self.schedule,
            test: None,
            expected: false,
            shrink: None,
            strategy: None,
        };
        if self.seen.insert(f.key()) {
            self.list.push(f);
        }
    }
}

fn info(hb: &Hb, id: Gid) -> GoroutineInfo {
    let (name, parent, created_at) = hb.identity(id);
    GoroutineInfo {
        id: id.get(),
        name: name.map(str::to_string),
        parent: parent.map(Gid::get),
        created_at: created_at.map(|l| l.to_string()),
    }
}

/// A site of `g`'s current operation, with its current call chain.
pub(crate) fn site(hb: &Hb, g: Gid, loc: Loc, op: &str) -> Site {
    let chain = hb.call_chain(g);
    let frames: Frames = (!chain.is_empty()).then(|| chain.into());
    site_at(hb, g, loc, op, &frames)
}

/// A site of an operation recorded earlier with its call chain.
pub(crate) fn site_at(hb: &Hb, g: Gid, loc: Loc, op: &str, frames: &Frames) -> Site {
    Site {
        file: loc.file.to_string(),
        line: loc.line,
        column: loc.column,
        goroutine: g.get(),
        goroutine_name: hb.identity(g).0.map(str::to_string),
        op: op.to_string(),
        frames: frames
            .iter()
            .flat_map(|f| f.iter())
            .map(|f| Frame {
                function: f.function.to_string(),
                file: f.loc.file.to_string(),
                line: f.loc.line,
                column: f.loc.column,
            })
            .collect(),
    }
}

/// ` [name]` for a named goroutine, nothing otherwise.
pub(crate) fn name_suffix(hb: &Hb, g: Gid) -> String {
    hb.identity(g)
        .0
        .map(|n| format!(" [{n}]"))
        .unwrap_or_default()
}
