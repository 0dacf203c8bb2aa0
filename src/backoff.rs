//! The pause between failed attempts of a probe: it starts short and doubles up to a cap, so
//! that a failure that lasts costs few attempts and one that ends is seen soon. The DNS probe,
//! the asks of a bus or resolved that did not answer, and the HTTP probe share it.
//! (`--reach` counts its pauses from each target's failures: `core::reach::backoff`.)

use std::time::Duration;

/// A doubling pause, from `first` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The pause before the next attempt, without taking it.
    pub(crate) fn peek(&self) -> Duration {
        self.next
    }

    /// The pause before the next attempt; the one after is twice as long, up to the cap.
    pub(crate) fn take(&mut self) -> Duration {
        let pause = self.next;
        self.next = (pause * 2).min(self.max);
        pause
    }

    /// Back to the first pause, after an attempt that worked.
    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_starts_again_after_a_reset() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(250), ms(1000));
        assert_eq!(backoff.peek(), ms(250));
        let pauses: Vec<_> = (0..5).map(|_| backoff.take()).collect();
        assert_eq!(pauses, [ms(250), ms(500), ms(1000), ms(1000), ms(1000)]);
        backoff.reset();
        assert_eq!(backoff.take(), ms(250));
    }
}
