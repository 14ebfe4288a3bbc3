//! Plain-language advice for Microsoft's AADSTS error codes: one table of what each code means
//! for a partner and what to do about it. `error` reads it to build hints, and a test checks
//! that the AADSTS table of docs/troubleshooting.md lists the same rows.

/// One row: the codes that share the advice, what they mean, and what to do. The hint `csp`
/// prints is `meaning: action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    pub codes: &'static [u32],
    pub meaning: &'static str,
    pub action: &'static str,
    /// `meaning: action`, as one static string so hints can borrow it.
    pub hint: &'static str,
}

/// Builds a row; the hint is joined at compile time, so it cannot differ from its two halves.
macro_rules! advice {
    ([$($code:literal),+], $meaning:literal, $action:literal) => {
        Advice {
            codes: &[$($code),+],
            meaning: $meaning,
            action: $action,
            hint: concat!($meaning, ": ", $action),
        }
    };
}

/// The AADSTS codes partners meet, most common first.
pub const AADSTS: &[Advice] = &[
    advice!(
        [7000218],
        "the app is not a public client, and no client secret was sent",
        "the app registration must allow public client flows: Entra admin center > App registrations > your app > Authentication > Advanced settings > Allow public client flows = Yes (or sign in as a confidential client with --client-secret-stdin)"
    ),
    advice!(
        [700082],
        "the refresh token expired after 90 days without use",
        "run `csp authorize` again; in CI, keep the token in Azure Key Vault (CSP_TOKEN_STORE=azure-key-vault) and schedule a job at least weekly, so each run renews it"
    ),
    advice!(
        [70008],
        "the sign-in expired or was revoked",
        "run `csp authorize` again"
    ),
    advice!(
        [50173],
        "the sign-in was revoked (password change, or an admin revoked sessions)",
        "run `csp authorize` again"
    ),
    advice!(
        [50132, 50133],
        "the session is no longer valid, because the password was changed or has expired",
        "sign in again: run `csp authorize`"
    ),
    advice!(
        [50055],
        "the password of the signed-in user has expired",
        "change the password (or have an admin reset it), then run `csp authorize` again"
    ),
    advice!(
        [70043],
        "a Conditional Access sign-in frequency policy ended the session",
        "run `csp authorize` again, and ask your admins about the policy for this service account"
    ),
    advice!(
        [70000],
        "the stored grant is no longer valid",
        "run `csp authorize` again"
    ),
    advice!(
        [65001],
        "consent missing in that tenant: the app has not been consented there, or the partner user lacks the GDAP role or group that reaches it",
        "run `csp consent` for the customer; check its GDAP relationship and the user's group membership"
    ),
    advice!(
        [50020, 50177],
        "the partner user has no access to that tenant",
        "check that an active GDAP relationship exists and that the user is in the security group assigned to it"
    ),
    advice!(
        [50076, 50079],
        "multi-factor authentication is required",
        "run `csp authorize` again and complete MFA"
    ),
    advice!(
        [53003],
        "Conditional Access blocked the sign-in",
        "ask the tenant's admins to allow this service account or device (where the device-code flow is blocked, use `csp authorize --browser`)"
    ),
    advice!(
        [90002],
        "the tenant was not found",
        "check --tenant (a tenant id or one of its domains)"
    ),
    advice!(
        [90038],
        "the tenant is in a national cloud",
        "pass --cloud usgov or --cloud china"
    ),
    advice!(
        [700016],
        "the app was not found in that tenant",
        "check the client id, and that the app registration is multi-tenant (right after `csp setup` created it, wait a minute: Microsoft is still spreading it)"
    ),
    advice!(
        [7000215],
        "the client secret is wrong (a new secret can take a few minutes to work)",
        "sign in again with --client-secret-stdin and the current secret"
    ),
    advice!(
        [7000222],
        "the client secret has expired",
        "create a new one (`csp setup --with-secret`) and sign in again with it"
    ),
    advice!(
        [700025],
        "a client secret was sent for a public client",
        "make the app a confidential client with `csp setup --with-secret --update`, or sign in without the secret"
    ),
    advice!(
        [500011],
        "the resource's service principal is missing in that tenant",
        "for Partner Center, create the \"Microsoft Partner Center\" service principal (app id fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd) in the partner tenant; `csp setup` does this"
    ),
    advice!(
        [65004],
        "consent was declined during sign-in",
        "sign in again and accept the permissions"
    ),
    advice!(
        [90094, 90099],
        "the app's permissions need an administrator's consent in the partner tenant",
        "have an administrator grant admin consent (`csp setup` does this), then sign in again"
    ),
    advice!(
        [650051],
        "the granted scopes of one resource exceed Microsoft's 8,000-character limit",
        "grant fewer scopes"
    ),
];

/// Advice for an AADSTS code, when there is something specific to say: `meaning: action`.
pub fn aadsts(code: u32) -> Option<&'static str> {
    AADSTS
        .iter()
        .find(|a| a.codes.contains(&code))
        .map(|a| a.hint)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_codes_partners_hit_most_have_advice() {
        for code in [
            7000218, 700082, 70008, 50173, 70043, 70000, 65001, 50020, 50076, 53003, 90038, 50132,
            50133, 50055,
        ] {
            assert!(aadsts(code).is_some(), "AADSTS{code}");
        }
        assert!(
            aadsts(65001)
                .unwrap()
                .starts_with("consent missing in that tenant")
        );
        assert!(aadsts(1).is_none());
    }

    #[test]
    fn dead_sessions_say_to_sign_in_again() {
        for code in [50132, 50133, 50055, 700082, 70008, 50173, 70043, 70000] {
            let hint = aadsts(code).unwrap();
            assert!(hint.contains("`csp authorize`"), "AADSTS{code}: {hint}");
        }
        assert!(aadsts(50055).unwrap().contains("change the password"));
    }

    #[test]
    fn each_code_has_one_row_and_each_row_reads_as_meaning_then_action() {
        let mut seen = HashSet::new();
        for a in AADSTS {
            assert!(!a.codes.is_empty());
            for c in a.codes {
                assert!(seen.insert(*c), "AADSTS{c} is listed twice");
            }
            assert_eq!(a.hint, format!("{}: {}", a.meaning, a.action));
            // The rows are also markdown table cells in docs/troubleshooting.md.
            for text in [a.meaning, a.action] {
                assert!(!text.is_empty() && !text.contains('|') && !text.contains('\n'));
                assert!(!text.ends_with('.'), "{text}");
            }
        }
    }
}
