//! goro's analysis engine.
//!
//! Reserved for the happens-before engine, the detectors and the renderers
//! (the detector issues). It exports nothing yet: the runtime does not depend
//! on it until then.
