//! Prefixed, opaque, time-ordered identifiers (`loc_01J…`), generated in the app
//! so inserts need no `RETURNING` on either backend, and the typed ids of the
//! booking path, so a resource id can never be passed where a booking id is
//! expected.

use std::fmt;
use std::ops::Deref;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::db::MultiBackend;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new id such as `res_01JD3V6Q8M2X4Z7C9B1N5R3T6W`: 48 bits of milliseconds
/// then 80 random bits, so ids sort by creation time and cursors can page by id.
pub fn new_id(prefix: &str) -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u128;
    let random: u128 = rand::rng().random::<u128>() & ((1u128 << 80) - 1);
    let mut value = (millis << 80) | random;
    let mut encoded = [0u8; 26];
    for slot in encoded.iter_mut().rev() {
        *slot = CROCKFORD[(value & 31) as usize];
        value >>= 5;
    }
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    id.push_str(std::str::from_utf8(&encoded).expect("alphabet is ASCII"));
    id
}

/// One id newtype per kind of thing: a fresh one with its prefix, the text
/// (`as_str`, `Display`, and `Deref` so lookups taking `&str` take it as it
/// is), serialised as the plain string, and stored as `Text` on both
/// databases, so row structs hold it directly.
///
/// An id a caller names (a path, a body) becomes one with `From<String>`
/// unchecked: whether it exists, in this business, is the lookup's to say
/// (404), as it always was; a prefix check at the edge would only answer
/// the same 404 sooner, in a different order from the other checks.
macro_rules! typed_ids {
    ($($(#[$doc:meta])* $name:ident => $prefix:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            AsExpression, FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = Text)]
        pub struct $name(String);

        impl $name {
            /// What every id of this kind starts with, before the `_`.
            pub const PREFIX: &'static str = $prefix;

            // A fresh id is not a default value: each call makes another.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(new_id(Self::PREFIX))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                <String as FromSql<Text, Pg>>::from_sql(value).map(Self)
            }
        }

        impl FromSql<Text, Sqlite> for $name {
            fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                <String as FromSql<Text, Sqlite>>::from_sql(value).map(Self)
            }
        }

        impl FromSql<Text, MultiBackend> for $name {
            fn from_sql(
                value: <MultiBackend as Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                value.from_sql::<Self, Text>()
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(&self.0, &mut out.reborrow())
            }
        }

        impl ToSql<Text, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.0.as_str());
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, MultiBackend> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }
    )*};
}

typed_ids! {
    /// A booking (`bkg_…`).
    BookingId => "bkg",
    /// A hold on a slot (`hld_…`), also the capability to book or release it.
    HoldId => "hld",
    /// A service of the catalog (`svc_…`).
    ServiceId => "svc",
    /// A customer of the business (`cus_…`).
    CustomerId => "cus",
    /// A resource: a person, a room or equipment (`res_…`).
    ResourceId => "res",
    /// A location of the business (`loc_…`).
    LocationId => "loc",
    /// A business, the tenant every row belongs to (`biz_…`).
    BusinessId => "biz",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let first = new_id("bkg");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("bkg");
        assert!(first.starts_with("bkg_") && first.len() == 30);
        assert!(first < second);
    }

    #[test]
    fn a_typed_id_is_made_with_its_own_prefix() {
        assert!(BookingId::new().starts_with("bkg_"));
        assert!(HoldId::new().starts_with("hld_"));
        assert!(ServiceId::new().starts_with("svc_"));
        assert!(CustomerId::new().starts_with("cus_"));
        assert!(ResourceId::new().starts_with("res_"));
        assert!(LocationId::new().starts_with("loc_"));
        assert!(BusinessId::new().starts_with("biz_"));
    }

    #[test]
    fn a_typed_id_serialises_as_its_plain_text_and_reads_back() {
        let id = BookingId::new();
        let text = serde_json::to_string(&id).unwrap();
        assert_eq!(text, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<BookingId>(&text).unwrap(), id);
        // Inside a larger value it is a string field, not an object.
        let wrapped = serde_json::json!({ "booking_id": id });
        assert_eq!(wrapped["booking_id"], id.as_str());
        // Numbers and objects are not ids.
        assert!(serde_json::from_str::<HoldId>("42").is_err());
        assert!(serde_json::from_str::<HoldId>(r#"{"id":"hld_1"}"#).is_err());
    }

    #[test]
    fn an_id_a_caller_names_keeps_its_text_for_the_lookup_to_judge() {
        // Demo and fixture ids (`svc_demo_haircut`) and ids of the wrong
        // kind alike: the lookup answers 404, as it did for plain strings.
        let named = ServiceId::from("svc_demo_haircut");
        assert_eq!(named.as_str(), "svc_demo_haircut");
        assert_eq!(named.to_string(), "svc_demo_haircut");
        assert_eq!(ServiceId::from("bkg_1").as_str(), "bkg_1");
        assert_eq!(String::from(named.clone()), "svc_demo_haircut");
        assert!(named == "svc_demo_haircut");
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| new_id("x")).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
