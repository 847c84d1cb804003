//! The happens-before core: Go's memory model over vector clocks, and who
//! did what to which object. Detectors read it; only the engine changes it.
//!
//! Edges (ARCHITECTURE.md, "Happens-before"): spawn → child start; child end →
//! join; the k-th send → the k-th receive completes; the k-th receive → the
//! (k+C)-th send completes (C = 0: rendezvous both ways); close → a receive
//! that observes it; unlock → next lock (RwLock: write unlock → reads, read
//! unlocks → write lock); `done` → `wait` returns; `Once` body → every
//! return; atomics synchronize like Go's `sync/atomic`; `release(x)` →
//! `acquire(x)`.
//!
//! A goroutine's clock is kept as a shared base clock plus its own entry and
//! its parent's entry at the spawn, so a million goroutines that never
//! synchronize with each other cost a million pointers, not a million
//! clocks; a release joins the base and then sets those two entries in the
//! target, which is usually the only owner of its nodes.
//!
//! Beside the clocks it keeps what the blocking detectors ask of an
//! execution: who holds each lock, who used each channel, who added to each
//! WaitGroup. These order nothing, but every channel operation already looks
//! its channel up here, so noting its users costs no second lookup.

use std::cell::OnceCell;
use std::sync::Arc;

use crate::event::{Addr, Event, FrameLoc, Gid, Loc, ObjId, Op};
use crate::fxhash::FxHashMap as HashMap;
use crate::vv::VClock;

use super::table::Table;

/// A shadow call chain, shared by every access made under it.
pub(crate) type Frames = Option<Arc<[FrameLoc]>>;

/// Goroutine ids start at 1; clock indices at 0.
pub(crate) fn clock_index(g: Gid) -> u32 {
    u32::try_from(g.index()).unwrap_or(u32::MAX)
}

/// Per-goroutine state. A million goroutines keep a million of these, so
/// what is rarely read (name, creation site, call chain) is kept small or
/// beside it: 104 bytes in all, of which the clock is 72.
pub(crate) struct G {
    /// What this goroutine has seen of others (its own entry may lag `own`;
    /// its parent's entry may lag `inherit`).
    base: VClock,
    /// Its own logical time: the epoch of its current accesses.
    own: u32,
    /// The parent's `(index, epoch)` at the spawn when `base` does not hold
    /// it yet: folding it in would copy a path of the parent's clock per
    /// child.
    inherit: Inherit,
    /// Its creation site, an index into [`Hb`]'s `sites` (spawn sites are
    /// few; `NO_SITE` when unknown), and in the top bit ([`ENDED`]) whether
    /// it ended (its clock changes no more; a join reads it).
    site: u32,
    parent: Option<Gid>,
    /// Its shadow call chain, made by its first frame.
    chain: Option<Box<Chain>>,
}

/// A goroutine's shadow call chain, innermost last, and a shared snapshot of
/// it, made by the first epoch that needs it (a cell: detectors read the
/// core through `&`).
#[derive(Default)]
struct Chain {
    frames: Vec<FrameLoc>,
    snapshot: OnceCell<Arc<[FrameLoc]>>,
}

/// `G::site` of a goroutine whose creation site is unknown.
const NO_SITE: u32 = !ENDED;

/// The bit of `G::site` that says the goroutine ended.
const ENDED: u32 = 1 << 31;

/// `Option<(u32, u32)>` in 8 bytes instead of 12: an epoch is never 0, so
/// an entry of epoch 0 is none (and would order nothing anyway).
#[derive(Clone, Copy, Debug, Default)]
struct Inherit {
    idx: u32,
    v: u32,
}

impl Inherit {
    #[inline(always)]
    fn some(idx: u32, v: u32) -> Self {
        Inherit { idx, v }
    }

    #[inline(always)]
    fn get(self) -> Option<(u32, u32)> {
        (self.v != 0).then_some((self.idx, self.v))
    }

    #[inline(always)]
    fn take(&mut self) -> Option<(u32, u32)> {
        std::mem::take(self).get()
    }

    #[inline(always)]
    fn is_some_and(self, f: impl FnOnce((u32, u32)) -> bool) -> bool {
        self.get().is_some_and(f)
    }
}

impl G {
    fn new(base: VClock, parent: Option<Gid>, site: u32) -> Self {
        G {
            base,
            own: 1,
            inherit: Inherit::default(),
            site,
            parent,
            chain: None,
        }
    }

    /// A goroutine first seen in an event rather than at its spawn.
    fn unknown() -> Self {
        G::new(VClock::new(), None, NO_SITE)
    }

    /// Whether this goroutine has seen goroutine index `idx` at `clk`.
    #[inline]
    pub(crate) fn knows(&self, idx: u32, clk: u32) -> bool {
        self.base.get(idx) >= clk
            || matches!(self.inherit.get(), Some((i, v)) if i == idx && v >= clk)
    }

    /// `base ⊔= source`.
    fn acquire(&mut self, source: &VClock) {
        self.base.join(source);
        self.forget_absorbed_inherit();
    }

    /// Drops `inherit` once `base` holds it.
    fn forget_absorbed_inherit(&mut self) {
        if self.inherit.is_some_and(|(i, v)| self.base.get(i) >= v) {
            self.inherit = Inherit::default();
        }
    }

    /// Whether it ended.
    #[inline]
    fn ended(&self) -> bool {
        self.site & ENDED != 0
    }

    /// Its creation site's index in `sites` (`NO_SITE`: unknown).
    fn site(&self) -> u32 {
        self.site & !ENDED
    }

    /// Moves this goroutine's clock into `target` (`target ⊔= C_g`, its
    /// inherited entry folded in) and starts its next epoch. Its base is
    /// left empty: the caller gives it what it acquired. Moving the base
    /// out first means `target`'s nodes are `target`'s alone when the
    /// entries are set, so an exchange repeated over the same clocks
    /// copies no nodes.
    // Inlined: it is the body of every channel operation.
    #[inline(always)]
    fn exchange_into(&mut self, idx: u32, target: &mut VClock) {
        let base = std::mem::take(&mut self.base);
        target.join(&base);
        drop(base);
        self.raise_entries(idx, target);
    }

    /// `target ⊔= C_g`, then this goroutine takes the result as its base
    /// and starts its next epoch: a channel operation's acquire and
    /// release at once. Two small clocks join in place (no nodes to
    /// share); otherwise through [`G::exchange_into`].
    #[inline(always)]
    fn exchange(&mut self, idx: u32, target: &mut VClock) {
        if target.is_small() && self.base.is_small() {
            target.join(&self.base);
            self.raise_entries(idx, target);
            self.base.copy_from(target);
        } else {
            self.exchange_into(idx, target);
            self.base = target.clone();
        }
    }

    /// Takes this goroutine's clock out (`C_g`, its inherited entry folded
    /// in) and starts its next epoch: [`G::exchange_into`] of an empty
    /// target, without the join. Its base is left empty.
    #[inline(always)]
    fn take_clock(&mut self, idx: u32) -> VClock {
        let mut c = std::mem::take(&mut self.base);
        self.raise_entries(idx, &mut c);
        c
    }

    /// Raises the two entries kept beside the base (the inherited one, then
    /// its own) in `target`, and starts the next epoch.
    #[inline(always)]
    fn raise_entries(&mut self, idx: u32, target: &mut VClock) {
        if let Some((j, v)) = self.inherit.take() {
            target.raise(j, v);
        }
        target.raise(idx, self.own);
        self.own += 1;
    }

    /// `target ⊔= C_g` without building `C_g`: the base, then the two
    /// entries kept beside it, set in `target` (whose nodes are usually its
    /// own, so nothing is copied). `idx` is this goroutine's clock index.
    fn join_into(&self, idx: u32, target: &mut VClock) {
        target.join(&self.base);
        for (i, v) in self.inherit.get().into_iter().chain([(idx, self.own)]) {
            target.raise(i, v);
        }
    }

    /// Whether `e` (of goroutine `e.g`) happens before this goroutine's
    /// current point; `me` is this goroutine's id.
    #[inline]
    pub(crate) fn orders(&self, me: Gid, e: &Epoch) -> bool {
        e.g == me || self.knows(clock_index(e.g), e.clk)
    }

    /// Its current epoch, at `loc`; `g` is its id.
    #[inline]
    pub(crate) fn epoch(&self, g: Gid, loc: Loc) -> Epoch {
        Epoch {
            g,
            clk: self.own,
            loc,
            frames: self.frames(),
        }
    }

    /// Folds `inherit` into `base` (a path copy when `base` is shared).
    fn fold_inherit(&mut self) {
        if let Some((i, v)) = self.inherit.take() {
            self.base.raise(i, v);
        }
    }

    /// A shared snapshot of its call chain (`None` when empty).
    #[inline]
    pub(crate) fn frames(&self) -> Frames {
        let c = self.chain.as_deref()?;
        if c.frames.is_empty() {
            return None;
        }
        Some(
            c.snapshot
                .get_or_init(|| c.frames.as_slice().into())
                .clone(),
        )
    }

    /// Its call chain, to change (the snapshot is dropped: it is stale).
    fn chain_mut(&mut self) -> &mut Vec<FrameLoc> {
        let c = self.chain.get_or_insert_with(Box::default);
        c.snapshot.take();
        &mut c.frames
    }
}

/// A goroutine's clock in the parts [`Hb`] keeps it in: see
/// [`Hb::clock_parts`].
#[derive(Clone, Debug)]
pub(crate) struct ClockParts {
    base: VClock,
    inherit: Option<(u32, u32)>,
    /// The goroutine's clock index and its own entry.
    idx: u32,
    own: u32,
}

impl ClockParts {
    /// The full clock: the base with the inherited entry raised and the
    /// goroutine's own entry set.
    pub(crate) fn fold(&self) -> VClock {
        let mut c = self.base.clone();
        if let Some((i, v)) = self.inherit {
            c.raise(i, v);
        }
        if c.get(self.idx) != self.own {
            c.set(self.idx, self.own);
        }
        c
    }
}

/// A prior operation that a later one must be ordered after.
#[derive(Clone, Debug)]
pub(crate) struct Epoch {
    pub(crate) g: Gid,
    pub(crate) clk: u32,
    pub(crate) loc: Loc,
    pub(crate) frames: Frames,
}

/// A channel's clocks, and who used it.
#[derive(Default)]
struct Chan {
    cap: usize,
    /// The slots of the next send and of the next receive: the op count
    /// mod `cap`, kept wrapped (no division per operation).
    send_slot: usize,
    recv_slot: usize,
    /// Go's per-slot clocks of a buffered channel (slot = k mod cap).
    slots: Vec<VClock>,
    /// Released by the close; acquired by a receive that observes it.
    closed: Option<VClock>,
    /// Goroutines that sent or closed / received here (the first few): who
    /// could unblock a goroutine stuck on this channel.
    senders_seen: Vec<Gid>,
    receivers_seen: Vec<Gid>,
}

/// How many goroutines a channel or WaitGroup remembers for explanations.
const SEEN: usize = 16;

fn note_seen(v: &mut Vec<Gid>, g: Gid) {
    if v.len() < SEEN && !v.contains(&g) {
        v.push(g);
    }
}

#[derive(Default)]
struct RwClocks {
    /// Released by write unlocks; acquired by every lock.
    w: VClock,
    /// Joined by read unlocks; acquired by write locks.
    r: VClock,
}

/// The happens-before state of one execution.
#[derive(Default)]
pub(crate) struct Hb {
    gs: Table<G>,
    /// Creation sites of goroutines (`G::site` indexes it), each once.
    sites: Vec<Loc>,
    site_ids: HashMap<Loc, u32>,
    /// `go!` names: few goroutines have one, so not in [`G`].
    names: HashMap<Gid, Box<str>>,
    /// Clocks of plain objects (Mutex, WaitGroup, Once, `race::release`).
    objs: HashMap<ObjId, VClock>,
    rws: HashMap<ObjId, RwClocks>,
    /// Channels by their dense per-schedule id (a table, not a map: one
    /// is looked up by every channel operation), boxed so that the ids of
    /// other objects cost a pointer each.
    chans: Table<Box<Chan>, ObjId>,
    atomics: HashMap<Addr, VClock>,
    /// Who holds each lock, and where they took it.
    holders: HashMap<ObjId, Vec<(Gid, Loc)>>,
    /// Goroutines that called `add` or `done` on each WaitGroup (the first
    /// few).
    adders: HashMap<ObjId, Vec<Gid>>,
}

impl Hb {
    #[inline]
    fn g(&mut self, g: Gid) -> &mut G {
        self.gs.get_or_insert_with(g, G::unknown)
    }

    /// Makes goroutine `g` known (at its first epoch if no event named it
    /// yet), as every event of it does, and returns its current epoch at
    /// `loc`: one lookup for a plain access.
    #[inline]
    pub(crate) fn known_epoch(&mut self, g: Gid, loc: Loc) -> Epoch {
        self.g(g).epoch(g, loc)
    }

    /// Goroutine `g`'s state, if any event named it.
    #[inline]
    pub(crate) fn goroutine(&self, g: Gid) -> Option<&G> {
        self.gs.get(&g)
    }

    /// Whether goroutine `g` ended.
    pub(crate) fn ended(&self, g: Gid) -> bool {
        self.gs.get(&g).is_some_and(G::ended)
    }

    /// `g`'s name, parent and creation site.
    pub(crate) fn identity(&self, g: Gid) -> (Option<&str>, Option<Gid>, Option<Loc>) {
        match self.gs.get(&g) {
            Some(x) => (
                self.names.get(&g).map(|n| &**n),
                x.parent,
                self.sites.get(x.site() as usize).copied(),
            ),
            None => (None, None, None),
        }
    }

    /// `g`'s call chain now.
    pub(crate) fn call_chain(&self, g: Gid) -> &[FrameLoc] {
        self.gs
            .get(&g)
            .and_then(|x| x.chain.as_deref())
            .map_or(&[], |c| &c.frames)
    }

    /// `g`'s current epoch, at `loc` (a goroutine no event named yet is at
    /// its first).
    #[inline]
    pub(crate) fn epoch(&self, g: Gid, loc: Loc) -> Epoch {
        match self.gs.get(&g) {
            Some(x) => x.epoch(g, loc),
            None => Epoch {
                g,
                clk: 1,
                loc,
                frames: None,
            },
        }
    }

    /// Whether `e` happens before `g`'s current point.
    #[inline]
    pub(crate) fn ordered(&self, e: &Epoch, g: Gid) -> bool {
        if e.g == g {
            return true;
        }
        match self.gs.get(&g) {
            Some(gs) => gs.orders(g, e),
            None => false,
        }
    }

    /// Whether goroutine `eg`'s epoch `clk` happens before `g`'s current
    /// point: [`Hb::ordered`] of an epoch kept without its site.
    pub(crate) fn ordered_clk(&self, eg: Gid, clk: u32, g: Gid) -> bool {
        eg == g
            || self
                .gs
                .get(&g)
                .is_some_and(|gs| gs.knows(clock_index(eg), clk))
    }

    /// `g`'s full clock (base with its own and inherited entries).
    pub(crate) fn clock(&self, g: Gid) -> VClock {
        self.clock_parts(g).fold()
    }

    /// `g`'s clock as it is kept here, to fold into one [`VClock`] later
    /// ([`ClockParts::fold`], equal to [`Hb::clock`] now): a copy of the
    /// base and two entries, where [`Hb::clock`] also sets the entries in
    /// the copy. For a clock taken on every lock in case a second lock is
    /// taken while this one is held (the lock-order check), which most
    /// programs never do.
    #[inline]
    pub(crate) fn clock_parts(&self, g: Gid) -> ClockParts {
        let idx = clock_index(g);
        match self.gs.get(&g) {
            Some(gs) => ClockParts {
                base: gs.base.clone(),
                inherit: gs.inherit.get(),
                idx,
                own: gs.own,
            },
            None => ClockParts {
                base: VClock::new(),
                inherit: None,
                idx,
                own: 1,
            },
        }
    }

    /// The goroutines that held lock `obj` and have not released it, with
    /// where they took it, first taker first.
    pub(crate) fn lock_holders(&self, obj: ObjId) -> &[(Gid, Loc)] {
        self.holders.get(&obj).map_or(&[], Vec::as_slice)
    }

    /// Goroutines that sent on or closed channel `ch` (`send`), or received
    /// from it: the first few.
    pub(crate) fn chan_users(&self, ch: ObjId, send: bool) -> &[Gid] {
        self.chans.get(&ch).map_or(&[], |c| {
            if send {
                &c.senders_seen
            } else {
                &c.receivers_seen
            }
        })
    }

    /// Goroutines that called `add` or `done` on WaitGroup `wg`: the first
    /// few.
    pub(crate) fn wg_adders(&self, wg: ObjId) -> &[Gid] {
        self.adders.get(&wg).map_or(&[], Vec::as_slice)
    }

    /// The index of creation site `loc` in `sites`, added if new.
    fn site(&mut self, loc: Loc) -> u32 {
        let sites = &mut self.sites;
        *self.site_ids.entry(loc).or_insert_with(|| {
            sites.push(loc);
            u32::try_from(sites.len() - 1)
                .ok()
                .filter(|&s| s < NO_SITE)
                .unwrap_or(NO_SITE)
        })
    }

    /// `target ⊔= C_g`, then `g` moves to a new epoch. `gs` is the
    /// goroutine table, apart from `self` so that `target` can be borrowed
    /// in place from another of its fields (no remove and re-insert).
    fn release_into(gs: &mut Table<G>, g: Gid, target: &mut VClock) {
        let me = gs.get_or_insert_with(g, G::unknown);
        me.join_into(clock_index(g), target);
        me.own += 1;
    }

    /// The edges an operation takes in before it is judged: an atomic
    /// operation reads what earlier ones released (it is an access at that
    /// point) and releases in [`Hb::apply`].
    #[inline(always)]
    pub(crate) fn before(&mut self, ev: &Event) {
        if let Op::Atomic { addr, .. } = &ev.op {
            if let Some(c) = self.atomics.get(addr) {
                self.gs.get_or_insert_with(ev.g, G::unknown).acquire(c);
            } else {
                self.g(ev.g);
            }
        }
    }

    /// Applies the edges of one event, after the detectors have judged it
    /// from the state it started in.
    #[inline(always)]
    pub(crate) fn apply(&mut self, ev: &Event) {
        let g = ev.g;
        let loc = &ev.loc;
        match &ev.op {
            Op::Spawn { child, name } => {
                // The child starts from the parent's base, sharing it; only
                // the parent's own entry is new to it. A parent that has an
                // inherited entry of its own folds it in once.
                let site = self.site(*loc);
                let p = self.g(g);
                p.fold_inherit();
                let base = p.base.clone();
                let inherit = Inherit::some(clock_index(g), p.own);
                p.own += 1;
                let mut c = G::new(base, Some(g), site);
                c.inherit = inherit;
                self.gs.insert(*child, c);
                // A traced id used twice (hand-written traces) loses the
                // old name; unnamed goroutines skip the map.
                if let Some(n) = name {
                    self.names.insert(*child, Box::from(&**n));
                } else if !self.names.is_empty() {
                    self.names.remove(child);
                }
            }
            Op::End => {
                // Its clock stays in `gs` (nothing changes it any more); a
                // join reads it from there.
                self.g(g).site |= ENDED;
            }
            Op::Join { child } => {
                if self.ended(*child) {
                    let mut base = std::mem::take(&mut self.g(g).base);
                    self.g(*child).join_into(clock_index(*child), &mut base);
                    let gs = self.g(g);
                    gs.base = base;
                    gs.forget_absorbed_inherit();
                }
            }
            Op::ChanMake { ch, cap } => {
                self.chans.insert(
                    *ch,
                    Box::new(Chan {
                        cap: *cap,
                        ..Chan::default()
                    }),
                );
            }
            Op::ChanSend { ch } => self.chan_op(*ch, g, true),
            Op::ChanRecv { ch } => self.chan_op(*ch, g, false),
            Op::ChanRendezvous { ch, receiver, .. } => {
                let c = self.chans.get_or_insert_with(*ch, Box::default);
                note_seen(&mut c.senders_seen, g);
                note_seen(&mut c.receivers_seen, *receiver);
                // Both sides end with C_s ⊔ C_r; when the two shared the
                // result of their last rendezvous (a ping-pong), nothing is
                // copied. The sender's clock is taken as the start (a join
                // into an empty clock is a copy).
                let mut both = self.g(g).take_clock(clock_index(g));
                let r = *receiver;
                self.g(r).exchange(clock_index(r), &mut both);
                self.g(g).base = both;
            }
            Op::ChanClose { ch } => {
                note_seen(
                    &mut self
                        .chans
                        .get_or_insert_with(*ch, Box::default)
                        .senders_seen,
                    g,
                );
                let mut c = VClock::new();
                Self::release_into(&mut self.gs, g, &mut c);
                self.chans.get_or_insert_with(*ch, Box::default).closed = Some(c);
            }
            Op::ChanRecvClosed { ch } => {
                if let Some(c) = self.chans.get(ch).and_then(|c| c.closed.as_ref()) {
                    self.gs.get_or_insert_with(g, G::unknown).acquire(c);
                }
            }
            // No edges; the goroutine is known from here on, as when the
            // checks of these ops looked it up themselves.
            Op::SendOnClosed { .. } | Op::CloseOfClosed { .. } | Op::Panic { .. } => {
                self.g(g);
            }
            Op::Acquire { obj } => {
                if let Some(c) = self.objs.get(obj) {
                    self.gs.get_or_insert_with(g, G::unknown).acquire(c);
                }
            }
            Op::Release { obj } | Op::Unlock { obj } => {
                if let Op::Unlock { .. } = ev.op {
                    self.released(g, *obj);
                }
                Self::release_into(&mut self.gs, g, self.objs.entry(*obj).or_default());
            }
            Op::Lock { obj } => {
                let me = self.gs.get_or_insert_with(g, G::unknown);
                if let Some(c) = self.objs.get(obj) {
                    me.acquire(c);
                }
                self.holders.entry(*obj).or_default().push((g, *loc));
            }
            Op::RLock { obj } => {
                let rw = self.rws.entry(*obj).or_default();
                self.gs.get_or_insert_with(g, G::unknown).acquire(&rw.w);
                self.holders.entry(*obj).or_default().push((g, *loc));
            }
            Op::WLock { obj } => {
                let rw = self.rws.entry(*obj).or_default();
                let me = self.gs.get_or_insert_with(g, G::unknown);
                me.acquire(&rw.w);
                me.acquire(&rw.r);
                self.holders.entry(*obj).or_default().push((g, *loc));
            }
            Op::RUnlock { obj } => {
                self.released(g, *obj);
                Self::release_into(&mut self.gs, g, &mut self.rws.entry(*obj).or_default().r);
            }
            Op::WUnlock { obj } => {
                self.released(g, *obj);
                Self::release_into(&mut self.gs, g, &mut self.rws.entry(*obj).or_default().w);
            }
            Op::WgAdd { wg, delta, counter } => {
                note_seen(self.adders.entry(*wg).or_default(), g);
                // `done` → `wait` returns (the runtime reports a returning
                // `wait` as an `Acquire`); a negative counter panicked
                // instead.
                if *counter >= 0 && *delta < 0 {
                    Self::release_into(&mut self.gs, g, self.objs.entry(*wg).or_default());
                }
            }
            // No edges (a returning `wait` is an `Acquire`); see above.
            Op::WgWait { .. } | Op::Read { .. } | Op::Write { .. } => {
                self.g(g);
            }
            Op::Atomic { addr, .. } => {
                // Sequentially consistent: every atomic op on a location both
                // acquires ([`Hb::before`]) and releases it.
                Self::release_into(&mut self.gs, g, self.atomics.entry(*addr).or_default());
            }
            Op::Free { addr } => {
                self.atomics.remove(addr);
            }
            Op::LockWait { .. } | Op::LostCancel { .. } | Op::Recovered => {}
            Op::FrameEnter { function } => {
                self.g(g).chain_mut().push(FrameLoc {
                    function,
                    loc: *loc,
                });
            }
            Op::FrameExit => {
                self.g(g).chain_mut().pop();
            }
        }
    }

    /// A send or receive completing on a buffered channel (or one side of
    /// an unbuffered one): the k-th op acquires and releases slot k mod C
    /// (Go's capacity rule). The hottest path of the engine, so it looks the
    /// goroutine and the channel up once each.
    fn chan_op(&mut self, ch: ObjId, g: Gid, send: bool) {
        let me = self.gs.get_or_insert_with(g, G::unknown);
        let c = self.chans.get_or_insert_with(ch, Box::default);
        note_seen(
            if send {
                &mut c.senders_seen
            } else {
                &mut c.receivers_seen
            },
            g,
        );
        let k = if send {
            &mut c.send_slot
        } else {
            &mut c.recv_slot
        };
        let i = *k;
        *k = if i + 1 >= c.cap { 0 } else { i + 1 };
        if c.slots.len() <= i {
            c.slots.resize_with(i + 1, VClock::new);
        }
        // Acquire and release at once: slot ⊔= C_g, then the goroutine takes
        // the result as its base (a goroutine streaming over a channel
        // copies no clock nodes).
        me.exchange(clock_index(g), &mut c.slots[i]);
    }

    /// `g` released lock `obj`.
    fn released(&mut self, g: Gid, obj: ObjId) {
        if let Some(h) = self.holders.get_mut(&obj) {
            // A guard may be dropped by another goroutine than the locker.
            let i = h.iter().position(|(x, _)| *x == g).unwrap_or(0);
            if !h.is_empty() {
                h.remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A million goroutines keep a million of these: the inline small
    /// clock (72 bytes) must not make the state of each one grow.
    #[test]
    fn per_goroutine_state_stays_at_104_bytes() {
        assert_eq!(std::mem::size_of::<VClock>(), 72);
        assert!(std::mem::size_of::<Option<G>>() <= 104);
    }
}
