//! The `select!` macro: parsing its cases and expanding them around
//! [`crate::select`].

/// Waits on several channel operations and runs the arm of the one that
/// completes: Go's `select`.
///
/// Cases:
/// - `recv(ch) -> v => body`: `v` is `Option<T>` (`None`: closed and
///   drained), bound by any irrefutable pattern; `recv(ch) => body` ignores it.
/// - `send(ch, value) => body`: commits only if chosen; otherwise `value` is
///   dropped unsent.
/// - `default => body`: makes the select non-blocking.
///
/// Every channel and send operand is evaluated once, in order, on entry, as
/// in Go. Arms run in the enclosing async fn, so `return`, `?`, `break`,
/// `continue` and `.await` work there.
/// `ch` may be a [`Chan`](crate::Chan), a [`Sender`](crate::Sender) (send
/// cases), a [`Receiver`](crate::Receiver) (receive cases) or a reference to
/// one; `goro::time::after(..)` and `ctx.done()` are ordinary receivers here.
///
/// Semantics, as in Go:
/// - Fairness: when several cases are ready, one is chosen uniformly at
///   random (under the detector, from the schedule's seed: the same seed
///   makes the same choices).
/// - Blocking: without `default` the select waits until a case can commit;
///   a select with no cases at all waits forever. While it waits, its cases
///   are queued in a fresh random order, so a partner that arrives later
///   completes each of the cases it could complete equally often (two
///   `send`s on one channel each deliver about half the time).
/// - Exactly one case commits, and never with itself: a select's own `send`
///   and `recv` on one channel do not pair (with nobody else on the
///   channel, it waits).
///
/// A select is cancel safe: dropping it while it waits commits nothing.
///
/// # Panics
///
/// `send on closed channel` if a chosen send case's channel is closed. The
/// panic names the line of the `select!` itself, not of the `send(..)`
/// arm as Go does: a `macro_rules!` expansion has no span of its own for
/// an arm, so `#[track_caller]` (and `line!()`) inside it see the line
/// where the macro is invoked.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// goro::run(async {
///     let results = goro::chan::<u32>(1);
///     let jobs = goro::chan::<u32>(1);
///     results.send(7).await;
///     let got = goro::select! {
///         recv(results) -> msg => msg,
///         send(jobs, 1) => None,
///         recv(goro::time::after(Duration::from_secs(5))) -> _ => None,
///     };
///     assert!(got == Some(7) || jobs.len() == 1);
///
///     // With `default`, a select never blocks.
///     let empty = goro::chan::<u32>(0);
///     let polled = goro::select! {
///         recv(empty) -> v => v,
///         default => None,
///     };
///     assert_eq!(polled, None);
/// });
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            @idx [
                0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
                30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55
                56 57 58 59 60 61 62 63
            ]
            @cases []
            @default []
            @rest $($tokens)*
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // All cases parsed.
    (@idx $idx:tt @cases $cases:tt @default $default:tt @rest) => {
        $crate::__select_emit!(@cases $cases @default $default)
    };
    (@idx [] @cases $cases:tt @default $default:tt @rest $($rest:tt)+) => {
        ::core::compile_error!("goro::select!: at most 64 cases are supported")
    };

    // recv(ch) -> pat => body
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) ($p) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx $idx:tt @cases $cases:tt @default $default:tt @rest) => {
        $crate::__select_emit!(@cases $cases @default $default)
    };
    (@idx [] @cases $cases:tt @default $default:tt @rest $($rest:tt)+) => {
        ::core::compile_error!("goro::select!: at most 64 cases are supported")
    };

    // recv(ch) -> pat => body
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) ($p) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) -> $p:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) ($p) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) -> $p:pat => $body:expr) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) ($p) ($body))]
            @default $d @rest)
    };

    // recv(ch) => body
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) (_) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) -> $p:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) ($p) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) -> $p:pat => $body:expr) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) ($p) ($body))]
            @default $d @rest)
    };

    // recv(ch) => body
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) (_) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) (_) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) => $body:expr) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) (_) ($body))]
            @default $d @rest)
    };

    // send(ch, value) => body
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest send($ch:expr, $v:expr $(,)?) => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (send $i ($ch, $v) (()) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) (_) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest recv($ch:expr $(,)?) => $body:expr) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (recv $i ($ch) (_) ($body))]
            @default $d @rest)
    };

    // send(ch, value) => body
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest send($ch:expr, $v:expr $(,)?) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (send $i ($ch, $v) (()) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest send($ch:expr, $v:expr $(,)?) => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (send $i ($ch, $v) (()) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest send($ch:expr, $v:expr $(,)?) => $body:expr) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (send $i ($ch, $v) (()) ($body))]
            @default $d @rest)
    };

    // default => body
    (@idx $idx:tt @cases $c:tt @default [] @rest default => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@idx $idx @cases $c @default [($body)] @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest send($ch:expr, $v:expr $(,)?) => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (send $i ($ch, $v) (()) ($body))]
            @default $d @rest $($rest)*)
    };
    (@idx [$i:tt $($is:tt)*] @cases [$($c:tt)*] @default $d:tt
     @rest send($ch:expr, $v:expr $(,)?) => $body:expr) => {
        $crate::__select_parse!(@idx [$($is)*] @cases [$($c)* (send $i ($ch, $v) (()) ($body))]
            @default $d @rest)
    };

    // default => body
    (@idx $idx:tt @cases $c:tt @default [] @rest default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@idx $idx @cases $c @default [($body)] @rest $($rest)*)
    };
    (@idx $idx:tt @cases $c:tt @default [] @rest default => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@idx $idx @cases $c @default [($body)] @rest $($rest)*)
    };
    (@idx $idx:tt @cases $c:tt @default [] @rest default => $body:expr) => {
        $crate::__select_parse!(@idx $idx @cases $c @default [($body)] @rest)
    };
    (@idx $idx:tt @cases $c:tt @default [$($d:tt)+] @rest default $($rest:tt)*) => {
        ::core::compile_error!("goro::select!: more than one `default` case")
    };

    // Anything else.
    (@idx $idx:tt @cases $c:tt @default $d:tt @rest $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "goro::select!: expected `recv(ch) -> v => ..`, `recv(ch) => ..`, ",
            "`send(ch, value) => ..` or `default => ..`, found `",
            ::core::stringify!($($rest)+), "`"
        ))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    // Only `default` (or nothing): no channel to wait on.
    (@cases [] @default [($body:expr)]) => {{
        $body
    }};
    (@cases [] @default []) => {{
        // `select {}` blocks forever (and says so to the detector, which
        // must not mistake it for waiting on the outside world).
        $crate::select::__Select::new(&mut [], false).await;
        ::core::unreachable!("goro::select! with no cases never completes")
    }};
    (@cases [$(($kind:ident $i:tt ($($args:tt)*) ($p:pat) ($body:expr)))+] @default [$(($dbody:expr))?]) => {{
        // Operands are evaluated once, in order; temporaries such as
        // `time::after(..)` live until the select is over.
        let __goro_ops = ($($crate::__select_operand!($kind $($args)*),)+);
        let mut __goro_cases = ($($crate::__select_case!($kind __goro_ops.$i),)+);
        let __goro_index = {
            let mut __goro_dyn: [&mut (dyn $crate::select::__Case + ::core::marker::Send); $crate::__select_count!($($i)+)] =
                [$(&mut __goro_cases.$i),+];
            $crate::select::__Select::new(&mut __goro_dyn, $crate::__select_has_default!($($dbody)?)).await
        };
        match __goro_index {
            $($i => {
                #[allow(unused_variables)]
                let $p = __goro_cases.$i.__take();
                $body
            })+
            _ => { $crate::__select_default_body!($($dbody)?) }
        }
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_operand {
    (recv $ch:expr) => {
        &$ch
    };
    (send $ch:expr, $v:expr) => {
        $crate::select::__SendOperand {
            ch: &$ch,
            value: $v,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_case {
    // Method calls, so that an `Option` operand (a nil-able channel) finds
    // its inherent method first (see `select::__Operand`).
    (recv $op:expr) => {{
        use $crate::select::__RecvCaseOf as _;
        $crate::select::__Operand($op).__recv_case()
    }};
    (send $op:expr) => {{
        use $crate::select::__SendCaseOf as _;
        $op.__send_case()
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_count {
    () => { 0usize };
    ($head:tt $($tail:tt)*) => { 1usize + $crate::__select_count!($($tail)*) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_has_default {
    () => {
        false
    };
    ($body:expr) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_default_body {
    () => {
        ::core::unreachable!("goro::select!: no case was chosen")
    };
    ($body:expr) => {
        $body
    };
}
