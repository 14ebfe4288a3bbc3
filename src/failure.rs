//! The per-customer failure codes: the one list of what can go wrong for one customer (or one
//! import row, or one relationship), shared by `consent`, `map import`, `audit` and `gdap`.
//! JSON carries them as snake_case words; whether a code stops the whole run is decided here,
//! and the exit code a run ends with is derived from them in `error.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::http::{ApiError, RemoteError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    // Reaching the customer.
    /// No active GDAP relationship with the customer.
    GdapMissing,
    /// An active relationship, but no role in it can consent the app.
    GdapRoleMissing,
    /// The consent role is in no active access assignment (no security group holds it).
    RoleUnassigned,
    /// The signed-in user is in none of the groups that hold the consent role.
    NotInGroup,
    /// Partner Center does not know the tenant as the partner's customer.
    NotACustomer,
    // Consent.
    /// The app has no service principal in the tenant: it was never consented there.
    ConsentMissing,
    /// Consented with fewer scopes than declared (adding scopes needs `--force`).
    ScopesDiffer,
    /// The customer tenant lacks the resource (its service principal) a grant names.
    ResourceMissing,
    /// Partner Center accepted the consent, but the grants did not show in time.
    NotVerified,
    /// `--force` deleted the consent and could not restore it.
    RegrantFailed,
    /// `--force` refused to delete what it could not restore.
    ForceUnsafe,
    /// Not tried, because an earlier step of the same customer failed.
    NotAttempted,
    // Input (map import rows).
    InvalidInput,
    UnknownDomain,
    /// The client or the tenant is already mapped to another.
    Conflict,
    // Whole-run conditions and the rest.
    /// Partner Center requires MFA (error 900421): every call would fail alike.
    MfaRequired,
    /// The partner's sign-in is gone: every call would fail alike.
    SignInExpired,
    /// Still throttled after the retries Retry-After allowed.
    Throttled,
    /// Ctrl-C came before this customer finished.
    Interrupted,
    /// Ctrl-C came before this customer was started.
    NotStarted,
    /// Any other refusal or failure of a remote call.
    RemoteError,
    /// GDAP: the group is one Microsoft reserves (AdminAgents, HelpdeskAgents, SalesAgents).
    ReservedGroup,
    /// GDAP: the security group the template names does not exist (`--create-groups` makes it).
    GroupMissing,
}

impl FailureCode {
    /// Every code, in the order of the enum: for tests and the docs check that walk them all
    /// (a unit test below holds it to what serde knows of the enum).
    pub const ALL: [FailureCode; 23] = [
        FailureCode::GdapMissing,
        FailureCode::GdapRoleMissing,
        FailureCode::RoleUnassigned,
        FailureCode::NotInGroup,
        FailureCode::NotACustomer,
        FailureCode::ConsentMissing,
        FailureCode::ScopesDiffer,
        FailureCode::ResourceMissing,
        FailureCode::NotVerified,
        FailureCode::RegrantFailed,
        FailureCode::ForceUnsafe,
        FailureCode::NotAttempted,
        FailureCode::InvalidInput,
        FailureCode::UnknownDomain,
        FailureCode::Conflict,
        FailureCode::MfaRequired,
        FailureCode::SignInExpired,
        FailureCode::Throttled,
        FailureCode::Interrupted,
        FailureCode::NotStarted,
        FailureCode::RemoteError,
        FailureCode::ReservedGroup,
        FailureCode::GroupMissing,
    ];

    /// Whether this failure ends the whole run: every other customer would fail the same way.
    pub fn stops_run(self) -> bool {
        matches!(self, FailureCode::MfaRequired | FailureCode::SignInExpired)
    }

    /// Whether the item was cut short rather than failed: Ctrl-C came while it ran
    /// (`interrupted`), or before it started or after the run stopped (`not_started`).
    pub fn unfinished(self) -> bool {
        matches!(self, FailureCode::Interrupted | FailureCode::NotStarted)
    }

    /// The snake_case word JSON and CSV carry.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::GdapMissing => "gdap_missing",
            FailureCode::GdapRoleMissing => "gdap_role_missing",
            FailureCode::RoleUnassigned => "role_unassigned",
            FailureCode::NotInGroup => "not_in_group",
            FailureCode::NotACustomer => "not_a_customer",
            FailureCode::ConsentMissing => "consent_missing",
            FailureCode::ScopesDiffer => "scopes_differ",
            FailureCode::ResourceMissing => "resource_missing",
            FailureCode::NotVerified => "not_verified",
            FailureCode::RegrantFailed => "regrant_failed",
            FailureCode::ForceUnsafe => "force_unsafe",
            FailureCode::NotAttempted => "not_attempted",
            FailureCode::InvalidInput => "invalid_input",
            FailureCode::UnknownDomain => "unknown_domain",
            FailureCode::Conflict => "conflict",
            FailureCode::MfaRequired => "mfa_required",
            FailureCode::SignInExpired => "sign_in_expired",
            FailureCode::Throttled => "throttled",
            FailureCode::Interrupted => "interrupted",
            FailureCode::NotStarted => "not_started",
            FailureCode::RemoteError => "remote_error",
            FailureCode::ReservedGroup => "reserved_group",
            FailureCode::GroupMissing => "group_missing",
        }
    }

    /// The code of a failed remote call, as far as the call alone tells: the sign-in is gone,
    /// Partner Center wants MFA, throttling outlasted the retries, or something else.
    pub fn of_remote(e: &RemoteError) -> FailureCode {
        match e {
            RemoteError::Auth(a) if a.needs_sign_in() => FailureCode::SignInExpired,
            RemoteError::Auth(_) => FailureCode::RemoteError,
            RemoteError::Api(a) => FailureCode::of_api(a),
        }
    }

    pub fn of_api(e: &ApiError) -> FailureCode {
        if e.is_mfa_required() {
            FailureCode::MfaRequired
        } else if matches!(e, ApiError::Throttled { .. }) {
            FailureCode::Throttled
        } else {
            FailureCode::RemoteError
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` is every variant, in order: serde's "unknown variant" error lists the variants
    /// the derive knows, so a variant added to the enum but not to `ALL` fails here.
    #[test]
    fn all_is_every_variant_of_the_enum() {
        let err = serde_json::from_value::<FailureCode>(serde_json::json!("no_such_code"))
            .unwrap_err()
            .to_string();
        let known: Vec<&str> = err
            .split_once("expected one of ")
            .unwrap_or_else(|| panic!("{err}"))
            .1
            .split(", ")
            .map(|v| v.trim_matches(|c: char| c == '`' || !c.is_ascii_graphic()))
            .map(|v| v.split('`').next().unwrap_or(v))
            .collect();
        let all: Vec<&str> = FailureCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(known, all, "{err}");
    }

    #[test]
    fn json_carries_the_same_word_as_display() {
        for code in FailureCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().into()));
            let back: FailureCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
            assert_eq!(code.to_string(), code.as_str());
        }
    }

    #[test]
    fn only_a_dead_sign_in_or_missing_mfa_stops_the_run() {
        let stopping: Vec<FailureCode> = FailureCode::ALL
            .into_iter()
            .filter(|c| c.stops_run())
            .collect();
        assert_eq!(
            stopping,
            [FailureCode::MfaRequired, FailureCode::SignInExpired]
        );
    }
}
