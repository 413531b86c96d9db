//! The business's vocabulary as stored: enums (status, channel, kind, role,
//! outcome) kept as text columns and read back through diesel's `FromSql` /
//! `ToSql` on both databases, so no store or handler parses them by hand.
//!
//! A word this build does not know (a bug, or a row written by a newer
//! version) is not an error that hides the row, nor silently a default: it
//! reads back as [`Stored::Unknown`] with its raw text, is logged as an error
//! when read, and anything that acts on the value (a lifecycle step) refuses.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use crate::db::MultiBackend;

/// A closed vocabulary kept as text: its words and what it is called in logs.
pub trait Word: Copy + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// What the column holds, for the log line of an unknown value.
    const WHAT: &'static str;
    fn as_str(self) -> &'static str;
    fn parse(text: &str) -> Option<Self>;
}

/// Implements [`Word`] for domain enums that already have `as_str`/`parse`
/// (the domain stays free of diesel; the storage mapping lives here).
macro_rules! words {
    ($($ty:ty => $what:literal),* $(,)?) => {
        $(impl Word for $ty {
            const WHAT: &'static str = $what;
            fn as_str(self) -> &'static str {
                <$ty>::as_str(self)
            }
            fn parse(text: &str) -> Option<Self> {
                <$ty>::parse(text)
            }
        })*
    };
}

words! {
    crate::domain::lifecycle::BookingStatus => "booking status",
    crate::domain::catalog::Channel => "channel",
    crate::domain::catalog::ResourceKind => "resource kind",
    crate::domain::interactions::ContactChannel => "contact channel",
    crate::domain::interactions::Outcome => "contact outcome",
    crate::domain::queue::TicketStatus => "ticket status",
    crate::domain::notifications::Kind => "notification kind",
    crate::domain::roles::Role => "role",
    crate::domain::holds::HoldStatus => "hold status",
}

/// One stored word: known to this build, or the raw text it could not read.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Stored<T> {
    Known(T),
    Unknown(String),
}

impl<T: Word> Stored<T> {
    /// Reads stored text; an unknown word is logged here, once per read.
    pub fn read(raw: String) -> Self {
        match T::parse(&raw) {
            Some(word) => Stored::Known(word),
            None => {
                tracing::error!(what = T::WHAT, raw = %raw, "unknown stored value");
                Stored::Unknown(raw)
            }
        }
    }

    /// The word, when this build knows it: what anything acting on it uses.
    pub fn known(&self) -> Option<T> {
        match self {
            Stored::Known(word) => Some(*word),
            Stored::Unknown(_) => None,
        }
    }

    /// The word for display: an unknown one (already logged when read) shows
    /// as `fallback`, so a list of many rows still renders.
    pub fn or(&self, fallback: T) -> T {
        self.known().unwrap_or(fallback)
    }

    /// The text as stored, known or not.
    pub fn as_str(&self) -> &str {
        match self {
            Stored::Known(word) => word.as_str(),
            Stored::Unknown(raw) => raw,
        }
    }

    /// Whether this is `word` (an unknown value is never any known word).
    pub fn is(&self, word: T) -> bool {
        self.known() == Some(word)
    }
}

impl<T: Word> From<T> for Stored<T> {
    fn from(word: T) -> Self {
        Stored::Known(word)
    }
}

impl<T: Word> FromSql<Text, Pg> for Stored<T> {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Pg>>::from_sql(value).map(Stored::read)
    }
}

impl<T: Word> FromSql<Text, Sqlite> for Stored<T> {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Sqlite>>::from_sql(value).map(Stored::read)
    }
}

impl<T: Word> FromSql<Text, MultiBackend> for Stored<T> {
    fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Text>()
    }
}

impl<T: Word> ToSql<Text, Pg> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), &mut out.reborrow())
    }
}

impl<T: Word> ToSql<Text, Sqlite> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.as_str());
        Ok(IsNull::No)
    }
}

impl<T: Word> ToSql<Text, MultiBackend> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::BookingStatus;

    #[test]
    fn a_known_word_reads_back_as_itself_and_an_unknown_one_keeps_its_text() {
        let known = Stored::<BookingStatus>::read("no_show".into());
        assert_eq!(known, Stored::Known(BookingStatus::NoShow));
        assert_eq!(known.as_str(), "no_show");
        let odd = Stored::<BookingStatus>::read("mystery".into());
        assert_eq!(odd.known(), None);
        assert_eq!(odd.as_str(), "mystery");
        assert!(!odd.is(BookingStatus::Confirmed));
        assert_eq!(odd.or(BookingStatus::Confirmed), BookingStatus::Confirmed);
    }
}
