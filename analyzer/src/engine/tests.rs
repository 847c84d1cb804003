//! Engine tests over hand-written traces. Each buggy trace comes with its
//! fixed twin, which must produce nothing.

use super::*;
use crate::event::{Addr, Event, Gid, Loc, ObjId, Op};
use crate::finding::FindingKind;

/// Goroutine `n` (tests name goroutines by number, as Go prints them).
fn gid(n: u64) -> Gid {
    Gid::new(n).expect("goroutine ids start at 1")
}

fn at(line: u32) -> Loc {
    Loc {
        file: "t.rs",
        line,
        column: 1,
    }
}

struct T {
    e: Engine,
    line: u32,
}

impl T {
    fn new() -> Self {
        T {
            e: Engine::new(1, 0),
            line: 0,
        }
    }
    fn ev(&mut self, g: u64, op: Op) -> &mut Self {
        self.line += 1;
        self.e.apply(&Event {
            g: gid(g),
            op,
            loc: at(self.line),
        });
        self
    }
    fn spawn(&mut self, g: u64, child: u64) -> &mut Self {
        self.ev(
            g,
            Op::Spawn {
                child: gid(child),
                name: None,
            },
        )
    }
    fn w(&mut self, g: u64) -> &mut Self {
        self.ev(
            g,
            Op::Write {
                addr: Addr(1),
                what: "x",
            },
        )
    }
    fn r(&mut self, g: u64) -> &mut Self {
        self.ev(
            g,
            Op::Read {
                addr: Addr(1),
                what: "x",
            },
        )
    }
    fn kinds(&self) -> Vec<FindingKind> {
        self.e.findings().iter().map(|f| f.kind).collect()
    }
    fn lines(&self) -> Vec<(u32, Vec<u32>)> {
        self.e
            .findings()
            .iter()
            .map(|f| (f.primary.line, f.related.iter().map(|s| s.line).collect()))
            .collect()
    }
}

const CH: ObjId = ObjId(10);
const M: ObjId = ObjId(20);
const WG: ObjId = ObjId(30);

#[test]
fn unsynchronized_writes_race_and_report_both_sites() {
    let mut t = T::new();
    t.spawn(1, 2).w(2).w(1);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
    assert_eq!(t.lines(), vec![(3, vec![2])]);
    let f = &t.e.findings()[0];
    assert_eq!(f.primary.goroutine, 1);
    assert_eq!(f.related[0].goroutine, 2);
    assert_eq!(f.goroutines.len(), 2);
    assert_eq!(f.goroutines[1].created_at.as_deref(), Some("t.rs:1:1"));
}

#[test]
fn spawn_orders_parent_before_child() {
    let mut t = T::new();
    t.w(1).spawn(1, 2).w(2);
    assert!(t.kinds().is_empty());
}

#[test]
fn join_orders_child_before_parent() {
    let mut t = T::new();
    t.spawn(1, 2)
        .w(2)
        .ev(2, Op::End)
        .ev(1, Op::Join { child: gid(2) })
        .r(1);
    assert!(t.kinds().is_empty());
    let mut t = T::new();
    t.spawn(1, 2).w(2).ev(2, Op::End).r(1);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn mutex_orders_critical_sections() {
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, Op::Acquire { obj: M })
        .w(2)
        .ev(2, Op::Release { obj: M })
        .ev(1, Op::Acquire { obj: M })
        .w(1)
        .ev(1, Op::Release { obj: M });
    assert!(t.kinds().is_empty());
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, Op::Acquire { obj: M })
        .w(2)
        .ev(2, Op::Release { obj: M })
        .w(1);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn unbuffered_rendezvous_orders_both_ways() {
    // Receiver's write before the receive is ordered before the sender's
    // accesses after the send (C = 0: both ways).
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 0 })
        .spawn(1, 2)
        .w(2)
        .ev(
            1,
            Op::ChanRendezvous {
                ch: CH,
                receiver: gid(2),
                recv_loc: at(99),
            },
        )
        .w(1);
    assert!(t.kinds().is_empty());
}

#[test]
fn buffered_channel_orders_kth_send_before_kth_recv() {
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 4 })
        .spawn(1, 2)
        .w(2)
        .ev(2, Op::ChanSend { ch: CH })
        .ev(1, Op::ChanRecv { ch: CH })
        .w(1);
    assert!(t.kinds().is_empty());
    // But a receive does not order a later send's *sender* before the
    // receiver when the buffer has room: that sender's write races.
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 4 })
        .spawn(1, 2)
        .ev(1, Op::ChanSend { ch: CH })
        .ev(2, Op::ChanRecv { ch: CH })
        .w(2)
        .ev(2, Op::ChanSend { ch: CH })
        .w(1);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn buffered_channel_as_semaphore_orders_critical_sections() {
    // Go's capacity rule: the k-th receive happens before the (k+C)-th send
    // completes, so a channel of capacity 1 is a lock.
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 1 })
        .spawn(1, 2)
        .ev(2, Op::ChanSend { ch: CH })
        .w(2)
        .ev(2, Op::ChanRecv { ch: CH })
        .ev(1, Op::ChanSend { ch: CH })
        .w(1)
        .ev(1, Op::ChanRecv { ch: CH });
    assert!(t.kinds().is_empty());
    // Capacity 2 admits two holders at once: a race.
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 2 })
        .spawn(1, 2)
        .ev(2, Op::ChanSend { ch: CH })
        .w(2)
        .ev(2, Op::ChanRecv { ch: CH })
        .ev(1, Op::ChanSend { ch: CH })
        .w(1)
        .ev(1, Op::ChanRecv { ch: CH });
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn close_orders_before_receive_of_close() {
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 0 })
        .spawn(1, 2)
        .w(2)
        .ev(2, Op::ChanClose { ch: CH })
        .ev(1, Op::ChanRecvClosed { ch: CH })
        .r(1);
    assert!(t.kinds().is_empty());
}

#[test]
fn send_unordered_with_close_is_predicted() {
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 1 })
        .spawn(1, 2)
        .ev(2, Op::ChanSend { ch: CH })
        .ev(1, Op::ChanClose { ch: CH });
    assert_eq!(t.kinds(), vec![FindingKind::SendOnClosed]);
    assert!(!t.e.findings()[0].observed);
    assert_eq!(t.lines(), vec![(3, vec![4])]);
    // Fixed: the closer waits for the sender first.
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 1 })
        .spawn(1, 2)
        .ev(2, Op::ChanSend { ch: CH })
        .ev(2, Op::End)
        .ev(1, Op::Join { child: gid(2) })
        .ev(1, Op::ChanClose { ch: CH });
    assert!(t.kinds().is_empty());
}

#[test]
fn observed_send_on_closed_and_double_close_name_the_close() {
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 1 })
        .ev(1, Op::ChanClose { ch: CH })
        .ev(1, Op::SendOnClosed { ch: CH })
        .ev(
            1,
            Op::Panic {
                message: "send on closed channel".into(),
            },
        )
        .ev(1, Op::CloseOfClosed { ch: CH })
        .ev(
            1,
            Op::Panic {
                message: "close of closed channel".into(),
            },
        );
    assert_eq!(
        t.kinds(),
        vec![FindingKind::SendOnClosed, FindingKind::DoubleClose]
    );
    assert_eq!(t.lines(), vec![(3, vec![2]), (5, vec![2])]);
    assert!(t.e.findings().iter().all(|f| f.observed));
}

#[test]
fn waitgroup_done_orders_before_wait_and_add_inside_goroutine_is_misuse() {
    let mut t = T::new();
    t.ev(
        1,
        Op::WgAdd {
            wg: WG,
            delta: 1,
            counter: 1,
        },
    )
    .spawn(1, 2)
    .w(2)
    .ev(
        2,
        Op::WgAdd {
            wg: WG,
            delta: -1,
            counter: 0,
        },
    )
    .ev(1, Op::WgWait { wg: WG, counter: 0 })
    // The runtime reports a returning wait as an acquire.
    .ev(1, Op::Acquire { obj: WG })
    .r(1);
    assert!(t.kinds().is_empty());

    // The classic Go bug: wg.add(1) inside the goroutine.
    let mut t = T::new();
    t.spawn(1, 2).ev(1, Op::WgWait { wg: WG, counter: 0 }).ev(
        2,
        Op::WgAdd {
            wg: WG,
            delta: 1,
            counter: 1,
        },
    );
    assert_eq!(t.kinds(), vec![FindingKind::WaitGroupMisuse]);
    assert_eq!(t.lines(), vec![(3, vec![2])]);
}

#[test]
fn negative_waitgroup_counter_is_observed_misuse() {
    let mut t = T::new();
    t.ev(
        1,
        Op::WgAdd {
            wg: WG,
            delta: -1,
            counter: -1,
        },
    )
    .ev(
        1,
        Op::Panic {
            message: "sync: negative WaitGroup counter".into(),
        },
    );
    assert_eq!(t.kinds(), vec![FindingKind::WaitGroupMisuse]);
    assert!(t.e.findings()[0].observed);
}

#[test]
fn atomics_never_race_with_each_other_but_race_with_plain_accesses() {
    let atomic = |write| Op::Atomic {
        addr: Addr(1),
        write,
        what: "x",
    };
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, atomic(true))
        .ev(1, atomic(true))
        .ev(1, atomic(false));
    assert!(t.kinds().is_empty());
    let mut t = T::new();
    t.spawn(1, 2).ev(2, atomic(true)).w(1);
    // The plain write is unordered with goroutine 2's atomic write.
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn atomic_flag_publishes_plain_data() {
    let flag = |write| Op::Atomic {
        addr: Addr(2),
        write,
        what: "flag",
    };
    let mut t = T::new();
    t.spawn(1, 2).w(2).ev(2, flag(true)).ev(1, flag(false)).r(1);
    assert!(t.kinds().is_empty());
}

#[test]
fn rwlock_readers_do_not_order_each_other() {
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, Op::RLock { obj: M })
        .w(2)
        .ev(2, Op::RUnlock { obj: M })
        .ev(1, Op::RLock { obj: M })
        .w(1)
        .ev(1, Op::RUnlock { obj: M });
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, Op::RLock { obj: M })
        .r(2)
        .ev(2, Op::RUnlock { obj: M })
        .ev(1, Op::WLock { obj: M })
        .w(1)
        .ev(1, Op::WUnlock { obj: M })
        .ev(2, Op::RLock { obj: M })
        .r(2);
    assert!(t.kinds().is_empty());
}

#[test]
fn concurrent_reads_are_not_races_but_a_later_write_races_with_each() {
    let mut t = T::new();
    t.w(1).spawn(1, 2).spawn(1, 3).r(2).r(3);
    assert!(t.kinds().is_empty());
    t.w(1);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace; 2]);
}

#[test]
fn one_report_per_pair_of_sites() {
    let mut e = Engine::new(1, 0);
    let ev = |g, op, line| Event {
        g: gid(g),
        op,
        loc: at(line),
    };
    e.apply(&ev(
        1,
        Op::Spawn {
            child: gid(2),
            name: None,
        },
        1,
    ));
    for _ in 0..10 {
        e.apply(&ev(
            2,
            Op::Write {
                addr: Addr(1),
                what: "x",
            },
            2,
        ));
        e.apply(&ev(
            1,
            Op::Write {
                addr: Addr(1),
                what: "x",
            },
            3,
        ));
    }
    assert_eq!(e.findings().len(), 1);
}

/// A write of location `a`, and its free.
fn write_at(a: u64) -> Op {
    Op::Write {
        addr: Addr(a),
        what: "x",
    }
}

fn free_at(a: u64) -> Op {
    Op::Free { addr: Addr(a) }
}

#[test]
fn a_location_freed_and_made_again_at_its_address_starts_clean() {
    // Goroutine 2 writes x at address 1 and frees it; goroutine 1 then
    // writes a new x made at address 1, unordered with 2: another
    // variable, no race (the slot cached for address 1 is gone too).
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, write_at(1))
        .ev(2, write_at(1))
        .ev(2, free_at(1))
        .ev(1, write_at(1));
    assert!(t.kinds().is_empty());
    // Without the free it is the same variable: a race.
    let mut t = T::new();
    t.spawn(1, 2).ev(2, write_at(1)).ev(1, write_at(1));
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn a_freed_slot_reused_by_another_address_carries_no_history() {
    // Address 1 is freed, address 3 takes its slot: goroutine 2's write of
    // address 1 does not race with goroutine 1's write of address 3, but
    // goroutine 2's later write of address 3 does (line 6 against line 5).
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, write_at(1))
        .ev(2, write_at(2))
        .ev(2, free_at(1))
        .ev(1, write_at(3))
        .ev(2, write_at(3));
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
    assert_eq!(t.lines(), vec![(6, vec![5])]);
}

#[test]
fn accesses_alternating_between_locations_keep_each_history() {
    // The cache holds one location; switching back and forth must still
    // find goroutine 2's write of address 1 (line 2) when goroutine 1
    // writes it (line 5); goroutine 1's writes of address 2 are its own.
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, write_at(1))
        .ev(1, write_at(2))
        .ev(1, write_at(2))
        .ev(1, write_at(1))
        .ev(1, write_at(2));
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
    assert_eq!(t.lines(), vec![(5, vec![2])]);
}

#[test]
fn findings_round_trip_through_json_lines() {
    let mut t = T::new();
    t.spawn(1, 2).w(2).w(1);
    let mut buf = Vec::new();
    for f in t.e.findings() {
        f.write_json_line(&mut buf).unwrap();
    }
    buf.extend_from_slice(b"{not json\n");
    let (good, bad) = crate::finding::read_json_lines(&buf[..]).unwrap();
    assert_eq!(good, t.e.findings());
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 2);
}

// ------------------------------------------------------------ blocking bugs

use crate::engine::{EndState, Held};
use crate::event::{Blocked, Wait};

const A: ObjId = ObjId(40);
const B: ObjId = ObjId(41);
const G: ObjId = ObjId(42);

fn lock(obj: ObjId) -> Op {
    Op::Lock { obj }
}
fn unlock(obj: ObjId) -> Op {
    Op::Unlock { obj }
}

#[test]
fn ab_ba_locking_is_a_lock_order_inversion_even_without_a_deadlock() {
    // Goroutine 2 finishes A-then-B before goroutine 3 does B-then-A: this
    // schedule is fine, another deadlocks.
    let mut t = T::new();
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, lock(A))
        .ev(2, lock(B))
        .ev(2, unlock(B))
        .ev(2, unlock(A))
        .ev(3, lock(B))
        .ev(3, lock(A))
        .ev(3, unlock(A))
        .ev(3, unlock(B));
    t.e.finish(&EndState {
        main_done: true,
        blocked: Vec::new(),
        held: None,
        running: Vec::new(),
    });
    assert_eq!(t.kinds(), vec![FindingKind::LockOrderInversion]);
    let f = &t.e.findings()[0];
    assert!(!f.observed);
    assert_eq!(f.primary.line, 4, "B locked while holding A");
    assert_eq!(f.related[0].line, 3, "A held");
}

#[test]
fn consistent_order_or_a_gate_lock_is_no_inversion() {
    // Same order in both goroutines.
    let mut t = T::new();
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, lock(A))
        .ev(2, lock(B))
        .ev(2, unlock(B))
        .ev(2, unlock(A))
        .ev(3, lock(A))
        .ev(3, lock(B))
        .ev(3, unlock(B))
        .ev(3, unlock(A));
    t.e.finish(&EndState::default());
    assert!(t.kinds().is_empty());
    // Opposite orders, but always under a common gate lock G.
    let mut t = T::new();
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, lock(G))
        .ev(2, lock(A))
        .ev(2, lock(B))
        .ev(2, unlock(B))
        .ev(2, unlock(A))
        .ev(2, unlock(G))
        .ev(3, lock(G))
        .ev(3, lock(B))
        .ev(3, lock(A))
        .ev(3, unlock(A))
        .ev(3, unlock(B))
        .ev(3, unlock(G));
    t.e.finish(&EndState::default());
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
}

#[test]
fn inversion_ordered_by_happens_before_is_not_reported() {
    // Goroutine 3 starts only after goroutine 2 is joined: the two
    // acquisitions can never overlap.
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, lock(A))
        .ev(2, lock(B))
        .ev(2, unlock(B))
        .ev(2, unlock(A))
        .ev(2, Op::End)
        .ev(1, Op::Join { child: gid(2) })
        .spawn(1, 3)
        .ev(3, lock(B))
        .ev(3, lock(A))
        .ev(3, unlock(A))
        .ev(3, unlock(B));
    t.e.finish(&EndState::default());
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
}

/// Goroutine 2 read-locks RwLock A, then locks Mutex B; goroutine 3 locks
/// B, then read-locks A.
fn read_read_cycle(t: &mut T) {
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, Op::RLock { obj: A })
        .ev(2, lock(B))
        .ev(2, unlock(B))
        .ev(2, Op::RUnlock { obj: A })
        .ev(3, lock(B))
        .ev(3, Op::RLock { obj: A })
        .ev(3, Op::RUnlock { obj: A })
        .ev(3, unlock(B));
}

#[test]
fn read_locks_in_a_cycle_need_a_concurrent_writer() {
    // Shared read locks alone cannot block each other.
    let mut t = T::new();
    read_read_cycle(&mut t);
    t.e.finish(&EndState::default());
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
    // A writer of A, unordered with both, can queue between the readers.
    let mut t = T::new();
    read_read_cycle(&mut t);
    t.spawn(1, 4)
        .ev(4, Op::WLock { obj: A })
        .ev(4, Op::WUnlock { obj: A });
    t.e.finish(&EndState::default());
    assert_eq!(t.kinds(), vec![FindingKind::LockOrderInversion]);
    let f = &t.e.findings()[0];
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("goroutine 4 write-locks it at t.rs:12:1")),
        "{:?}",
        f.notes
    );
    // A writer that is done before the readers start cannot.
    let mut t = T::new();
    t.spawn(1, 4)
        .ev(4, Op::WLock { obj: A })
        .ev(4, Op::WUnlock { obj: A })
        .ev(4, Op::End)
        .ev(1, Op::Join { child: gid(4) });
    read_read_cycle(&mut t);
    t.e.finish(&EndState::default());
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
    // Nor one of the cycle's own goroutines.
    let mut t = T::new();
    read_read_cycle(&mut t);
    t.ev(3, Op::WLock { obj: A }).ev(3, Op::WUnlock { obj: A });
    t.e.finish(&EndState::default());
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
}

#[test]
fn a_read_lock_against_a_write_lock_is_an_inversion_without_a_third_goroutine() {
    let mut t = T::new();
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, Op::RLock { obj: A })
        .ev(2, lock(B))
        .ev(2, unlock(B))
        .ev(2, Op::RUnlock { obj: A })
        .ev(3, lock(B))
        .ev(3, Op::WLock { obj: A })
        .ev(3, Op::WUnlock { obj: A })
        .ev(3, unlock(B));
    t.e.finish(&EndState::default());
    assert_eq!(t.kinds(), vec![FindingKind::LockOrderInversion]);
}

#[test]
fn waiting_in_a_cycle_of_lock_holders_is_a_partial_deadlock_at_once() {
    let mut t = T::new();
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, lock(A))
        .ev(3, lock(B))
        .ev(2, Op::LockWait { obj: B })
        .ev(3, Op::LockWait { obj: A });
    assert_eq!(t.kinds(), vec![FindingKind::Deadlock]);
    assert!(t.e.findings()[0].observed);
    // One waiting without a cycle is not.
    let mut t = T::new();
    t.spawn(1, 2)
        .spawn(1, 3)
        .ev(2, lock(A))
        .ev(3, Op::LockWait { obj: A });
    assert!(t.kinds().is_empty());
}

fn blocked(g: u64, wait: Wait, line: u32) -> Blocked {
    let g = gid(g);
    Blocked {
        g,
        wait,
        loc: at(line),
    }
}

#[test]
fn goroutines_left_blocked_after_main_returns_leak_and_say_why() {
    let mut t = T::new();
    t.ev(
        1,
        Op::Spawn {
            child: gid(2),
            name: Some("worker".into()),
        },
    );
    t.e.finish(&EndState {
        main_done: true,
        blocked: vec![blocked(2, Wait::Recv { ch: CH, senders: 0 }, 50)],
        held: None,
        running: Vec::new(),
    });
    assert_eq!(t.kinds(), vec![FindingKind::GoroutineLeak]);
    let f = &t.e.findings()[0];
    assert_eq!(f.primary.line, 50);
    assert_eq!(f.primary.goroutine_name.as_deref(), Some("worker"));
    let worker = f.goroutines.iter().find(|g| g.id == 2).unwrap();
    assert_eq!(worker.created_at.as_deref(), Some("t.rs:1:1"));
    // Where it was created is the related site: a `go` by main.
    assert_eq!((f.related[0].op.as_str(), f.related[0].line), ("go", 1));
    assert!(f.notes.iter().any(|n| n.contains("can never be woken")));
    // Nothing left blocked: nothing to report.
    let mut t = T::new();
    t.spawn(1, 2);
    t.e.finish(&EndState {
        main_done: true,
        blocked: Vec::new(),
        held: None,
        running: Vec::new(),
    });
    assert!(t.kinds().is_empty());
}

#[test]
fn main_blocked_with_nothing_runnable_is_a_deadlock_with_its_cycle() {
    let mut t = T::new();
    t.spawn(1, 2).ev(2, lock(A));
    t.e.finish(&EndState {
        main_done: false,
        blocked: vec![
            blocked(1, Wait::Join { g: gid(2) }, 60),
            blocked(2, Wait::Lock { obj: B }, 61),
        ],
        held: None,
        running: Vec::new(),
    });
    assert_eq!(t.kinds(), vec![FindingKind::Deadlock]);
    let f = &t.e.findings()[0];
    assert_eq!(f.primary.goroutine, 1);
    assert_eq!(f.related[0].line, 61);
    let mut t = T::new();
    t.spawn(1, 2).spawn(1, 3).ev(2, lock(A)).ev(3, lock(B));
    t.e.finish(&EndState {
        main_done: false,
        blocked: vec![
            blocked(1, Wait::Join { g: gid(2) }, 60),
            blocked(2, Wait::Lock { obj: B }, 61),
            blocked(3, Wait::Lock { obj: A }, 62),
        ],
        held: None,
        running: Vec::new(),
    });
    let f =
        t.e.findings()
            .iter()
            .find(|f| f.message.starts_with("all goroutines are asleep"))
            .unwrap();
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("wait-for cycle: goroutine 2 -> goroutine 3 -> 2")),
        "{:?}",
        f.notes
    );
}

#[test]
fn main_proved_stuck_while_others_run_is_a_deadlock_that_says_so() {
    let mut t = T::new();
    t.ev(
        1,
        Op::Spawn {
            child: gid(2),
            name: Some("heartbeat".into()),
        },
    );
    t.e.finish(&EndState {
        main_done: false,
        blocked: vec![blocked(1, Wait::Recv { ch: CH, senders: 1 }, 60)],
        held: Some(vec![Held {
            g: gid(1),
            ch: CH,
            send: true,
            recv: true,
        }]),
        running: vec![gid(2)],
    });
    assert_eq!(t.kinds(), vec![FindingKind::Deadlock]);
    let f = &t.e.findings()[0];
    assert!(
        f.message.starts_with(
            "deadlock: main can never proceed (1 goroutine(s) blocked forever, main receiving"
        ),
        "{}",
        f.message
    );
    assert!(f
        .notes
        .iter()
        .any(|n| n.starts_with("goroutine(s) 2 [heartbeat] still run")));
    assert!(f
        .notes
        .iter()
        .any(|n| n.starts_with("Go would not report this")));
    assert!(!f
        .notes
        .iter()
        .any(|n| n.starts_with("no goroutine that could unblock")));
}

#[test]
fn a_wait_for_cycle_is_spelled_in_the_direction_of_its_edges() {
    // 1 joins 3, 3 joins 2, 2 joins 1.
    let mut t = T::new();
    t.spawn(1, 2).spawn(1, 3);
    t.e.finish(&EndState {
        main_done: false,
        blocked: vec![
            blocked(1, Wait::Join { g: gid(3) }, 60),
            blocked(2, Wait::Join { g: gid(1) }, 61),
            blocked(3, Wait::Join { g: gid(2) }, 62),
        ],
        held: None,
        running: Vec::new(),
    });
    let f = &t.e.findings()[0];
    assert!(
        f.notes
            .iter()
            .any(|n| n == "wait-for cycle: goroutine 1 -> goroutine 3 -> goroutine 2 -> 1"),
        "{:?}",
        f.notes
    );
}

#[test]
fn channel_peers_are_the_goroutines_that_held_its_handles() {
    // 1 receives on CH, 2 receives on CH2; 2 held a sender of CH, 1 only a
    // receiver of CH2: 1 waits for 2, 2 for nobody.
    const CH2: ObjId = ObjId(11);
    let mut t = T::new();
    t.spawn(1, 2);
    t.e.finish(&EndState {
        main_done: false,
        blocked: vec![
            blocked(1, Wait::Recv { ch: CH, senders: 2 }, 60),
            blocked(
                2,
                Wait::Recv {
                    ch: CH2,
                    senders: 1,
                },
                61,
            ),
        ],
        held: Some(vec![
            Held {
                g: gid(1),
                ch: CH,
                send: true,
                recv: true,
            },
            Held {
                g: gid(2),
                ch: CH,
                send: true,
                recv: false,
            },
            Held {
                g: gid(1),
                ch: CH2,
                send: false,
                recv: true,
            },
            Held {
                g: gid(2),
                ch: CH2,
                send: true,
                recv: true,
            },
        ]),
        running: Vec::new(),
    });
    let f = &t.e.findings()[0];
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("goroutine 1 is blocked")
                && n.ends_with("waiting for goroutine(s) 2")),
        "{:?}",
        f.notes
    );
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("goroutine 2 is blocked") && !n.contains("waiting for")),
        "{:?}",
        f.notes
    );
    assert!(!f.notes.iter().any(|n| n.contains("wait-for cycle")));
}

#[test]
fn a_dropped_cancel_func_is_a_lost_cancel() {
    let mut t = T::new();
    t.ev(
        1,
        Op::LostCancel {
            created: at(70),
            creator: Some(gid(1)),
            func: "with_timeout",
            timer_pending: true,
            children: 0,
            at_teardown: false,
        },
    );
    assert_eq!(t.kinds(), vec![FindingKind::LostCancel]);
    let f = &t.e.findings()[0];
    assert_eq!(f.primary.line, 70);
    assert!(f.message.contains("with_timeout"));
    assert!(f
        .notes
        .iter()
        .any(|n| n.contains("timer was still pending")));
}

// A child keeps its parent's spawn-time entry beside its base clock (no path
// copy per spawn). These pin down that the entry still orders everything it
// must: through a grandchild, through a release, and through a join.

#[test]
fn a_grandchild_is_ordered_after_its_grandparents_writes() {
    let mut t = T::new();
    t.w(1).spawn(1, 2).spawn(2, 3).r(3);
    assert!(t.kinds().is_empty(), "{:?}", t.lines());
}

#[test]
fn a_grandparents_write_after_the_spawn_races_with_the_grandchild() {
    let mut t = T::new();
    t.spawn(1, 2).spawn(2, 3).w(1).r(3);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn a_childs_release_carries_its_parents_spawn_entry() {
    // 1 writes, spawns 2; 2 releases o without having acquired anything;
    // 3 (spawned before the write) acquires o: ordered after the write.
    let mut t = T::new();
    t.spawn(1, 3).w(1).spawn(1, 2);
    t.ev(2, Op::Release { obj: ObjId(9) });
    t.ev(3, Op::Acquire { obj: ObjId(9) });
    t.r(3);
    assert!(t.kinds().is_empty(), "{:?}", t.lines());
}

#[test]
fn without_the_release_the_sibling_races() {
    let mut t = T::new();
    t.spawn(1, 3).w(1).spawn(1, 2);
    t.ev(2, Op::Release { obj: ObjId(9) });
    t.r(3);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

#[test]
fn a_join_orders_the_childs_writes_and_what_it_inherited() {
    let mut t = T::new();
    t.spawn(1, 2).spawn(1, 3).w(2);
    t.ev(2, Op::End);
    t.ev(3, Op::Join { child: gid(2) });
    t.r(3);
    assert!(t.kinds().is_empty(), "{:?}", t.lines());
    let mut t = T::new();
    t.spawn(1, 2).spawn(1, 3).w(2);
    t.ev(2, Op::End);
    t.r(3);
    assert_eq!(t.kinds(), vec![FindingKind::DataRace]);
}

fn lost_cancel(creator: u64, at_teardown: bool) -> Op {
    Op::LostCancel {
        created: at(70),
        creator: Some(gid(creator)),
        func: "with_cancel",
        timer_pending: false,
        children: 0,
        at_teardown,
    }
}

#[test]
fn a_lost_cancel_names_its_drop_site_or_says_it_is_unknown() {
    // Dropped by goroutine 2 at a resolved site: a related `drop` site.
    let mut t = T::new();
    t.spawn(1, 2).ev(2, lost_cancel(1, false));
    let f = &t.e.findings()[0];
    assert_eq!((f.primary.goroutine, f.primary.line), (1, 70));
    assert_eq!(
        (
            f.related[0].op.as_str(),
            f.related[0].goroutine,
            f.related[0].line
        ),
        ("drop", 2, 2)
    );
    assert!(f.notes.iter().any(|n| n.starts_with("dropped here")));
    // No frame resolved: no site is invented, a note says so.
    let mut t = T::new();
    t.spawn(1, 2);
    t.e.apply(&Event {
        g: gid(2),
        op: lost_cancel(1, false),
        loc: Loc::UNKNOWN,
    });
    let f = &t.e.findings()[0];
    assert!(f.related.is_empty());
    assert!(f
        .notes
        .iter()
        .any(|n| n.starts_with("where it was dropped is unknown")));
    // Torn down with a goroutine blocked forever: said so, no drop site.
    let mut t = T::new();
    t.spawn(1, 2);
    t.e.apply(&Event {
        g: gid(2),
        op: lost_cancel(1, true),
        loc: Loc::UNKNOWN,
    });
    let f = &t.e.findings()[0];
    assert!(f.related.is_empty());
    assert!(f.notes.iter().any(|n| n.starts_with(
        "goroutine 2 still held every CancelFunc clone returned by with_cancel when it was left \
         blocked forever"
    )));
}

#[test]
fn a_recovered_panic_is_no_finding_but_an_escaped_one_is() {
    // The close is ordered before the send; the sender recovers and goes on.
    let recovered = |tail: &[Op]| {
        let mut t = T::new();
        t.ev(1, Op::ChanMake { ch: CH, cap: 0 })
            .ev(1, Op::ChanClose { ch: CH })
            .spawn(1, 2)
            .ev(2, Op::SendOnClosed { ch: CH });
        for op in tail {
            t.ev(2, op.clone());
        }
        t.e.finish(&EndState {
            main_done: true,
            ..EndState::default()
        });
        t
    };
    let t = recovered(&[Op::Recovered, Op::End]);
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
    // Caught, then raised again: it reaches the top after all.
    let again = Op::Panic {
        message: "send on closed channel".into(),
    };
    let t = recovered(&[Op::Recovered, again.clone()]);
    assert_eq!(t.kinds(), vec![FindingKind::SendOnClosed]);
    assert!(t.e.findings()[0].observed);
    // Uncaught: the finding, and no second one as a plain panic.
    let t = recovered(&[again]);
    assert_eq!(t.kinds(), vec![FindingKind::SendOnClosed]);
    assert_eq!(t.lines(), vec![(4, vec![2])]);
    // Caught, then a different panic: that one is the finding.
    let boom = Op::Panic {
        message: "boom".into(),
    };
    let t = recovered(&[Op::Recovered, boom]);
    assert_eq!(t.kinds(), vec![FindingKind::Panic]);
}

#[test]
fn a_joined_panic_is_the_joiners_to_recover() {
    let run = |joiner_recovers: bool| {
        let mut t = T::new();
        t.ev(1, Op::ChanMake { ch: CH, cap: 0 })
            .ev(1, Op::ChanClose { ch: CH })
            .spawn(1, 2)
            .ev(2, Op::CloseOfClosed { ch: CH })
            .ev(2, Op::End)
            .ev(1, Op::Join { child: gid(2) });
        if joiner_recovers {
            t.ev(1, Op::Recovered).ev(1, Op::End);
        } else {
            t.ev(
                1,
                Op::Panic {
                    message: "close of closed channel".into(),
                },
            );
        }
        t.e.finish(&EndState::default());
        t.kinds()
    };
    assert!(run(true).is_empty());
    assert_eq!(run(false), vec![FindingKind::DoubleClose]);
}

#[test]
fn a_recovered_panic_unordered_with_the_close_still_races() {
    // Nothing orders the close (goroutine 1) before the send (goroutine 2):
    // recovered or not, the pair races, as the predicted twin says.
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 0 })
        .spawn(1, 2)
        .ev(1, Op::ChanClose { ch: CH })
        .ev(2, Op::SendOnClosed { ch: CH })
        .ev(2, Op::Recovered)
        .ev(2, Op::End);
    t.e.finish(&EndState::default());
    assert_eq!(t.kinds(), vec![FindingKind::SendOnClosed]);
    assert!(!t.e.findings()[0].observed);
    assert_eq!(t.lines(), vec![(4, vec![3])]);
}

fn add(delta: i64, counter: i64) -> Op {
    Op::WgAdd {
        wg: WG,
        delta,
        counter,
    }
}

#[test]
fn a_done_before_its_add_in_another_schedule_is_misuse() {
    // go!(done); wg.add(1); wg.wait(): the done happened to come second.
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(1, add(1, 1))
        .ev(2, add(-1, 0))
        .ev(1, Op::WgWait { wg: WG, counter: 0 })
        .ev(1, Op::Acquire { obj: WG });
    assert_eq!(t.kinds(), vec![FindingKind::WaitGroupMisuse]);
    assert_eq!(t.lines(), vec![(3, vec![2])]);
    assert!(!t.e.findings()[0].observed);
    // Fixed: wg.add(1); go!(done); wg.wait().
    let mut t = T::new();
    t.ev(1, add(1, 1))
        .spawn(1, 2)
        .ev(2, add(-1, 0))
        .ev(1, Op::WgWait { wg: WG, counter: 0 })
        .ev(1, Op::Acquire { obj: WG });
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
}

#[test]
fn add_n_then_n_goroutines_and_reuse_after_wait_are_funded() {
    let mut t = T::new();
    t.ev(1, add(3, 3)).spawn(1, 2).spawn(1, 3).spawn(1, 4);
    t.ev(3, add(-1, 2)).ev(2, add(-1, 1)).ev(4, add(-1, 0));
    t.ev(1, Op::WgWait { wg: WG, counter: 0 })
        .ev(1, Op::Acquire { obj: WG });
    // Reused: each round adds before it starts its goroutine.
    t.ev(1, add(1, 1))
        .spawn(1, 5)
        .ev(5, add(-1, 0))
        .ev(1, Op::WgWait { wg: WG, counter: 0 })
        .ev(1, Op::Acquire { obj: WG });
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
    // A second round that starts its goroutine before its add: the first
    // round's add funds the first round's done, not this one.
    t.spawn(1, 6).ev(1, add(1, 1)).ev(6, add(-1, 0));
    assert_eq!(t.kinds(), vec![FindingKind::WaitGroupMisuse]);
    assert_eq!(t.lines(), vec![(17, vec![16])]);
}

#[test]
fn an_add_ordered_through_a_channel_funds_the_done() {
    // A worker started first takes its job from a channel the adder sends
    // on after its add: the add happens before the done.
    let mut t = T::new();
    t.ev(1, Op::ChanMake { ch: CH, cap: 1 })
        .spawn(1, 2)
        .ev(1, add(1, 1))
        .ev(1, Op::ChanSend { ch: CH })
        .ev(2, Op::ChanRecv { ch: CH })
        .ev(2, add(-1, 0))
        .ev(1, Op::WgWait { wg: WG, counter: 0 })
        .ev(1, Op::Acquire { obj: WG });
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
}

#[test]
fn two_unordered_dones_on_one_add_are_misuse() {
    // Goroutine 2 starts before main's add, adds for a helper (3) and
    // starts it; 2 and 3 each call done. Each done alone is funded by 2's
    // add, but run before main's add they take the counter to -1.
    let mut t = T::new();
    t.spawn(1, 2)
        .ev(2, add(1, 1))
        .spawn(2, 3)
        .ev(1, add(1, 2))
        .ev(2, add(-1, 1))
        .ev(3, add(-1, 0));
    assert_eq!(t.kinds(), vec![FindingKind::WaitGroupMisuse]);
    assert_eq!(t.lines(), vec![(6, vec![4])]);
    // Fixed: main adds before it starts goroutine 2.
    let mut t = T::new();
    t.ev(1, add(1, 1))
        .spawn(1, 2)
        .ev(2, add(1, 2))
        .spawn(2, 3)
        .ev(2, add(-1, 1))
        .ev(3, add(-1, 0));
    assert!(t.kinds().is_empty(), "{:?}", t.e.findings());
}

/// A pseudo-random stream (xorshift) from `seed`: `next(n)` is below `n`.
fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}

/// Two engines fed one program: every event through `apply`, and plain
/// accesses through `apply` in the first and `access` in the second.
struct ApplyVsAccess {
    by_apply: Engine,
    by_access: Engine,
}

impl ApplyVsAccess {
    /// Both engines, with channel `ch` (capacity 2) made by main.
    fn new(ch: ObjId) -> Self {
        let mut t = ApplyVsAccess {
            by_apply: Engine::new(1, 0),
            by_access: Engine::new(1, 0),
        };
        t.event(Event {
            g: Gid::MAIN,
            op: Op::ChanMake { ch, cap: 2 },
            loc: at(1),
        });
        t
    }

    fn event(&mut self, ev: Event) {
        self.by_apply.apply(&ev);
        self.by_access.apply(&ev);
    }

    /// A plain read or write of `addr` by `g` at `loc`.
    fn plain(&mut self, g: Gid, addr: Addr, write: bool, loc: Loc) {
        let what = "Shared<i64>";
        let op = if write {
            Op::Write { addr, what }
        } else {
            Op::Read { addr, what }
        };
        self.by_apply.apply(&Event { g, op, loc });
        self.by_access.access(g, addr, write, what, loc);
    }

    /// Both reported the same findings, in the same order; whether any.
    fn same_findings(&self, program: u32) -> bool {
        assert_eq!(
            self.by_apply.findings(),
            self.by_access.findings(),
            "program {program}"
        );
        !self.by_apply.findings().is_empty()
    }
}

/// `Engine::access` is `Engine::apply` of a plain read or write: over
/// pseudo-random programs of four goroutines (spawns, joins, channel
/// hand-offs, locks, atomics, frees and plain accesses to three
/// locations, goroutines unknown until their first access included), the
/// two engines report the same findings, in the same order.
#[test]
fn access_is_apply_of_a_plain_read_or_write() {
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let mut racy = 0;
    for program in 0..200 {
        let ch = ObjId(1);
        let mut t = ApplyVsAccess::new(ch);
        for step in 0..60u32 {
            let g = gid(1 + next(4));
            let loc = at(2 + step);
            let addr = Addr(1 + next(3));
            let op = match next(9) {
                0 if program % 2 == 0 => Op::Spawn {
                    child: gid(2 + next(3)),
                    name: None,
                },
                1 => Op::ChanSend { ch },
                2 => Op::ChanRecv { ch },
                3 => Op::Lock { obj: ObjId(9) },
                4 => Op::Unlock { obj: ObjId(9) },
                5 => Op::Atomic {
                    addr,
                    write: next(2) == 0,
                    what: "AtomicI64",
                },
                6 if step % 7 == 0 => Op::Free { addr },
                _ => {
                    t.plain(g, addr, next(2) == 0, loc);
                    continue;
                }
            };
            t.event(Event { g, op, loc });
        }
        racy += usize::from(t.same_findings(program));
    }
    // The comparison means something: most programs race.
    assert!(racy > 100, "{racy} of 200 programs race");
}

/// The race detector's same-epoch runs change no finding: over
/// pseudo-random programs whose goroutines loop over a location
/// (`c.set(c.get() + 1)`, reads and writes at a few sites, so that sites
/// repeat within an epoch), with and without synchronization between the
/// loops and with goroutines switching between them, `Engine::access`
/// reports what `Engine::apply` does, sites and order included.
#[test]
fn same_epoch_runs_report_what_apply_does() {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let (mut racy, mut runs) = (0, 0);
    for program in 0..200 {
        let ch = ObjId(1);
        let mut t = ApplyVsAccess::new(ch);
        for _ in 0..30 {
            let g = gid(1 + next(4));
            let addr = Addr(1 + next(2));
            let op = match next(8) {
                0 if program % 2 == 0 => Op::Spawn {
                    child: gid(2 + next(3)),
                    name: None,
                },
                1 => Op::ChanSend { ch },
                2 => Op::ChanRecv { ch },
                3 => Op::Lock { obj: ObjId(9) },
                4 => Op::Unlock { obj: ObjId(9) },
                5 if next(4) == 0 => Op::Free { addr },
                5 => Op::Atomic {
                    addr,
                    write: next(2) == 0,
                    what: "AtomicI64",
                },
                _ => {
                    // A loop of one goroutine over one location, no event
                    // in between: reads and writes at four sites.
                    runs += 1;
                    let body: Vec<(bool, Loc)> = (0..1 + next(3))
                        .map(|_| (next(2) == 0, at(100 + next(4) as u32)))
                        .collect();
                    for _ in 0..1 + next(6) {
                        for &(write, loc) in &body {
                            t.plain(g, addr, write, loc);
                        }
                    }
                    continue;
                }
            };
            t.event(Event { g, op, loc: at(2) });
        }
        racy += usize::from(t.same_findings(program));
    }
    assert!(racy > 100, "{racy} of 200 programs race");
    assert!(runs > 1000, "{runs} loops");
}
