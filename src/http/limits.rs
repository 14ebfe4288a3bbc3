//! Client-side rate limits (GCRA, via governor) that keep bulk work under Partner Center's
//! published limits: 50 requests per second per application id for application consents, and
//! 500 requests per minute per tenant for customer reads (Partner Center's customer resource and API throttling guidance). The quotas leave a
//! small burst so that no one-second (or one-minute) window can exceed the limit.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct RateLimits {
    consents: DefaultKeyedRateLimiter<String>,
    customer_reads: DefaultKeyedRateLimiter<String>,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("quotas are positive")
}

impl RateLimits {
    /// The limits Partner Center publishes.
    pub fn partner_center() -> Self {
        Self::with_consent_rate(48)
    }

    /// Consent writes at `per_second` (at most 48 steady, the rest of 50 left as a burst of
    /// 2, so that no one-second window sees more than 50).
    pub fn with_consent_rate(per_second: u32) -> Self {
        let steady = per_second.clamp(1, 48);
        let burst = (50 - steady).clamp(1, 2);
        let consents = Quota::per_second(nz(steady)).allow_burst(nz(burst));
        // 450/min with a burst of 50: at most 500 in any minute.
        let customer_reads = Quota::with_period(Duration::from_secs(60) / 450)
            .expect("non-zero period")
            .allow_burst(nz(50));
        RateLimits {
            consents: RateLimiter::keyed(consents),
            customer_reads: RateLimiter::keyed(customer_reads),
        }
    }

    /// Waits for a slot to write an application consent for `app_id`.
    pub async fn consent(&self, app_id: &str) {
        self.consents.until_key_ready(&app_id.to_string()).await;
    }

    /// Waits for a slot to read customers of `tenant`.
    pub async fn customer_read(&self, tenant: &str) {
        self.customer_reads
            .until_key_ready(&tenant.to_string())
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn no_second_sees_more_than_fifty_consent_writes() {
        let limits = RateLimits::partner_center();
        let start = Instant::now();
        let mut stamps = Vec::new();
        for _ in 0..75 {
            limits.consent("app").await;
            stamps.push(start.elapsed());
        }
        for (i, t) in stamps.iter().enumerate() {
            let in_window = stamps[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 50, "{in_window} writes within one second");
        }
        // Another application has its own budget.
        let other = Instant::now();
        limits.consent("other-app").await;
        assert!(other.elapsed() < Duration::from_millis(50));
    }
}
