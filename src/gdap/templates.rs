//! GDAP templates: a set of roles, a duration, auto-extend, and the partner security group
//! that holds each role. Two are built in (`consent`: only what csp needs; `standard`: a
//! least-privilege set for an MSP's daily work), and a profile may define its own in
//! config.toml (a template of the same name replaces the built-in one).

use std::collections::{BTreeMap, BTreeSet};

use super::rules::{self, RuleError};
use crate::config::{GdapConfig, TemplateConfig};
use crate::roles::{self, Role};

/// How long a built-in template's relationship lasts: Microsoft's longest, P2Y.
const DEFAULT_DAYS: u32 = rules::MAX_DAYS;

/// The built-in templates: name, what it is for, and its roles.
pub const BUILT_IN: &[(&str, &str, &[&str])] = &[
    (
        "consent",
        "only what csp needs: consenting the CPV app",
        &["Cloud Application Administrator"],
    ),
    (
        "standard",
        "a least-privilege set for an MSP's daily work (docs/commands/gdap.md says which task needs which role)",
        &[
            "Global Reader",
            "Service Support Administrator",
            "User Administrator",
            "License Administrator",
            "Exchange Administrator",
            "Teams Administrator",
            "SharePoint Administrator",
            "Intune Administrator",
            "Security Reader",
            "Cloud Application Administrator",
        ],
    ),
];

/// Where a template comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    BuiltIn,
    Config,
    /// `--role` flags: roles without a template.
    Flags,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub roles: Vec<&'static Role>,
    pub days: u32,
    pub auto_extend: bool,
    /// Role template id → partner security group (display name or object id).
    groups: BTreeMap<String, String>,
    pub source: Source,
}

/// The group a role goes to when no template names one: one group per role, as Microsoft
/// recommends.
pub fn default_group_name(role: &Role) -> String {
    format!("GDAP {}", role.name)
}

impl Template {
    /// The duration as Graph takes it.
    pub fn duration(&self) -> String {
        format!("P{}D", self.days)
    }

    pub fn role_ids(&self) -> BTreeSet<String> {
        self.roles.iter().map(|r| r.id.to_string()).collect()
    }

    /// The partner security group that holds `role` (name or object id).
    pub fn group_for(&self, role: &Role) -> String {
        self.groups
            .get(role.id)
            .cloned()
            .unwrap_or_else(|| default_group_name(role))
    }
}

/// Every template the profile can use: its own first, then the built-in ones it does not
/// replace, sorted by name.
pub fn all(config: Option<&GdapConfig>) -> Result<Vec<Template>, String> {
    let mut out: BTreeMap<String, Template> = BTreeMap::new();
    for (name, description, role_names) in BUILT_IN {
        out.insert(name.to_string(), built_in(name, description, role_names));
    }
    if let Some(config) = config {
        for (name, t) in &config.templates {
            out.insert(name.clone(), from_config(name, t)?);
        }
    }
    Ok(out.into_values().collect())
}

/// The template called `name`: the profile's, else a built-in one.
pub fn find(name: &str, config: Option<&GdapConfig>) -> Result<Template, String> {
    let all = all(config)?;
    let names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
    all.into_iter()
        .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            format!(
                "no GDAP template named {name:?}; there are: {}",
                names.join(", ")
            )
        })
}

/// Roles given with `--role` (names or template ids): a template of their own, for P2Y with
/// auto-extend, each role in its default group.
pub fn from_roles(names: &[String]) -> Result<Template, String> {
    Ok(Template {
        name: "custom".into(),
        description: "roles given with --role".into(),
        roles: parse_roles(names)?,
        days: DEFAULT_DAYS,
        auto_extend: true,
        groups: BTreeMap::new(),
        source: Source::Flags,
    })
}

/// The template among `all` whose roles are exactly these (to assign an existing relationship
/// without `--template`).
pub fn matching<'a>(all: &'a [Template], role_ids: &BTreeSet<String>) -> Option<&'a Template> {
    all.iter().find(|t| {
        t.role_ids()
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect::<BTreeSet<_>>()
            == role_ids.iter().map(|r| r.to_ascii_lowercase()).collect()
    })
}

fn built_in(name: &str, description: &str, role_names: &[&str]) -> Template {
    Template {
        name: name.into(),
        description: description.into(),
        roles: role_names
            .iter()
            .map(|n| roles::lookup(n).expect("built-in templates name known roles"))
            .collect(),
        days: DEFAULT_DAYS,
        auto_extend: true,
        groups: BTreeMap::new(),
        source: Source::BuiltIn,
    }
}

fn parse_roles(names: &[String]) -> Result<Vec<&'static Role>, String> {
    if names.is_empty() {
        return Err(RuleError::NoRoles.to_string());
    }
    let mut out: Vec<&'static Role> = Vec::new();
    for n in names {
        let role = roles::lookup(n).ok_or_else(|| {
            format!("unknown role {n:?}: name an Entra role by its display name or template id (csp gdap roles lists them)")
        })?;
        if !out.iter().any(|r| r.id == role.id) {
            out.push(role);
        }
    }
    Ok(out)
}

fn from_config(name: &str, t: &TemplateConfig) -> Result<Template, String> {
    let at = |m: String| format!("config.toml, GDAP template {name:?}: {m}");
    let roles = parse_roles(&t.roles).map_err(at)?;
    let days = match &t.duration {
        Some(d) => rules::duration_days(d).map_err(|e| at(e.to_string()))?,
        None => DEFAULT_DAYS,
    };
    let mut groups = BTreeMap::new();
    for (role, group) in &t.groups {
        let r = roles::lookup(role)
            .filter(|r| roles.iter().any(|x| x.id == r.id))
            .ok_or_else(|| {
                at(format!(
                    "groups names {role:?}, which is not one of its roles"
                ))
            })?;
        let group = group.trim();
        if group.is_empty() {
            return Err(at(format!("the group of {:?} is empty", r.name)));
        }
        if super::is_reserved_group(group) {
            return Err(at(format!(
                "{group} is a group Microsoft reserves and cannot hold GDAP roles"
            )));
        }
        groups.insert(r.id.to_string(), group.to_string());
    }
    Ok(Template {
        name: name.to_string(),
        description: "the profile's template (config.toml)".into(),
        roles,
        days,
        auto_extend: t.auto_extend.unwrap_or(true),
        groups,
        source: Source::Config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_templates_are_least_privilege() {
        let all = all(None).unwrap();
        let consent = all.iter().find(|t| t.name == "consent").unwrap();
        assert_eq!(
            consent.roles.iter().map(|r| r.name).collect::<Vec<_>>(),
            ["Cloud Application Administrator"]
        );
        assert_eq!(consent.duration(), "P730D");
        assert!(consent.auto_extend);
        let standard = all.iter().find(|t| t.name == "standard").unwrap();
        assert!(
            standard.roles.iter().any(|r| r.can_consent()),
            "it can consent csp"
        );
        for too_strong in ["Global Administrator", "Privileged Role Administrator"] {
            assert!(
                !standard.roles.iter().any(|r| r.name == too_strong),
                "{too_strong}"
            );
        }
        assert_eq!(
            consent.group_for(consent.roles[0]),
            "GDAP Cloud Application Administrator"
        );
    }

    #[test]
    fn a_profile_template_names_its_groups_and_replaces_a_built_in_one() {
        let toml = r#"
            [templates.helpdesk]
            roles = ["Helpdesk Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7"]
            duration = "P365D"
            auto_extend = false
            [templates.helpdesk.groups]
            "Helpdesk Administrator" = "MSP Helpdesk"
            [templates.consent]
            roles = ["Application Administrator"]
        "#;
        let config: GdapConfig = toml_edit::de::from_str(toml).unwrap();
        let t = find("Helpdesk", Some(&config)).unwrap();
        assert_eq!(
            (t.days, t.auto_extend, t.source),
            (365, false, Source::Config)
        );
        assert_eq!(t.group_for(t.roles[0]), "MSP Helpdesk");
        assert_eq!(
            t.group_for(t.roles[1]),
            "GDAP Cloud Application Administrator"
        );
        assert_eq!(
            find("consent", Some(&config)).unwrap().roles[0].name,
            "Application Administrator"
        );
        assert!(
            find("nope", Some(&config))
                .unwrap_err()
                .contains("helpdesk")
        );
    }

    #[test]
    fn bad_templates_are_refused_with_what_is_wrong() {
        for (toml, expect) in [
            ("[templates.t]\nroles = []", "at least one role"),
            (
                "[templates.t]\nroles = [\"Cloud App Admin\"]",
                "unknown role",
            ),
            (
                "[templates.t]\nroles = [\"Global Reader\"]\nduration = \"P3Y\"",
                "P2Y",
            ),
            (
                "[templates.t]\nroles = [\"Global Reader\"]\n[templates.t.groups]\n\"User Administrator\" = \"G\"",
                "not one of its roles",
            ),
            (
                "[templates.t]\nroles = [\"Global Reader\"]\n[templates.t.groups]\n\"Global Reader\" = \"AdminAgents\"",
                "reserves",
            ),
        ] {
            let config: GdapConfig = toml_edit::de::from_str(toml).unwrap();
            let err = all(Some(&config)).unwrap_err();
            assert!(
                err.contains(expect) && err.contains("\"t\""),
                "{toml}: {err}"
            );
        }
    }

    #[test]
    fn roles_from_flags_and_matching_templates() {
        let t = from_roles(&["cloud application administrator".into()]).unwrap();
        assert_eq!(t.source, Source::Flags);
        let all = all(None).unwrap();
        assert_eq!(matching(&all, &t.role_ids()).unwrap().name, "consent");
        assert!(
            from_roles(&["nope".into()])
                .unwrap_err()
                .contains("csp gdap roles")
        );
        assert!(from_roles(&[]).is_err());
    }
}
