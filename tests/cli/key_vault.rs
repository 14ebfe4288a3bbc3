//! The Azure Key Vault token store against the simulator's vault: the renewed refresh token is
//! written back once per run (also on Ctrl-C), a failed write-back leaves the run's result and
//! the older token, each Azure credential is chosen by what the environment holds (the Azure
//! CLI faked as a script on PATH; workload identity, client secret and managed identity against
//! the simulator's Entra and identity endpoint), and every refusal names its fix.

use std::path::PathBuf;
use std::sync::Arc;

use csp::sandbox::world::{IDENTITY_HEADER, SecretVersion, VAULT_IDENTITY};
use csp::sandbox::{REFRESH_PREFIX, SECRET_PREFIX};
use tempfile::TempDir;

use crate::support::sim::*;
use crate::support::{Output, jwt};

pub const SECRET: &str = "csp-default";

/// A CI job's world: the simulator, a vault whose secret holds a sign-in it accepts, and the
/// variables a workflow sets (no credential yet: each test adds the one it is about).
pub struct VaultWorld {
    pub w: SimEnv,
    /// Where fake programs (the Azure CLI) go; first on PATH.
    pub bin: TempDir,
}

impl VaultWorld {
    pub async fn start() -> VaultWorld {
        let w = SimEnv::start(World::empty()).await;
        let seeded = w.sim.refresh_token();
        w.sim.with_world(|world| {
            world.key_vault.secrets.insert(
                SECRET.into(),
                vec![SecretVersion {
                    version: "seed".into(),
                    value: seeded,
                    tags: Default::default(),
                    created: 1_800_000_000,
                }],
            )
        });
        let mut v = VaultWorld {
            w,
            bin: tempfile::tempdir().unwrap(),
        };
        let url = v.w.sim.url();
        v.set("CSP_TOKEN_STORE", "azure-key-vault");
        v.set("CSP_KEY_VAULT_URL", &url);
        let path = format!("{}:/usr/bin:/bin", v.bin.path().display());
        v.set("PATH", &path);
        v
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.w.env.extra_env.push((key.into(), value.into()));
    }

    /// An Azure CLI on PATH, signed in: it prints a vault token (as `az account
    /// get-access-token -o json` does) and logs its arguments.
    pub fn with_az(&mut self) {
        self.with_az_token(&self.w.sim.vault_token());
    }

    pub fn with_az_token(&mut self, token: &str) {
        let exp = chrono::Utc::now().timestamp() + 3600;
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> {log}\ncat <<'JSON'\n{{\"accessToken\":\"{token}\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":{exp},\"subscription\":\"00000000-0000-0000-0000-000000000000\",\"tenant\":\"{tenant}\",\"tokenType\":\"Bearer\"}}\nJSON\n",
            log = self.az_log().display(),
            tenant = self.w.sim.world().partner.id,
        );
        write_executable(&self.bin.path().join("az"), &script);
    }

    pub fn az_log(&self) -> PathBuf {
        self.bin.path().join("az.log")
    }

    /// How often the fake Azure CLI ran.
    pub fn az_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.az_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The values of the secret's versions, oldest first.
    pub fn versions(&self) -> Vec<String> {
        self.w
            .sim
            .world()
            .key_vault
            .secrets
            .get(SECRET)
            .map(|v| v.iter().map(|s| s.value.clone()).collect())
            .unwrap_or_default()
    }

    /// The refresh tokens csp redeemed, in order.
    pub fn redeemed(&self) -> Vec<String> {
        self.w
            .sim
            .calls_to("POST", "/*/oauth2/v2.0/token")
            .iter()
            .filter(|c| c.form("grant_type").as_deref() == Some("refresh_token"))
            .filter_map(|c| c.form("refresh_token"))
            .collect()
    }

    /// The refresh tokens the simulator issued, in order.
    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        self.w
            .sim
            .secrets()
            .into_iter()
            .filter(|s| s.starts_with(REFRESH_PREFIX))
            .collect()
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.w.run(args).await
    }

    /// Runs `csp` with `args` and these variables besides the world's.
    pub async fn run_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.w.env.cmd();
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.args(args);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn write_executable(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The "done when": in a fake CI job (the Azure CLI on PATH, the vault on loopback),
/// two consecutive runs each redeem the refresh token, and the vault then holds the rotated
/// token of the second run.
#[cfg(unix)]
#[tokio::test]
async fn two_scheduled_runs_each_renew_the_token_in_the_vault() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    let seeded = v.versions()[0].clone();
    for run in 1..=2 {
        let out = v.run(&["status", "-o", "json"]).await;
        out.assert_code(0);
        assert_eq!(out.json()["tokenStore"], "azure-key-vault", "{out:?}");
        assert_eq!(out.json()["signedIn"], true);
        assert_eq!(v.versions().len(), run + 1, "one new version per run");
    }
    let versions = v.versions();
    // Run 1 redeemed the seeded token; run 2 the one run 1 wrote back.
    assert_eq!(v.redeemed(), vec![seeded, versions[1].clone()]);
    // The vault's newest version is the rotation the second run received.
    assert_eq!(
        versions.last(),
        v.issued_refresh_tokens().last(),
        "{versions:?}"
    );
    assert_ne!(versions[1], versions[2]);
    // The Azure CLI was asked for a vault token, for the vault's resource.
    let az = v.az_calls();
    assert!(!az.is_empty());
    assert!(
        az.iter().all(|a| a.contains("account get-access-token")
            && a.contains("--scope https://vault.azure.net/.default")),
        "{az:?}"
    );
    // The tags carry the non-secret facts; the value is the refresh token alone.
    let world = v.w.sim.world();
    let newest = world.key_vault.latest(SECRET).unwrap();
    assert_eq!(newest.tags["clientId"], APP_ID);
    assert!(newest.tags.contains_key("renewedAt"));
    assert!(newest.tags.contains_key("cspVersion"));
    assert!(newest.value.starts_with(REFRESH_PREFIX));
}

/// A run that redeems nothing writes nothing.
#[cfg(unix)]
#[tokio::test]
async fn a_run_without_a_redemption_writes_no_version() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    let out = v.run(&["status", "--offline", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["signedIn"], true);
    assert_eq!(v.versions().len(), 1);
    assert!(v.redeemed().is_empty());
}

/// Which credential reaches the vault, by what the environment holds; the variable
/// `CSP_KEY_VAULT_CREDENTIAL` overrides the choice.
#[cfg(unix)]
#[tokio::test]
async fn each_credential_is_chosen_by_what_the_environment_holds() {
    let partner = |v: &VaultWorld| v.w.sim.world().partner.id.clone();
    let token_calls = |v: &VaultWorld| {
        v.w.sim
            .calls_to("POST", "/*/oauth2/v2.0/token")
            .into_iter()
            .filter(|c| c.form("grant_type").as_deref() == Some("client_credentials"))
            .collect::<Vec<_>>()
    };

    // A service principal's secret (AZURE_CLIENT_SECRET), with an az on PATH too.
    let mut v = VaultWorld::start().await;
    v.with_az();
    let tenant = partner(&v);
    let url = v.w.sim.url();
    v.set("AZURE_CLIENT_ID", VAULT_IDENTITY);
    v.set("AZURE_TENANT_ID", &tenant);
    v.set("AZURE_CLIENT_SECRET", &format!("{SECRET_PREFIX}ci"));
    v.set("AZURE_AUTHORITY_HOST", &url);
    v.run(&["status"]).await.assert_code(0);
    let calls = token_calls(&v);
    assert_eq!(calls.len(), 1, "the vault token is fetched once per run");
    assert_eq!(calls[0].path, format!("/{tenant}/oauth2/v2.0/token"));
    assert_eq!(
        calls[0].form("client_secret"),
        Some(format!("{SECRET_PREFIX}ci"))
    );
    assert_eq!(
        calls[0].form("scope").as_deref(),
        Some("https://vault.azure.net/.default")
    );
    assert!(v.az_calls().is_empty(), "az was not asked");
    assert_eq!(v.versions().len(), 2);

    // ... unless CSP_KEY_VAULT_CREDENTIAL says azure-cli.
    v.set("CSP_KEY_VAULT_CREDENTIAL", "azure-cli");
    v.run(&["status"]).await.assert_code(0);
    assert_eq!(token_calls(&v).len(), 1);
    assert!(!v.az_calls().is_empty());

    // Workload identity: a federated token in a file, exchanged as a client assertion.
    let mut v = VaultWorld::start().await;
    let tenant = partner(&v);
    let url = v.w.sim.url();
    let token_file = v.bin.path().join("federated-token");
    std::fs::write(&token_file, "federated.jwt.assertion").unwrap();
    v.set("AZURE_CLIENT_ID", VAULT_IDENTITY);
    v.set("AZURE_TENANT_ID", &tenant);
    v.set("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap());
    v.set("AZURE_AUTHORITY_HOST", &url);
    v.run(&["status"]).await.assert_code(0);
    let calls = token_calls(&v);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].form("client_assertion").as_deref(),
        Some("federated.jwt.assertion")
    );
    assert_eq!(calls[0].form("client_id").as_deref(), Some(VAULT_IDENTITY));
    assert_eq!(v.versions().len(), 2);

    // Managed identity: the endpoint and header App Service and Azure Automation set.
    let mut v = VaultWorld::start().await;
    let endpoint = format!("{}/msi/token", v.w.sim.url());
    v.set("IDENTITY_ENDPOINT", &endpoint);
    v.set("IDENTITY_HEADER", IDENTITY_HEADER);
    v.run(&["status"]).await.assert_code(0);
    let msi = v.w.sim.calls_to("GET", "/msi/token");
    assert_eq!(msi.len(), 1);
    assert!(
        msi[0]
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("resource=https%3A%2F%2Fvault.azure.net"),
        "{:?}",
        msi[0].query
    );
    assert_eq!(v.versions().len(), 2);

    // A wrong identity header is refused, and the error says which credential failed.
    let mut v = VaultWorld::start().await;
    let endpoint = format!("{}/msi/token", v.w.sim.url());
    v.set("IDENTITY_ENDPOINT", &endpoint);
    v.set("IDENTITY_HEADER", "wrong");
    let out = v.run(&["status"]).await;
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("the managed-identity credential could not get a token"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: run csp on an Azure resource"));
}

/// An unknown credential name is a usage error, as is a secret name Key Vault refuses.
#[tokio::test]
async fn bad_vault_settings_are_usage_errors() {
    for (var, value, says) in [
        (
            "CSP_KEY_VAULT_CREDENTIAL",
            "default",
            "CSP_KEY_VAULT_CREDENTIAL must be",
        ),
        (
            "CSP_KEY_VAULT_SECRET",
            "csp_default",
            "Key Vault secret name",
        ),
        (
            "CSP_KEY_VAULT_URL",
            "http://vault.example.com",
            "http:// is accepted only for loopback",
        ),
        (
            "CSP_TOKEN_STORE",
            "vault",
            "`keyring`, `file` or `azure-key-vault`",
        ),
    ] {
        let v = VaultWorld::start().await;
        let out = v.run_env(&[(var, value)], &["status"]).await;
        out.assert_code(2);
        assert!(out.stderr.contains(says), "{var}: {}", out.stderr);
    }
    // No vault at all: the store cannot be used, and says what to set.
    let mut v = VaultWorld::start().await;
    v.set("CSP_KEY_VAULT_URL", "");
    let out = v.run(&["status"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("set CSP_KEY_VAULT_URL"),
        "{}",
        out.stderr
    );
}

/// The write-back fails (no `set` permission): the run's own result stands, a warning says the
/// vault keeps the older, still valid token, and why.
#[cfg(unix)]
#[tokio::test]
async fn a_failed_write_back_warns_and_the_run_stands() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    v.w.sim
        .with_world(|w| w.switches.vault_denied = vec!["set".into()]);
    let out = v.run(&["status", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["signedIn"], true);
    assert!(
        out.stderr
            .contains("could not write the renewed refresh token back to Azure Key Vault")
            && out
                .stderr
                .contains("the vault keeps the older token, which stays valid")
            && out.stderr.contains("may not set secrets"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Key Vault Secrets Officer"),
        "{}",
        out.stderr
    );
    assert_eq!(v.versions().len(), 1, "the older token stays");
    // The next run redeems the older token, which still works.
    v.w.sim.with_world(|w| w.switches.vault_denied.clear());
    v.run(&["status"]).await.assert_code(0);
    assert_eq!(v.versions().len(), 2);
}

/// 401, 403 without `get`, the firewall, a missing secret: each names what is wrong and what
/// fixes it, with the documented exit code.
#[cfg(unix)]
#[tokio::test]
async fn vault_refusals_name_what_is_missing() {
    // A token for another resource: the vault answers 401.
    let mut v = VaultWorld::start().await;
    v.with_az_token(&jwt(
        serde_json::json!({"aud": "https://management.azure.com", "exp": 4_000_000_000u64}),
    ));
    let out = v.run(&["status"]).await;
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("refused the azure-cli credential's token (401)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("az account show"), "{}", out.stderr);

    let mut v = VaultWorld::start().await;
    v.with_az();
    v.w.sim
        .with_world(|w| w.switches.vault_denied = vec!["get".into()]);
    let out = v.run(&["status"]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("may not get secrets"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Key Vault Secrets User"),
        "{}",
        out.stderr
    );

    v.w.sim.with_world(|w| {
        w.switches.vault_denied.clear();
        w.switches.vault_firewall = true;
    });
    let out = v.run(&["status"]).await;
    out.assert_code(1);
    assert!(out.stderr.contains("ForbiddenByFirewall"), "{}", out.stderr);
    assert!(
        out.stderr.contains("az keyvault network-rule add"),
        "{}",
        out.stderr
    );

    // Another secret name: nothing is stored there (exit 4) and the hint says how to fix it.
    v.w.sim.with_world(|w| w.switches.vault_firewall = false);
    v.set("CSP_KEY_VAULT_SECRET", "csp-other");
    let out = v.run(&["status"]).await;
    out.assert_code(4);
    assert!(
        out.stderr
            .contains("secret csp-other does not exist in Azure Key Vault"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--token-store azure-key-vault"),
        "{}",
        out.stderr
    );
    // No sign-in was redeemed on any of these paths.
    assert!(v.redeemed().is_empty());
}

/// `authorize --token-store azure-key-vault` stores a new sign-in in the vault and the profile
/// remembers the vault; `logout` deletes it (soft delete), after which the name answers 409
/// until it is recovered or purged, which the error says.
#[cfg(unix)]
#[tokio::test]
async fn authorize_stores_into_the_vault_and_a_deleted_secret_names_recovery() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    v.w.sim.with_world(|w| {
        w.key_vault.secrets.clear();
    });
    // The workflow sets the vault only for this run; the profile remembers it.
    let url = v.w.sim.url();
    v.w.env
        .extra_env
        .retain(|(k, _)| k != "CSP_TOKEN_STORE" && k != "CSP_KEY_VAULT_URL");
    let out = v
        .run_env(
            &[("CSP_KEY_VAULT_URL", &url)],
            &[
                "authorize",
                "--token-store",
                "azure-key-vault",
                "-o",
                "json",
            ],
        )
        .await;
    out.assert_code(0);
    assert_eq!(out.json()["tokenStore"], "azure-key-vault");
    assert!(
        out.stderr.contains("Sign-in stored in Azure Key Vault"),
        "{}",
        out.stderr
    );
    assert_eq!(v.versions().len(), 1);
    let config = v.w.env.config_text();
    assert!(
        config.contains("token_store = \"azure-key-vault\""),
        "{config}"
    );
    assert!(
        config.contains(&format!("key_vault_url = \"{url}\"")),
        "{config}"
    );
    assert!(
        config.contains("key_vault_secret = \"csp-default\""),
        "{config}"
    );

    // Without any vault variable, the profile's vault is used.
    v.run(&["status"]).await.assert_code(0);
    assert_eq!(v.versions().len(), 2);

    let out = v.run(&["logout", "-o", "json"]).await;
    out.assert_code(0);
    assert_eq!(out.json()["removed"], true);
    let out = v.run(&["status"]).await;
    out.assert_code(4);

    let out = v.run(&["authorize"]).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("deleted but recoverable"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("az keyvault secret recover"),
        "{}",
        out.stderr
    );
}

/// Ctrl-C after the token was redeemed: the renewed token is still written back, once.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_still_writes_the_renewed_token_back() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    // Partner Center never answers: the command is waiting when Ctrl-C comes.
    v.w.sim.inject(
        Fault::on("GET", "/v1/customers")
            .always()
            .hang(std::time::Duration::from_secs(120)),
    );
    let mut cmd = v.w.env.std_cmd();
    cmd.args(["customers"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    // Wait until the refresh token was redeemed and the customers call is hanging.
    for _ in 0..300 {
        if !v.w.sim.calls_to("GET", "/v1/customers").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        v.redeemed().len(),
        1,
        "the token was redeemed before Ctrl-C"
    );
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let versions = v.versions();
    assert_eq!(versions.len(), 2, "one write-back");
    assert_eq!(versions.last(), v.issued_refresh_tokens().last());
}

/// `CSP_REFRESH_TOKEN` cannot be renewed: each run that uses it says so once, names the vault
/// store, and stays quiet with -q. `doctor` warns about it too.
#[tokio::test]
async fn the_environment_token_says_it_cannot_be_renewed() {
    let v = VaultWorld::start().await;
    let token = v.w.sim.refresh_token();
    let env = [
        ("CSP_REFRESH_TOKEN", token.as_str()),
        ("CSP_CLIENT_ID", APP_ID),
        ("CSP_TOKEN_STORE", ""),
    ];
    let out = v.run_env(&env, &["status"]).await;
    out.assert_code(0);
    let stderr = &out.stderr;
    assert_eq!(
        stderr.matches("which csp cannot renew").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("about 90 days after it was issued"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CSP_TOKEN_STORE=azure-key-vault"),
        "{stderr}"
    );

    let out = v.run_env(&env, &["-q", "status"]).await;
    out.assert_code(0);
    assert!(!out.stderr.contains("cannot renew"), "{}", out.stderr);
    // Nothing is written anywhere, the vault included.
    assert_eq!(v.versions().len(), 1);

    let out = v.run_env(&env, &["doctor", "-o", "json"]).await;
    let checks = out.json();
    let store = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token_store")
        .unwrap();
    assert_eq!(store["status"], "warn", "{store}");
    assert!(
        store["remedy"]
            .as_str()
            .unwrap()
            .contains("azure-key-vault")
    );
}

/// `doctor` with the vault: reached with which credential, secret readable and writable, when
/// the token was last renewed; and a refusal as a failed check with its fix.
#[cfg(unix)]
#[tokio::test]
async fn doctor_checks_the_vault() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    v.w.sim.with_world(|w| {
        let s = w.key_vault.secrets.get_mut(SECRET).unwrap();
        s[0].tags
            .insert("renewedAt".into(), "2026-01-01T00:00:00Z".into());
    });
    let out = v.run(&["doctor", "-o", "json"]).await;
    let checks = out.json();
    let find = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check: {checks}"))
    };
    let store = find("token_store");
    assert_eq!(store["status"], "pass", "{store}");
    let detail = store["detail"].as_str().unwrap();
    assert!(
        detail.contains("reached with the azure-cli credential (chosen by az on PATH)"),
        "{detail}"
    );
    assert!(
        detail.contains("secret csp-default can be read and written"),
        "{detail}"
    );
    // An old renewal warns: unused for 90 days, the token expires.
    let renewal = find("token_renewal");
    assert_eq!(renewal["status"], "warn", "{renewal}");
    assert!(
        renewal["detail"]
            .as_str()
            .unwrap()
            .contains("2026-01-01T00:00:00Z")
    );
    // The write probe kept the renewal date.
    let world = v.w.sim.world();
    let kept = &world.key_vault.secrets[SECRET][1];
    assert_eq!(kept.tags["renewedAt"], "2026-01-01T00:00:00Z");
    drop(world);

    v.w.sim
        .with_world(|w| w.switches.vault_denied = vec!["set".into()]);
    let out = v.run(&["doctor", "-o", "json"]).await;
    let checks = out.json();
    let store = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token_store")
        .unwrap()
        .clone();
    assert_eq!(store["status"], "fail", "{store}");
    assert!(
        store["detail"]
            .as_str()
            .unwrap()
            .contains("may not set secrets")
    );
    assert!(
        store["remedy"]
            .as_str()
            .unwrap()
            .contains("Key Vault Secrets Officer")
    );
}

/// `--sandbox` with the vault store works offline, with the sandbox's own credential, and keeps
/// the vault between runs.
#[tokio::test]
async fn the_sandbox_simulates_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &'static [&'static str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_csp"));
        cmd.env_clear()
            .env("HOME", dir.path())
            .env("CSP_CONFIG_DIR", dir.path())
            .env("CSP_TOKEN_STORE", "azure-key-vault")
            // The sandbox's vault is the simulated one, whatever the environment names.
            .env("CSP_KEY_VAULT_URL", "https://127.0.0.1:9")
            .env("NO_PROXY", "*")
            .arg("--sandbox")
            .args(args);
        cmd
    };
    let out = run(&["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let out = run(&["authorize"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(&["-o", "json", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["tokenStore"], "azure-key-vault");
    assert!(report["tokenRenewedAt"].is_string(), "{report}");
    let world: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("sandbox/simulator.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        world["key_vault"]["secrets"][SECRET]
            .as_array()
            .unwrap()
            .len(),
        2,
        "authorize stored one version, status renewed it"
    );
}

/// The store itself, with a fake credential: a confidential client's secret travels in the
/// companion secret, written only when it changes; the value is the refresh token alone.
#[tokio::test]
async fn a_client_secret_goes_in_a_companion_secret_written_only_when_it_changes() {
    use csp::secrets::vault::{TagFacts, VaultTarget};
    use csp::secrets::{KeyVaultStore, SecretVault, StoredSecrets};
    use secrecy::ExposeSecret;

    #[derive(Debug)]
    struct Fixed(String);
    #[async_trait::async_trait]
    impl azure_core::credentials::TokenCredential for Fixed {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            assert_eq!(scopes, ["https://vault.azure.net/.default"]);
            Ok(azure_core::credentials::AccessToken::new(
                self.0.clone(),
                azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
            ))
        }
    }

    let sim = Simulator::start(World::empty()).await.unwrap();
    let store = Arc::new(KeyVaultStore::new(
        VaultTarget {
            url: sim.base.clone(),
            secret: "csp-ci".into(),
            scope: "https://vault.azure.net/.default".into(),
        },
        Arc::new(Fixed(sim.vault_token())),
        "test",
        TagFacts {
            client_id: Some(APP_ID.into()),
            tenant_id: None,
        },
        csp::http::token_client().unwrap(),
        csp::http::HttpOptions::default(),
    ));
    let vault = SecretVault::remote(store.clone(), "ci");
    assert!(vault.load().await.unwrap().is_none());
    let secrets = |rt: &str| StoredSecrets {
        refresh_token: rt.to_string().into(),
        client_secret: Some("app-secret".to_string().into()),
    };
    vault.save(secrets("rt-1")).await.unwrap();
    vault.save(secrets("rt-2")).await.unwrap();
    let world = sim.world();
    assert_eq!(world.key_vault.versions("csp-ci"), 2);
    assert_eq!(world.key_vault.versions("csp-ci-client-secret"), 1);
    let latest = world.key_vault.latest("csp-ci").unwrap();
    assert_eq!(latest.value, "rt-2");
    assert_eq!(latest.tags["clientSecret"], "csp-ci-client-secret");
    drop(world);
    let back = SecretVault::remote(store.clone(), "ci")
        .load()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.refresh_token.expose_secret(), "rt-2");
    assert_eq!(back.client_secret.unwrap().expose_secret(), "app-secret");
    // The access token for the vault is fetched once and reused.
    assert_eq!(
        store.last_read().unwrap().client_id.as_deref(),
        Some(APP_ID)
    );
    assert!(vault.delete().await.unwrap());
    assert!(sim.world().key_vault.deleted.contains("csp-ci"));
}

/// `csp setup --with-secret` into the vault store: the app's secret goes in the companion
/// secret, and the profile remembers the vault, as `authorize` does, so the next run finds it
/// without `CSP_KEY_VAULT_URL`.
#[cfg(unix)]
#[tokio::test]
async fn setup_with_a_secret_keeps_it_in_the_vault_and_remembers_the_vault() {
    let mut v = VaultWorld::start().await;
    v.with_az();
    let out = v
        .run(&["setup", "--with-secret", "--update", "-o", "json"])
        .await;
    out.assert_code(0);
    let world = v.w.sim.world();
    assert_eq!(
        world.key_vault.versions(&format!("{SECRET}-client-secret")),
        1,
        "the client secret is kept in the companion secret"
    );
    let config = v.w.env.config_text();
    let url = v.w.sim.url();
    for line in [
        "token_store = \"azure-key-vault\"".to_string(),
        format!("key_vault_url = \"{}\"", url.trim_end_matches('/')),
        format!("key_vault_secret = \"{SECRET}\""),
    ] {
        assert!(config.contains(&line), "{line} in:\n{config}");
    }
}
