//! Microsoft Graph v1.0: GDAP relationships in the partner tenant, domains in a
//! customer tenant, and paging over `@odata.nextLink`. Builds requests and reads answers; never
//! prints.

pub mod apps;
pub mod gdap;
pub mod groups;
pub mod model;
pub mod readback;
pub mod relationships;

use std::sync::Arc;

use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::auth::TokenProvider;
use crate::http::{ApiClient, ApiError, RemoteError, display_path};
use model::{Collection, Domain, GdapRelationship};

const MAX_PAGES: usize = 10_000;

pub struct Graph {
    pub(crate) api: ApiClient,
    pub(crate) tokens: Arc<TokenProvider>,
    pub(crate) scope: String,
}

impl Graph {
    pub fn new(api: ApiClient, tokens: Arc<TokenProvider>, scope: String) -> Self {
        Graph { api, tokens, scope }
    }

    /// Every item of a collection, following `@odata.nextLink`, in `tenant` (default: the
    /// partner tenant).
    pub async fn list<T: DeserializeOwned>(
        &self,
        tenant: Option<&str>,
        path_and_query: &str,
    ) -> Result<Vec<T>, RemoteError> {
        let token = self.tokens.access_token(&self.scope, tenant).await?.token;
        Ok(all_pages(&self.api, &token, self.api.url(path_and_query)).await?)
    }

    /// One object in the partner tenant, `None` when Graph answers 404.
    pub async fn get_one<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<Option<T>, RemoteError> {
        let token = self.tokens.access_token(&self.scope, None).await?.token;
        match self
            .api
            .get_json(self.api.url(path_and_query), Some(&token), Vec::new())
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A write in the partner tenant (POST, PATCH, DELETE), with a JSON body and extra headers
    /// (`If-Match`); the 2xx response as it came.
    pub async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    ) -> Result<crate::http::Response, RemoteError> {
        let token = self.tokens.access_token(&self.scope, None).await?.token;
        let call = crate::http::Call {
            method,
            json: body,
            headers,
            ..crate::http::Call::get(self.api.url(path), Some(&token))
        };
        Ok(self.api.send(call).await?)
    }

    /// A response body read as `T`, naming the call when it does not fit.
    pub fn read<T: DeserializeOwned>(
        &self,
        response: &crate::http::Response,
        method: &str,
        path: &str,
    ) -> Result<T, RemoteError> {
        Ok(self.api.decode(response, method, path)?)
    }

    /// The partner's GDAP relationships, all statuses (`GET /tenantRelationships/delegatedAdminRelationships`).
    pub async fn gdap_relationships(&self) -> Result<Vec<GdapRelationship>, RemoteError> {
        self.list(
            None,
            "v1.0/tenantRelationships/delegatedAdminRelationships?$top=300",
        )
        .await
    }

    /// The domains of a customer tenant, read in that tenant (`GET /domains`).
    pub async fn domains(&self, tenant: &str) -> Result<Vec<Domain>, RemoteError> {
        self.list(Some(tenant), "v1.0/domains").await
    }
}

/// Every item of the Graph collection at `url`, following `@odata.nextLink` to the last page.
/// Links must stay on the Graph host (the token goes with them), and a link that does not
/// advance stops the listing instead of looping.
pub async fn all_pages<T: DeserializeOwned>(
    api: &ApiClient,
    token: &SecretString,
    mut url: url::Url,
) -> Result<Vec<T>, ApiError> {
    let mut all = Vec::new();
    for page_no in 1.. {
        if page_no > MAX_PAGES {
            return Err(ApiError::EndlessPaging {
                service: api.service(),
                path: display_path(&url),
                pages: MAX_PAGES,
            });
        }
        let page: Collection<T> = api.get_json(url.clone(), Some(token), Vec::new()).await?;
        all.extend(page.value);
        let Some(next) = page.next_link else { break };
        let next = url::Url::parse(&next).map_err(|_| ApiError::Decode {
            service: api.service(),
            method: "GET".into(),
            path: display_path(&url),
            detail: "@odata.nextLink is not a URL".into(),
        })?;
        if !api.same_origin(&next) {
            return Err(ApiError::ForeignLink {
                service: api.service(),
                path: display_path(&url),
                host: next.host_str().unwrap_or_default().to_string(),
            });
        }
        if next == url {
            return Err(ApiError::EndlessPaging {
                service: api.service(),
                path: display_path(&url),
                pages: page_no,
            });
        }
        url = next;
    }
    Ok(all)
}
