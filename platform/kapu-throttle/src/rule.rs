//! The arithmetic of a throttle bucket, pure and given the time.
//!
//! A bucket counts hits (failed sign-ins, e-mails sent) and forgives one every
//! `leak_every`: a leaky bucket kept as two numbers, so a row in the database is all it
//! needs. Up to `free` hits cost nothing; past them a bucket either waits a delay that
//! doubles with every further hit ([`Limit::Backoff`], for sign-in) or refuses until a hit
//! has leaked ([`Limit::Cap`], for e-mails).

use chrono::{DateTime, Duration, Utc};

/// What happens past a bucket's free hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Each further attempt waits `first`, then twice as long, up to `max`, after the last hit.
    Backoff {
        /// The first delay.
        first: Duration,
        /// The longest delay.
        max: Duration,
    },
    /// No further hit until one has leaked.
    Cap,
}

/// One bucket's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Hits allowed before the limit applies.
    pub free: u32,
    /// One hit is forgiven per this long.
    pub leak_every: Duration,
    /// What happens past the free hits.
    pub limit: Limit,
}

/// A bucket's stored state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Hits counted when `last_hit_at` was the time.
    pub hits: u32,
    /// The last hit.
    pub last_hit_at: Option<DateTime<Utc>>,
    /// The last success (sign-in buckets of an account and a network only).
    pub succeeded_at: Option<DateTime<Utc>>,
}

impl Rule {
    /// The hits that have not leaked by `now`.
    pub fn level(&self, b: &Bucket, now: DateTime<Utc>) -> u32 {
        let Some(last) = b.last_hit_at else { return 0 };
        let leak = self.leak_every.num_milliseconds().max(1);
        let leaked = ((now - last).num_milliseconds().max(0) / leak).min(i64::from(u32::MAX));
        b.hits.saturating_sub(u32::try_from(leaked).unwrap_or(u32::MAX))
    }

    /// When the bucket lets the next attempt through, if it does not now.
    pub fn refused_until(&self, b: &Bucket, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let last = b.last_hit_at?;
        let level = self.level(b, now);
        if level < self.free {
            return None;
        }
        let until = match self.limit {
            Limit::Backoff { first, max } => {
                let doublings = (level - self.free).min(30);
                let delay = first.checked_mul(1 << doublings).unwrap_or(max).min(max);
                last + delay
            }
            // The level falls below `free` once `hits - free + 1` hits have leaked.
            Limit::Cap => last + self.leak_every * i32::try_from(b.hits - self.free + 1).unwrap_or(i32::MAX),
        };
        (until > now).then_some(until)
    }

    /// The bucket after one more hit at `now`.
    pub fn hit(&self, b: Bucket, now: DateTime<Utc>) -> Bucket {
        Bucket { hits: self.level(&b, now).saturating_add(1), last_hit_at: Some(now), ..b }
    }

    /// The bucket with one hit taken back (a provisional hit that turned out a success).
    pub fn unhit(&self, b: Bucket) -> Bucket {
        Bucket { hits: b.hits.saturating_sub(1), ..b }
    }

    /// When every hit has leaked, so the stored row says nothing any more.
    pub fn forgotten_at(&self, b: &Bucket) -> Option<DateTime<Utc>> {
        let last = b.last_hit_at?;
        Some(last + self.leak_every * i32::try_from(b.hits).unwrap_or(i32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    const BACKOFF: Rule = Rule {
        free: 3,
        leak_every: Duration::minutes(30),
        limit: Limit::Backoff { first: Duration::seconds(10), max: Duration::seconds(60) },
    };

    #[test]
    fn free_hits_cost_nothing_then_the_delay_doubles_up_to_its_maximum() {
        let mut b = Bucket::default();
        for s in 0..3 {
            assert_eq!(BACKOFF.refused_until(&b, at(s)), None, "hit {s} is free");
            b = BACKOFF.hit(b, at(s));
        }
        // Three hits, the last at 2 s: the next waits 10 s after it.
        assert_eq!(BACKOFF.refused_until(&b, at(3)), Some(at(12)));
        assert_eq!(BACKOFF.refused_until(&b, at(12)), None);
        b = BACKOFF.hit(b, at(12));
        assert_eq!(BACKOFF.refused_until(&b, at(13)), Some(at(32)), "the second delay is twice the first");
        b = BACKOFF.hit(b, at(32));
        assert_eq!(BACKOFF.refused_until(&b, at(33)), Some(at(72)));
        b = BACKOFF.hit(b, at(72));
        assert_eq!(BACKOFF.refused_until(&b, at(73)), Some(at(132)), "80 s is capped at 60 s");
        for s in [132, 192, 252] {
            b = BACKOFF.hit(b, at(s));
        }
        assert_eq!(BACKOFF.refused_until(&b, at(253)), Some(at(312)), "the delay stays at its maximum");
    }

    #[test]
    fn hits_leak_so_a_quiet_bucket_forgives() {
        let mut b = Bucket::default();
        for s in 0..5 {
            b = BACKOFF.hit(b, at(s));
        }
        assert_eq!(BACKOFF.level(&b, at(5)), 5);
        assert_eq!(BACKOFF.level(&b, at(4 + 30 * 60)), 4, "one hit leaks per 30 minutes");
        assert_eq!(BACKOFF.refused_until(&b, at(4 + 60 * 60)), None, "two leaked: below the free hits again");
        assert_eq!(BACKOFF.forgotten_at(&b), Some(at(4 + 5 * 30 * 60)));
        assert_eq!(BACKOFF.level(&b, at(4 + 5 * 30 * 60)), 0);
        // A hit after a pause counts from what is left.
        let b = BACKOFF.hit(b, at(4 + 60 * 60));
        assert_eq!(b.hits, 4);
    }

    #[test]
    fn an_undone_hit_gives_its_delay_back() {
        let mut b = Bucket::default();
        for s in 0..3 {
            b = BACKOFF.hit(b, at(s));
        }
        assert!(BACKOFF.refused_until(&b, at(3)).is_some());
        assert_eq!(BACKOFF.refused_until(&BACKOFF.unhit(b), at(3)), None);
        assert_eq!(BACKOFF.unhit(Bucket::default()).hits, 0);
    }

    #[test]
    fn a_cap_refuses_until_a_hit_has_leaked() {
        let cap = Rule { free: 3, leak_every: Duration::minutes(20), limit: Limit::Cap };
        let mut b = Bucket::default();
        for s in [0, 60, 120] {
            assert_eq!(cap.refused_until(&b, at(s)), None);
            b = cap.hit(b, at(s));
        }
        // Three in the last 20 minutes: the fourth waits until one leaks, 20 min after the last.
        assert_eq!(cap.refused_until(&b, at(121)), Some(at(120 + 20 * 60)));
        assert_eq!(cap.refused_until(&b, at(120 + 20 * 60)), None);
        // At most three an hour when sent steadily.
        let mut sent = 3;
        let mut t = 121;
        while t < 3600 + 120 {
            if cap.refused_until(&b, at(t)).is_none() {
                b = cap.hit(b, at(t));
                sent += 1;
            }
            t += 30;
        }
        assert!(sent <= 3 + 3 + 1, "{sent} sent in an hour");
    }

    #[test]
    fn an_empty_bucket_refuses_nothing() {
        assert_eq!(BACKOFF.refused_until(&Bucket::default(), at(0)), None);
        assert_eq!(BACKOFF.forgotten_at(&Bucket::default()), None);
        let zero = Rule { free: 0, leak_every: Duration::seconds(1), limit: Limit::Cap };
        assert_eq!(zero.refused_until(&Bucket::default(), at(0)), None, "a bucket never hit has no time to wait from");
    }
}
