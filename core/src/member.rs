//! Member codes: who a node belongs to.
//!
//! A member of the network is a UN Member State (or another state or territory
//! with an ISO 3166-1 alpha-3 code), a regional organization with a short code,
//! or the network's secretariat. Codes are validated here, once, so that the
//! rest of the node can rely on a [`MemberCode`] being well formed.

use std::{fmt, str::FromStr};

/// The code the network's secretariat uses as a member.
pub const SECRETARIAT_CODE: &str = "SEC";

/// Officially assigned ISO 3166-1 alpha-3 codes (249 entries).
const ISO_3166_ALPHA3: &[&str] = &[
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS",
    "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF",
    "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV",
    "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM",
    "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD",
    "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ",
    "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE",
    "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX",
    "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS",
    "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL",
    "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK",
    "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL",
    "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY",
    "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF",
    "ZMB", "ZWE",
];

/// Regional and international organizations that take part in the network, in
/// their customary spelling. Input is matched case-insensitively.
const REGIONAL_ORGANIZATIONS: &[&str] = &[
    "AU", "EU", "NATO", "ECOWAS", "OSCE", "LAS", "UfM", "ASEAN", "SADC", "IGAD", "OAS", "CARICOM",
    "PIF", "ECCAS", "EAC", "COMESA", "CoE", "OIC", "GCC", "SICA", "CELAC", "CIS", "ICGLR", "UN",
];

/// What kind of member a code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberKind {
    /// A state or territory with an officially assigned ISO 3166-1 alpha-3 code.
    State,
    /// A code from ISO 3166-1's user-assigned ranges (`AAA`–`AAZ`, `QMA`–`QZZ`,
    /// `XAA`–`XZZ`, `ZZA`–`ZZZ`), e.g. `XKX`; also used for demo nodes.
    UserAssigned,
    /// A regional or international organization (`AU`, `EU`, `NATO` …).
    RegionalOrganization,
    /// The network's secretariat.
    Secretariat,
}

/// A validated member code in its canonical spelling (`ESP`, `AU`, `UfM`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberCode(String);

/// Why a string is not a member code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a member code: use an ISO 3166-1 alpha-3 country code (ESP, NAM, JPN), \
     a regional organization's code (AU, EU, NATO, ECOWAS, OSCE …) or SEC for the secretariat"
)]
pub struct InvalidMemberCode {
    input: String,
}

impl MemberCode {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What kind of member this code names.
    pub fn kind(&self) -> MemberKind {
        classify(&self.0).unwrap_or(MemberKind::State)
    }

    /// The code the demo node uses when none is given: a user-assigned
    /// ISO 3166-1 code, so it can never clash with a real member.
    pub fn demo() -> Self {
        Self("ZZZ".to_owned())
    }
}

fn is_user_assigned(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    matches!((b[0], b[1]), (b'A', b'A') | (b'X', _) | (b'Z', b'Z'))
        || (b[0] == b'Q' && b[1] >= b'M')
}

fn classify(canonical: &str) -> Option<MemberKind> {
    if canonical == SECRETARIAT_CODE {
        Some(MemberKind::Secretariat)
    } else if ISO_3166_ALPHA3.binary_search(&canonical).is_ok() {
        Some(MemberKind::State)
    } else if is_user_assigned(canonical) {
        Some(MemberKind::UserAssigned)
    } else if REGIONAL_ORGANIZATIONS.contains(&canonical) {
        Some(MemberKind::RegionalOrganization)
    } else {
        None
    }
}

impl FromStr for MemberCode {
    type Err = InvalidMemberCode;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let upper = trimmed.to_ascii_uppercase();
        let canonical = REGIONAL_ORGANIZATIONS
            .iter()
            .find(|org| org.eq_ignore_ascii_case(trimmed))
            .map(|org| (*org).to_owned())
            .unwrap_or(upper);
        match classify(&canonical) {
            Some(_) => Ok(Self(canonical)),
            None => Err(InvalidMemberCode {
                input: input.to_owned(),
            }),
        }
    }
}

impl fmt::Display for MemberCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_list_is_complete_sorted_and_unique() {
        assert_eq!(ISO_3166_ALPHA3.len(), 249);
        assert!(ISO_3166_ALPHA3.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn accepts_states_organizations_and_the_secretariat() {
        let esp: MemberCode = "esp".parse().unwrap();
        assert_eq!(esp.as_str(), "ESP");
        assert_eq!(esp.kind(), MemberKind::State);
        let ufm: MemberCode = "UFM".parse().unwrap();
        assert_eq!(ufm.as_str(), "UfM");
        assert_eq!(ufm.kind(), MemberKind::RegionalOrganization);
        assert_eq!(
            "SEC".parse::<MemberCode>().unwrap().kind(),
            MemberKind::Secretariat
        );
        assert_eq!(
            "XKX".parse::<MemberCode>().unwrap().kind(),
            MemberKind::UserAssigned
        );
        assert_eq!(MemberCode::demo().kind(), MemberKind::UserAssigned);
    }

    #[test]
    fn rejects_what_is_not_a_code() {
        for bad in ["", "ES", "SPAIN", "E5P", "ABC", "QAA", "Ñ", "ESP "] {
            if bad == "ESP " {
                // Surrounding blanks are forgiven; the code itself must be valid.
                assert!(bad.parse::<MemberCode>().is_ok());
                continue;
            }
            let err = bad.parse::<MemberCode>().unwrap_err();
            assert!(err.to_string().contains("is not a member code"), "{err}");
        }
    }
}
