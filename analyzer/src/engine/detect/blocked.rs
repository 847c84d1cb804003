//! What leaks and deadlocks share: how to say what a blocked goroutine
//! waits for, why nothing can wake it, and who could.

use crate::event::{Blocked, Gid, ObjId, Wait};
use crate::finding::Site;

use super::super::findings::{name_suffix, site};
use super::super::hb::Hb;
use super::super::EndState;

/// What `w` is, in words, and the operation's name for its site.
pub(super) fn describe(w: &Wait) -> (String, &'static str) {
    match w {
        Wait::Recv { .. } => ("receiving from a channel".into(), "recv"),
        Wait::Send { .. } => ("sending on a channel".into(), "send"),
        Wait::Select { cases } => (
            format!("in a select over {} channel operation(s)", cases.len()),
            "select",
        ),
        Wait::Lock { .. } => ("locking a mutex".into(), "lock"),
        Wait::WaitGroup { counter, .. } => (
            format!("in WaitGroup.wait with the counter at {counter}"),
            "wait",
        ),
        Wait::Cond { .. } => ("in Cond.wait".into(), "cond wait"),
        Wait::Join { g } => (format!("joining goroutine {g}"), "join"),
        Wait::Sleep => ("sleeping past the end of the program".into(), "sleep"),
        Wait::Tick { .. } => (
            "receiving from a timer's channel (a ticker's, tick's or after's)".into(),
            "recv",
        ),
        Wait::TimerOver { .. } => (
            "receiving from a stopped or fired timer's channel".into(),
            "recv",
        ),
        Wait::Forever => ("waiting on something that never completes".into(), "wait"),
        Wait::Unknown => ("waiting on a future goro does not know".into(), "await"),
    }
}

/// Why nothing can wake a blocked goroutine, from handle counts and who
/// is left: a proof where the counts give one.
pub(super) fn why_stuck(hb: &Hb, b: &Blocked, end: &EndState) -> Vec<String> {
    let mut notes = Vec::new();
    let others_blocked = end.blocked.len().saturating_sub(1);
    match &b.wait {
        Wait::Recv { senders, .. } => {
            if *senders <= 1 {
                notes.push(format!(
                    "it can never be woken: {} handle that can send on or close the channel \
                     remains{}",
                    senders,
                    if *senders == 1 {
                        " (its own), and no other goroutine holds one"
                    } else {
                        ""
                    }
                ));
            } else {
                notes.push(format!(
                    "it can never be woken: {senders} handles that can send on or close the \
                     channel remain, but every goroutine that could use them has returned or \
                     is blocked ({others_blocked} other goroutine(s) blocked) and no timer \
                     is pending"
                ));
            }
        }
        Wait::TimerOver { senders, .. } => notes.push(format!(
            "it can never be woken: no live timer sends on the channel (a stopped timer never \
             fires), and {senders} handle(s) that can send on it, reset its timer or close it \
             remain, none of them in a goroutine that can still run"
        )),
        Wait::Send { receivers, .. } => notes.push(format!(
            "it can never be woken: {receivers} handle(s) that can receive remain, and every \
             goroutine that could use them has returned or is blocked; no timer is pending"
        )),
        Wait::Select { cases } => {
            for (ch, send, peers) in cases {
                notes.push(format!(
                    "case {} on channel #{}: {peers} handle(s) on the other side remain",
                    if *send { "send" } else { "recv" },
                    ch.0
                ));
            }
            notes.push(
                "no case can ever become ready: every goroutine that could complete one has \
                 returned or is blocked, and no timer is pending"
                    .into(),
            );
        }
        Wait::Lock { obj } => match hb.lock_holders(*obj).first() {
            Some(&(h, at)) if hb.goroutine(h).is_none() || hb.ended(h) => notes.push(format!(
                "it can never be woken: the mutex was locked at {at} by goroutine {h}, which \
                     has exited without unlocking it"
            )),
            Some(&(h, at)) => notes.push(format!(
                "the mutex is held by goroutine {h}{} (locked at {at}), which is blocked too",
                name_suffix(hb, h)
            )),
            None => notes.push("the mutex is held and nothing will unlock it".into()),
        },
        Wait::WaitGroup { counter, .. } => notes.push(format!(
            "it can never be woken: {counter} done() call(s) are missing, and no goroutine \
             that could make them is running"
        )),
        _ => notes.push("nothing can wake it: no goroutine can run and no timer is pending".into()),
    }
    notes
}

/// Where `g` was created, as its parent's `go` site.
pub(super) fn creation_site(hb: &Hb, g: Gid) -> Option<Site> {
    let (_, parent, at) = hb.identity(g);
    Some(site(hb, parent?, at?, "go"))
}

/// Who could unblock `b`: lock holders, joined goroutines, the other
/// side of channels (the goroutines holding a handle of the other
/// direction, or, when the runtime did not say, those that used it),
/// WaitGroup adders that have not returned.
pub(super) fn could_unblock(hb: &Hb, b: &Blocked, end: &EndState) -> Vec<Gid> {
    let chan_peers = |ch: &ObjId, send: bool| -> Vec<Gid> {
        if let Some(held) = &end.held {
            return held
                .iter()
                .filter(|h| h.ch == *ch && if send { h.recv } else { h.send })
                .map(|h| h.g)
                .collect();
        }
        hb.chan_users(*ch, !send).to_vec()
    };
    let mut out = match &b.wait {
        Wait::Lock { obj } => hb.lock_holders(*obj).iter().map(|(g, _)| *g).collect(),
        Wait::Join { g } => vec![*g],
        Wait::Recv { ch, .. } | Wait::TimerOver { ch, .. } => chan_peers(ch, false),
        Wait::Send { ch, .. } => chan_peers(ch, true),
        Wait::Select { cases } => cases
            .iter()
            .flat_map(|(ch, send, _)| chan_peers(ch, *send))
            .collect(),
        // Those that have returned can call done() no more.
        Wait::WaitGroup { wg, .. } => hb
            .wg_adders(*wg)
            .iter()
            .copied()
            .filter(|&g| !hb.ended(g))
            .collect(),
        _ => Vec::new(),
    };
    out.retain(|&g| g != b.g);
    out.sort_unstable();
    out.dedup();
    out
}
