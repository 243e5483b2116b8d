//! Event dates: the EDTF (ISO 8601-2) level 0–1 subset of single dates.
//!
//! A [`Date`] keeps the text exactly as written (so the ledger never gains or
//! loses precision) and the calendar period it denotes, `[start, end]`.
//!
//! The rule used everywhere in fusion: **an event counts from the first day of
//! its period** (`start`). On a day inside the period (`start <= d < end`) a
//! view marks the fact as *possibly* true; from `end` on it is certain, unless
//! the date itself carries `~` (approximate) or `?` (uncertain), which a view
//! always shows.
//!
//! Parsing and calendar bounds are delegated to the `edtf-core` crate; this
//! module only restricts what the ledger accepts and maps bounds to
//! [`chrono::NaiveDate`]. The plain forms (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`),
//! nearly every date of a ledger, are read by a short reader of its own
//! that a test holds to edtf-core's answers.

use std::cmp::Ordering;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::io::Write as _;

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not EDTF at all.
    #[error("`{input}` is not an EDTF date: {message} at byte {offset}")]
    Syntax {
        /// The offending text.
        input: String,
        /// What the parser expected.
        message: String,
        /// Byte offset of the problem.
        offset: usize,
    },
    /// EDTF, but outside the subset fusion stores.
    #[error("`{input}` is EDTF but not a single level 0–1 date ({what})")]
    Unsupported {
        /// The offending text.
        input: String,
        /// What kind of expression it is.
        what: &'static str,
    },
    /// A year fusion cannot place on a calendar.
    #[error("`{input}` has a year outside 0001–9999")]
    OutOfRange {
        /// The offending text.
        input: String,
    },
    /// A query date ([`as_of_day`]) with a qualifier, which it cannot use:
    /// the day shown is exact.
    #[error(
        "`{input}` carries the qualifier `{qualifier}`, which a query date cannot use: the day shown is exact (hint: write `{plain}`)"
    )]
    Qualified {
        /// The offending text.
        input: String,
        /// The qualifier as written: `~`, `?` or `%`.
        qualifier: String,
        /// The text without it.
        plain: String,
    },
}

/// How precisely a date is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Year only: `2008`.
    Year,
    /// A season: `2016-23` (autumn 2016).
    Season,
    /// Year and month: `2015-05`.
    Month,
    /// A calendar day: `2017-03-28`.
    Day,
}

/// The longest text a [`Date`] holds: `YYYY-MM-DD` and one qualifier take
/// 11 bytes, the longest single date of level 0–1 within years 1–9999.
const TEXT_MAX: usize = 12;

/// A single EDTF level 0–1 date with its calendar period.
///
/// 24 bytes, without heap: the folded state holds one in every stamp, so
/// its size counts (a `CompactString` for the text alone took 24).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Date {
    /// The text as written, in its first `len` bytes.
    text: [u8; TEXT_MAX],
    len: u8,
    precision: Precision,
    approximate: bool,
    uncertain: bool,
    start: NaiveDate,
    end: NaiveDate,
}

const _: () = assert!(std::mem::size_of::<Date>() == 24);

/// `input` in a date's inline buffer, if it fits.
fn inline_text(input: &str) -> Option<([u8; TEXT_MAX], u8)> {
    let mut text = [0u8; TEXT_MAX];
    text.get_mut(..input.len())?
        .copy_from_slice(input.as_bytes());
    Some((text, input.len() as u8))
}

impl Date {
    /// Parses `input`, accepting `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, seasons
    /// `YYYY-21..24`, unspecified digits (`201X`) and the qualifiers `~`, `?`
    /// and `%`.
    pub fn parse(input: &str) -> Result<Self, DateError> {
        match plain(input) {
            Some(date) => Ok(date),
            None => Date::parse_edtf(input),
        }
    }

    /// [`Date::parse`] by `edtf-core`, for every form.
    fn parse_edtf(input: &str) -> Result<Self, DateError> {
        let parsed = edtf_core::Edtf::parse(input).map_err(|e| DateError::Syntax {
            input: input.to_owned(),
            message: syntax_message(input, e.message),
            // A date written day first goes wrong where the year should
            // have gone on: its first separator.
            offset: if day_first(input) { 2 } else { e.offset },
        })?;
        let unsupported = |what| DateError::Unsupported {
            input: input.to_owned(),
            what,
        };
        let date = match &parsed {
            edtf_core::Edtf::Date(d) => *d,
            edtf_core::Edtf::DateTime(_) => return Err(unsupported("a date with a time of day")),
            edtf_core::Edtf::Interval(_) => return Err(unsupported("an interval")),
            edtf_core::Edtf::Set(_) => return Err(unsupported("a set of dates")),
        };
        let precision = match date.precision() {
            edtf_core::Precision::Year => Precision::Year,
            edtf_core::Precision::Month => Precision::Month,
            edtf_core::Precision::Season => Precision::Season,
            edtf_core::Precision::Day => Precision::Day,
        };
        if precision == Precision::Season
            && !matches!(date.month.and_then(|m| m.value()), Some(21..=24))
        {
            return Err(unsupported(
                "a level 2 sub-year grouping (codes 25–41); use seasons 21–24",
            ));
        }
        if parsed.level() > 1 {
            return Err(unsupported("a level 2 expression"));
        }
        let bounds = parsed.bounds();
        let out_of_range = || DateError::OutOfRange {
            input: input.to_owned(),
        };
        let to_naive = |b: edtf_core::Bound| match b {
            edtf_core::Bound::Date(d) if (1..=9999).contains(&d.year) => {
                NaiveDate::from_ymd_opt(d.year as i32, u32::from(d.month), u32::from(d.day))
                    .ok_or_else(out_of_range)
            }
            _ => Err(out_of_range()),
        };
        let (start, end) = (to_naive(bounds.earliest)?, to_naive(bounds.latest)?);
        // Within years 1–9999 no date of level 0–1 is longer: a guard, not a
        // rule users meet.
        let (text, len) =
            inline_text(input).ok_or_else(|| unsupported("more than 12 bytes, longer than any"))?;
        Ok(Date {
            text,
            len,
            start,
            end,
            precision,
            approximate: date.is_approximate(),
            uncertain: date.is_uncertain(),
        })
    }

    /// A day-precision date; a day outside years 1–9999 (which no ledger
    /// date reaches) is taken as the nearest day inside them.
    pub fn from_day(day: NaiveDate) -> Self {
        let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
        let day = day.clamp(first, last);
        // `YYYY-MM-DD`: 10 bytes.
        let mut text = [0u8; TEXT_MAX];
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        let _ = write!(cursor, "{}", day.format("%Y-%m-%d"));
        let len = cursor.position() as u8;
        Date {
            text,
            len,
            start: day,
            end: day,
            precision: Precision::Day,
            approximate: false,
            uncertain: false,
        }
    }

    /// The text as written in the ledger.
    pub fn as_str(&self) -> &str {
        // The bytes of a `&str` whole (or, for `from_day`, ASCII digits
        // and dashes): always UTF-8.
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }

    /// First day of the period: the day from which the event counts.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Last day of the period.
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// How precisely the date is known.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Marked `~` (or `%`).
    pub fn is_approximate(&self) -> bool {
        self.approximate
    }

    /// Marked `?` (or `%`).
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// Whether an event with this date counts on `day` (the start rule).
    pub fn counts_on(&self, day: NaiveDate) -> bool {
        self.start <= day
    }

    /// Whether, on `day`, the fact is only possibly true: `day` lies inside
    /// the period but before its end, or the date carries a qualifier.
    pub fn is_tentative_on(&self, day: NaiveDate) -> bool {
        self.approximate || self.uncertain || (self.start <= day && day < self.end)
    }

    /// Whether an event with this date counts on `day` but may not have
    /// happened by then: `day` lies inside the period, before its last day
    /// (qualifiers aside). An organisation whose end is under way on `day`
    /// possibly still exists.
    pub fn is_under_way_on(&self, day: NaiveDate) -> bool {
        self.start <= day && day < self.end
    }

    /// Orders two dates for the fold: by the first day of their period only.
    /// Dates with the same first day (`2015`, `2015-01`, `2015-01-01`) are
    /// simultaneous for the fold, which then applies them in ledger order.
    pub fn timeline_cmp(&self, other: &Date) -> Ordering {
        self.start.cmp(&other.start)
    }

    /// The year of the first day, for summaries.
    pub fn year(&self) -> i32 {
        self.start.year()
    }
}

/// The date of `input` when it is a plain calendar year, month or day
/// (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, year 1–9999, no qualifier): nearly
/// every date of a ledger, read here without `edtf-core`'s general parser
/// (which took 4 % of a cold replay). `None` leaves every other text, valid
/// or not, to [`Date::parse_edtf`], which then alone decides and words the
/// error. A test holds the two to the same answer on every such form.
fn plain(input: &str) -> Option<Date> {
    fn digits(b: &[u8]) -> Option<u32> {
        b.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    }
    let b = input.as_bytes();
    // Year 0 is EDTF but outside fusion's calendar: `parse_edtf` says so.
    let year = i32::try_from(digits(b.get(..4)?)?)
        .ok()
        .filter(|&y| y != 0)?;
    let (precision, start, end) = match b.len() {
        4 => (
            Precision::Year,
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year, 12, 31)?,
        ),
        7 | 10 if b.get(4) == Some(&b'-') => {
            let month = digits(b.get(5..7)?)?;
            let first = NaiveDate::from_ymd_opt(year, month, 1)?;
            if b.len() == 7 {
                // The month's last day: the day before the next month's first.
                let next = first.checked_add_months(chrono::Months::new(1))?;
                (Precision::Month, first, next.pred_opt()?)
            } else {
                if b.get(7) != Some(&b'-') {
                    return None;
                }
                let day = NaiveDate::from_ymd_opt(year, month, digits(b.get(8..10)?)?)?;
                (Precision::Day, day, day)
            }
        }
        _ => return None,
    };
    let (text, len) = inline_text(input)?;
    Some(Date {
        text,
        len,
        start,
        end,
        precision,
        approximate: false,
        uncertain: false,
    })
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({})", self.as_str())
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `String::deserialize`: the text is parsed
        // where it lies, without an owned copy.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Date, E> {
                Date::parse(text).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// `edtf-core`'s message for `input`, said in fusion's terms where they
/// differ: fusion reads seasons 21–24 of EDTF's sub-year codes, and a
/// date written day first is not an interval.
fn syntax_message(input: &str, message: &str) -> String {
    if message.starts_with("month must be 01-12") {
        "month must be 01–12, or a season 21–24".to_owned()
    } else if day_first(input) {
        "dates are written year first, `YYYY-MM-DD`".to_owned()
    } else if input.matches('/').count() > 1 {
        "a date is written with `-` (`YYYY-MM-DD`); a `/` makes an interval".to_owned()
    } else {
        message.to_owned()
    }
}

/// Whether `input` is a date written day first: `01/01/2016`, `31-12-2016`,
/// `01.01.2016` (two digits, a separator, two digits, the same separator,
/// four digits).
fn day_first(input: &str) -> bool {
    let b = input.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    b.len() == 10
        && digits(0..2)
        && digits(3..5)
        && digits(6..10)
        && matches!(b.get(2), Some(b'/' | b'-' | b'.'))
        && b.get(5) == b.get(2)
}

/// A query date: "as of" any EDTF precision means **the last day** of its
/// period, so `--as-of 2016` shows the landscape on 2016-12-31. A qualifier
/// (`2016?`, `2016~`, `2016%`) is refused ([`DateError::Qualified`]): the
/// day is exact whatever the date says, and ignoring the qualifier would
/// answer another question than the one asked.
pub fn as_of_day(input: &str) -> Result<NaiveDate, DateError> {
    Ok(query(input)?.end())
}

/// A query date that starts a span (`graph --from`): **the first day** of
/// its period. A qualifier is refused, as by [`as_of_day`].
pub fn from_day(input: &str) -> Result<NaiveDate, DateError> {
    Ok(query(input)?.start())
}

/// `input` as a query date: any EDTF level 0–1 date without a qualifier.
fn query(input: &str) -> Result<Date, DateError> {
    let date = Date::parse(input)?;
    if date.is_approximate() || date.is_uncertain() {
        // Wherever it stands (`2016?`, or `?2016`, which edtf-core reads).
        let is_qualifier = |c: char| matches!(c, '~' | '?' | '%');
        return Err(DateError::Qualified {
            input: input.to_owned(),
            qualifier: input.chars().filter(|c| is_qualifier(*c)).collect(),
            plain: input.chars().filter(|c| !is_qualifier(*c)).collect(),
        });
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).expect("valid date")
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid day")
    }

    /// Given a plain year, month or day (or anything shaped like one),
    /// when it is parsed, then the quick reading gives what `edtf-core`
    /// gives: the same date, or none where `edtf-core` refuses it.
    #[test]
    fn plain_dates_read_as_edtf_core_reads_them() {
        let check = |text: &str| {
            let quick = plain(text);
            let general = Date::parse_edtf(text);
            match (&quick, &general) {
                (Some(q), Ok(g)) => {
                    assert_eq!(q, g, "{text}");
                    // `Eq` compares all fields but says nothing on failure.
                    assert_eq!((q.start, q.end, q.precision), (g.start, g.end, g.precision));
                }
                // Left to `parse_edtf`, whatever it says.
                (None, _) => {}
                (Some(q), Err(e)) => panic!("{text}: read as {q:?}, edtf-core says {e}"),
            }
            assert_eq!(Date::parse(text), general, "{text}");
            quick.is_some()
        };
        let mut read = 0;
        for year in 0..=9999 {
            read += usize::from(check(&format!("{year:04}")));
        }
        for year in [
            0, 1, 4, 99, 100, 400, 1582, 1900, 2000, 2015, 2016, 2024, 9999,
        ] {
            for month in 0..=99 {
                read += usize::from(check(&format!("{year:04}-{month:02}")));
                for day in 0..=99 {
                    read += usize::from(check(&format!("{year:04}-{month:02}-{day:02}")));
                }
            }
        }
        // Every valid plain form was read without edtf-core: 9999 years,
        // 12 months and the days of 12 years (three of them leap years).
        let days: usize = [1, 4, 99, 100, 400, 1582, 1900, 2000, 2015, 2016, 2024, 9999]
            .iter()
            .map(|&y| {
                if NaiveDate::from_ymd_opt(y, 2, 29).is_some() {
                    366
                } else {
                    365
                }
            })
            .sum();
        assert_eq!(read, 9999 + 12 * 12 + days);
        // Near misses are left to edtf-core.
        for text in [
            "2015-1",
            "2015-01-1",
            "2015/01/01",
            "2015-01-01~",
            "201X",
            "+2015",
            " 2015",
            "2015-21",
            "2015-01-01T00",
        ] {
            assert!(plain(text).is_none(), "{text}");
        }
    }

    #[test]
    fn periods_follow_precision() {
        assert_eq!(
            (d("2008").start(), d("2008").end()),
            (day("2008-01-01"), day("2008-12-31"))
        );
        assert_eq!(
            (d("2016-02").start(), d("2016-02").end()),
            (day("2016-02-01"), day("2016-02-29"))
        );
        assert_eq!(d("2017-03-28").end(), day("2017-03-28"));
        assert_eq!(d("2008").precision(), Precision::Year);
        assert_eq!(d("2015-05~").precision(), Precision::Month);
    }

    #[test]
    fn seasons_are_northern_meteorological() {
        let autumn = d("2016-23");
        assert_eq!(autumn.precision(), Precision::Season);
        assert_eq!(
            (autumn.start(), autumn.end()),
            (day("2016-09-01"), day("2016-11-30"))
        );
        let winter = d("2016-24");
        assert_eq!(
            (winter.start(), winter.end()),
            (day("2016-12-01"), day("2017-02-28"))
        );
    }

    #[test]
    fn qualifiers_are_kept_and_reported() {
        let q = d("2015-05~");
        assert!(q.is_approximate() && !q.is_uncertain());
        assert_eq!(q.as_str(), "2015-05~");
        assert!(d("2015?").is_uncertain());
        assert!(d("2015%").is_uncertain() && d("2015%").is_approximate());
    }

    #[test]
    fn the_start_rule_and_tentative_window() {
        let may = d("2015-05");
        assert!(!may.counts_on(day("2015-04-30")));
        assert!(may.counts_on(day("2015-05-01")));
        assert!(may.is_tentative_on(day("2015-05-10")));
        assert!(!may.is_tentative_on(day("2015-05-31")));
        assert!(d("2015-05-03~").is_tentative_on(day("2020-01-01")));
    }

    #[test]
    fn rejects_what_is_not_a_single_level_0_1_date() {
        for bad in [
            "",
            "2015-13",
            "2015-02-30",
            "May 2015",
            "2015/2016",
            "2015-05-01T10:00:00",
            "{2015,2016}",
            "2015-33",
            "0000",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn as_of_means_the_last_day_of_the_period() {
        assert_eq!(as_of_day("2016").expect("valid"), day("2016-12-31"));
        assert_eq!(as_of_day("2015-06").expect("valid"), day("2015-06-30"));
    }

    #[test]
    fn errors_speak_of_seasons_and_of_dates_written_day_first() {
        let message = |input: &str| Date::parse(input).expect_err("refused").to_string();
        assert_eq!(
            message("2016-13"),
            "`2016-13` is not an EDTF date: month must be 01–12, or a season 21–24 at byte 5"
        );
        assert_eq!(
            message("2016-25"),
            "`2016-25` is EDTF but not a single level 0–1 date (a level 2 sub-year grouping (codes 25–41); use seasons 21–24)"
        );
        assert_eq!(
            message("01/01/2016"),
            "`01/01/2016` is not an EDTF date: dates are written year first, `YYYY-MM-DD` at byte 2"
        );
        for day_first in ["31-12-2016", "01.01.2016"] {
            assert!(message(day_first).contains("year first"), "{day_first}");
        }
        assert!(message("2016/2017").contains("(an interval)"));
        assert!(
            message("2016/01/01").contains("a date is written with `-` (`YYYY-MM-DD`)"),
            "{}",
            message("2016/01/01")
        );
    }

    /// Given a query date with a qualifier, when it is read as a day, then
    /// it is refused, naming the qualifier and the date without it.
    #[test]
    fn as_of_refuses_a_qualifier() {
        for (input, qualifier, plain) in [
            ("2015?", "?", "2015"),
            ("2015-05~", "~", "2015-05"),
            ("2015-05-01%", "%", "2015-05-01"),
            ("201X?", "?", "201X"),
            ("?2016", "?", "2016"),
        ] {
            match as_of_day(input) {
                Err(DateError::Qualified {
                    input: i,
                    qualifier: q,
                    plain: p,
                }) => assert_eq!(
                    (i.as_str(), q.as_str(), p.as_str()),
                    (input, qualifier, plain)
                ),
                other => panic!("{input}: {other:?}"),
            }
        }
        assert!(matches!(
            from_day("2015~"),
            Err(DateError::Qualified { .. })
        ));
        assert_eq!(from_day("2016-23").expect("valid"), day("2016-09-01"));
        let e = as_of_day("2016-23?").expect_err("qualified");
        assert_eq!(
            e.to_string(),
            "`2016-23?` carries the qualifier `?`, which a query date cannot use: the day shown is exact (hint: write `2016-23`)"
        );
    }

    #[test]
    fn the_longest_dates_keep_their_text_inline() {
        // Every form of level 0–1, with the longest digits and qualifiers.
        for text in [
            "9999-12-31",
            "2004-06-11%",
            "2004-06-11~",
            "2004-06-11?",
            "1985-XX-XX",
            "2015-XX-XX%",
            "201X",
            "2016-24%",
            "0001",
        ] {
            let date = d(text);
            assert_eq!(date.as_str(), text);
            assert_eq!(date.to_string(), text);
            assert_eq!(format!("{date:?}"), format!("Date({text})"));
        }
        assert_eq!(std::mem::size_of::<Date>(), 24);
    }

    #[test]
    fn long_texts_are_refused_for_what_they_are() {
        // The text's inline room adds no error of its own: a long text is
        // refused as a year out of range or as bad syntax, as before.
        assert!(matches!(
            Date::parse("Y170000002"),
            Err(DateError::OutOfRange { .. })
        ));
        for long in ["2004-06-11%%", "2004-06-11 ", "  2004-06-11"] {
            assert!(
                matches!(Date::parse(long), Err(DateError::Syntax { .. })),
                "{long:?} should be a syntax error"
            );
        }
    }

    #[test]
    fn a_day_outside_the_supported_years_is_clamped() {
        let min = Date::from_day(NaiveDate::MIN);
        assert_eq!(
            (min.as_str(), min.start()),
            ("0001-01-01", day("0001-01-01"))
        );
        let max = Date::from_day(NaiveDate::MAX);
        assert_eq!((max.as_str(), max.end()), ("9999-12-31", day("9999-12-31")));
        let plain = Date::from_day(day("2017-03-28"));
        assert_eq!(plain, d("2017-03-28"));
    }

    #[test]
    fn serde_round_trips_the_text() {
        let v: Date = serde_json::from_str("\"2016-23\"").expect("valid");
        assert_eq!(serde_json::to_string(&v).expect("serialize"), "\"2016-23\"");
        assert!(serde_json::from_str::<Date>("\"2016-99\"").is_err());
    }
}
