//! How often the public portal may be asked for something that costs someone else: a filing
//! mails a code to an address, a code resent mails again, a code tried is a guess. Token
//! buckets per client address and per destination address (the mailbox, whoever asks for it),
//! on the engine's clock. Addresses are kept only as keyed hashes with a key that lives as long
//! as the process.
//!
//! Each replica counts for itself: behind a load balancer the limits hold per replica, so set
//! them for the number of replicas.

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use ombud_core::Clock;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use axum::http::HeaderName;

/// The header a reverse proxy puts the client's address in, as an operator names it.
pub fn header_name(text: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.trim().as_bytes())
        .map_err(|_| format!("`{text}` is not a header name; name one such as X-Forwarded-For"))
}

/// `count` events per `per`, with a burst of all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    /// `"20/hour"`, `"5/minute"`, `"10/day"`.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let hint = "write it as a count per minute, hour or day, such as `20/hour`";
        let (count, unit) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a rate; {hint}"))?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| format!("`{text}`: the count must be a whole number above 0; {hint}"))?;
        let per = match unit.trim() {
            "minute" | "min" => Duration::from_secs(60),
            "hour" | "h" => Duration::from_secs(3600),
            "day" | "d" => Duration::from_secs(86_400),
            other => return Err(format!("`{other}` is not a unit; {hint}")),
        };
        Ok(Rate { count, per })
    }

    fn quota(self) -> Quota {
        let count = NonZeroU32::new(self.count).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.per / count.get())
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            60 => "minute",
            3600 => "hour",
            _ => "day",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The portal's limits, as `ombud serve` was told them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalLimits {
    /// Filings and code resends from one client address.
    pub per_client: Rate,
    /// Filings and code resends that mail one address.
    pub per_address: Rate,
    /// Codes tried for requests that mail one address, across all its requests.
    pub codes_per_address: Rate,
}

impl Default for PortalLimits {
    fn default() -> Self {
        PortalLimits {
            per_client: Rate {
                count: 20,
                per: Duration::from_secs(3600),
            },
            per_address: Rate {
                count: 5,
                per: Duration::from_secs(3600),
            },
            codes_per_address: Rate {
                count: 10,
                per: Duration::from_secs(86_400),
            },
        }
    }
}

/// The engine's clock, for the buckets: tests move it, and the buckets follow.
#[derive(Clone)]
struct EngineClock(Arc<dyn Clock>);

impl GovernorClock for EngineClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(u64::try_from(self.0.now().as_nanosecond()).unwrap_or(0))
    }
}

type Keyed<K> = RateLimiter<K, HashMapStateStore<K>, EngineClock, NoOpMiddleware<Nanos>>;

/// What was asked too often, and how long until it may be asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub by_address: bool,
    pub wait: Duration,
}

pub struct Limiters {
    clients: Keyed<IpAddr>,
    addresses: Keyed<[u8; 32]>,
    codes: Keyed<[u8; 32]>,
    clock: EngineClock,
    key: [u8; 32],
    checks: AtomicU64,
}

impl Limiters {
    pub fn new(limits: PortalLimits, clock: Arc<dyn Clock>) -> Result<Limiters, String> {
        let clock = EngineClock(clock);
        // A process key: without it, the hashes in memory would be a plain index of addresses.
        let key = ombud_store::crypto::new_process_key()
            .map_err(|e| format!("no key for the portal's limits: {e}"))?;
        Ok(Limiters {
            clients: RateLimiter::hashmap_with_clock(limits.per_client.quota(), clock.clone()),
            addresses: RateLimiter::hashmap_with_clock(limits.per_address.quota(), clock.clone()),
            codes: RateLimiter::hashmap_with_clock(limits.codes_per_address.quota(), clock.clone()),
            clock,
            key: *key,
            checks: AtomicU64::new(0),
        })
    }

    /// The address as a bucket key: normalised as the engine normalises identities, then
    /// hashed under the process key.
    fn address_key(&self, address: &str) -> [u8; 32] {
        let normal = ombud_core::Identity::parse(ombud_core::IdentityKind::Email, address)
            .map(|i| i.expose().to_owned())
            .unwrap_or_else(|_| address.trim().to_lowercase());
        *blake3::keyed_hash(&self.key, normal.as_bytes()).as_bytes()
    }

    fn tidy(&self) {
        // Forget full buckets now and then so memory follows recent use, not all use.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.clients.retain_recent();
            self.addresses.retain_recent();
            self.codes.retain_recent();
        }
    }

    fn wait<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &Keyed<K>,
        key: &K,
    ) -> Result<(), Duration> {
        limiter
            .check_key(key)
            .map_err(|until| until.wait_time_from(self.clock.now()))
    }

    /// Something that mails `address`, asked by `client`: a filing or a code sent again.
    pub fn mailing(&self, client: Option<IpAddr>, address: &str) -> Result<(), Limited> {
        self.take(client, &self.addresses, address)
    }

    /// A code tried for a request that mails `address`: every try counts, across requests, so
    /// filing again does not buy new guesses.
    pub fn code_try(&self, client: Option<IpAddr>, address: &str) -> Result<(), Limited> {
        self.take(client, &self.codes, address)
    }

    /// One token from the client's bucket, then one from `per_address` for `address`.
    fn take(
        &self,
        client: Option<IpAddr>,
        per_address: &Keyed<[u8; 32]>,
        address: &str,
    ) -> Result<(), Limited> {
        self.tidy();
        if let Some(client) = client {
            self.wait(&self.clients, &client).map_err(|wait| Limited {
                by_address: false,
                wait,
            })?;
        }
        self.wait(per_address, &self.address_key(address))
            .map_err(|wait| Limited {
                by_address: true,
                wait,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_written_and_refuse_what_is_not_one() {
        assert_eq!(
            Rate::parse("20/hour"),
            Ok(Rate {
                count: 20,
                per: Duration::from_secs(3600)
            })
        );
        assert_eq!(
            Rate::parse(" 5 / minute ").map(|r| r.to_string()),
            Ok("5/minute".into())
        );
        for bad in ["20", "0/hour", "-1/hour", "20/week", "x/day", ""] {
            let error = Rate::parse(bad).expect_err(bad);
            assert!(error.contains("20/hour"), "{bad}: {error}");
        }
    }
}
