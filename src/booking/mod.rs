//! The one booking path every door calls (the widget, the phone line, the
//! walk-in desk, partner apps): book, hold, reschedule, take a walk-in and
//! step through the lifecycle. Each use case takes a typed request, the
//! [`Requester`], `now` and a connection, applies the rules of `domain` and
//! the storage of `store`, and returns a typed outcome; the HTTP layer only
//! reads the request and renders the answer.

mod book;
mod hold;
mod requester;
mod reschedule;
mod step;
mod walk_in;

pub use book::{book, BookRequest, Booked, Slot};
pub use hold::{hold, HoldSlot};
pub use requester::Requester;
pub use reschedule::{reschedule, Move};
pub use step::{step, StepChange};
pub use walk_in::{seat, walk_in};
