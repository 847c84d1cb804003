//! `goro::context`: cancellation, deadlines, values, and their propagation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goro::context::{self, CancelFunc, Context, Error, Key};
use goro::time::{self, Duration};
use goro::TryRecvError;

/// Upper bound for "promptly" on a loaded 2-core CI machine.
const SOON: Duration = Duration::from_secs(2);

fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

#[test]
fn handles_are_send_sync_clone() {
    assert_send_sync_clone::<Context>();
    assert_send_sync_clone::<CancelFunc>();
    assert_send_sync_clone::<Error>();
    fn is_error<E: std::error::Error + Copy + Eq + Send + Sync + 'static>() {}
    is_error::<Error>();
}

#[test]
fn error_display() {
    assert_eq!(Error::Canceled.to_string(), "context canceled");
    assert_eq!(
        Error::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
    assert_ne!(Error::Canceled, Error::DeadlineExceeded);
}

#[test]
fn roots_are_never_cancelled() {
    goro::run(async {
        for ctx in [context::background(), context::todo()] {
            assert_eq!(ctx.err(), None);
            assert_eq!(ctx.deadline(), None);
            assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Empty));
            let r = goro::select! {
                recv(ctx.done()) -> _ => "done",
                recv(time::after(Duration::from_millis(20))) -> _ => "timeout",
            };
            assert_eq!(r, "timeout");
        }
        assert_eq!(format!("{:?}", context::background()), "context.Background");
        assert_eq!(format!("{:?}", context::todo()), "context.TODO");
    });
}

#[test]
fn cancel_closes_done_once_for_many_waiters() {
    goro::run(async {
        let (ctx, cancel) = context::with_cancel(&context::background());
        assert_eq!(ctx.err(), None);
        let woke = Arc::new(AtomicUsize::new(0));
        let mut waiters = Vec::new();
        for i in 0..64 {
            let ctx = ctx.clone();
            let woke = woke.clone();
            waiters.push(goro::spawn(async move {
                // Half block in recv, half in a select: both see the close.
                let v = if i % 2 == 0 {
                    ctx.done().recv().await
                } else {
                    goro::select! { recv(ctx.done()) -> v => v }
                };
                assert_eq!(v, None, "done never carries a value");
                // err is set by the time done is observed closed.
                assert_eq!(ctx.err(), Some(Error::Canceled));
                woke.fetch_add(1, Ordering::SeqCst);
            }));
        }
        goro::yield_now().await;
        assert_eq!(woke.load(Ordering::SeqCst), 0, "woke before cancel");
        // Racing cancels from many goroutines: the channel is closed exactly
        // once (a second close would panic "close of closed channel").
        let mut cancellers = Vec::new();
        for _ in 0..8 {
            let cancel = cancel.clone();
            cancellers.push(goro::spawn(async move { cancel.cancel() }));
        }
        for h in cancellers {
            h.await;
        }
        cancel.cancel();
        for w in waiters {
            w.await;
        }
        assert_eq!(woke.load(Ordering::SeqCst), 64);
        assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Closed));
        assert!(ctx.done().is_closed());
        assert_eq!(ctx.err(), Some(Error::Canceled));
    });
}

#[test]
fn done_is_the_same_channel_every_time() {
    goro::run(async {
        let (ctx, cancel) = context::with_cancel(&context::background());
        let before = ctx.done();
        cancel.cancel();
        // A receiver taken before the cancel sees it.
        assert_eq!(before.recv().await, None);
        assert!(ctx.clone().done().is_closed());
    });
}

#[test]
fn timeout_fires_with_deadline_exceeded() {
    goro::run(async {
        let start = time::now();
        let (ctx, cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(30));
        let deadline = ctx.deadline().expect("a timeout context has a deadline");
        assert!(deadline >= start + Duration::from_millis(30));
        assert_eq!(ctx.err(), None);
        ctx.done().recv().await;
        assert!(time::now() >= deadline, "fired early");
        assert!(time::since(start) < SOON);
        assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
        // Cancel afterwards is a no-op: the error stays.
        cancel.cancel();
        assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    });
}

#[test]
fn cancel_before_timeout_wins() {
    goro::run(async {
        let (ctx, cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(20));
        cancel.cancel();
        assert_eq!(ctx.err(), Some(Error::Canceled));
        time::sleep(Duration::from_millis(40)).await;
        assert_eq!(ctx.err(), Some(Error::Canceled), "timer fired after cancel");
    });
}

#[test]
fn passed_deadline_is_born_cancelled() {
    goro::run(async {
        let past = time::now() - Duration::from_secs(1);
        let (ctx, cancel) = context::with_deadline(&context::background(), past);
        assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
        assert_eq!(ctx.deadline(), Some(past));
        assert!(ctx.done().is_closed());
        let (zero, c2) = context::with_timeout(&context::background(), Duration::ZERO);
        assert_eq!(zero.err(), Some(Error::DeadlineExceeded));
        cancel.cancel();
        c2.cancel();
    });
}

#[test]
fn deadline_is_the_earlier_of_own_and_parents() {
    goro::run(async {
        let bg = context::background();
        let (parent, pc) = context::with_timeout(&bg, Duration::from_millis(40));
        let pd = parent.deadline().unwrap();

        let (later, c1) = context::with_timeout(&parent, Duration::from_secs(10));
        assert_eq!(later.deadline(), Some(pd));
        let far = time::now() + Duration::from_secs(3600);
        let (later2, c2) = context::with_deadline(&parent, far);
        assert_eq!(later2.deadline(), Some(pd));

        let early = time::now() + Duration::from_millis(10);
        let (sooner, c3) = context::with_deadline(&parent, early);
        assert_eq!(sooner.deadline(), Some(early));

        let (plain, c4) = context::with_cancel(&parent);
        assert_eq!(plain.deadline(), Some(pd));
        static K: Key<u8> = Key::new("k");
        assert_eq!(context::with_value(&parent, &K, 1).deadline(), Some(pd));

        // The child with its own earlier deadline fires first...
        sooner.done().recv().await;
        assert_eq!(sooner.err(), Some(Error::DeadlineExceeded));
        assert_eq!(parent.err(), None);
        // ...and the parent's deadline reaches the later ones, with its error.
        later.done().recv().await;
        assert!(time::now() >= pd);
        for c in [&later, &later2, &plain, &parent] {
            assert_eq!(c.err(), Some(Error::DeadlineExceeded));
        }
        for c in [c1, c2, c3, c4, pc] {
            c.cancel();
        }
    });
}

#[test]
fn cancelling_a_parent_cancels_every_descendant() {
    goro::run(async {
        static TAG: Key<u32> = Key::new("tag");
        let (root, cancel_root) = context::with_cancel(&context::background());
        let (a, ca) = context::with_cancel(&root);
        let av = context::with_value(&a, &TAG, 1);
        let (aa, caa) = context::with_timeout(&av, Duration::from_secs(60));
        let (aaa, caaa) = context::with_cancel(&aa);
        let (b, cb) = context::with_cancel(&root);
        let (sibling, cs) = context::with_cancel(&context::background());

        // Cancelling a child does not touch its parent or siblings.
        ca.cancel();
        for c in [&a, &av, &aa, &aaa] {
            assert_eq!(c.err(), Some(Error::Canceled));
            assert!(c.done().is_closed());
        }
        assert_eq!(root.err(), None);
        assert_eq!(b.err(), None);

        // Cancelling the root reaches what is left, with the root's error.
        let waiter = goro::spawn({
            let b = b.clone();
            async move { b.done().recv().await }
        });
        cancel_root.cancel();
        assert_eq!(waiter.await, None);
        assert_eq!(b.err(), Some(Error::Canceled));
        assert_eq!(sibling.err(), None);
        for c in [caa, caaa, cb, cs] {
            c.cancel();
        }
    });
}

#[test]
fn descendants_get_the_parents_deadline_error() {
    goro::run(async {
        let (parent, pc) = context::with_timeout(&context::background(), Duration::from_millis(20));
        let (child, cc) = context::with_cancel(&parent);
        let (grandchild, gc) = context::with_cancel(&child);
        grandchild.done().recv().await;
        assert_eq!(grandchild.err(), Some(Error::DeadlineExceeded));
        assert_eq!(child.err(), Some(Error::DeadlineExceeded));
        for c in [gc, cc, pc] {
            c.cancel();
        }
    });
}

#[test]
fn child_of_cancelled_parent_is_born_cancelled() {
    goro::run(async {
        let (parent, cancel) = context::with_cancel(&context::background());
        cancel.cancel();
        let (c1, x1) = context::with_cancel(&parent);
        let (c2, x2) = context::with_timeout(&parent, Duration::from_secs(60));
        let c3 = context::with_value(&parent, &NAME, "v");
        for c in [&c1, &c2, &c3] {
            assert_eq!(c.err(), Some(Error::Canceled));
            assert!(c.done().is_closed());
        }
        // A parent cancelled by its deadline passes DeadlineExceeded on.
        let past = time::now() - Duration::from_millis(1);
        let (expired, x3) = context::with_deadline(&context::background(), past);
        let (c4, x4) = context::with_cancel(&expired);
        assert_eq!(c4.err(), Some(Error::DeadlineExceeded));
        // A cancelled parent wins over the child's own passed deadline, as in Go.
        let (c5, x5) = context::with_deadline(&parent, past);
        assert_eq!(c5.err(), Some(Error::Canceled));
        for x in [x1, x2, x3, x4, x5] {
            x.cancel();
        }
    });
}

#[test]
fn concurrent_children_and_parent_cancel_lose_no_child() {
    // Children created while the parent is being cancelled are either
    // registered in time or born cancelled: none stays live.
    goro::run(async {
        for _ in 0..20 {
            let (parent, cancel) = context::with_cancel(&context::background());
            let mut makers = Vec::new();
            for _ in 0..4 {
                let parent = parent.clone();
                makers.push(goro::spawn(async move {
                    let mut kids = Vec::new();
                    for i in 0..200 {
                        let (k, c) = context::with_cancel(&parent);
                        if i % 3 == 0 {
                            c.cancel();
                        }
                        kids.push((k, c));
                        if i % 50 == 0 {
                            goro::yield_now().await;
                        }
                    }
                    kids
                }));
            }
            goro::yield_now().await;
            cancel.cancel();
            for m in makers {
                for (k, c) in m.await {
                    assert!(k.err().is_some(), "a child of a cancelled parent is live");
                    assert!(k.done().is_closed());
                    c.cancel();
                }
            }
        }
    });
}

static NAME: Key<&'static str> = Key::new("name");
static REQUEST_ID: Key<String> = Key::new("request_id");
static OTHER_ID: Key<String> = Key::new("request_id"); // same name and type, another key
static COUNT: Key<u64> = Key::new("count");

#[test]
fn values_walk_up_the_chain_and_shadow() {
    goro::run(async {
        let bg = context::background();
        let a = context::with_value(&bg, &REQUEST_ID, "r-1".to_string());
        let (b, cb) = context::with_cancel(&a);
        let c = context::with_value(&b, &COUNT, 3u64);
        let (d, cd) = context::with_timeout(&c, Duration::from_secs(60));
        let e = context::with_value(&d, &REQUEST_ID, "r-2".to_string());

        assert_eq!(bg.value(&REQUEST_ID), None);
        assert_eq!(a.value(&REQUEST_ID).as_deref(), Some("r-1"));
        assert_eq!(d.value(&REQUEST_ID).as_deref(), Some("r-1"));
        assert_eq!(d.value(&COUNT), Some(3));
        assert_eq!(a.value(&COUNT), None, "values do not flow up");
        assert_eq!(e.value(&REQUEST_ID).as_deref(), Some("r-2"), "shadowed");
        assert_eq!(e.value(&COUNT), Some(3));
        // Identity is the static, not the name or the type.
        assert_eq!(e.value(&OTHER_ID), None);
        let f = context::with_value(&e, &OTHER_ID, "other".to_string());
        assert_eq!(f.value(&OTHER_ID).as_deref(), Some("other"));
        assert_eq!(f.value(&REQUEST_ID).as_deref(), Some("r-2"));

        // Values cross goroutines with the context.
        let h = goro::spawn({
            let e = e.clone();
            async move { e.value(&REQUEST_ID) }
        });
        assert_eq!(h.await.as_deref(), Some("r-2"));

        // A value context shares its parent's cancellation.
        cb.cancel();
        assert_eq!(c.err(), Some(Error::Canceled));
        assert_eq!(e.err(), Some(Error::Canceled));
        assert_eq!(a.err(), None);
        cd.cancel();
        assert_eq!(
            format!("{f:?}"),
            format!(
                "context.Background.WithValue(request_id).WithCancel.WithValue(count)\
                 .WithDeadline({:?}).WithValue(request_id).WithValue(request_id)",
                d.deadline().unwrap()
            )
        );
    });
}

#[test]
fn dropping_the_cancel_func_does_not_cancel() {
    goro::run(async {
        let (parent, cancel_parent) = context::with_cancel(&context::background());
        let (ctx, cancel) = context::with_cancel(&parent);
        drop(cancel);
        let r = goro::select! {
            recv(ctx.done()) -> _ => "done",
            recv(time::after(Duration::from_millis(20))) -> _ => "still live",
        };
        assert_eq!(r, "still live");
        assert_eq!(ctx.err(), None);
        // The parent still reaches it.
        cancel_parent.cancel();
        assert_eq!(ctx.err(), Some(Error::Canceled));
    });
}

#[test]
fn a_done_receiver_outlives_its_context() {
    // Go closes Done even if nobody holds the context any more.
    goro::run(async {
        let (ctx, cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(10));
        let done = ctx.done();
        drop(ctx);
        drop(cancel);
        assert_eq!(done.recv().await, None);

        let (parent, cancel_parent) = context::with_cancel(&context::background());
        let (child, child_cancel) = context::with_cancel(&parent);
        let done = child.done();
        drop((child, child_cancel));
        cancel_parent.cancel();
        assert_eq!(done.recv().await, None);
    });
}

#[test]
fn deep_chains_build_cancel_and_drop_without_recursion() {
    goro::run(async {
        let (top, cancel_top) = context::with_cancel(&context::background());
        let mut ctx = top.clone();
        let mut cancels = Vec::new();
        for i in 0..50_000u64 {
            if i % 2 == 0 {
                ctx = context::with_value(&ctx, &COUNT, i);
            } else {
                let (c, f) = context::with_cancel(&ctx);
                ctx = c;
                cancels.push(f);
            }
        }
        assert_eq!(ctx.value(&COUNT), Some(49_998));
        cancel_top.cancel();
        assert_eq!(ctx.err(), Some(Error::Canceled));
        assert!(ctx.done().is_closed());
        drop(cancels);
        drop(ctx);

        // Never cancelled: dropping the tree must not recurse either.
        let (top, c) = context::with_cancel(&context::background());
        let mut ctx = top.clone();
        for _ in 0..50_000 {
            ctx = context::with_cancel(&ctx).0;
        }
        drop(ctx);
        drop(top);
        drop(c);
    });
}

#[test]
fn timers_are_not_goroutines() {
    goro::run(async {
        let (_ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(60));
        let (short, c2) = context::with_timeout(&context::background(), Duration::from_millis(5));
        assert_eq!(goro::num_goroutine(), 1);
        short.done().recv().await;
        assert_eq!(goro::num_goroutine(), 1);
        cancel.cancel();
        c2.cancel();
    });
}

/// The guide's fan-out/fan-in `process(ctx, items)`, cancelled midway.
async fn process(ctx: &Context, items: Vec<u32>) -> Result<Vec<u32>, Error> {
    let jobs = goro::chan::<u32>(0);
    let results = goro::chan::<u32>(items.len());
    for _ in 0..4 {
        let (ctx, jobs, results) = (ctx.clone(), jobs.receiver(), results.sender());
        goro::go!(async move {
            loop {
                goro::select! {
                    recv(ctx.done()) -> _ => return,
                    recv(jobs) -> item => match item {
                        Some(i) => {
                            time::sleep(Duration::from_millis(i.into())).await;
                            results.send(i).await;
                        }
                        None => return,
                    },
                }
            }
        });
    }
    let n = items.len();
    for item in items {
        goro::select! {
            send(jobs, item) => {},
            recv(ctx.done()) -> _ => return Err(ctx.err().unwrap()),
        }
    }
    jobs.close();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        goro::select! {
            recv(results) -> r => out.push(r.unwrap()),
            recv(ctx.done()) -> _ => return Err(ctx.err().unwrap()),
        }
    }
    Ok(out)
}

#[test]
fn fan_out_fan_in_with_cancellation() {
    goro::run(async {
        let bg = context::background();
        let (ctx, cancel) = context::with_timeout(&bg, Duration::from_secs(5));
        let mut got = process(&ctx, vec![1, 2, 3, 4, 5, 6]).await.unwrap();
        got.sort();
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
        cancel.cancel();

        // Items take 200 ms each; the deadline is 30 ms away.
        let start = time::now();
        let (ctx, cancel) = context::with_timeout(&bg, Duration::from_millis(30));
        let r = process(&ctx, vec![200; 8]).await;
        assert_eq!(r, Err(Error::DeadlineExceeded));
        assert!(
            time::since(start) < Duration::from_millis(350),
            "not cancelled promptly"
        );
        cancel.cancel();
    });
}

/// A receive on `done` that does not wait answers from the channel's close
/// flag without its lock (`done` is never sent on): a polling `select!` with
/// `default` takes `default` while the context lives, and sees a cancel made
/// by another goroutine, with `err` already set, once it happens.
#[test]
fn polling_done_sees_a_cancel_from_another_goroutine() {
    goro::run(async {
        for _ in 0..50 {
            let (ctx, cancel) = context::with_cancel(&context::background());
            let done = ctx.done();
            for _ in 0..100 {
                let r = goro::select! {
                    recv(done) -> _ => "done",
                    default => "live",
                };
                assert_eq!(r, "live", "done before any cancel");
            }
            assert_eq!(done.try_recv(), Err(TryRecvError::Empty));
            let poller = goro::spawn(async move {
                let mut polls = 0u64;
                loop {
                    let seen = goro::select! {
                        recv(ctx.done()) -> v => { assert_eq!(v, None); true },
                        default => false,
                    };
                    if seen {
                        assert_eq!(ctx.err(), Some(Error::Canceled));
                        return polls;
                    }
                    polls += 1;
                    goro::yield_now().await;
                }
            });
            goro::spawn(async move { cancel.cancel() }).await;
            poller.await;
            assert_eq!(done.try_recv(), Err(TryRecvError::Closed));
        }
    });
}
