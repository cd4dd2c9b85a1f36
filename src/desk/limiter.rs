//! Slowing wrong passwords: per account name and per client address, a few failures are free;
//! past them each failure blocks further attempts for twice as long as the last (up to a cap),
//! and a blocked attempt is refused before any password is checked. So 200 guesses at one
//! account cost hours instead of seconds, and cost the server no argon2 work while blocked.
//!
//! Kept in memory (a restart forgets it, as a login page's counter may); bounded, so that
//! guesses at many names cannot grow it without end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How failed logins are slowed. Every default lives in [`LoginLimits::default`].
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failures per account name before attempts are blocked.
    pub free_per_account: u32,
    /// Failures per client address before attempts are blocked (higher: an office may share
    /// one address).
    pub free_per_address: u32,
    /// The first block; each further failure doubles it.
    pub first_block: Duration,
    /// The longest block.
    pub max_block: Duration,
    /// A key with no failure for this long is forgotten.
    pub forget_after: Duration,
    /// Most keys remembered.
    pub max_keys: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            free_per_account: 5,
            free_per_address: 30,
            first_block: Duration::from_secs(2),
            max_block: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
            max_keys: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: Option<Instant>,
    last_failure: Instant,
}

/// Failures per key (`account:NAME`, `address:IP`).
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    entries: Mutex<HashMap<String, Entry>>,
}

/// The keys of one attempt.
pub struct Keys {
    account: String,
    address: String,
}

impl Keys {
    /// The keys for an account name (case-folded) and a client address.
    pub fn new(name: &str, address: &str) -> Keys {
        Keys {
            account: format!("account:{}", name.trim().to_lowercase()),
            address: format!("address:{address}"),
        }
    }
}

impl LoginLimiter {
    /// A limiter with these limits.
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// `Err(wait)` when either key is blocked now.
    pub fn check(&self, keys: &Keys, now: Instant) -> Result<(), Duration> {
        let entries = self.entries();
        let wait = [&keys.account, &keys.address]
            .into_iter()
            .filter_map(|k| entries.get(k)?.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(w) => Err(w),
            None => Ok(()),
        }
    }

    /// Count a failed attempt against both keys.
    pub fn failed(&self, keys: &Keys, now: Instant) {
        let mut entries = self.entries();
        if entries.len() + 2 > self.limits.max_keys {
            self.prune(&mut entries, now);
        }
        for (key, free) in [
            (&keys.account, self.limits.free_per_account),
            (&keys.address, self.limits.free_per_address),
        ] {
            let e = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                blocked_until: None,
                last_failure: now,
            });
            e.failures = e.failures.saturating_add(1);
            e.last_failure = now;
            if e.failures > free {
                let doublings = (e.failures - free - 1).min(30);
                let block = self
                    .limits
                    .first_block
                    .saturating_mul(1 << doublings)
                    .min(self.limits.max_block);
                e.blocked_until = Some(now + block);
            }
        }
    }

    /// A successful login clears its account's failures (not its address's).
    pub fn succeeded(&self, keys: &Keys) {
        self.entries().remove(&keys.account);
    }

    /// Drop keys not failed for a while and not blocked; if still full, the oldest.
    fn prune(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        let forget = self.limits.forget_after;
        entries.retain(|_, e| {
            e.blocked_until.is_some_and(|u| u > now) || now.duration_since(e.last_failure) < forget
        });
        // Room for the two keys of the failure being counted.
        while entries.len() + 2 > self.limits.max_keys {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    entries.remove(&k);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            free_per_account: 3,
            free_per_address: 10,
            first_block: Duration::from_secs(1),
            max_block: Duration::from_secs(8),
            forget_after: Duration::from_secs(60),
            max_keys: 4,
        }
    }

    #[test]
    fn blocks_double_up_to_the_cap() {
        let l = LoginLimiter::new(limits());
        let k = Keys::new("Ann", "10.0.0.1");
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.check(&k, t).is_ok());
            l.failed(&k, t);
        }
        // The fourth failure blocks for 1 s, the fifth for 2 s, ... up to 8 s.
        l.failed(&k, t);
        assert_eq!(l.check(&k, t), Err(Duration::from_secs(1)));
        assert!(l.check(&k, t + Duration::from_secs(1)).is_ok());
        for _ in 0..10 {
            l.failed(&k, t);
        }
        assert_eq!(l.check(&k, t), Err(Duration::from_secs(8)));
        // The name is case-folded: another spelling is the same account.
        assert!(l.check(&Keys::new("ann", "10.0.0.2"), t).is_err());
        l.succeeded(&k);
        assert!(l.check(&Keys::new("ann", "10.0.0.2"), t).is_ok());
    }

    #[test]
    fn stays_bounded() {
        let l = LoginLimiter::new(limits());
        let t = Instant::now();
        for i in 0..50 {
            l.failed(&Keys::new(&format!("u{i}"), "10.0.0.9"), t);
        }
        assert!(l.entries().len() <= 4);
    }
}
