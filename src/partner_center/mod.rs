//! Partner Center's REST API: customers (all pages, search) and, in later commands,
//! application consents. Builds requests and reads answers; never prints.

pub mod consents;
pub mod customers;
pub mod model;

use std::sync::Arc;

use secrecy::SecretString;

use crate::auth::TokenProvider;
use crate::http::{ApiClient, RateLimits, RemoteError};

pub struct PartnerCenter {
    pub(crate) api: ApiClient,
    tokens: Arc<TokenProvider>,
    scope: String,
    pub(crate) limits: Arc<RateLimits>,
}

impl PartnerCenter {
    pub fn new(
        api: ApiClient,
        tokens: Arc<TokenProvider>,
        scope: String,
        limits: Arc<RateLimits>,
    ) -> Self {
        PartnerCenter {
            api,
            tokens,
            scope,
            limits,
        }
    }

    /// A Partner Center token for the partner tenant.
    pub(crate) async fn token(&self) -> Result<SecretString, RemoteError> {
        Ok(self.tokens.access_token(&self.scope, None).await?.token)
    }

    /// The key customer reads are rate-limited under: the partner tenant.
    pub(crate) fn partner_key(&self) -> &str {
        self.tokens.home_tenant()
    }
}
