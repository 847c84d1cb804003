//! Every item the attribute instruments, run without a detector (frames
//! and probes cost a check and change nothing), and code the lostcancel
//! lint accepts.

use std::time::Duration;

use goro::context;

#[goro::instrument]
fn plain(x: u32) -> u32 {
    x + 1
}

#[goro::instrument]
async fn asynchronous(x: u32) -> u32 {
    goro::yield_now().await;
    x * 2
}

#[goro::instrument]
fn generic<T: Clone>(t: &T) -> T {
    t.clone()
}

/// # Safety
/// `p` must be valid for reads and writes.
#[goro::instrument]
unsafe fn raw_unsafe_fn(p: *mut u32) -> u32 {
    // SAFETY: the caller's contract.
    unsafe {
        *p += 1;
        *p
    }
}

#[goro::instrument]
fn early_return(x: Option<u32>) -> Result<u32, String> {
    let v = x.ok_or("none")?;
    if v == 0 {
        return Ok(0);
    }
    Ok(v)
}

struct Counter {
    n: u32,
}

#[goro::instrument]
impl Counter {
    const START: u32 = 0;

    const fn new() -> Self {
        Counter { n: Self::START }
    }

    fn bump(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    async fn bump_later(&mut self) -> u32 {
        goro::yield_now().await;
        self.bump()
    }
}

#[goro::instrument]
impl std::fmt::Display for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.n)
    }
}

impl Counter {
    #[goro::instrument]
    fn single_method(&self) -> u32 {
        self.n
    }
}

#[goro::instrument]
mod registry {
    pub static mut COUNT: u64 = 0;
    pub static LIMIT: u64 = 10;
    const STEP: u64 = 1;

    pub fn add() -> u64 {
        // SAFETY: single-threaded in this program.
        unsafe {
            COUNT += STEP;
            if COUNT > LIMIT {
                COUNT = 0;
            }
            COUNT
        }
    }

    pub struct Slot(pub u64);

    impl Slot {
        #[goro::instrument]
        pub fn take(&mut self) -> u64 {
            std::mem::take(&mut self.0)
        }
    }

    pub mod nested {
        pub fn inner() -> u64 {
            super::add()
        }
    }
}

#[goro::instrument]
async fn cancels(parent: &context::Context) {
    let (ctx, cancel) = context::with_timeout(parent, Duration::from_millis(1));
    let (_ctx2, cancel2) = context::with_cancel(&ctx);
    let worker = cancel2.clone();
    goro::go!(async move { worker.cancel() });
    cancel2.cancel();
    ctx.done().recv().await;
    cancel.cancel();
}

#[goro::instrument]
fn hands_back(parent: &context::Context) -> (context::Context, context::CancelFunc) {
    let (ctx, cancel) = context::with_cancel(parent);
    (ctx, cancel)
}

#[goro::instrument]
fn pair(parent: &context::Context) {
    let both = context::with_cancel(parent);
    both.1.cancel();
}

fn main() {
    assert_eq!(plain(1), 2);
    assert_eq!(generic(&String::from("a")), "a");
    let mut x = 1;
    // SAFETY: x is a live local.
    assert_eq!(unsafe { raw_unsafe_fn(&mut x) }, 2);
    assert_eq!(early_return(Some(3)), Ok(3));
    assert!(early_return(None).is_err());
    let mut c = Counter::new();
    assert_eq!(c.bump(), 1);
    assert_eq!(c.single_method(), 1);
    assert_eq!(c.to_string(), "1");
    assert_eq!(registry::add(), 1);
    assert_eq!(registry::nested::inner(), 2);
    assert_eq!(registry::Slot(4).take(), 4);
    goro::run(async move {
        assert_eq!(asynchronous(2).await, 4);
        assert_eq!(c.bump_later().await, 2);
        let root = context::background();
        cancels(&root).await;
        let (_ctx, cancel) = hands_back(&root);
        cancel.cancel();
        pair(&root);
    });
}

/// Inside an instrumented module, a sync `#[test]` without goro's attribute
/// stays a plain test (with a frame); an `async` one becomes a goro test.
#[goro::instrument]
mod module_tests {
    #[test]
    fn a_plain_test() {
        assert_eq!(1 + 1, 2);
    }

    #[test]
    async fn an_async_test() {}
}
