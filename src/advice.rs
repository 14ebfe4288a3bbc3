//! Plain-language advice for Microsoft's error codes (API.md §1.5, PEERS.md §5): what the code
//! means for a partner and what to do about it. Used only by `error` to build hints.

/// Advice for an AADSTS code, when there is something specific to say.
pub fn aadsts(code: u32) -> Option<&'static str> {
    Some(match code {
        7000218 => {
            "the app registration must allow public client flows: Entra admin center > App registrations > your app > Authentication > Advanced settings > Allow public client flows = Yes (or sign in as a confidential client with --client-secret-stdin)"
        }
        700082 => {
            "the refresh token expired after 90 days without use: run `csp authorize` again; in CI, schedule a job that runs at least weekly so the token stays alive"
        }
        70008 => "the sign-in expired or was revoked: run `csp authorize` again",
        50173 => {
            "the sign-in was revoked (password change, or an admin revoked sessions): run `csp authorize` again"
        }
        70043 => {
            "a Conditional Access sign-in frequency policy ended the session: run `csp authorize` again, and ask your admins about the policy for this service account"
        }
        70000 => "the stored grant is no longer valid: run `csp authorize` again",
        65001 => {
            "consent missing in that tenant: the app has not been consented there (run `csp consent` for the customer), or the partner user lacks the GDAP role or group that reaches it"
        }
        50020 | 50177 => {
            "the partner user has no access to that tenant: check that an active GDAP relationship exists and that the user is in the security group assigned to it"
        }
        50076 | 50079 => {
            "multi-factor authentication is required: run `csp authorize` again and complete MFA"
        }
        53003 => {
            "Conditional Access blocked the sign-in: ask the tenant's admins to allow this service account or device (tenants that block the device-code flow need the browser sign-in)"
        }
        90002 => "the tenant was not found: check --tenant (a tenant id or one of its domains)",
        90038 => "the tenant is in a national cloud: pass --cloud usgov or --cloud china",
        700016 => {
            "the app was not found in that tenant: check the client id, and that the app registration is multi-tenant"
        }
        7000215 => {
            "the client secret is wrong (a new secret can take a few minutes to work): sign in again with --client-secret-stdin"
        }
        7000222 => {
            "the client secret has expired: create a new one and sign in again with --client-secret-stdin"
        }
        500011 => {
            "the resource's service principal is missing in that tenant; for Partner Center, create the \"Microsoft Partner Center\" service principal (app id fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd) in the partner tenant"
        }
        65004 => "consent was declined during sign-in: sign in again and accept the permissions",
        90094 | 90099 => {
            "an administrator must consent to the app's permissions in the partner tenant first"
        }
        650051 => {
            "the granted scopes of one resource exceed Microsoft's 8,000-character limit: grant fewer scopes"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_partners_hit_most_have_advice() {
        for code in [
            7000218, 700082, 70008, 50173, 70043, 70000, 65001, 50020, 50076, 53003, 90038,
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
}
