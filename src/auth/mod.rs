//! Signing in to Microsoft Entra and turning the stored sign-in into access tokens. Never
//! prints and never reads settings: callers pass in the endpoints, app and store.

pub mod browser;
pub mod claims;
pub mod device_code;
pub mod error;
pub mod oauth;
pub mod token_provider;

pub use browser::BrowserFlow;
pub use claims::Claims;
pub use device_code::{DeviceFlow, DevicePrompt};
pub use error::AuthError;
pub use oauth::{AppCredentials, EntraError};
pub use token_provider::{AccessGrant, TokenProvider};

/// The scopes a sign-in asks for: Partner Center's `user_impersonation` on the cloud's resource,
/// plus a refresh token and the user's identity.
pub fn sign_in_scopes(cloud: crate::cloud::Cloud) -> Vec<String> {
    vec![
        cloud.partner_center_scope(),
        "offline_access".into(),
        "openid".into(),
        "profile".into(),
    ]
}
