//! Funding commitments and assistance programmes: who funds what, where.
//!
//! Either party may be a member or not (a civil-society organization, a
//! pooled fund, another organization), so parties are tagged objects; a bare
//! member code is shorthand for a member. The record may be kept by the donor
//! or the recipient: neither party has to be the owner.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Record, RecordType,
    dates::{Period, Year},
    ltext::LText,
    nap::NationalActionPlan,
    push_ltext,
    refs::{RecordRef, member_code},
    schema::{FromJson, Path, Reader, Rules, quote, schema},
    shape::{Describe, Shape},
    values::{Amount, Percent},
    vocab::{Currency, Progress, Theme, vocabulary},
};
use crate::member::MemberCode;

vocabulary! {
    /// How the money or assistance travels.
    pub enum Channel ("a funding channel") {
        /// From one government or organization to another.
        Bilateral = "bilateral",
        /// Through a pooled fund (e.g. a multi-partner trust fund).
        PooledFund = "pooled-fund",
        /// Straight to civil-society organizations.
        DirectToCivilSociety = "direct-to-civil-society",
    }
}

vocabulary! {
    /// What is given.
    pub enum AssistanceType ("an assistance type") {
        /// Money.
        Financial = "financial",
        /// Expertise, secondments, equipment.
        Technical = "technical",
        /// Training courses and programmes.
        Training = "training",
    }
}

/// A donor or recipient. JSON: `{"kind": "member", "code": "NAM"}` (or just
/// `"NAM"`), `{"kind": "civil-society", "name": "…", "country": "NAM"}`
/// (`country` optional), `{"kind": "pooled-fund", "name": "…"}`,
/// `{"kind": "other", "name": "…"}` (a UN entity, a foundation …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Party {
    /// A member of the network.
    Member {
        /// The member's code.
        #[serde(with = "member_code")]
        code: MemberCode,
    },
    /// A civil-society organization.
    CivilSociety {
        /// Its name.
        name: String,
        /// Where it works, if it is a member's country.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "member_code::option"
        )]
        country: Option<MemberCode>,
    },
    /// A pooled fund.
    PooledFund {
        /// The fund's name.
        name: String,
    },
    /// Any other organization.
    Other {
        /// Its name.
        name: String,
    },
}

impl Party {
    /// The member, if the party is one.
    pub fn member(&self) -> Option<&MemberCode> {
        match self {
            Self::Member { code } => Some(code),
            _ => None,
        }
    }

    /// The organization's name, if the party is not a member.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Member { .. } => None,
            Self::CivilSociety { name, .. } | Self::PooledFund { name } | Self::Other { name } => {
                Some(name)
            }
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.member(), self.name()) {
            (Some(code), _) => write!(f, "{code}"),
            (None, Some(name)) => f.write_str(name),
            (None, None) => Ok(()),
        }
    }
}

/// Edited as JSON: which fields a party has depends on its kind (`code` for
/// a member, `name` and maybe `country` for the others).
impl Describe for Party {
    fn shape() -> Shape {
        Shape::Json
    }
}

impl FromJson for Party {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        const KINDS: &str = "member, civil-society, pooled-fund, other";
        let value = match value {
            Value::String(code) => serde_json::json!({"kind": "member", "code": code}),
            other => other,
        };
        let mut map = r.object(value, at)?;
        let kind = r.tag(&mut map, at, "kind", KINDS)?;
        match kind.as_str() {
            "member" => {
                let mut fields = r.fields(map, at, &["kind", "code"]);
                Some(Self::Member {
                    code: fields.take("code", r)?,
                })
            }
            "civil-society" => {
                let mut fields = r.fields(map, at, &["kind", "name", "country"]);
                let name = fields.take("name", r);
                let country = fields.take("country", r);
                Some(Self::CivilSociety {
                    name: name?,
                    country: country?,
                })
            }
            "pooled-fund" => {
                let mut fields = r.fields(map, at, &["kind", "name"]);
                Some(Self::PooledFund {
                    name: fields.take("name", r)?,
                })
            }
            "other" => {
                let mut fields = r.fields(map, at, &["kind", "name"]);
                Some(Self::Other {
                    name: fields.take("name", r)?,
                })
            }
            _ => {
                r.error(
                    &at.key("kind"),
                    format!(
                        "{} is not a kind of party; use one of: {KINDS}",
                        quote(&kind)
                    ),
                );
                None
            }
        }
    }
}

schema! {
    /// Progress on a commitment in one reporting year.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ProgressReport {
        /// The reporting year.
        pub year: Year,
        /// Exceeded, met, limited or none.
        pub progress: Progress,
    }
}

impl Rules for ProgressReport {}

schema! {
    /// A funding commitment or assistance programme.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FundingCommitment {
        /// The programme's name, if it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<LText>,
        /// Who gives.
        pub donor: Party,
        /// Who receives.
        pub recipient: Party,
        /// Bilateral, pooled fund or direct to civil society.
        pub channel: Channel,
        /// Financial, technical or training. (Named `kind`, not `type`:
        /// `type` is an envelope key, the record's own type.)
        pub kind: AssistanceType,
        /// How much (with `currency`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub amount: Option<Amount>,
        /// The amount's currency (with `amount`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub currency: Option<Currency>,
        /// When it runs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        /// What it supports.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub themes: Vec<Theme>,
        /// Percentage going to local women's organizations (0–100).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub local_share_percent: Option<Percent>,
        /// The plan it finances.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub linked_nap: Option<RecordRef<NationalActionPlan>>,
        /// Progress per reporting year (one entry per year, kept in year order).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub progress: Vec<ProgressReport>,
        /// Anything worth adding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub notes: Option<LText>,
    }
}

impl Rules for FundingCommitment {
    fn apply(&mut self, at: &Path, r: &mut Reader<'_>) {
        match (self.amount, self.currency) {
            (Some(amount), None) => r.error(
                &at.key("currency"),
                format!("is required with an amount ({amount} in which currency? e.g. EUR, USD)"),
            ),
            (None, Some(currency)) => r.error(
                &at.key("amount"),
                format!(
                    "is required with a currency (how many {currency}?); or leave currency out"
                ),
            ),
            _ => {}
        }
        if let (Some(donor), Some(recipient)) = (self.donor.member(), self.recipient.member())
            && donor == recipient
        {
            r.error(
                &at.key("recipient"),
                format!("is {recipient}, the donor too; donor and recipient differ"),
            );
        }
        for (index, report) in self.progress.iter().enumerate() {
            if let Some(first) = self.progress[..index]
                .iter()
                .position(|p| p.year == report.year)
            {
                let progress_at = at.key("progress");
                r.error(
                    &progress_at.index(index).key("year"),
                    format!(
                        "{} is reported twice (also at {}); give one rating per year",
                        report.year,
                        progress_at.index(first)
                    ),
                );
            }
        }
        self.progress.sort_by_key(|report| report.year);
    }
}

impl Record for FundingCommitment {
    const TYPE: RecordType = RecordType::FundingCommitment;

    fn summary_title(&self) -> String {
        match &self.title {
            Some(title) => title.original_text().to_owned(),
            None => format!("{} → {} ({})", self.donor, self.recipient, self.kind),
        }
    }

    fn search_words<'a>(&'a self, words: &mut Vec<&'a str>) {
        if let Some(title) = &self.title {
            push_ltext(words, title);
        }
        words.extend(self.donor.name());
        words.extend(self.recipient.name());
        if let Some(notes) = &self.notes {
            push_ltext(words, notes);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::{search_text, summary_title, testing::*};

    const KIND: RecordType = RecordType::FundingCommitment;

    #[test]
    fn full_commitment_is_valid() {
        let record = valid(
            KIND,
            json!({
                "title": "Women mediators programme",
                "donor": "esp",
                "recipient": {"kind": "civil-society", "name": "Example Women's Peace Collective", "country": "NAM"},
                "channel": "direct-to-civil-society",
                "kind": "financial",
                "amount": 250000.0,
                "currency": "EUR",
                "period": "2023-01-01/2025-12-31",
                "themes": ["participation-peace-processes"],
                "local_share_percent": 40,
                "linked_nap": "NAM:nap:abcdefghijk2",
                "progress": [{"year": 2024, "progress": "met"}, {"year": 2023, "progress": "limited"}],
                "notes": "Renewable once.",
            }),
        );
        assert_eq!(record["donor"], json!({"kind": "member", "code": "ESP"}));
        assert_eq!(record["amount"], json!(250000));
        assert_eq!(
            record["progress"],
            json!([{"year": 2023, "progress": "limited"}, {"year": 2024, "progress": "met"}])
        );
        let fields = object(record);
        assert_eq!(summary_title(KIND, &fields), "Women mediators programme");
        assert_eq!(
            search_text(KIND, &fields),
            "Women mediators programme\nExample Women's Peace Collective\nRenewable once."
        );
    }

    #[test]
    fn minimal_commitment_needs_donor_recipient_channel_type() {
        let record = valid_for(
            "NAM",
            KIND,
            json!({"donor": "ESP", "recipient": "NAM", "channel": "bilateral", "kind": "training"}),
        );
        assert_eq!(
            record,
            json!({
                "donor": {"kind": "member", "code": "ESP"},
                "recipient": {"kind": "member", "code": "NAM"},
                "channel": "bilateral",
                "kind": "training",
            })
        );
        assert_eq!(summary_title(KIND, &object(record)), "ESP → NAM (training)");
        assert_eq!(
            invalid(KIND, json!({})),
            [
                "channel: is required",
                "donor: is required",
                "kind: is required",
                "recipient: is required",
            ]
        );
    }

    #[test]
    fn amounts_currencies_and_shares_are_checked() {
        let base = || {
            json!({"donor": "ESP", "recipient": {"kind": "pooled-fund", "name": "Example Fund"},
                             "channel": "pooled-fund", "kind": "financial"})
        };
        let mut fields = base();
        fields["amount"] = json!(-100);
        fields["currency"] = json!("EURO");
        fields["local_share_percent"] = json!(120);
        let errors = invalid(KIND, fields);
        assert_eq!(
            errors,
            [
                "amount: -100 is negative; an amount is zero or more",
                "currency: \"EURO\" is not an ISO 4217 currency code (e.g. EUR, USD, NAD)",
                "local_share_percent: 120 is not a percentage; give a number from 0 to 100 (e.g. 15 for 15%)",
            ]
        );
        let mut fields = base();
        fields["amount"] = json!(1000);
        assert_eq!(
            invalid(KIND, fields),
            ["currency: is required with an amount (1000 in which currency? e.g. EUR, USD)"]
        );
        let mut fields = base();
        fields["amount"] = json!("lots");
        fields["currency"] = json!("usd");
        assert_eq!(
            invalid(KIND, fields),
            ["amount: expected a number, found the text \"lots\""]
        );
    }

    #[test]
    fn parties_and_progress_are_checked() {
        let errors = invalid(
            KIND,
            json!({
                "donor": {"kind": "foundation", "name": "x"},
                "recipient": "Example Collective",
                "channel": "bilateral",
                "kind": "financial",
                "progress": [{"year": 2023, "progress": "good"}],
            }),
        );
        assert_eq!(
            errors,
            [
                "donor.kind: \"foundation\" is not a kind of party; use one of: member, civil-society, pooled-fund, other",
                "progress[0].progress: \"good\" is not a progress rating; use one of: exceeded, met, limited, none",
                "recipient.code: `Example Collective` is not a member code: use an ISO 3166-1 alpha-3 country code \
                 (ESP, NAM, JPN), a regional organization's code (AU, EU, NATO, ECOWAS, OSCE …) or SEC for the secretariat",
            ]
        );
        let errors = invalid(
            KIND,
            json!({
                "donor": "ESP", "recipient": "ESP", "channel": "bilateral", "kind": "financial",
                "progress": [{"year": 2023, "progress": "met"}, {"year": 2023, "progress": "none"}],
            }),
        );
        assert_eq!(
            errors,
            [
                "progress[1].year: 2023 is reported twice (also at progress[0]); give one rating per year",
                "recipient: is ESP, the donor too; donor and recipient differ",
            ]
        );
    }
}
