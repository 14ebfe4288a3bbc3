//! Identifier syntax shared by commands: GUIDs (tenant and app ids), domain names and the
//! tenant references that accept either. Syntax only; no lookups.

use std::fmt;

/// A tenant named by id or by one of its domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    Id(String),
    Domain(String),
}

impl TenantRef {
    /// Parses a tenant id (GUID) or a domain name; anything else is `None`.
    pub fn parse(s: &str) -> Option<TenantRef> {
        let s = s.trim();
        if let Some(id) = parse_guid(s) {
            Some(TenantRef::Id(id))
        } else {
            parse_domain(s).ok().map(TenantRef::Domain)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TenantRef::Id(s) | TenantRef::Domain(s) => s,
        }
    }
}

impl fmt::Display for TenantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A GUID in its canonical 8-4-4-4-12 form, returned lowercase.
pub fn parse_guid(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A domain name as Microsoft stores it, or why the text is not one: internationalised names
/// converted to ASCII (IDNA, strict), lowercase, at least two labels of letters, digits and
/// hyphens, 1–63 characters each without a leading or trailing hyphen, 253 characters at most.
/// The one validation of a domain: command-line arguments, import rows and stored mappings all
/// pass through it.
pub fn parse_domain(s: &str) -> Result<String, String> {
    let raw = s.trim().trim_end_matches('.');
    if raw.is_empty() {
        return Err("the domain is empty".into());
    }
    let invalid = || {
        format!(
            "{raw:?} is not a valid domain name (labels of letters, digits and hyphens, at least two)"
        )
    };
    let d = idna::domain_to_ascii_strict(raw)
        .map_err(|_| invalid())?
        .to_ascii_lowercase();
    if d.len() > 253 {
        return Err(invalid());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return Err(invalid());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_canonicalised_and_other_forms_refused() {
        assert_eq!(
            parse_guid("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE").as_deref(),
            Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        );
        assert!(parse_guid("aaaaaaaabbbbccccddddeeeeeeeeeeee").is_none());
        assert!(parse_guid("{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}").is_none());
        assert!(parse_guid("not-a-guid").is_none());
    }

    #[test]
    fn domains_follow_the_letter_digit_hyphen_rule() {
        assert_eq!(parse_domain("Contoso.COM.").as_deref(), Ok("contoso.com"));
        for bad in [
            "",
            "contoso",
            "-bad.com",
            "bad-.com",
            "a..com",
            "sp ace.com",
            "under_score.com",
            "https://contoso.com",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        assert!(parse_domain(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(parse_domain(&format!("{}.com", "a.".repeat(126))).is_err());
    }

    #[test]
    fn internationalised_domains_are_stored_in_ascii_everywhere() {
        // The same answer whichever command reads it: `--tenant`, `--customer` or a mapping.
        assert_eq!(
            parse_domain("Bücher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        assert_eq!(
            TenantRef::parse("bücher.example"),
            Some(TenantRef::Domain("xn--bcher-kva.example".into()))
        );
    }

    #[test]
    fn tenant_refs_accept_ids_and_domains_only() {
        assert!(matches!(
            TenantRef::parse("11111111-2222-3333-4444-555555555555"),
            Some(TenantRef::Id(_))
        ));
        assert!(matches!(
            TenantRef::parse("contoso.onmicrosoft.com"),
            Some(TenantRef::Domain(_))
        ));
        assert!(TenantRef::parse("https://x").is_none());
        assert!(TenantRef::parse("../etc").is_none());
    }
}
