//! `CliError`: every module's error folds in here, and only here is it decided which exit code
//! it means and what hint to give. `main` prints `render()` and exits with `exit_code()`.

use std::error::Error as _;

use crate::advice;
use crate::auth::AuthError;
use crate::config::ConfigError;
use crate::failure::{Failure, FailureCode};
use crate::files::FileError;
use crate::http::{ApiError, HttpSetupError, RemoteError, Service};
use crate::mapping::MappingError;
use crate::output::sanitize;
use crate::secrets::{SecretStoreError, StoreKind, VaultError};
use crate::settings::SettingsError;
use crate::tenant_lookup::LookupError;

pub use crate::exit_codes::ExitCode;

impl FailureCode {
    /// The exit code of a run over many customers whose worst failure is this one: the sign-in
    /// or MFA (4), Ctrl-C (130), anything else (5, partial).
    pub fn exit_code(self) -> ExitCode {
        match self {
            c if c.stops_run() => ExitCode::NotSignedIn,
            FailureCode::Interrupted | FailureCode::NotStarted => ExitCode::Interrupted,
            _ => ExitCode::Partial,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] SecretStoreError),
    #[error(transparent)]
    HttpSetup(#[from] HttpSetupError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("cannot {action}")]
    Io {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The command could not do what was asked, for a reason it explains (exit 1).
    #[error("{message}")]
    Refused {
        message: String,
        hint: Option<String>,
    },
    /// As `Refused`, but the sign-in must be renewed (exit 4).
    #[error("{message}")]
    SignInNeeded {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// A command over many items finished, but some failed or need attention (exit 5).
    /// `what` completes "N of M …": "rows failed", "customers need attention".
    #[error("{failed} of {total} {what}")]
    Partial {
        failed: usize,
        total: usize,
        what: &'static str,
    },
    #[error("interrupted")]
    Interrupted,
    /// stdout was closed by the reader (`csp … | head`): not an error worth a message.
    #[error("broken pipe")]
    BrokenPipe,
}

impl CliError {
    /// How a run over `total` items ends, given the failures among them (`what` completes
    /// "N of M …"). A failure that stopped the run decides (exit 4); then Ctrl-C (130); then
    /// any failure (5); else success.
    pub fn for_run<'a>(
        failures: impl IntoIterator<Item = &'a Failure>,
        total: usize,
        what: &'static str,
        interrupted: bool,
    ) -> Result<(), CliError> {
        let failures: Vec<&Failure> = failures.into_iter().collect();
        if let Some(stop) = failures.iter().find(|f| f.code.stops_run()) {
            return Err(match stop.code {
                FailureCode::MfaRequired => CliError::SignInNeeded {
                    message: "Partner Center requires multi-factor authentication (error 900421); the run stopped".into(),
                    hint: Some("run `csp authorize` again and complete MFA".into()),
                },
                _ => CliError::SignInNeeded {
                    message: format!(
                        "the sign-in no longer works; the run stopped: {}",
                        stop.message
                    ),
                    hint: Some(
                        "run `csp authorize` again (in CI, replace the CSP_REFRESH_TOKEN secret)"
                            .into(),
                    ),
                },
            });
        }
        if interrupted {
            return Err(CliError::Interrupted);
        }
        if !failures.is_empty() {
            return Err(CliError::Partial {
                failed: failures.len(),
                total,
                what,
            });
        }
        Ok(())
    }

    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> CliError {
        CliError::Usage {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// Wraps a write to stdout, turning a closed pipe into `BrokenPipe`.
    pub fn output(source: std::io::Error) -> CliError {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Io {
                action: "write the output",
                source,
            }
        }
    }

    pub(crate) fn auth_exit(e: &AuthError) -> ExitCode {
        match e {
            AuthError::NoClientId => ExitCode::Usage,
            e if e.needs_sign_in() => ExitCode::NotSignedIn,
            _ => ExitCode::Failure,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage { .. } | CliError::Settings(_) => ExitCode::Usage,
            CliError::Config(ConfigError::File(_)) => ExitCode::Failure,
            CliError::Config(_) => ExitCode::Usage,
            CliError::Auth(e) => CliError::auth_exit(e),
            CliError::Store(SecretStoreError::Corrupt { .. }) => ExitCode::Usage,
            CliError::Store(SecretStoreError::Vault(e)) => vault_exit(e),
            CliError::Store(_) | CliError::HttpSetup(_) | CliError::Io { .. } => ExitCode::Failure,
            CliError::Remote(RemoteError::Auth(e)) => CliError::auth_exit(e),
            CliError::Remote(RemoteError::Api(e)) | CliError::Lookup(LookupError::Api(e)) => {
                if e.is_mfa_required() {
                    ExitCode::NotSignedIn
                } else {
                    ExitCode::Failure
                }
            }
            CliError::Lookup(LookupError::UnknownDomain { .. }) => ExitCode::Usage,
            CliError::Lookup(LookupError::NoTenantId { .. }) => ExitCode::Failure,
            CliError::Refused { .. } => ExitCode::Failure,
            CliError::SignInNeeded { .. } => ExitCode::NotSignedIn,
            CliError::Mapping(MappingError::File(_)) => ExitCode::Failure,
            CliError::Mapping(_) => ExitCode::Usage,
            CliError::Partial { .. } => ExitCode::Partial,
            CliError::Interrupted => ExitCode::Interrupted,
            CliError::BrokenPipe => ExitCode::Success,
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        let store_alternatives = "start and unlock the OS keyring (on Linux a Secret Service such as gnome-keyring), or choose the file store knowingly: `csp authorize --insecure-storage` (or CSP_TOKEN_STORE=file) keeps the sign-in in <config-dir>/credentials.json with mode 0600; in CI, set CSP_REFRESH_TOKEN, CSP_CLIENT_ID and CSP_TENANT instead";
        match self {
            CliError::Usage { hint, .. } => hint.clone(),
            CliError::Settings(SettingsError::Config(e)) | CliError::Config(e) => match e {
                ConfigError::File(f) => file_hint(f),
                _ => Some(
                    "fix or remove the file; csp does not overwrite a file it cannot read".into(),
                ),
            },
            CliError::Settings(_) => None,
            CliError::Auth(e) => auth_hint(e),
            CliError::Store(e) => match e {
                SecretStoreError::KeyringUnavailable { .. } => Some(store_alternatives.into()),
                SecretStoreError::Timeout {
                    store: StoreKind::Keyring,
                    ..
                } => Some(format!(
                    "is the keyring locked or its service hung? Otherwise {store_alternatives}"
                )),
                SecretStoreError::Corrupt { .. } => {
                    Some("fix the file, or delete it and run `csp authorize` again".into())
                }
                SecretStoreError::Vault(e) => vault_hint(e),
                SecretStoreError::File(f) => file_hint(f),
                SecretStoreError::Timeout {
                    store: StoreKind::AzureKeyVault,
                    ..
                } => Some("check the network path to the vault (and any proxy), and that the Azure credential answers (`az account get-access-token` for the Azure CLI)".into()),
                _ => None,
            },
            CliError::HttpSetup(_) | CliError::Io { .. } => None,
            CliError::Remote(RemoteError::Auth(e)) => auth_hint(e),
            CliError::Remote(RemoteError::Api(e)) | CliError::Lookup(LookupError::Api(e)) => {
                api_hint(e)
            }
            CliError::Lookup(LookupError::UnknownDomain { .. }) => Some(
                "check the spelling; a domain is known to Microsoft only once a tenant has verified it".into(),
            ),
            CliError::Lookup(LookupError::NoTenantId { .. }) => None,
            CliError::Refused { hint, .. } | CliError::SignInNeeded { hint, .. } => hint.clone(),
            CliError::Mapping(MappingError::File(f)) => file_hint(f),
            CliError::Mapping(_) => Some(
                "fix the file (or restore it from version control); csp does not overwrite a file it cannot read".into(),
            ),
            CliError::Partial { .. } => None,
            CliError::Interrupted | CliError::BrokenPipe => None,
        }
    }

    /// The lines `main` prints on stderr: `error: …`, the causes, then `hint: …`. Everything
    /// passes through the terminal sanitiser, since much of it is Microsoft's text.
    pub fn render(&self) -> Vec<String> {
        self.render_for("csp")
    }

    /// As `render`, with the commands a hint names (`csp authorize`) written as this run
    /// would need them (`csp --sandbox authorize`), so a hint can be pasted as it stands.
    pub fn render_for(&self, invocation: &str) -> Vec<String> {
        if matches!(self, CliError::BrokenPipe) {
            return Vec::new();
        }
        let message = self.to_string();
        let mut lines = vec![format!("error: {}", sanitize::for_terminal(&message))];
        let mut shown = message;
        let mut source = self.source();
        // `transparent` variants share their inner error's message; skip what is already said.
        while let Some(cause) = source {
            let text = cause.to_string();
            if !shown.contains(&text) {
                lines.push(format!("  caused by: {}", sanitize::for_terminal(&text)));
                shown.push_str(&text);
            }
            source = cause.source();
        }
        if let Some(hint) = self.hint() {
            let hint = in_mode(&hint, invocation);
            lines.push(format!("hint: {}", sanitize::for_terminal(&hint)));
        }
        lines
    }
}

/// What to do about a file csp cannot read or write: its permissions, a read-only place, or
/// another csp holding it.
fn file_hint(e: &FileError) -> Option<String> {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    match e {
        FileError::Write { path, source }
            if matches!(source.kind(), PermissionDenied | ReadOnlyFilesystem) =>
        {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            Some(format!(
                "csp writes {} through a temporary file in {}: make that directory writable by you (`chmod u+w {}`), or keep csp's files somewhere writable with --config-dir DIR (or CSP_CONFIG_DIR; --mappings FILE for the mapping file)",
                path.display(),
                dir.display(),
                dir.display()
            ))
        }
        FileError::Read { path, source } if source.kind() == PermissionDenied => Some(format!(
            "make {} readable by you (`chmod u+r {}`), or point csp elsewhere with --config-dir DIR",
            path.display(),
            path.display()
        )),
        FileError::LockTimeout { .. } => Some(
            "another csp command is still using the file: wait for it to finish, then run this again"
                .into(),
        ),
        _ => None,
    }
}

/// Every `` `csp … ` `` in `text` as `` `{invocation} … ` ``, leaving alone those already
/// written for this mode.
fn in_mode(text: &str, invocation: &str) -> String {
    let Some(mode) = invocation.strip_prefix("csp") else {
        return text.to_string();
    };
    if mode.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + mode.len());
    let mut rest = text;
    while let Some(at) = rest.find("`csp ") {
        out.push_str(&rest[..at + "`csp".len()]);
        rest = &rest[at + "`csp".len()..];
        if !rest.starts_with(mode) {
            out.push_str(mode);
        }
    }
    out.push_str(rest);
    out
}

/// A missing vault setting is a usage error; a missing secret means nothing is signed in there.
fn vault_exit(e: &VaultError) -> ExitCode {
    match e {
        VaultError::NoVault { .. } | VaultError::Setup(_) => ExitCode::Usage,
        VaultError::NotFound { .. } => ExitCode::NotSignedIn,
        _ => ExitCode::Failure,
    }
}

/// What fixes a vault's refusal: the permission or role it lacks, the network rule, the
/// deleted secret's recovery, or the sign-in to store.
fn vault_hint(e: &VaultError) -> Option<String> {
    Some(match e {
        VaultError::NoVault { .. } => "or run `csp authorize --token-store azure-key-vault` with it set, and the profile remembers it".into(),
        VaultError::Setup(_) => "set the variables the credential needs, or choose another with CSP_KEY_VAULT_CREDENTIAL (azure-cli, managed-identity, workload-identity, client-secret)".into(),
        VaultError::Credential { credential, .. } => match credential.as_str() {
            "azure-cli" => "sign the Azure CLI in (`az login`; in GitHub Actions, the azure/login step) or choose another credential with CSP_KEY_VAULT_CREDENTIAL".into(),
            "managed-identity" => "run csp on an Azure resource with a managed identity (Automation, Functions, a VM), set AZURE_CLIENT_ID for a user-assigned one, or choose another credential with CSP_KEY_VAULT_CREDENTIAL".into(),
            _ => "check AZURE_CLIENT_ID, AZURE_TENANT_ID and the secret or federated token, or choose another credential with CSP_KEY_VAULT_CREDENTIAL".into(),
        },
        VaultError::Unauthorized { .. } => "the vault did not accept the token: is the credential signed in to the vault's own tenant (`az account show`), and is CSP_KEY_VAULT_URL the right vault in the right cloud?".into(),
        VaultError::Forbidden { operation, .. } => format!(
            "give that identity the secrets {} permission in the vault's access policy, or the \"{}\" role on the vault (Azure RBAC); csp reads the secret on every run and writes a new version when the token rotates, so it needs get and set",
            operation.permission(),
            operation.role()
        ),
        VaultError::Firewall { .. } => "allow this machine's address in the vault's networking settings (`az keyvault network-rule add`), or run csp from a network the vault allows".into(),
        VaultError::Disabled { vault, secret } => format!(
            "enable it: `az keyvault secret set-attributes --vault-name {} --name {secret} --enabled true`",
            vault_name(vault)
        ),
        VaultError::NotFound { .. } => "store a sign-in there with `csp authorize --token-store azure-key-vault`, or point CSP_KEY_VAULT_SECRET at the secret that holds the refresh token".into(),
        VaultError::SoftDeleted { vault, secret } => format!(
            "recover it (`az keyvault secret recover --vault-name {0} --name {secret}`) or purge it (`az keyvault secret purge --vault-name {0} --name {secret}`), or use another name with CSP_KEY_VAULT_SECRET",
            vault_name(vault)
        ),
        VaultError::Api(e) => return api_hint(e),
    })
}

/// `contoso` of `https://contoso.vault.azure.net`.
fn vault_name(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_start_matches("http://")
        .split(['.', '/', ':'])
        .next()
        .unwrap_or(url)
        .to_string()
}

/// Advice for the Partner Center and Graph errors partners meet (Partner Center's error-codes page).
fn api_hint(e: &ApiError) -> Option<String> {
    if e.is_mfa_required() {
        return Some(
            "Partner Center requires multi-factor authentication for App+User calls (error 900421): run `csp authorize` again and complete MFA".into(),
        );
    }
    let code = e.code().unwrap_or_default();
    match (e.service(), e) {
        (_, ApiError::Throttled { retry_after, .. }) => Some(match retry_after {
            Some(d) => format!(
                "{} is throttling this partner; it last asked to wait {} s. Wait that long and run the command again, with fewer parallel jobs for bulk commands",
                e.service(),
                d.as_secs()
            ),
            None => format!(
                "{} is throttling this partner; wait a minute and run the command again",
                e.service()
            ),
        }),
        (Service::PartnerCenter, _) if e.status() == Some(403) && code == "20002" => Some(
            "the partner has no commerce relationship with that customer; check the tenant id, or whether the customer is reached only through GDAP".into(),
        ),
        (Service::PartnerCenter, _) if e.status() == Some(404) && code == "60003" => Some(
            "Partner Center does not know that tenant: check the tenant id".into(),
        ),
        (Service::PartnerCenter, _) if e.status() == Some(401) => Some(
            "the app needs Partner Center's user_impersonation permission with admin consent, and the signed-in user must be in the AdminAgents group".into(),
        ),
        (Service::PartnerCenter, _) if e.status() == Some(403) => Some(
            "the signed-in user lacks the Partner Center role (Admin agent) this needs".into(),
        ),
        (Service::Graph, ApiError::Status { method, path, .. }) if e.status() == Some(403) => {
            Some(graph_forbidden(method, path))
        }
        (_, ApiError::Network { .. }) => Some(
            "check the network connection and any proxy (HTTPS_PROXY), then try again; CSP_HTTP_TIMEOUT raises the timeout".into(),
        ),
        _ => None,
    }
}

/// What a Graph 403 lacks, by what was asked: GDAP and group writes need the permissions
/// `csp setup --gdap` adds, and the Admin agent role in Partner Center.
fn graph_forbidden(method: &str, path: &str) -> String {
    let write = method != "GET";
    if path.contains("delegatedAdminRelationships") && write {
        "changing GDAP relationships needs the app's DelegatedAdminRelationship.ReadWrite.All (delegated, with admin consent: `csp setup --gdap --update`) and the Admin agent role for the signed-in user".into()
    } else if path.contains("delegatedAdminRelationships") {
        "reading GDAP relationships needs the app's DelegatedAdminRelationship.Read.All (delegated, with admin consent: `csp setup --update`) and the Admin agent role for the signed-in user".into()
    } else if (path.contains("/groups") || path.contains("/users")) && write {
        "creating groups and adding members needs the app's Group.Create and GroupMember.ReadWrite.All (delegated, with admin consent: `csp setup --gdap --update`), and a user allowed to manage groups".into()
    } else {
        "the app or the user lacks the Graph permission for this (delegated, with admin consent); `csp doctor` checks the app's grants".into()
    }
}

fn auth_hint(e: &AuthError) -> Option<String> {
    let code_advice = e.aadsts().and_then(advice::aadsts);
    match e {
        AuthError::NoClientId => Some(
            "run `csp setup` first: it creates the partner's own multi-tenant app and records it in the profile (docs/partner-app.md); for an app you already have, pass --client-id APP_ID or set CSP_CLIENT_ID".into(),
        ),
        AuthError::NotSignedIn { .. } => Some(
            "run `csp authorize`; in CI, set CSP_REFRESH_TOKEN and CSP_CLIENT_ID".into(),
        ),
        AuthError::ClientMismatch { .. } => Some(
            "run `csp authorize` to sign in with the app the profile now uses (a sign-in is issued to one app and works only with it)".into(),
        ),
        AuthError::SignInExpired { .. } => Some(code_advice.map(str::to_string).unwrap_or_else(
            || "run `csp authorize` again (in CI, replace the CSP_REFRESH_TOKEN secret)".into(),
        )),
        AuthError::Declined => Some("run `csp authorize` again and approve the sign-in".into()),
        AuthError::CodeExpired => Some(
            "run `csp authorize` again and finish signing in within the time Microsoft allows (15 minutes)".into(),
        ),
        AuthError::BadVerificationCode => Some("run `csp authorize` again".into()),
        AuthError::Network { .. } | AuthError::NetworkGaveUp { .. } => Some(
            "check the network connection and any proxy (HTTPS_PROXY), then try again".into(),
        ),
        AuthError::Listener(_) => Some(
            "use the device-code sign-in instead (`csp authorize` without --browser)".into(),
        ),
        AuthError::BrowserTimeout { .. } => Some(
            "run `csp authorize --browser` again and finish in the browser; on a machine without a browser, use the device-code sign-in (without --browser)".into(),
        ),
        AuthError::StateMismatch => Some("close old sign-in tabs and run `csp authorize --browser` again".into()),
        AuthError::NoRefreshToken => Some(
            "make sure the app registration may request offline_access, then run `csp authorize` again".into(),
        ),
        AuthError::Rejected { .. } | AuthError::UnexpectedResponse { .. } => {
            code_advice.map(str::to_string)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::EntraError;

    #[test]
    fn a_file_in_a_read_only_place_names_the_file_and_the_fix() {
        for kind in [
            std::io::ErrorKind::PermissionDenied,
            std::io::ErrorKind::ReadOnlyFilesystem,
        ] {
            let e = CliError::Config(ConfigError::File(FileError::Write {
                path: "/etc/csp/config.toml".into(),
                source: std::io::Error::from(kind),
            }));
            assert_eq!(e.exit_code(), ExitCode::Failure);
            let lines = e.render();
            assert_eq!(lines[0], "error: cannot write /etc/csp/config.toml");
            let hint = lines.last().unwrap();
            assert!(
                hint.starts_with("hint: csp writes /etc/csp/config.toml"),
                "{hint}"
            );
            assert!(hint.contains("`chmod u+w /etc/csp`"), "{hint}");
            assert!(hint.contains("--config-dir"), "{hint}");
        }
        let e = CliError::Mapping(MappingError::File(FileError::Write {
            path: "/srv/m.json".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
        assert!(!e.render().last().unwrap().starts_with("hint:"));
        let e = CliError::Mapping(MappingError::File(FileError::Read {
            path: "/srv/m.json".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }));
        assert_eq!(
            e.render().last().unwrap(),
            "hint: make /srv/m.json readable by you (`chmod u+r /srv/m.json`), or point csp elsewhere with --config-dir DIR"
        );
        let e = CliError::Config(ConfigError::File(FileError::LockTimeout {
            path: "/srv/config.toml".into(),
            waited: std::time::Duration::from_secs(10),
        }));
        assert!(
            e.render()
                .last()
                .unwrap()
                .starts_with("hint: another csp command is still using the file"),
            "{:?}",
            e.render()
        );
    }

    #[test]
    fn hints_name_commands_as_this_run_needs_them() {
        let hint = "run `csp authorize`, then `csp --sandbox status` and `csp`";
        assert_eq!(in_mode(hint, "csp"), hint);
        assert_eq!(
            in_mode(hint, "csp --sandbox"),
            "run `csp --sandbox authorize`, then `csp --sandbox status` and `csp`"
        );
        let e = CliError::usage("no such client", Some("run `csp map list`"));
        assert_eq!(
            e.render_for("csp --profile fabrikam").last().unwrap(),
            "hint: run `csp --profile fabrikam map list`"
        );
    }

    #[test]
    fn dead_sign_ins_exit_4_with_advice() {
        let e = CliError::from(AuthError::SignInExpired {
            profile: "default".into(),
            entra: Box::new(EntraError::new(
                "invalid_grant",
                Some("AADSTS700082: The refresh token has expired due to inactivity."),
            )),
        });
        assert_eq!(e.exit_code(), ExitCode::NotSignedIn);
        let lines = e.render();
        assert!(lines[0].starts_with("error: the sign-in of profile `default` has expired"));
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("hint: the refresh token expired after 90 days")
        );
    }

    #[test]
    fn a_public_client_error_explains_the_portal_setting() {
        let e = CliError::from(AuthError::Rejected {
            action: "sign-in".into(),
            entra: Box::new(EntraError::new(
                "invalid_client",
                Some(
                    "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ),
            )),
        });
        assert_eq!(e.exit_code(), ExitCode::Failure);
        assert!(
            e.render()
                .last()
                .unwrap()
                .contains("Allow public client flows")
        );
    }

    #[test]
    fn usage_and_store_errors_have_their_codes() {
        assert_eq!(CliError::usage("bad", None).exit_code(), ExitCode::Usage);
        let e = CliError::from(SecretStoreError::KeyringUnavailable { reason: "x".into() });
        assert_eq!(e.exit_code(), ExitCode::Failure);
        let hint = e.hint().unwrap();
        assert!(hint.contains("--insecure-storage") && hint.contains("CSP_REFRESH_TOKEN"));
        assert_eq!(CliError::Interrupted.exit_code().code(), 130);
        assert!(CliError::BrokenPipe.render().is_empty());
    }
}
