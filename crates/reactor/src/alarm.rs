//! The loop's alarm clock: a thread that sleeps until the loop's next deadline and wakes the
//! loop then, so that the loop's own waits for events carry no timeout.
//!
//! A `poll` with a timeout starts a kernel timer for that one sleep and cancels it when an
//! event ends the sleep first. On an echo's round trip that is one timer started and one
//! cancelled per message (`perf stat -e timer:hrtimer_start,timer:hrtimer_cancel` on the
//! loop: ~43 000 of each a second against 1 connection), for a deadline seconds away that has
//! not moved, and ~0.7 µs of the loop's CPU per round trip on the development machine. The
//! alarm is set only when the next deadline comes *earlier* than the time it is set for, or
//! after it rang; the loop then polls with no timeout, and the alarm thread wakes it through
//! its `Waker` (the one other threads use) at the deadline. A deadline that moved later (a
//! keep-alive connection's, after every request) leaves the alarm as it is: it rings early,
//! the turn finds nothing due, and it is set again for what is next — the lazy deletion of
//! the timer heap (`timers.rs`), one level down.
//!
//! ```text
//!   loop                                        alarm thread
//!    │ next deadline earlier than set? ─set+unpark─▶ sleeps until it (park_timeout)
//!    │ poll(no timeout) … sleeps                    │
//!    │ ◀────────── Waker, at the deadline ──────────┘ (any event may come first)
//!    │ the turn runs the timers that are due
//! ```
//!
//! Setting it costs a lock and, when the time moved earlier, an unpark; a loop whose next
//! deadline does not move pays nothing per turn. A deadline under [`NEAR`] (20 ms) away is
//! left to `poll`'s timeout: due within a few sleeps anyway, it would cost the alarm thread a
//! wake-up each time. Without the thread (it could not be spawned) the loop polls with a
//! timeout, as before.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::Waker;

/// The stack the alarm thread runs on: it only loops over a lock and a sleep.
const ALARM_STACK: usize = 64 * 1024;

/// Deadlines nearer than this are left to `poll`'s own timeout: a timer that is due within a
/// few sleeps anyway (the hub's 1 ms re-check of a held `POST`) would cost the alarm thread a
/// wake-up, and the loop a cross-thread wake, each time — more than the kernel timer it saves.
pub(crate) const NEAR: Duration = Duration::from_millis(20);

/// One loop's alarm: when it is set to ring, and the thread that rings it.
#[derive(Debug)]
pub(crate) struct Alarm {
    shared: Arc<Setting>,
    /// What the loop last set (the thread's copy may be cleared already: it rang).
    set_for: Option<Instant>,
    thread: Option<JoinHandle<()>>,
}

/// What the loop and the alarm thread share.
#[derive(Debug)]
struct Setting {
    next: Mutex<Next>,
    waker: Arc<Waker>,
}

/// What the alarm thread does next.
#[derive(Debug, Default)]
struct Next {
    /// When to ring (`None`: not set).
    at: Option<Instant>,
    /// The loop is gone: return.
    stop: bool,
}

impl Alarm {
    /// An alarm that wakes a loop through `waker`, its thread named after the loop's.
    pub(crate) fn start(waker: Arc<Waker>, name: String) -> io::Result<Alarm> {
        let shared = Arc::new(Setting { next: Mutex::new(Next::default()), waker });
        let ringer = Arc::clone(&shared);
        let thread = thread::Builder::new().name(name).stack_size(ALARM_STACK).spawn(move || ring(&ringer))?;
        Ok(Alarm { shared, set_for: None, thread: Some(thread) })
    }

    /// The timeout to poll with when `next` is the loop's next deadline and `now` the time:
    /// none when the alarm rings by `next` (set here if it would not); the time left when
    /// that is under [`NEAR`] (zero when `next` is due).
    pub(crate) fn poll_timeout(&mut self, next: Option<Instant>, now: Instant) -> Option<Duration> {
        if self.set_for.is_some_and(|set| set <= now) {
            self.set_for = None; // it has rung (or is about to: its wake-up then finds nothing)
        }
        let at = next?; // if still set, it rings once for nothing
        let left = at.saturating_duration_since(now);
        if left < NEAR {
            return Some(left);
        }
        if self.set_for.is_none_or(|set| set > at) {
            self.set_for = Some(at);
            self.shared.next.lock().unwrap_or_else(PoisonError::into_inner).at = Some(at);
            if let Some(thread) = &self.thread {
                thread.thread().unpark();
            }
        }
        None
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.shared.next.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The alarm thread: sleeps until the time set, wakes the loop then, and waits to be set again.
fn ring(setting: &Setting) {
    loop {
        let mut next = setting.next.lock().unwrap_or_else(PoisonError::into_inner);
        if next.stop {
            return;
        }
        let now = Instant::now();
        match next.at {
            Some(at) if at <= now => {
                next.at = None;
                drop(next);
                let _ = setting.waker.wake();
            }
            // Spurious unparks are allowed: every wake-up looks at the setting again.
            Some(at) => {
                drop(next);
                thread::park_timeout(at - now);
            }
            None => {
                drop(next);
                thread::park();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use mio::{Events, Poll, Token};

    use super::*;

    const WAKER: Token = Token(7);

    fn alarm(poll: &Poll) -> Alarm {
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).expect("waker"));
        Alarm::start(waker, "test-alarm".into()).expect("thread")
    }

    fn woken_within(poll: &mut Poll, events: &mut Events, timeout: Duration) -> bool {
        poll.poll(events, Some(timeout)).expect("poll");
        events.iter().any(|event| event.token() == WAKER)
    }

    /// Set for a deadline, the alarm wakes the loop at it — not before — while the loop polls
    /// with no timeout of its own; a later deadline leaves it set for the earlier one, an
    /// earlier one moves it.
    #[test]
    fn the_alarm_wakes_the_loop_at_the_earliest_deadline_it_was_given_and_not_before() {
        let mut poll = Poll::new().expect("poll");
        let mut events = Events::with_capacity(4);
        let mut alarm = alarm(&poll);
        let start = Instant::now();
        let first = start + NEAR + Duration::from_millis(60);
        assert_eq!(alarm.poll_timeout(Some(first), start), None, "no poll timeout");
        assert_eq!(alarm.poll_timeout(Some(first + Duration::from_secs(5)), start), None);
        assert_eq!(alarm.set_for, Some(first), "a later deadline does not move it");
        let earlier = start + NEAR + Duration::from_millis(10);
        assert_eq!(alarm.poll_timeout(Some(earlier), start), None);
        assert_eq!(alarm.set_for, Some(earlier), "an earlier one does");
        // The waits are bounded only so that a broken alarm fails the test instead of hanging.
        assert!(woken_within(&mut poll, &mut events, Duration::from_secs(5)));
        assert!(Instant::now() >= earlier, "it rang early");
        // Rung, it stays quiet until it is set again.
        assert!(!woken_within(&mut poll, &mut events, Duration::from_millis(100)));
        let now = Instant::now();
        assert_eq!(alarm.poll_timeout(None, now), None);
        assert_eq!(alarm.set_for, None, "a time passed counts as rung");
    }

    /// A deadline already due polls at once, a near one with `poll`'s own timeout (nothing is
    /// set for either); no deadline sleeps without a timeout.
    #[test]
    fn due_and_near_deadlines_are_polls_timeout_and_none_sleeps_without_one() {
        let poll = Poll::new().expect("poll");
        let mut alarm = alarm(&poll);
        let now = Instant::now();
        assert_eq!(alarm.poll_timeout(Some(now), now), Some(Duration::ZERO));
        let near = Duration::from_millis(1);
        assert_eq!(alarm.poll_timeout(Some(now + near), now), Some(near));
        assert_eq!(alarm.set_for, None);
        assert_eq!(alarm.poll_timeout(None, now), None);
    }
}
