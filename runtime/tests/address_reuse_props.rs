//! Property: programs that make and free many primitives (every kind the
//! detector tracks), in a random (seeded) order, in goroutines that share
//! none of them, have no bug, and the detector says so in every schedule,
//! although the allocator hands a freed object's memory to the next object
//! of its size, often in another goroutine.
//!
//! Each goroutine keeps its own objects oldest first; when it locks two at
//! once it locks the older first, so its locks are ordered, and nothing it
//! does on a WaitGroup, channel, variable or atomic involves another
//! goroutine. A detector that let a new object inherit a freed one's
//! history would see WaitGroup adds from another goroutine, lock-order
//! cycles and races between objects that never coexisted.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};

use goro::race::{check_determinism, explore, Config};
use goro::sync::atomic::AtomicU64;
use goro::sync::{Cond, Map, Mutex, Once, RwLock, WaitGroup};
use goro::time::{Duration, Timer};
use goro::Shared;

/// Programs, and schedules explored for each: 1,000 schedules in all.
const PROGRAMS: u64 = 10;
const SCHEDULES: u32 = 100;
/// Goroutines per program, and operations per goroutine.
const GOROUTINES: usize = 3;
const OPS: usize = 32;

/// A small seeded generator (xorshift64*): the programs are the same on
/// every run and every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Mutex,
    RwLock,
    WaitGroup,
    Chan,
    Shared,
    Atomic,
    Once,
    Map,
    Cond,
    Timer,
    /// Plain memory, its accesses annotated (`race::write`), freed with
    /// `race::free`, as `unsafe` code would.
    Raw,
}

const KINDS: [Kind; 11] = [
    Kind::Mutex,
    Kind::RwLock,
    Kind::WaitGroup,
    Kind::Chan,
    Kind::Shared,
    Kind::Atomic,
    Kind::Once,
    Kind::Map,
    Kind::Cond,
    Kind::Timer,
    Kind::Raw,
];

#[derive(Clone, Copy, Debug)]
enum Op {
    New(Kind),
    /// Frees the object at this index (modulo the live count).
    Free(usize),
    /// Uses the object at this index.
    Use(usize),
    /// Locks the two locks at these indexes, older first, if both are
    /// locks.
    LockTwo(usize, usize),
    /// A scheduling point.
    Yield,
}

/// One goroutine's operations.
fn ops(rng: &mut Rng) -> Vec<Op> {
    (0..OPS)
        .map(|_| match rng.below(10) {
            0..=3 => Op::New(KINDS[rng.below(KINDS.len())]),
            4 | 5 => Op::Free(rng.below(8)),
            6 | 7 => Op::Use(rng.below(8)),
            8 => Op::LockTwo(rng.below(8), rng.below(8)),
            _ => Op::Yield,
        })
        .collect()
}

/// A live object. Boxed, so that objects of one size share the allocator's
/// free lists.
enum Obj {
    Mutex(Box<Mutex<u64>>),
    RwLock(Box<RwLock<u64>>),
    WaitGroup(WaitGroup),
    Chan(goro::Chan<u64>),
    Shared(Box<Shared<u64>>),
    Atomic(Box<AtomicU64>),
    Once(Box<Once>),
    Map(Box<Map<u64, u64>>),
    Cond(Box<Cond>),
    Timer(Timer),
    Raw(Box<u64>),
}

impl Obj {
    fn new(kind: Kind) -> Obj {
        match kind {
            Kind::Mutex => Obj::Mutex(Box::new(Mutex::new(0))),
            Kind::RwLock => Obj::RwLock(Box::new(RwLock::new(0))),
            Kind::WaitGroup => Obj::WaitGroup(WaitGroup::new()),
            Kind::Chan => Obj::Chan(goro::chan(1)),
            Kind::Shared => Obj::Shared(Box::new(Shared::new(0))),
            Kind::Atomic => Obj::Atomic(Box::new(AtomicU64::new(0))),
            Kind::Once => Obj::Once(Box::new(Once::new())),
            Kind::Map => Obj::Map(Box::new(Map::new())),
            Kind::Cond => Obj::Cond(Box::new(Cond::new())),
            Kind::Timer => Obj::Timer(Timer::new(Duration::from_secs(3600))),
            Kind::Raw => Obj::Raw(Box::new(0)),
        }
    }

    /// The object's address, to count reuse (a channel's identity is not
    /// its address; a timer's state is out of reach).
    fn addr(&self) -> Option<usize> {
        fn at<T>(b: &T) -> Option<usize> {
            Some(b as *const T as usize)
        }
        match self {
            Obj::Mutex(b) => at(&**b),
            Obj::RwLock(b) => at(&**b),
            Obj::WaitGroup(w) => Some(goro::race::testing::wait_group_addr(w)),
            Obj::Chan(_) | Obj::Timer(_) => None,
            Obj::Shared(b) => at(&**b),
            Obj::Atomic(b) => at(&**b),
            Obj::Once(b) => at(&**b),
            Obj::Map(b) => at(&**b),
            Obj::Cond(b) => at(&**b),
            Obj::Raw(b) => at(&**b),
        }
    }

    async fn use_alone(&mut self) {
        match self {
            Obj::Mutex(m) => *m.lock().await += 1,
            Obj::RwLock(l) => {
                let v = *l.read().await;
                *l.write().await = v + 1;
            }
            Obj::WaitGroup(wg) => {
                wg.add(1);
                wg.done();
                wg.wait().await;
            }
            Obj::Chan(c) => {
                c.send(1).await;
                c.recv().await;
            }
            Obj::Shared(s) => s.set(s.get() + 1),
            Obj::Atomic(a) => {
                a.add(1);
            }
            Obj::Once(o) => o.call_once(|| {}),
            Obj::Map(m) => {
                m.store(1, 1);
                m.load(&1);
            }
            Obj::Cond(c) => {
                c.signal();
                c.broadcast();
            }
            Obj::Timer(t) => {
                t.reset(Duration::from_millis(1));
                t.c().recv().await;
            }
            Obj::Raw(b) => {
                goro::race::write(&**b);
                **b += 1;
            }
        }
    }

    fn free(self) {
        match &self {
            Obj::Raw(b) => goro::race::free(&**b),
            Obj::Timer(t) => {
                t.stop();
            }
            _ => {}
        }
    }
}

/// Takes `a`'s lock, then `b`'s, if both are locks.
async fn lock_two(a: &Obj, b: &Obj) {
    match (a, b) {
        (Obj::Mutex(a), Obj::Mutex(b)) => {
            let ga = a.lock().await;
            let gb = b.lock().await;
            drop((gb, ga));
        }
        (Obj::Mutex(a), Obj::RwLock(b)) => {
            let ga = a.lock().await;
            let gb = b.write().await;
            drop((gb, ga));
        }
        (Obj::RwLock(a), Obj::Mutex(b)) => {
            let ga = a.read().await;
            let gb = b.lock().await;
            drop((gb, ga));
        }
        (Obj::RwLock(a), Obj::RwLock(b)) => {
            let ga = a.write().await;
            let gb = b.write().await;
            drop((gb, ga));
        }
        _ => {}
    }
}

/// Runs one goroutine's operations on objects of its own; records every
/// address it allocates at.
async fn run_ops(ops: Vec<Op>, seen: Arc<StdMutex<Vec<usize>>>) {
    let mut objs: Vec<Obj> = Vec::new();
    for op in ops {
        match op {
            Op::New(kind) => {
                let o = Obj::new(kind);
                seen.lock().unwrap().extend(o.addr());
                objs.push(o);
            }
            Op::Free(i) if !objs.is_empty() => {
                let n = objs.len();
                objs.remove(i % n).free();
            }
            Op::Use(i) if !objs.is_empty() => {
                let n = objs.len();
                objs[i % n].use_alone().await;
            }
            Op::LockTwo(i, j) if !objs.is_empty() => {
                let n = objs.len();
                let (i, j) = (i % n, j % n);
                if i != j {
                    // Oldest first: one order for every pair.
                    lock_two(&objs[i.min(j)], &objs[i.max(j)]).await;
                }
            }
            Op::Yield => goro::yield_now().await,
            _ => {}
        }
    }
    for o in objs {
        o.free();
    }
}

/// Program `program`: its goroutines' plans, run under a WaitGroup; each run
/// adds to `reused` how many objects it made at an address it had used.
fn program(
    program: u64,
    reused: Arc<StdMutex<usize>>,
) -> impl Fn() -> Pin<Box<dyn Future<Output = ()>>> {
    let mut rng = Rng::new(program);
    let plans: Vec<Vec<Op>> = (0..GOROUTINES).map(|_| ops(&mut rng)).collect();
    move || {
        let (plans, r) = (plans.clone(), reused.clone());
        Box::pin(async move {
            let seen = Arc::new(StdMutex::new(Vec::new()));
            let wg = WaitGroup::new();
            for plan in plans {
                wg.add(1);
                let (wg, seen) = (wg.clone(), seen.clone());
                goro::go!(async move {
                    run_ops(plan, seen).await;
                    wg.done();
                });
            }
            wg.wait().await;
            let seen = seen.lock().unwrap();
            let distinct: HashSet<&usize> = seen.iter().collect();
            *r.lock().unwrap() += seen.len() - distinct.len();
        })
    }
}

#[test]
fn freeing_and_making_primitives_in_any_order_is_never_a_finding() {
    let reused = Arc::new(StdMutex::new(0usize));
    for p in 0..PROGRAMS {
        let config = Config::default().schedules(SCHEDULES).seed(p).env(false);
        let report = explore(config, program(p, reused.clone()));
        assert!(
            report.findings().is_empty(),
            "program {p}: a finding on a correct program\n{report}"
        );
        assert!(
            report.step_limited().is_empty(),
            "program {p}: a schedule hit the step limit\n{report}"
        );
        assert_eq!(report.schedules_run(), SCHEDULES);
    }
    // Else the property says nothing about reuse.
    let reused = *reused.lock().unwrap();
    assert!(
        reused >= 1000,
        "only {reused} objects were made at a reused address"
    );
}

#[test]
fn identities_drawn_on_first_use_keep_schedules_deterministic() {
    let config = Config::default().schedules(20).seed(7).env(false);
    let checked = check_determinism(&config, program(7, Arc::default()));
    assert!(checked.is_ok(), "{checked:?}");
}
