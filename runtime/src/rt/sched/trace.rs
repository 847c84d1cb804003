//! Recording a schedule's trace (`GORO_TRACE`), with the object and the
//! synchronizing operation of each line that the renderer draws arrows
//! from (`goro_analyzer::trace` documents the fields). Only a traced
//! schedule pays for it.

use std::collections::VecDeque;

use goro_analyzer::event::{Event, Gid, Op};
use goro_analyzer::fxhash::FxHashMap as HashMap;
use goro_analyzer::trace::{TraceStep, TRACE_SCHEMA};

/// A line's `(step, seq)`.
type At = (u64, u64);

/// The trace of one schedule, and what links its lines.
#[derive(Default)]
pub(crate) struct Tracer {
    steps: Vec<TraceStep>,
    /// Sends into each channel not yet received (FIFO, as the buffer).
    sends: HashMap<u64, VecDeque<At>>,
    /// The close of each channel.
    closed: HashMap<u64, At>,
    /// The last release of each lock-like object, and the last write
    /// release (what an `rlock` orders after).
    released: HashMap<u64, At>,
    w_released: HashMap<u64, At>,
    /// The last `done` of each WaitGroup.
    done: HashMap<u64, At>,
    /// The `exit` of each goroutine.
    ended: HashMap<Gid, At>,
}

impl Tracer {
    /// Records `ev`, run in `step` of the schedule with `seed`.
    pub(crate) fn record(&mut self, seed: u64, step: u64, name: Option<String>, ev: &Event) {
        let seq = self.steps.len() as u64;
        let at = (step, seq);
        let g = ev.g;
        let mut peer = None;
        let (obj, from) = match &ev.op {
            Op::ChanMake { ch, .. } => (Some(ch.0), None),
            Op::ChanSend { ch } => {
                self.sends.entry(ch.0).or_default().push_back(at);
                (Some(ch.0), None)
            }
            Op::ChanRecv { ch } => (
                Some(ch.0),
                self.sends.get_mut(&ch.0).and_then(VecDeque::pop_front),
            ),
            Op::ChanRendezvous { ch, receiver, .. } => {
                peer = Some(*receiver);
                (Some(ch.0), None)
            }
            Op::ChanClose { ch } => {
                self.closed.insert(ch.0, at);
                (Some(ch.0), None)
            }
            Op::ChanRecvClosed { ch } | Op::SendOnClosed { ch } | Op::CloseOfClosed { ch } => {
                (Some(ch.0), self.closed.get(&ch.0).copied())
            }
            Op::Lock { obj } | Op::Acquire { obj } | Op::WLock { obj } => {
                (Some(obj.0), self.released.get(&obj.0).copied())
            }
            Op::RLock { obj } => (Some(obj.0), self.w_released.get(&obj.0).copied()),
            Op::Unlock { obj } | Op::Release { obj } | Op::WUnlock { obj } => {
                self.released.insert(obj.0, at);
                self.w_released.insert(obj.0, at);
                (Some(obj.0), None)
            }
            Op::RUnlock { obj } => {
                self.released.insert(obj.0, at);
                (Some(obj.0), None)
            }
            Op::LockWait { obj } => (Some(obj.0), None),
            Op::WgAdd { wg, delta, .. } => {
                if *delta < 0 {
                    // A blocked `wait` completes with an `acquire` of the
                    // WaitGroup: it follows the last `done`, as a lock its
                    // release.
                    self.done.insert(wg.0, at);
                    self.released.insert(wg.0, at);
                }
                (Some(wg.0), None)
            }
            Op::WgWait { wg, .. } => (Some(wg.0), self.done.get(&wg.0).copied()),
            Op::Spawn { child, .. } => {
                peer = Some(*child);
                (None, None)
            }
            Op::Join { child } => (None, self.ended.get(child).copied()),
            Op::End => {
                self.ended.insert(g, at);
                (None, None)
            }
            _ => (None, None),
        };
        self.steps.push(TraceStep {
            schema: TRACE_SCHEMA.to_string(),
            test: None,
            seed,
            step,
            goroutine: g.get(),
            goroutine_name: name,
            op: ev.op.name().to_string(),
            file: ev.loc.file.to_string(),
            line: ev.loc.line,
            column: ev.loc.column,
            seq: Some(seq),
            obj,
            from_step: from.map(|f| f.0),
            from_seq: from.map(|f| f.1),
            peer: peer.map(Gid::get),
            schedule: None,
            replay: None,
        });
    }

    /// The lines recorded.
    pub(crate) fn finish(self) -> Vec<TraceStep> {
        self.steps
    }
}
