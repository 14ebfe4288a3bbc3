//! What `csp consent` grants: the application and, per resource, the delegated scopes, from the
//! profile's `[consent]` section or from flags (flags win), validated before any call.

use std::collections::BTreeSet;

use crate::config::{ConsentConfig, GrantConfig};
use crate::ids;

/// Microsoft's limit on one resource's joined delegated scopes (AADSTS650051).
pub const MAX_SCOPE_CHARS: usize = 8000;

pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Resource aliases and the enterprise application ids they stand for.
pub const ALIASES: &[(&str, &str)] = &[
    ("graph", GRAPH_APP_ID),
    ("exchange", "00000002-0000-0ff1-ce00-000000000000"),
    ("partner-center", "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"),
    ("arm", "797f4846-ba00-4fd7-ba43-dac1f8f63013"),
];

/// The alias of a resource id, if it has one.
pub fn alias_of(app_id: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(_, id)| id.eq_ignore_ascii_case(app_id))
        .map(|(a, _)| *a)
}

/// One resource and the scopes the app must hold on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The resource's enterprise application id (lowercase GUID).
    pub resource: String,
    /// Scope names, in the order given, without duplicates (compared without regard to case).
    pub scopes: Vec<String>,
}

impl Grant {
    /// A label for people: the alias, else the id.
    pub fn label(&self) -> String {
        alias_of(&self.resource).map_or_else(|| self.resource.clone(), str::to_string)
    }

    /// Partner Center's form of `scope`: the scopes joined with a comma alone, as Microsoft's
    /// samples send them (`A,B,C`). A space after the comma would become part of the next
    /// scope's name if the service splits without trimming.
    pub fn scope_list(&self) -> String {
        self.scopes.join(",")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub application_id: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

/// The consent flags, as given.
#[derive(Debug, Clone, Default)]
pub struct ManifestFlags {
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    /// `RESOURCE=SCOPE[,SCOPE…]`, repeatable.
    pub grants: Vec<String>,
}

impl Manifest {
    /// Builds and validates the manifest. `sign_in_client` is the app the partner signed in with:
    /// Partner Center consents only the application the token was issued to.
    pub fn resolve(
        config: Option<&ConsentConfig>,
        flags: &ManifestFlags,
        sign_in_client: Option<&str>,
    ) -> Result<Manifest, String> {
        let config = config.cloned().unwrap_or_default();
        let raw_app = flags
            .app_id
            .clone()
            .or(config.application_id.clone())
            .or(sign_in_client.map(str::to_string))
            .ok_or("no application to consent: sign in first (csp authorize), or set --app-id")?;
        let application_id = ids::parse_guid(&raw_app)
            .ok_or_else(|| format!("the application id {raw_app:?} is not a GUID"))?;
        if let Some(client) = sign_in_client
            && !client.eq_ignore_ascii_case(&application_id)
        {
            return Err(format!(
                "Partner Center consents only the application the sign-in token was issued to ({client}), not {application_id}: sign in with that app under another profile (csp --profile NAME authorize --client-id {application_id}) and run consent with --profile NAME"
            ));
        }
        let grant_configs: Vec<GrantConfig> = if flags.grants.is_empty() {
            config.grants.clone()
        } else {
            flags
                .grants
                .iter()
                .map(|g| parse_grant_flag(g))
                .collect::<Result<_, _>>()?
        };
        if grant_configs.is_empty() {
            return Err("nothing to grant: add [[profiles.NAME.consent.grants]] to config.toml or pass --grant RESOURCE=SCOPE[,SCOPE...]".into());
        }
        let mut grants: Vec<Grant> = Vec::new();
        for g in grant_configs {
            let resource = resource_id(&g.resource)?;
            let entry = match grants.iter_mut().find(|x| x.resource == resource) {
                Some(e) => e,
                None => {
                    grants.push(Grant {
                        resource: resource.clone(),
                        scopes: Vec::new(),
                    });
                    grants.last_mut().expect("just pushed")
                }
            };
            if g.scopes.is_empty() {
                return Err(format!("resource {:?} lists no scopes", g.resource));
            }
            for scope in g.scopes {
                let scope = validate_scope(&scope)?;
                if !entry.scopes.iter().any(|s| s.eq_ignore_ascii_case(&scope)) {
                    entry.scopes.push(scope);
                }
            }
        }
        for g in &grants {
            let joined = g.scopes.join(" ").len();
            if joined > MAX_SCOPE_CHARS {
                return Err(format!(
                    "the scopes of {} add up to {joined} characters; Microsoft allows {MAX_SCOPE_CHARS} per resource (AADSTS650051)",
                    g.label()
                ));
            }
        }
        Ok(Manifest {
            application_id,
            display_name: flags
                .display_name
                .clone()
                .or(config.display_name)
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "csp".into()),
            grants,
        })
    }

    /// As `resolve`, but a manifest without grants is `Ok(None)` (for read-only checks that can
    /// run without one).
    pub fn resolve_optional(
        config: Option<&ConsentConfig>,
        flags: &ManifestFlags,
        sign_in_client: Option<&str>,
    ) -> Result<Option<Manifest>, String> {
        let has_grants = !flags.grants.is_empty() || config.is_some_and(|c| !c.grants.is_empty());
        if !has_grants {
            return Ok(None);
        }
        Self::resolve(config, flags, sign_in_client).map(Some)
    }

    /// Whether the grants let the app read its own grants back through Graph in the customer
    /// tenant (Directory.Read.All, or Application.Read.All with DelegatedPermissionGrant.Read.All,
    /// or broader).
    pub fn can_read_back(&self) -> bool {
        let Some(graph) = self.grants.iter().find(|g| g.resource == GRAPH_APP_ID) else {
            return false;
        };
        let has = |names: &[&str]| {
            graph
                .scopes
                .iter()
                .any(|s| names.iter().any(|n| s.eq_ignore_ascii_case(n)))
        };
        has(&[
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "Directory.AccessAsUser.All",
        ]) || (has(&["Application.Read.All", "Application.ReadWrite.All"])
            && has(&[
                "DelegatedPermissionGrant.Read.All",
                "DelegatedPermissionGrant.ReadWrite.All",
            ]))
    }
}

fn resource_id(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(raw)) {
        return Ok((*id).to_string());
    }
    ids::parse_guid(raw).ok_or_else(|| {
        format!(
            "unknown resource {raw:?}: use graph, exchange, partner-center, arm, or an enterprise application id"
        )
    })
}

fn validate_scope(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("an empty scope name".into());
    }
    if s.contains([' ', ',']) || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "scope {s:?} contains a space or a comma; list scopes separately"
        ));
    }
    Ok(s.to_string())
}

/// `RESOURCE=SCOPE[,SCOPE…]`.
fn parse_grant_flag(flag: &str) -> Result<GrantConfig, String> {
    let (resource, scopes) = flag
        .split_once('=')
        .ok_or_else(|| format!("--grant {flag:?} must look like RESOURCE=SCOPE[,SCOPE...]"))?;
    Ok(GrantConfig {
        resource: resource.trim().to_string(),
        scopes: scopes
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

impl Manifest {
    /// Scopes held beyond the declared ones, per resource id (compared without regard to case).
    pub fn extra_scopes(
        &self,
        held: &std::collections::BTreeMap<String, BTreeSet<String>>,
    ) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out = std::collections::BTreeMap::new();
        for (resource, have) in held {
            let declared: &[String] = self
                .grants
                .iter()
                .find(|g| &g.resource == resource)
                .map(|g| g.scopes.as_slice())
                .unwrap_or_default();
            let extra: Vec<String> = have
                .iter()
                .filter(|h| !declared.iter().any(|d| d.eq_ignore_ascii_case(h)))
                .cloned()
                .collect();
            if !extra.is_empty() {
                out.insert(resource.clone(), extra);
            }
        }
        out
    }
}

/// The scopes of `have` that `want` lacks (compared without regard to case).
pub fn missing(want: &[String], have: &BTreeSet<String>) -> Vec<String> {
    want.iter()
        .filter(|w| !have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "11111111-2222-3333-4444-555555555555";

    fn flags(grants: &[&str]) -> ManifestFlags {
        ManifestFlags {
            grants: grants.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn flags_win_over_config_and_aliases_resolve() {
        let config = ConsentConfig {
            application_id: Some(APP.into()),
            display_name: Some("Contoso CSP Connector".into()),
            grants: vec![GrantConfig {
                resource: "exchange".into(),
                scopes: vec!["Exchange.Manage".into()],
            }],
        };
        let m = Manifest::resolve(
            Some(&config),
            &flags(&[
                "graph=Directory.Read.All, User.Read.All",
                "GRAPH=directory.read.all",
            ]),
            Some(APP),
        )
        .unwrap();
        assert_eq!(m.display_name, "Contoso CSP Connector");
        assert_eq!(m.grants.len(), 1);
        assert_eq!(m.grants[0].resource, GRAPH_APP_ID);
        assert_eq!(m.grants[0].scope_list(), "Directory.Read.All,User.Read.All");
        assert!(m.can_read_back());
        let m = Manifest::resolve(Some(&config), &ManifestFlags::default(), Some(APP)).unwrap();
        assert_eq!(m.grants[0].label(), "exchange");
        assert!(!m.can_read_back());
    }

    /// Partner Center may split `scope` on `,` without trimming: a space after a comma would
    /// name a scope " User.Read.All" that does not exist.
    #[test]
    fn the_scope_list_splits_back_into_the_scopes_on_a_bare_comma() {
        let g = Grant {
            resource: GRAPH_APP_ID.into(),
            scopes: vec![
                "Directory.Read.All".into(),
                "User.Read.All".into(),
                "Mail.Read".into(),
            ],
        };
        let joined = g.scope_list();
        assert_eq!(joined, "Directory.Read.All,User.Read.All,Mail.Read");
        let split: Vec<&str> = joined.split(',').collect();
        assert_eq!(split, g.scopes, "no piece carries whitespace");
    }

    #[test]
    fn bad_manifests_are_refused() {
        for (f, expect) in [
            (vec!["graph"], "must look like"),
            (vec!["nope=A"], "unknown resource"),
            (vec!["graph=A B"], "contains a space"),
            (vec!["graph="], "lists no scopes"),
            (vec![], "nothing to grant"),
        ] {
            let err = Manifest::resolve(None, &flags(&f), Some(APP)).unwrap_err();
            assert!(err.contains(expect), "{f:?}: {err}");
        }
        let long: Vec<String> = (0..900).map(|i| format!("Scope.Number{i:04}")).collect();
        let err = Manifest::resolve(
            None,
            &flags(&[&format!("graph={}", long.join(","))]),
            Some(APP),
        )
        .unwrap_err();
        assert!(err.contains("AADSTS650051"), "{err}");
    }

    #[test]
    fn only_the_sign_in_app_can_be_consented() {
        let other = ManifestFlags {
            app_id: Some("99999999-2222-3333-4444-555555555555".into()),
            ..flags(&["graph=Directory.Read.All"])
        };
        let err = Manifest::resolve(None, &other, Some(APP)).unwrap_err();
        assert!(err.contains("sign in with that app"), "{err}");
    }
}
