//! Microsoft cloud endpoint sets (public, US Government, China) and the rule for overriding
//! them. Owns only URLs and resource identifiers; it performs no I/O.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::Url;

/// Which Microsoft cloud the partner tenant lives in (Microsoft's national-cloud endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Public,
    Usgov,
    China,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::Usgov => "usgov",
            Cloud::China => "china",
        }
    }

    /// The login host. China uses the host the current Entra national-cloud page names.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::Usgov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }

    /// Partner Center's REST host; US Government partners use the global one.
    pub fn partner_center_host(self) -> &'static str {
        match self {
            Cloud::Public | Cloud::Usgov => "https://api.partnercenter.microsoft.com",
            Cloud::China => "https://partner.partnercenterapi.microsoftonline.cn",
        }
    }

    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The resource a Partner Center token is issued for. Scopes always name this, never an
    /// endpoint override, so a proxy or test double still receives real-shaped requests.
    pub fn partner_center_resource(self) -> &'static str {
        self.partner_center_host()
    }

    pub fn graph_resource(self) -> &'static str {
        self.graph_host()
    }

    /// `…/user_impersonation`: the delegated scope the sign-in asks Partner Center for.
    pub fn partner_center_scope(self) -> String {
        format!("{}/user_impersonation", self.partner_center_resource())
    }

    pub fn graph_scope(self) -> String {
        format!("{}/.default", self.graph_resource())
    }

    /// The DNS suffix of Azure Key Vault's vaults: `https://NAME.<suffix>`.
    pub fn key_vault_suffix(self) -> &'static str {
        match self {
            Cloud::Public => "vault.azure.net",
            Cloud::Usgov => "vault.usgovcloudapi.net",
            Cloud::China => "vault.azure.cn",
        }
    }

    /// The resource a Key Vault token is issued for (whatever the vault's URL).
    pub fn key_vault_resource(self) -> String {
        format!("https://{}", self.key_vault_suffix())
    }

    pub fn key_vault_scope(self) -> String {
        format!("{}/.default", self.key_vault_resource())
    }

    pub fn endpoints(self) -> Endpoints {
        let parse = |s: &str| Url::parse(s).expect("built-in endpoint URLs are valid");
        Endpoints {
            authority: parse(self.authority_host()),
            partner_center: parse(self.partner_center_host()),
            graph: parse(self.graph_host()),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three base URLs every remote call is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authority: Url,
    pub partner_center: Url,
    pub graph: Url,
}

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{name} is not a valid URL: {value:?}")]
    Malformed { name: &'static str, value: String },
    #[error("{name} must use https:// ({value}); http:// is accepted only for loopback hosts")]
    Insecure { name: &'static str, value: String },
    #[error("{name} must be an http(s) URL without credentials, query or fragment: {value}")]
    Unsupported { name: &'static str, value: String },
}

/// Validates an endpoint override: `https://` anywhere, `http://` only to a loopback host, so
/// that no token can travel in clear text. `name` is the setting's name, for the message.
pub fn parse_endpoint(name: &'static str, value: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(value.trim()).map_err(|_| EndpointError::Malformed {
        name,
        value: value.to_string(),
    })?;
    let unsupported = || EndpointError::Unsupported {
        name,
        value: value.to_string(),
    };
    if url.host().is_none() || url.cannot_be_a_base() {
        return Err(EndpointError::Malformed {
            name,
            value: value.to_string(),
        });
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(unsupported());
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(EndpointError::Insecure {
                name,
                value: value.to_string(),
            });
        }
        _ => return Err(unsupported()),
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Joins path segments onto a base URL, keeping any path prefix the base carries (a proxy
/// mounted under `/login`, say) and escaping each segment.
pub fn join_path(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .expect("endpoint URLs are validated to be base URLs");
        path.pop_if_empty();
        for s in segments {
            for part in s.split('/').filter(|p| !p.is_empty()) {
                path.push(part);
            }
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_anywhere() {
        assert!(parse_endpoint("X", "https://proxy.example.com").is_ok());
    }

    #[test]
    fn http_is_accepted_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9",
            "http://localhost:1",
            "http://LOCALHOST",
        ] {
            assert!(parse_endpoint("X", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "http://[::2]",
        ] {
            assert!(
                matches!(
                    parse_endpoint("X", bad),
                    Err(EndpointError::Insecure { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn malformed_and_odd_urls_are_refused() {
        assert!(matches!(
            parse_endpoint("X", "not a url"),
            Err(EndpointError::Malformed { .. })
        ));
        assert!(parse_endpoint("X", "ftp://127.0.0.1").is_err());
        assert!(parse_endpoint("X", "https://u:p@h.example").is_err());
        assert!(parse_endpoint("X", "https://h.example/?a=1").is_err());
        assert!(parse_endpoint("X", "mailto:a@b.c").is_err());
    }

    #[test]
    fn join_keeps_a_base_path_prefix() {
        let base = Url::parse("http://127.0.0.1:1/prefix/").unwrap();
        assert_eq!(
            join_path(&base, &["contoso.com", "oauth2/v2.0/token"]).as_str(),
            "http://127.0.0.1:1/prefix/contoso.com/oauth2/v2.0/token"
        );
        let base = Url::parse("https://login.microsoftonline.com").unwrap();
        assert_eq!(
            join_path(&base, &["organizations", "oauth2/v2.0/devicecode"]).as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode"
        );
    }

    #[test]
    fn scopes_name_the_cloud_resource() {
        assert_eq!(
            Cloud::Public.partner_center_scope(),
            "https://api.partnercenter.microsoft.com/user_impersonation"
        );
        assert_eq!(
            Cloud::Usgov.graph_scope(),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            Cloud::China.partner_center_scope(),
            "https://partner.partnercenterapi.microsoftonline.cn/user_impersonation"
        );
    }
}
