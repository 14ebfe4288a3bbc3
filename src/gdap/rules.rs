//! The rules Microsoft enforces on a GDAP relationship request, checked before it is sent:
//! the display name (1–50 characters, unique among the partner's relationships), the duration
//! (P1D to P2Y), and auto-extend (only P180D or off, and off when Global Administrator is among
//! the roles). Also how a repeated request finds the relationship an earlier one made.

use std::collections::BTreeSet;

use crate::roles::{GLOBAL_ADMINISTRATOR, Role};

/// Microsoft's limit on a relationship's display name.
pub const MAX_NAME: usize = 50;
/// The longest relationship Microsoft grants: P2Y, which it writes as P730D.
pub const MAX_DAYS: u32 = 730;
/// The one auto-extension Microsoft offers.
pub const AUTO_EXTEND: &str = "P180D";
/// Auto-extend off.
pub const NO_AUTO_EXTEND: &str = "PT0S";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the relationship name is empty")]
    EmptyName,
    #[error("the relationship name {name:?} has {len} characters; Microsoft allows {MAX_NAME}")]
    NameTooLong { name: String, len: usize },
    #[error(
        "a relationship named {name:?} already exists ({status}); names must be unique among your relationships"
    )]
    NameTaken { name: String, status: String },
    #[error(
        "a pending relationship named {name:?} asks for something else (another customer or other roles)"
    )]
    NameTakenByOther { name: String },
    #[error(
        "{raw:?} is not a duration csp understands: use days, weeks, months or years, as in P730D, P2Y or P90D"
    )]
    BadDuration { raw: String },
    #[error("a relationship lasts from P1D to P2Y (730 days); {raw:?} is {days} days")]
    DurationOutOfRange { raw: String, days: u32 },
    #[error("a relationship needs at least one role")]
    NoRoles,
}

/// A relationship's length in days, from an ISO 8601 date duration (`P730D`, `P2Y`, `P6M`,
/// `P4W`, `P1Y6M`). A year is 365 days and a month 30, as Microsoft counts P2Y as P730D.
pub fn duration_days(raw: &str) -> Result<u32, RuleError> {
    let bad = || RuleError::BadDuration {
        raw: raw.to_string(),
    };
    let body = raw.trim().strip_prefix(['P', 'p']).ok_or_else(bad)?;
    if body.is_empty() {
        return Err(bad());
    }
    let (mut days, mut number) = (0u64, String::new());
    for c in body.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c.to_ascii_uppercase() {
            'Y' => 365,
            'M' => 30,
            'W' => 7,
            'D' => 1,
            _ => return Err(bad()),
        };
        days = days.saturating_add(n.saturating_mul(unit));
    }
    if !number.is_empty() {
        return Err(bad());
    }
    let days = u32::try_from(days).unwrap_or(u32::MAX);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(RuleError::DurationOutOfRange {
            raw: raw.to_string(),
            days,
        });
    }
    Ok(days)
}

/// A display name as given: trimmed, 1–50 characters.
pub fn check_name(raw: &str) -> Result<String, RuleError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(RuleError::EmptyName);
    }
    let len = name.chars().count();
    if len > MAX_NAME {
        return Err(RuleError::NameTooLong {
            name: name.to_string(),
            len,
        });
    }
    Ok(name.to_string())
}

/// Whether a relationship with these roles may auto-extend, and the warning when it asked to
/// and may not: Microsoft refuses auto-extend while Global Administrator is among the roles.
pub fn auto_extend(wanted: bool, roles: &[&Role]) -> (bool, Option<String>) {
    let global = roles
        .iter()
        .any(|r| r.id.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR));
    match (wanted, global) {
        (true, true) => (
            false,
            Some("Global Administrator is among the roles, and Microsoft does not auto-extend such a relationship: it is requested without auto-extend (renew it with `csp gdap renew` before it ends)".into()),
        ),
        (wanted, _) => (wanted, None),
    }
}

/// What an existing relationship is, as far as choosing a name is concerned.
#[derive(Debug, Clone)]
pub struct Existing<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    /// The customer's tenant id, `None` for a relationship awaiting any customer.
    pub tenant_id: Option<&'a str>,
    pub role_ids: BTreeSet<String>,
}

/// What a request is for, to recognise the relationship an earlier request made.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    pub tenant_id: Option<&'a str>,
    pub role_ids: BTreeSet<String>,
}

/// The name a request goes out under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChoice {
    /// An earlier request made this relationship and it still awaits approval: reuse it.
    Reuse { id: String, name: String },
    /// A name no relationship has.
    Fresh(String),
}

/// Chooses the name: `given` (`--name`), or the first of `base`, `base 2`, `base 3`, … that is
/// free or names the same request still pending. Repeating a request therefore finds the
/// relationship it made, and never makes a second one.
pub fn choose_name(
    given: Option<&str>,
    base: &str,
    wanted: &Wanted<'_>,
    existing: &[Existing<'_>],
) -> Result<NameChoice, RuleError> {
    let same_request = |e: &Existing<'_>| {
        e.tenant_id.map(str::to_ascii_lowercase) == wanted.tenant_id.map(str::to_ascii_lowercase)
            && e.role_ids == wanted.role_ids
    };
    let holder = |name: &str| {
        existing
            .iter()
            .find(|e| e.name.trim().eq_ignore_ascii_case(name))
    };
    if let Some(given) = given {
        let name = check_name(given)?;
        return match holder(&name) {
            None => Ok(NameChoice::Fresh(name)),
            Some(e) if matches!(e.status, "created" | "approvalPending") && same_request(e) => {
                Ok(NameChoice::Reuse {
                    id: e.id.to_string(),
                    name,
                })
            }
            Some(e) if matches!(e.status, "created" | "approvalPending") => {
                Err(RuleError::NameTakenByOther { name })
            }
            Some(e) => Err(RuleError::NameTaken {
                name,
                status: e.status.to_string(),
            }),
        };
    }
    let base = sanitize(base);
    for n in 1.. {
        let name = candidate(&base, n);
        match holder(&name) {
            None => return Ok(NameChoice::Fresh(name)),
            Some(e) if matches!(e.status, "created" | "approvalPending") && same_request(e) => {
                return Ok(NameChoice::Reuse {
                    id: e.id.to_string(),
                    name,
                });
            }
            Some(_) => {}
        }
    }
    unreachable!("some candidate name is free")
}

/// `base`, then `base 2`, … cut to fit Microsoft's 50 characters.
fn candidate(base: &str, n: usize) -> String {
    let suffix = if n == 1 {
        String::new()
    } else {
        format!(" {n}")
    };
    let room = MAX_NAME - suffix.chars().count();
    let head: String = base.chars().take(room).collect();
    format!("{}{suffix}", head.trim_end())
}

/// A generated name keeps to letters, digits, spaces, hyphens and underscores (what the
/// Partner Center portal accepts), single-spaced.
fn sanitize(base: &str) -> String {
    let kept: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let joined = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        "csp relationship".into()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::lookup;

    #[test]
    fn durations_run_from_one_day_to_two_years() {
        for (raw, days) in [
            ("P730D", 730),
            ("P2Y", 730),
            ("p1d", 1),
            ("P6M", 180),
            ("P4W", 28),
            ("P1Y6M", 545),
        ] {
            assert_eq!(duration_days(raw), Ok(days), "{raw}");
        }
        for raw in ["P731D", "P3Y", "P0D", "PT0S"] {
            assert!(
                matches!(
                    duration_days(raw),
                    Err(RuleError::DurationOutOfRange { .. } | RuleError::BadDuration { .. })
                ),
                "{raw}"
            );
        }
        for raw in ["730", "P", "PxD", "P1H", "P1.5Y", "P-1D", "P1"] {
            assert!(
                matches!(duration_days(raw), Err(RuleError::BadDuration { .. })),
                "{raw}"
            );
        }
    }

    #[test]
    fn names_have_fifty_characters_at_most() {
        assert_eq!(check_name("  Contoso  "), Ok("Contoso".into()));
        assert_eq!(check_name(" "), Err(RuleError::EmptyName));
        let long = "x".repeat(51);
        assert!(matches!(
            check_name(&long),
            Err(RuleError::NameTooLong { len: 51, .. })
        ));
        assert_eq!(check_name(&"é".repeat(50)).unwrap().chars().count(), 50);
    }

    #[test]
    fn global_administrator_turns_auto_extend_off_and_says_so() {
        let ga = lookup("Global Administrator").unwrap();
        let caa = lookup("Cloud Application Administrator").unwrap();
        let (on, warning) = auto_extend(true, &[caa, ga]);
        assert!(!on);
        assert!(warning.unwrap().contains("Global Administrator"));
        assert_eq!(auto_extend(true, &[caa]), (true, None));
        assert_eq!(auto_extend(false, &[ga]), (false, None), "nothing to say");
    }

    fn existing<'a>(
        id: &'a str,
        name: &'a str,
        status: &'a str,
        tenant: Option<&'a str>,
        roles: &[&str],
    ) -> Existing<'a> {
        Existing {
            id,
            name,
            status,
            tenant_id: tenant,
            role_ids: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn a_repeated_request_finds_the_relationship_it_made() {
        let wanted = Wanted {
            tenant_id: Some("T1"),
            role_ids: ["r1".to_string()].into(),
        };
        let mine = [existing(
            "rel-1",
            "Contoso consent",
            "approvalPending",
            Some("t1"),
            &["r1"],
        )];
        assert_eq!(
            choose_name(None, "Contoso consent", &wanted, &mine),
            Ok(NameChoice::Reuse {
                id: "rel-1".into(),
                name: "Contoso consent".into()
            })
        );
        // Once active (or ended), the name is spent: the next request takes the next name.
        let spent = [existing(
            "rel-1",
            "Contoso consent",
            "active",
            Some("t1"),
            &["r1"],
        )];
        assert_eq!(
            choose_name(None, "Contoso consent", &wanted, &spent),
            Ok(NameChoice::Fresh("Contoso consent 2".into()))
        );
        // A pending relationship for other roles under that name is left alone.
        let other = [existing(
            "rel-9",
            "Contoso consent",
            "created",
            Some("t1"),
            &["r2"],
        )];
        assert_eq!(
            choose_name(None, "Contoso consent", &wanted, &other),
            Ok(NameChoice::Fresh("Contoso consent 2".into()))
        );
        assert_eq!(
            choose_name(Some("Contoso consent"), "x", &wanted, &other),
            Err(RuleError::NameTakenByOther {
                name: "Contoso consent".into()
            })
        );
        assert!(matches!(
            choose_name(Some("contoso CONSENT"), "x", &wanted, &spent),
            Err(RuleError::NameTaken { .. })
        ));
        assert_eq!(
            choose_name(Some("Fresh one"), "x", &wanted, &spent),
            Ok(NameChoice::Fresh("Fresh one".into()))
        );
    }

    #[test]
    fn generated_names_fit_and_keep_to_plain_characters() {
        let wanted = Wanted {
            tenant_id: None,
            role_ids: BTreeSet::new(),
        };
        let long = "Contoso, Ltd. (Europe) — the very long legal name of a company consent";
        let NameChoice::Fresh(name) = choose_name(None, long, &wanted, &[]).unwrap() else {
            panic!("fresh");
        };
        assert!(name.chars().count() <= MAX_NAME, "{name}");
        assert!(name.starts_with("Contoso Ltd Europe the very"), "{name}");
        let taken = [existing("a", &name, "terminated", None, &[])];
        let NameChoice::Fresh(next) = choose_name(None, long, &wanted, &taken).unwrap() else {
            panic!("fresh");
        };
        assert!(
            next.ends_with(" 2") && next.chars().count() <= MAX_NAME,
            "{next}"
        );
    }
}
