//! Go's race-detector suite (`src/runtime/race/testdata` in golang/go),
//! ported: one test binary, one module per Go test file, so that the six
//! share one build and one link. The ported files are under Go's BSD licence
//! (`tests/LICENSE-GO`); `support` holds the verdicts they share.

mod support;

mod atomic;
mod chan;
mod mop;
mod select;
mod sync;
mod waitgroup;
