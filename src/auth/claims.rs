//! Reads display facts (user, tenant, MFA) out of a JWT's payload. The signature is not
//! checked: these values are shown to the user and never trusted for any decision that
//! Microsoft's services do not make again themselves.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Claims {
    pub upn: Option<String>,
    pub preferred_username: Option<String>,
    pub unique_name: Option<String>,
    pub email: Option<String>,
    pub tid: Option<String>,
    pub amr: Option<Vec<String>>,
    /// Expiry, seconds since the epoch.
    pub exp: Option<i64>,
}

impl Claims {
    /// Decodes the payload of a compact JWT; `None` for opaque tokens.
    pub fn from_jwt(token: &str) -> Option<Claims> {
        let mut parts = token.split('.');
        let (_header, payload) = (parts.next()?, parts.next()?);
        parts.next()?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The best name for the signed-in user.
    pub fn user(&self) -> Option<&str> {
        self.upn
            .as_deref()
            .or(self.preferred_username.as_deref())
            .or(self.unique_name.as_deref())
            .or(self.email.as_deref())
    }

    /// Whether the sign-in used MFA: `None` when the token does not say.
    pub fn mfa(&self) -> Option<bool> {
        self.amr
            .as_ref()
            .map(|amr| amr.iter().any(|m| m.eq_ignore_ascii_case("mfa")))
    }

    /// Fills the gaps in `self` from `other` (id token facts behind access token facts).
    pub fn or(self, other: Claims) -> Claims {
        Claims {
            upn: self.upn.or(other.upn),
            preferred_username: self.preferred_username.or(other.preferred_username),
            unique_name: self.unique_name.or(other.unique_name),
            email: self.email.or(other.email),
            tid: self.tid.or(other.tid),
            amr: self.amr.or(other.amr),
            exp: self.exp.or(other.exp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            URL_SAFE_NO_PAD.encode(payload.to_string())
        )
    }

    #[test]
    fn reads_user_tenant_and_mfa() {
        let c = Claims::from_jwt(&jwt(serde_json::json!({
            "upn": "admin@contoso.com", "tid": "t", "amr": ["pwd", "mfa"]
        })))
        .unwrap();
        assert_eq!(c.user(), Some("admin@contoso.com"));
        assert_eq!(c.tid.as_deref(), Some("t"));
        assert_eq!(c.mfa(), Some(true));
        let c = Claims::from_jwt(&jwt(serde_json::json!({"amr": ["pwd"]}))).unwrap();
        assert_eq!(c.mfa(), Some(false));
        let c = Claims::from_jwt(&jwt(serde_json::json!({}))).unwrap();
        assert_eq!(c.mfa(), None);
    }

    #[test]
    fn opaque_tokens_have_no_claims() {
        assert!(Claims::from_jwt("AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4").is_none());
        assert!(Claims::from_jwt("a.!!!.c").is_none());
    }
}
