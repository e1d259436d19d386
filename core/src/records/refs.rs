//! References: to members (by [`MemberCode`]) and to other records (by id).
//!
//! A record id is `OWNER:type:suffix`, e.g. `ESP:practice:3kq7x2m7w4ab`: the
//! owning member's code in canonical spelling, the [`RecordType`] name and 12
//! characters of lowercase base32 (`a–z`, `2–7`). A [`RecordRef<T>`] checks
//! the form and that the id names a record of `T`'s type; it never looks the
//! record up (it may not have replicated yet).

use std::{fmt, hash::Hash, marker::PhantomData};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

use super::{
    Record, RecordType,
    schema::{FromJson, Path, Reader, quote},
    shape::{Describe, Shape},
};
use crate::member::MemberCode;

/// Length of the random part of a record id.
pub const ID_SUFFIX_LEN: usize = 12;

/// Splits a record id into owner, type and suffix; `None` if it is not a
/// well-formed id (the owner must be spelled canonically, e.g. `UfM`).
pub fn parse_record_id(id: &str) -> Option<(MemberCode, RecordType, &str)> {
    let mut parts = id.split(':');
    let (owner, kind, suffix) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let owner: MemberCode = owner
        .parse()
        .ok()
        .filter(|code: &MemberCode| code.as_str() == owner)?;
    let kind = RecordType::parse(kind)?;
    let suffix_ok = suffix.len() == ID_SUFFIX_LEN
        && suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    suffix_ok.then_some((owner, kind, suffix))
}

/// The id of a record of type `T` (e.g. `RecordRef<Meeting>`), stored as
/// the id string.
pub struct RecordRef<T> {
    id: String,
    target: PhantomData<fn() -> T>,
}

impl<T: Record> RecordRef<T> {
    /// Checks that `id` is well formed and names a record of `T`'s type.
    pub fn parse(id: &str) -> Result<Self, String> {
        let id = id.trim();
        let wanted = T::TYPE;
        match parse_record_id(id) {
            Some((_, kind, _)) if kind == wanted => Ok(Self {
                id: id.to_owned(),
                target: PhantomData,
            }),
            Some((_, kind, _)) => Err(format!(
                "{} is the id of a {kind}; a {wanted} id is needed here (e.g. SEC:{wanted}:3kq7x2m7w4ab)",
                quote(id)
            )),
            None => Err(format!(
                "{} is not a record id; ids look like SEC:{wanted}:3kq7x2m7w4ab (owner, type and \
                 {ID_SUFFIX_LEN} characters a–z, 2–7)",
                quote(id)
            )),
        }
    }
}

impl<T> RecordRef<T> {
    /// The id, e.g. `SEC:meeting:3kq7x2m7w4ab`.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The member that owns the referenced record.
    pub fn owner(&self) -> Option<MemberCode> {
        parse_record_id(&self.id).map(|(owner, _, _)| owner)
    }
}

// Written by hand: derives would demand `T: Clone` etc. of the marker type.
impl<T> Clone for RecordRef<T> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            target: PhantomData,
        }
    }
}

impl<T> PartialEq for RecordRef<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<T> Eq for RecordRef<T> {}

impl<T> Hash for RecordRef<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl<T> fmt::Debug for RecordRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RecordRef").field(&self.id).finish()
    }
}

impl<T> fmt::Display for RecordRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl<T> Serialize for RecordRef<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id)
    }
}

impl<'de, T: Record> Deserialize<'de> for RecordRef<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

impl<T: Record> Describe for RecordRef<T> {
    fn shape() -> Shape {
        Shape::Reference {
            kind: T::TYPE.as_str(),
        }
    }
}

impl<T: Record> FromJson for RecordRef<T> {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.parse(value, at, Self::parse)
    }

    fn distinct_key(&self) -> Option<String> {
        Some(self.id.clone())
    }
}

impl Describe for MemberCode {
    fn shape() -> Shape {
        Shape::Member
    }
}

impl FromJson for MemberCode {
    fn from_json(value: Value, at: &Path, r: &mut Reader<'_>) -> Option<Self> {
        r.parse(value, at, |text| {
            text.parse::<MemberCode>().map_err(|e| e.to_string())
        })
    }

    fn distinct_key(&self) -> Option<String> {
        Some(self.as_str().to_owned())
    }
}

/// serde for [`MemberCode`] fields (`#[serde(with = "member_code")]`): the
/// code as a string. (`MemberCode` itself has no serde impls.)
pub(crate) mod member_code {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::member::MemberCode;

    pub(crate) fn serialize<S: Serializer>(code: &MemberCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(code.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MemberCode, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }

    /// For `Option<MemberCode>` fields.
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer, de};

        use crate::member::MemberCode;

        pub(crate) fn serialize<S: Serializer>(
            code: &Option<MemberCode>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match code {
                Some(code) => s.serialize_some(code.as_str()),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<MemberCode>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| text.parse().map_err(de::Error::custom))
                .transpose()
        }
    }

    /// For `Vec<MemberCode>` fields.
    pub(crate) mod list {
        use serde::{Deserialize, Deserializer, Serializer, de};

        use crate::member::MemberCode;

        pub(crate) fn serialize<S: Serializer>(
            codes: &[MemberCode],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(codes.iter().map(MemberCode::as_str))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<MemberCode>, D::Error> {
            Vec::<String>::deserialize(d)?
                .into_iter()
                .map(|text| text.parse().map_err(de::Error::custom))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{meeting::Meeting, practice::Practice};

    #[test]
    fn record_ids_split_into_owner_type_and_suffix() {
        let (owner, kind, suffix) = parse_record_id("ESP:practice:3kq7x2m7w4ab").unwrap();
        assert_eq!(owner.as_str(), "ESP");
        assert_eq!(kind, RecordType::Practice);
        assert_eq!(suffix, "3kq7x2m7w4ab");
        assert!(parse_record_id("UfM:follow-up:aaaaaaaaaaaa").is_some());
    }

    #[test]
    fn malformed_record_ids_are_refused() {
        for bad in [
            "",
            "ESP:practice",
            "ESP:practice:3kq7x2m7w4ab:x",
            "esp:practice:3kq7x2m7w4ab",
            "UFM:practice:3kq7x2m7w4ab",
            "XYZW:practice:3kq7x2m7w4ab",
            "ESP:recipe:3kq7x2m7w4ab",
            "ESP:practice:3kq9x2m7w4a",
            "ESP:practice:3kq7x2m7w4ab8",
            "ESP:practice:3kq9x2m7w4a1",
            "ESP:practice:3KQ9X2M7W4AB",
        ] {
            assert!(parse_record_id(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn references_check_the_record_type() {
        assert!(RecordRef::<Meeting>::parse("SEC:meeting:3kq7x2m7w4ab").is_ok());
        assert_eq!(
            RecordRef::<Meeting>::parse("ESP:practice:3kq7x2m7w4ab").unwrap_err(),
            "\"ESP:practice:3kq7x2m7w4ab\" is the id of a practice; a meeting id is needed here \
             (e.g. SEC:meeting:3kq7x2m7w4ab)"
        );
        assert!(
            RecordRef::<Practice>::parse("meeting 3")
                .unwrap_err()
                .starts_with("\"meeting 3\" is not a record id")
        );
    }
}
