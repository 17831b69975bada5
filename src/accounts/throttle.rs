//! Login throttling, per account and per client address, with governor's GCRA limiters.
//! Each instance keeps its own counters; behind a load balancer the limits apply per
//! instance, which still bounds guessing to a small multiple of the configured rate.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginThrottle")
    }
}

impl LoginThrottle {
    /// `per_account` attempts for one email and `per_address` for one address may come in a
    /// burst; after that one more is allowed each minute.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        let quota = |burst: u32| {
            Quota::with_period(Duration::from_secs(60))
                .expect("a minute is a valid period")
                .allow_burst(NonZeroU32::new(burst.max(1)).expect("burst is at least 1"))
        };
        Self {
            per_account: RateLimiter::keyed(quota(per_account)),
            per_address: RateLimiter::keyed(quota(per_address)),
        }
    }

    /// Counts one login attempt. `Err(seconds)` means refuse it and retry after that long.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), u64> {
        let clock = DefaultClock::default();
        let wait = |not_until: governor::NotUntil<_>| {
            not_until.wait_time_from(clock.now()).as_secs().max(1)
        };
        self.per_address.check_key(&address).map_err(wait)?;
        self.per_account
            .check_key(&account.to_string())
            .map_err(wait)?;
        Ok(())
    }

    /// Forgets keys whose limits have fully recovered, so memory stays bounded.
    pub fn shrink(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
        self.per_account.shrink_to_fit();
        self.per_address.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_burst_per_account_and_per_address() {
        let throttle = LoginThrottle::new(3, 5);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(throttle.check("mei@example.com", a).is_ok());
        }
        let retry = throttle.check("mei@example.com", b).unwrap_err();
        assert!(retry >= 1);
        // Another account from the same address is still allowed, up to the address limit.
        assert!(throttle.check("lin@example.com", a).is_ok());
        assert!(throttle.check("lin@example.com", a).is_ok());
        assert!(throttle.check("zhao@example.com", a).is_err());
    }
}
