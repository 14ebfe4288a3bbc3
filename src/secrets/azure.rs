//! The Azure credentials that reach Key Vault, from the Azure SDK for Rust (`azure_identity`):
//! which one the environment calls for (`choose`), and building it (`build`) from what the
//! run's `Environment` snapshot holds, never from the process environment behind csp's back.
//! The SDK's HTTP goes through csp's own reqwest client (`SdkTransport`), so the binary keeps
//! one HTTP/TLS stack; the Azure CLI runs with exactly the snapshot's variables
//! (`SnapshotExecutor`).

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::{AsyncRawResponse, Body, ClientOptions, HttpClient, Request, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, Executor, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::cloud::Cloud;

/// How csp reaches the vault (`CSP_KEY_VAULT_CREDENTIAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// The Azure CLI's sign-in (`az login`; what `azure/login` leaves in a GitHub Actions job).
    AzureCli,
    /// The managed identity of the Azure resource csp runs on (Automation, Functions, VMs).
    ManagedIdentity,
    /// A federated token in `AZURE_FEDERATED_TOKEN_FILE` (Kubernetes workload identity).
    WorkloadIdentity,
    /// A service principal's secret in `AZURE_CLIENT_SECRET`.
    ClientSecret,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 4] = [
        CredentialKind::AzureCli,
        CredentialKind::ManagedIdentity,
        CredentialKind::WorkloadIdentity,
        CredentialKind::ClientSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AzureCli => "azure-cli",
            CredentialKind::ManagedIdentity => "managed-identity",
            CredentialKind::WorkloadIdentity => "workload-identity",
            CredentialKind::ClientSecret => "client-secret",
        }
    }

    pub fn parse(s: &str) -> Option<CredentialKind> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// `azure-cli`, `managed-identity`, … for messages.
    pub fn choices_text() -> String {
        Self::ALL
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the Azure credentials may read, copied from the run's `Environment` snapshot.
#[derive(Clone, Default)]
pub struct AzureEnv {
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub federated_token_file: Option<PathBuf>,
    /// `AZURE_AUTHORITY_HOST`, validated like csp's endpoint overrides.
    pub authority_host: Option<Url>,
    /// Why `AZURE_AUTHORITY_HOST` was refused, if it was (said when a credential needs it).
    pub authority_problem: Option<String>,
    /// `IDENTITY_ENDPOINT` (App Service, Functions, Automation, Arc) or `MSI_ENDPOINT` (Cloud
    /// Shell, Azure ML) is set.
    pub managed_identity_endpoint: Option<&'static str>,
    /// Where the Azure CLI would be found on `PATH`, if anywhere.
    pub az_on_path: Option<PathBuf>,
    /// The variables the Azure CLI runs with: the snapshot without csp's own (`CSP_*`, which
    /// hold the partner's secrets).
    pub child_env: Vec<(String, String)>,
}

impl fmt::Debug for AzureEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureEnv")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("federated_token_file", &self.federated_token_file)
            .field("authority_host", &self.authority_host)
            .field("authority_problem", &self.authority_problem)
            .field("managed_identity_endpoint", &self.managed_identity_endpoint)
            .field("az_on_path", &self.az_on_path)
            .field(
                "child_env",
                &format!("[{} variables]", self.child_env.len()),
            )
            .finish()
    }
}

impl AzureEnv {
    /// The credential the environment calls for, and the variable (or fact) that says so. A
    /// service principal's variables are a deliberate set-up, so they come first; then the
    /// managed identity endpoint of the host; then the Azure CLI if it is installed; else the
    /// managed identity of an Azure VM (IMDS, which announces itself in no variable).
    pub fn choose(&self) -> (CredentialKind, &'static str) {
        if self.federated_token_file.is_some() {
            (
                CredentialKind::WorkloadIdentity,
                "AZURE_FEDERATED_TOKEN_FILE",
            )
        } else if self.client_secret.is_some() {
            (CredentialKind::ClientSecret, "AZURE_CLIENT_SECRET")
        } else if let Some(var) = self.managed_identity_endpoint {
            (CredentialKind::ManagedIdentity, var)
        } else if self.az_on_path.is_some() {
            (CredentialKind::AzureCli, "az on PATH")
        } else {
            (CredentialKind::ManagedIdentity, "no other credential found")
        }
    }
}

/// Finds `az` in a `PATH` value, as the shell would.
pub fn find_on_path(path: &str, program: &str) -> Option<PathBuf> {
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.cmd"), format!("{program}.exe")]
    } else {
        vec![program.to_string()]
    };
    std::env::split_paths(OsStr::new(path))
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Why a credential could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the {kind} credential for Azure Key Vault: {message}")]
pub struct CredentialSetupError {
    pub kind: CredentialKind,
    pub message: String,
}

/// Builds the credential of `kind` from `env`. Every input the SDK's options can take is
/// passed explicitly; azure_identity 1.0 reads only the managed identity variables
/// (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `MSI_ENDPOINT`, …) itself, as its options have no
/// field for them: `choose` looks at the same names in the snapshot.
pub fn build(
    kind: CredentialKind,
    env: &AzureEnv,
    cloud: Cloud,
    http: reqwest::Client,
) -> Result<Arc<dyn TokenCredential>, CredentialSetupError> {
    let fail = |message: String| CredentialSetupError { kind, message };
    let missing = |var: &str| fail(format!("{var} is not set"));
    if let Some(problem) = &env.authority_problem
        && kind != CredentialKind::AzureCli
    {
        return Err(fail(problem.clone()));
    }
    let options = || client_options(env, cloud, http.clone());
    let credential: Arc<dyn TokenCredential> = match kind {
        CredentialKind::AzureCli => AzureCliCredential::new(Some(AzureCliCredentialOptions {
            executor: Some(Arc::new(SnapshotExecutor {
                vars: env.child_env.clone(),
            })),
            ..Default::default()
        }))
        .map_err(|e| fail(e.to_string()))?,
        CredentialKind::ManagedIdentity => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: env.client_id.clone().map(UserAssignedId::ClientId),
                client_options: options(),
            }))
            .map_err(|e| fail(e.to_string()))?
        }
        CredentialKind::WorkloadIdentity => {
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: options(),
                },
                client_id: Some(
                    env.client_id
                        .clone()
                        .ok_or_else(|| missing("AZURE_CLIENT_ID"))?,
                ),
                tenant_id: Some(
                    env.tenant_id
                        .clone()
                        .ok_or_else(|| missing("AZURE_TENANT_ID"))?,
                ),
                token_file_path: Some(
                    env.federated_token_file
                        .clone()
                        .ok_or_else(|| missing("AZURE_FEDERATED_TOKEN_FILE"))?,
                ),
            }))
            .map_err(|e| fail(e.to_string()))?
        }
        CredentialKind::ClientSecret => {
            let tenant = env
                .tenant_id
                .clone()
                .ok_or_else(|| missing("AZURE_TENANT_ID"))?;
            let client = env
                .client_id
                .clone()
                .ok_or_else(|| missing("AZURE_CLIENT_ID"))?;
            let secret = env
                .client_secret
                .as_ref()
                .ok_or_else(|| missing("AZURE_CLIENT_SECRET"))?;
            ClientSecretCredential::new(
                &tenant,
                client,
                Secret::new(secret.expose_secret().to_string()),
                Some(ClientSecretCredentialOptions {
                    client_options: options(),
                }),
            )
            .map_err(|e| fail(e.to_string()))?
        }
    };
    Ok(credential)
}

/// A service principal's secret credential against `authority` (the sandbox's own credential,
/// issued by the simulator's Entra).
pub fn client_secret_credential(
    authority: &Url,
    tenant: &str,
    client_id: &str,
    secret: &str,
    http: reqwest::Client,
) -> Result<Arc<dyn TokenCredential>, CredentialSetupError> {
    let env = AzureEnv {
        authority_host: Some(authority.clone()),
        ..Default::default()
    };
    let credential = ClientSecretCredential::new(
        tenant,
        client_id.to_string(),
        Secret::new(secret.to_string()),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(&env, Cloud::Public, http),
        }),
    )
    .map_err(|e| CredentialSetupError {
        kind: CredentialKind::ClientSecret,
        message: e.to_string(),
    })?;
    Ok(credential)
}

/// The SDK's client options: csp's HTTP client as the transport, and the authority named
/// explicitly (the SDK would otherwise read `AZURE_AUTHORITY_HOST` from the process).
fn client_options(env: &AzureEnv, cloud: Cloud, http: reqwest::Client) -> ClientOptions {
    let mut plain_http = Vec::new();
    let cloud_config = match &env.authority_host {
        Some(host) => {
            let mut custom = CustomConfiguration::default();
            // The SDK refuses an authority that is not https://. csp allows http:// to
            // loopback (a local fake), so it hands the SDK the https:// form and the transport
            // sends it as plain HTTP again, for that origin alone.
            let mut shown = host.clone();
            if host.scheme() == "http" {
                plain_http.push(origin(host));
                let _ = shown.set_scheme("https");
            }
            custom.authority_host = shown.as_str().trim_end_matches('/').to_string();
            CloudConfiguration::Custom(custom)
        }
        None => match cloud {
            Cloud::Public => CloudConfiguration::AzurePublic,
            Cloud::Usgov => CloudConfiguration::AzureGovernment,
            Cloud::China => CloudConfiguration::AzureChina,
        },
    };
    ClientOptions {
        transport: Some(Transport::new(Arc::new(SdkTransport { http, plain_http }))),
        cloud: Some(Arc::new(cloud_config)),
        ..Default::default()
    }
}

fn origin(url: &Url) -> (String, Option<u16>) {
    (
        url.host_str().unwrap_or_default().to_ascii_lowercase(),
        url.port_or_known_default(),
    )
}

/// The Azure SDK's HTTP transport: csp's own reqwest client (one HTTP/TLS stack in the
/// binary, the OS trust store, csp's proxy settings).
#[derive(Debug)]
pub struct SdkTransport {
    http: reqwest::Client,
    /// Loopback origins that were configured as `http://` (see `client_options`).
    plain_http: Vec<(String, Option<u16>)>,
}

#[async_trait::async_trait]
impl HttpClient for SdkTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut url = request.url().clone();
        let https_form = {
            let mut u = url.clone();
            let _ = u.set_scheme("http");
            origin(&u)
        };
        if url.scheme() == "https" && self.plain_http.contains(&https_form) {
            let _ = url.set_scheme("http");
        }
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| azure_core::Error::with_error(ErrorKind::Other, e, "bad HTTP method"))?;
        let mut builder = self.http.request(method, url);
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match request.body() {
            Body::Bytes(bytes) => builder.body(bytes.to_vec()),
            #[allow(unreachable_patterns)]
            _ => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "streamed request bodies are not supported",
                ));
            }
        };
        let response = builder.send().await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            azure_core::Error::with_error(kind, e, "the request failed")
        })?;
        let status = response.status().as_u16();
        let mut headers = Headers::new();
        for (name, value) in response.headers() {
            if let Ok(v) = value.to_str() {
                headers.insert(name.as_str().to_string(), v.to_string());
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| azure_core::Error::with_error(ErrorKind::Io, e, "reading the answer"))?;
        Ok(AsyncRawResponse::from_bytes(status.into(), headers, body))
    }
}

/// Runs the Azure CLI with exactly the snapshot's variables, not the process environment.
#[derive(Debug)]
struct SnapshotExecutor {
    vars: Vec<(String, String)>,
}

#[async_trait::async_trait]
impl Executor for SnapshotExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<std::process::Output> {
        tokio::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> AzureEnv {
        AzureEnv::default()
    }

    #[test]
    fn the_environment_chooses_the_credential() {
        let rows: [(AzureEnv, CredentialKind, &str); 6] = [
            (
                AzureEnv {
                    federated_token_file: Some("/t".into()),
                    client_secret: Some("s".to_string().into()),
                    az_on_path: Some("/bin/az".into()),
                    ..env()
                },
                CredentialKind::WorkloadIdentity,
                "AZURE_FEDERATED_TOKEN_FILE",
            ),
            (
                AzureEnv {
                    client_secret: Some("s".to_string().into()),
                    managed_identity_endpoint: Some("IDENTITY_ENDPOINT"),
                    ..env()
                },
                CredentialKind::ClientSecret,
                "AZURE_CLIENT_SECRET",
            ),
            (
                AzureEnv {
                    managed_identity_endpoint: Some("IDENTITY_ENDPOINT"),
                    az_on_path: Some("/bin/az".into()),
                    ..env()
                },
                CredentialKind::ManagedIdentity,
                "IDENTITY_ENDPOINT",
            ),
            (
                AzureEnv {
                    managed_identity_endpoint: Some("MSI_ENDPOINT"),
                    ..env()
                },
                CredentialKind::ManagedIdentity,
                "MSI_ENDPOINT",
            ),
            (
                AzureEnv {
                    az_on_path: Some("/bin/az".into()),
                    ..env()
                },
                CredentialKind::AzureCli,
                "az on PATH",
            ),
            (
                env(),
                CredentialKind::ManagedIdentity,
                "no other credential found",
            ),
        ];
        for (env, kind, why) in rows {
            assert_eq!(env.choose(), (kind, why), "{env:?}");
        }
    }

    #[test]
    fn credential_names_parse_back() {
        for k in CredentialKind::ALL {
            assert_eq!(CredentialKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            CredentialKind::parse(" Azure-CLI "),
            Some(CredentialKind::AzureCli)
        );
        assert_eq!(CredentialKind::parse("default"), None);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let http = crate::http::token_client().unwrap();
        let err = build(CredentialKind::ClientSecret, &env(), Cloud::Public, http)
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("AZURE_TENANT_ID"), "{err}");
    }

    #[test]
    fn debug_hides_the_client_secret_and_the_variables() {
        let env = AzureEnv {
            client_secret: Some("s3cr3t-VALUE".to_string().into()),
            child_env: vec![("GITHUB_TOKEN".into(), "gh-VALUE".into())],
            ..env()
        };
        let shown = format!("{env:?}");
        assert!(!shown.contains("VALUE"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn az_is_found_only_where_it_is_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let az = dir.path().join("az");
        std::fs::write(&az, "#!/bin/sh\n").unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(find_on_path(&path, "az"), None);
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_on_path(&path, "az"), Some(az));
    }
}
