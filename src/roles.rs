//! Microsoft Entra built-in role template ids, as GDAP relationships name them
//! (`accessDetails.unifiedRoles[].roleDefinitionId`), checked against Microsoft's "Microsoft
//! Entra built-in roles" reference (permissions-reference.md, January 2026).

/// Who may consent an app for a customer through Partner Center's application-consent API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentCapability {
    /// Microsoft names the role for this API (Global, Privileged Role, Cloud Application admin).
    Microsoft,
    /// Peers (CIPP, Rewst) rely on it; Microsoft's text does not name it for this API.
    PeersPractice,
    None,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Role {
    pub id: &'static str,
    pub name: &'static str,
    pub consent: ConsentCapability,
}

const fn role(id: &'static str, name: &'static str, consent: ConsentCapability) -> Role {
    Role { id, name, consent }
}

use ConsentCapability::{Microsoft, None as No, PeersPractice};

pub const ROLES: &[Role] = &[
    role(
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
        Microsoft,
    ),
    role(
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
        Microsoft,
    ),
    role(
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
        Microsoft,
    ),
    role(
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
        PeersPractice,
    ),
    role(
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "User Administrator",
        No,
    ),
    role(
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
        No,
    ),
    role(
        "31392ffb-586c-42d1-9346-e59415a2cc4e",
        "Exchange Recipient Administrator",
        No,
    ),
    role(
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
        No,
    ),
    role(
        "69091246-20e8-4a56-aa4d-066075b2a7a8",
        "Teams Administrator",
        No,
    ),
    role(
        "baf37b3a-610e-45da-9e62-d9d1e5e8914b",
        "Teams Communications Administrator",
        No,
    ),
    role(
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
        No,
    ),
    role(
        "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
        "Security Operator",
        No,
    ),
    role(
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "Security Reader",
        No,
    ),
    role("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader", No),
    role(
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
        No,
    ),
    role(
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
        No,
    ),
    role(
        "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
        "License Administrator",
        No,
    ),
    role(
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Billing Administrator",
        No,
    ),
    role(
        "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        "Directory Readers",
        No,
    ),
    role(
        "9360feb5-f418-4baa-8175-e2a00bac4301",
        "Directory Writers",
        No,
    ),
    role(
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
        No,
    ),
    role(
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
        No,
    ),
    role(
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
        No,
    ),
    role(
        "f023fd81-a637-4b56-95fd-791ac0226033",
        "Service Support Administrator",
        No,
    ),
    role(
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        "Groups Administrator",
        No,
    ),
    role(
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
        "Password Administrator",
        No,
    ),
    role("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader", No),
    role(
        "17315797-102d-40b4-93e0-432062caca18",
        "Compliance Administrator",
        No,
    ),
    role(
        "7698a772-787b-4ac8-901f-60d6b08affd2",
        "Cloud Device Administrator",
        No,
    ),
    role(
        "11648597-926c-4cf3-9c36-bcebb0ba8dcc",
        "Power Platform Administrator",
        No,
    ),
    role(
        "44367163-eba1-44c3-98af-f5787879f96a",
        "Dynamics 365 Administrator",
        No,
    ),
    role(
        "11451d60-acb2-45eb-a7d6-43d0f0125c13",
        "Windows 365 Administrator",
        No,
    ),
];

pub fn by_id(id: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// A role named by its Entra display name (without regard to case or spacing) or its template
/// id. Only roles csp knows: a typo must not reach Microsoft as a relationship request.
pub fn lookup(name_or_id: &str) -> Option<&'static Role> {
    let key: String = name_or_id.split_whitespace().collect::<Vec<_>>().join(" ");
    by_id(&key).or_else(|| ROLES.iter().find(|r| r.name.eq_ignore_ascii_case(&key)))
}

pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

impl Role {
    /// Whether the role lets the partner user consent the CPV app in the customer.
    pub fn can_consent(&self) -> bool {
        self.consent != ConsentCapability::None
    }
}

/// The role's name, or its id when it is not a well-known one.
pub fn name(id: &str) -> String {
    by_id(id).map_or_else(|| id.to_ascii_lowercase(), |r| r.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_guids() {
        let mut ids: Vec<_> = ROLES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ROLES.len());
        assert!(
            ROLES
                .iter()
                .all(|r| crate::ids::parse_guid(r.id).as_deref() == Some(r.id))
        );
    }

    #[test]
    fn the_consent_roles_are_the_documented_ones() {
        let microsoft: Vec<_> = ROLES
            .iter()
            .filter(|r| r.consent == ConsentCapability::Microsoft)
            .map(|r| r.name)
            .collect();
        assert_eq!(
            microsoft,
            [
                "Global Administrator",
                "Privileged Role Administrator",
                "Cloud Application Administrator"
            ]
        );
        assert_eq!(
            name("9B895D92-2CD3-44C7-9D02-A6AC2D5EA5C3"),
            "Application Administrator"
        );
        assert_eq!(
            name("00000000-0000-0000-0000-000000000001"),
            "00000000-0000-0000-0000-000000000001"
        );
    }

    #[test]
    fn roles_are_found_by_name_or_template_id_and_nothing_else() {
        let by_name = lookup("cloud  application administrator").unwrap();
        let by_id = lookup("158C047A-C907-4556-B7EF-446551A6B5F7").unwrap();
        assert_eq!(by_name.id, by_id.id);
        assert!(by_name.can_consent());
        assert_eq!(
            lookup(GLOBAL_ADMINISTRATOR).unwrap().name,
            "Global Administrator"
        );
        for unknown in [
            "Cloud App Admin",
            "00000000-0000-0000-0000-000000000001",
            "",
        ] {
            assert!(lookup(unknown).is_none(), "{unknown}");
        }
    }
}
