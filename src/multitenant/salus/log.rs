//! The event log the simulator writes and the checker replays. Times in ms; jobs by their
//! index in the instance; lanes by id. Long traces have millions of iterations, so the log is a
//! stream: the checker reads it as it is written, and a [`EventLog`] keeps it only where asked.

use serde::Serialize;

/// One event, in the order it happened (events at one instant in the order applied).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    /// The job arrives and waits for admission.
    Arrive { t: f64, job: usize },
    /// The job enters lane `lane`, whose size is now `lane_size`; `persistent` bytes are
    /// charged to the persistent region.
    Admit { t: f64, job: usize, lane: usize, lane_size: f64, persistent: f64 },
    /// An iteration starts: `stall_ms` of switching (no GPU work), then `work_ms` of
    /// standalone GPU work.
    Start { t: f64, job: usize, lane: usize, stall_ms: f64, work_ms: f64 },
    /// The iteration started last in `lane` ends.
    End { t: f64, job: usize, lane: usize },
    /// The job is checkpointed out of memory and waits again (exclusive SRTF).
    Preempt { t: f64, job: usize, lane: usize },
    /// The job finished its last iteration and leaves; its lane closes when emptied.
    Depart { t: f64, job: usize, lane: usize },
    /// The lane shrank to its largest member's E (`--shrink`).
    Resize { t: f64, lane: usize, size: f64 },
}

impl Event {
    pub fn t(&self) -> f64 {
        match *self {
            Event::Arrive { t, .. }
            | Event::Admit { t, .. }
            | Event::Start { t, .. }
            | Event::End { t, .. }
            | Event::Preempt { t, .. }
            | Event::Depart { t, .. }
            | Event::Resize { t, .. } => t,
        }
    }

    /// Whether the event changes memory or membership (what the lane timeline draws).
    pub fn is_membership(&self) -> bool {
        !matches!(self, Event::Start { .. } | Event::End { .. })
    }
}

/// Where the simulator writes its events.
pub trait Sink {
    fn event(&mut self, e: Event);
}

/// Keeps the events (all, or the membership events only).
#[derive(Debug, Default, Clone, Serialize)]
pub struct EventLog {
    pub events: Vec<Event>,
    #[serde(skip)]
    pub membership_only: bool,
}

impl Sink for EventLog {
    fn event(&mut self, e: Event) {
        if !self.membership_only || e.is_membership() {
            self.events.push(e);
        }
    }
}

/// Hands every event to two sinks.
pub struct Tee<'a>(pub &'a mut dyn Sink, pub &'a mut dyn Sink);

impl Sink for Tee<'_> {
    fn event(&mut self, e: Event) {
        self.0.event(e);
        self.1.event(e);
    }
}

/// A sink that keeps nothing (a prediction whose log nobody reads).
pub struct Discard;

impl Sink for Discard {
    fn event(&mut self, _: Event) {}
}
