//! `GET /v1/customers` with continuation paging and the `starts_with` search filter, and
//! `GET /v1/customers/{id}`.

use std::collections::BTreeMap;

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::PartnerCenter;
use super::model::{Customer, Link, Page};
use crate::http::{ApiError, RemoteError, display_path};

/// Items asked for per page.
pub const PAGE_SIZE: u32 = 500;
/// A listing that pages more than this is looping, not large.
const MAX_PAGES: usize = 10_000;

/// A documented search field (Partner Center's get-a-customer-by-name page).
#[derive(Debug, Clone, Copy)]
pub enum SearchField {
    CompanyName,
    Domain,
}

impl SearchField {
    fn as_str(self) -> &'static str {
        match self {
            SearchField::CompanyName => "CompanyName",
            SearchField::Domain => "Domain",
        }
    }
}

/// Partner Center's JSON filter, fields in the documented order.
#[derive(serde::Serialize)]
struct Filter<'a> {
    #[serde(rename = "Field")]
    field: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
    #[serde(rename = "Operator")]
    operator: &'a str,
}

/// The `filter` query value: Partner Center's JSON filter, which the query encoding then
/// URL-encodes as the SDK does (`WebUtility.UrlEncode`).
pub fn search_filter(field: SearchField, prefix: &str) -> String {
    serde_json::to_string(&Filter {
        field: field.as_str(),
        value: prefix,
        operator: "starts_with",
    })
    .expect("strings serialise")
}

impl PartnerCenter {
    /// Every customer, all pages; with `search`, those whose company name or domain starts with
    /// it (two searches, merged without duplicates).
    pub async fn customers(&self, search: Option<&str>) -> Result<Vec<Customer>, RemoteError> {
        let Some(prefix) = search else {
            return self.list(None).await;
        };
        let mut merged = BTreeMap::new();
        for field in [SearchField::CompanyName, SearchField::Domain] {
            for c in self.list(Some(search_filter(field, prefix))).await? {
                merged.entry(c.tenant_id()).or_insert(c);
            }
        }
        Ok(merged.into_values().collect())
    }

    async fn list(&self, filter: Option<String>) -> Result<Vec<Customer>, RemoteError> {
        let token = self.token().await?;
        let mut url = self.api.url("v1/customers");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("size", &PAGE_SIZE.to_string());
            if let Some(f) = &filter {
                q.append_pair("filter", f);
            }
        }
        let mut headers = Vec::new();
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for page_no in 1.. {
            if page_no > MAX_PAGES {
                return Err(ApiError::EndlessPaging {
                    service: self.api.service(),
                    path: "/v1/customers".into(),
                    pages: MAX_PAGES,
                }
                .into());
            }
            self.limits.customer_read(self.partner_key()).await;
            let page: Page<Customer> = self
                .api
                .get_json(url.clone(), Some(&token), headers.clone())
                .await?;
            tracing::debug!("customers page {page_no}: {} items", page.items.len());
            all.extend(page.items);
            let Some(next) = page.links.and_then(|l| l.next) else {
                break;
            };
            let (next_url, next_headers) = self.follow(&next)?;
            // The same link twice means the service is not advancing: stop rather than loop.
            let key = (next_url.to_string(), format!("{next_headers:?}"));
            if !seen.insert(key) {
                return Err(ApiError::EndlessPaging {
                    service: self.api.service(),
                    path: display_path(&next_url),
                    pages: page_no,
                }
                .into());
            }
            url = next_url;
            headers = next_headers;
        }
        Ok(all)
    }

    /// Turns a `links.next` into a URL on the Partner Center host and its headers. The uri comes
    /// with or without the `/v1` prefix (Microsoft's docs show both); an absolute link must stay on the host.
    fn follow(&self, link: &Link) -> Result<(Url, Vec<(HeaderName, HeaderValue)>), ApiError> {
        let url = match Url::parse(&link.uri) {
            Ok(abs) => {
                if !self.api.same_origin(&abs) {
                    return Err(ApiError::ForeignLink {
                        service: self.api.service(),
                        path: "/v1/customers".into(),
                        host: abs.host_str().unwrap_or_default().to_string(),
                    });
                }
                abs
            }
            Err(_) => {
                let rel = link.uri.trim_start_matches('/');
                let rel = if rel.starts_with("v1/") || rel == "v1" {
                    rel.to_string()
                } else {
                    format!("v1/{rel}")
                };
                self.api.url(&rel)
            }
        };
        let mut headers = Vec::new();
        for h in &link.headers {
            let name = h.key.trim();
            // The link may add paging headers; it may not replace credentials or framing.
            if ["authorization", "host", "content-length", "cookie"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&h.value),
            ) {
                headers.push((n, v));
            }
        }
        Ok((url, headers))
    }

    /// Proves Partner Center answers this sign-in: `GET /v1/customers?size=1`.
    pub async fn probe(&self) -> Result<(), RemoteError> {
        let token = self.token().await?;
        let mut url = self.api.url("v1/customers");
        url.query_pairs_mut().append_pair("size", "1");
        let _: Page<Customer> = self.api.get_json(url, Some(&token), Vec::new()).await?;
        Ok(())
    }

    /// One customer by tenant id, with `customDomains`.
    pub async fn customer(&self, tenant_id: &str) -> Result<Customer, RemoteError> {
        let token = self.token().await?;
        self.limits.customer_read(self.partner_key()).await;
        let url = self.api.url(&format!("v1/customers/{tenant_id}"));
        Ok(self.api.get_json(url, Some(&token), Vec::new()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_filter_is_partner_centers_json() {
        assert_eq!(
            search_filter(SearchField::CompanyName, "Cont"),
            r#"{"Field":"CompanyName","Value":"Cont","Operator":"starts_with"}"#
        );
    }
}
