//! The one integration-test binary: library-level tests against fake Microsoft endpoints, and
//! tests of the real `csp` binary.

mod support;

mod audit_doctor;
mod auth_cli;
mod browser_flow;
mod consent;
mod customers;
mod device_flow;
mod docs;
#[cfg(feature = "sandbox")]
mod formats;
mod gdap;
mod gdap_lifecycle;
mod help;
mod http_layer;
#[cfg(feature = "sandbox")]
mod key_vault;
mod leak;
mod locks;
mod mapping;
// The release scripts are bash, run on Linux by the release workflow and .ci/run.
#[cfg(target_os = "linux")]
mod packaging;
mod real_keyring;
#[cfg(feature = "sandbox")]
mod sandbox;
#[cfg(feature = "sandbox")]
mod sandbox_output;
mod setup;
#[cfg(feature = "sandbox")]
mod tenant_shapes;
mod token_provider;
