//! Faults the durability tests inject into the real binary, to prove what a
//! crash at an exact point does to promises already made. Off unless
//! `SLOTWISE_FAULT` names one; nothing in production sets it.

use std::sync::OnceLock;

/// The process dies (SIGABRT, no unwinding, no flush) right after a
/// booking's or a walk-in's transaction commits and before its answer
/// leaves: the moment when a client has been promised nothing yet the
/// booking (or queue ticket) exists.
pub const CRASH_AFTER_COMMIT: &str = "crash_after_commit";

fn configured() -> Option<&'static str> {
    static FAULT: OnceLock<Option<String>> = OnceLock::new();
    FAULT
        .get_or_init(|| std::env::var("SLOTWISE_FAULT").ok())
        .as_deref()
}

/// Dies here when `fault` is the one configured.
pub fn crash_if(fault: &str) {
    if configured() == Some(fault) {
        tracing::error!(fault, "injected fault: aborting the process");
        std::process::abort();
    }
}
