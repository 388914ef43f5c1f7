//! Rules of the reports: how long an open corrective action has been open, and the order of
//! clause numbers.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::clause;
use crate::text_enum;

text_enum! {
    /// How long an open corrective action has been open: whole days from the UTC date of its
    /// `created_at` to the service's date.
    pub enum AgeBucket {
        UpTo30 => "0-30",
        UpTo60 => "31-60",
        UpTo90 => "61-90",
        Over90 => "over-90",
    }
}

impl AgeBucket {
    /// The fewest days of the bucket.
    pub fn min_days(self) -> u64 {
        match self {
            AgeBucket::UpTo30 => 0,
            AgeBucket::UpTo60 => 31,
            AgeBucket::UpTo90 => 61,
            AgeBucket::Over90 => 91,
        }
    }

    /// The most days of the bucket; none for the oldest.
    pub fn max_days(self) -> Option<u64> {
        match self {
            AgeBucket::UpTo30 => Some(30),
            AgeBucket::UpTo60 => Some(60),
            AgeBucket::UpTo90 => Some(90),
            AgeBucket::Over90 => None,
        }
    }

    /// The bucket of a record created at `created_at`, on `today` (a record dated after
    /// today counts as new).
    pub fn of(created_at: DateTime<Utc>, today: NaiveDate) -> AgeBucket {
        let age = (today - created_at.date_naive()).num_days();
        AgeBucket::ALL
            .iter()
            .copied()
            .find(|b| b.max_days().is_none_or(|max| age <= max as i64))
            .expect("the oldest bucket has no end")
    }

    /// The creation times of the bucket on `today`, as `[from, before)`: from the start of the
    /// day `max_days` ago (none for the oldest bucket) to the start of the day
    /// `min_days - 1` ago (none for the newest). The same rule as [`AgeBucket::of`], as a
    /// range a query can compare stored timestamps with.
    pub fn created_between(
        self,
        today: NaiveDate,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let start_of = |days_ago: u64| {
            today
                .checked_sub_days(Days::new(days_ago))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        };
        let from = self.max_days().and_then(start_of);
        let before = match self.min_days() {
            0 => None,
            min => start_of(min - 1),
        };
        (from, before)
    }
}

/// Orders clause numbers as the catalog does (`4.1` before `10.1`); numbers not in the
/// catalog come after, by their numbers.
pub fn clause_order(number: &str) -> (usize, Vec<u32>) {
    let position = clause::catalog()
        .iter()
        .position(|c| c.clause == number)
        .unwrap_or(usize::MAX);
    let digits = number.split('.').filter_map(|p| p.parse().ok()).collect();
    (position, digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn buckets_follow_the_calendar_day() {
        let today = NaiveDate::from_ymd_opt(2026, 4, 30).unwrap();
        let cases = [
            ("2026-04-30T23:59:59Z", AgeBucket::UpTo30),
            ("2026-05-02T00:00:00Z", AgeBucket::UpTo30),
            ("2026-03-31T00:00:00Z", AgeBucket::UpTo30),
            ("2026-03-30T23:59:59Z", AgeBucket::UpTo60),
            ("2026-03-01T00:00:00Z", AgeBucket::UpTo60),
            ("2026-02-28T12:00:00Z", AgeBucket::UpTo90),
            ("2026-01-30T00:00:00Z", AgeBucket::UpTo90),
            ("2026-01-29T23:59:59Z", AgeBucket::Over90),
            ("2020-01-01T00:00:00Z", AgeBucket::Over90),
        ];
        for (created, expected) in cases {
            assert_eq!(AgeBucket::of(at(created), today), expected, "{created}");
        }
    }

    #[test]
    fn ranges_agree_with_the_rule() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let mut t = at("2025-10-01T00:00:00Z");
        while t < at("2026-03-05T00:00:00Z") {
            let inside: Vec<AgeBucket> = AgeBucket::ALL
                .iter()
                .copied()
                .filter(|b| {
                    let (from, before) = b.created_between(today);
                    from.is_none_or(|f| t >= f) && before.is_none_or(|b| t < b)
                })
                .collect();
            assert_eq!(inside, [AgeBucket::of(t, today)], "{t}");
            t += chrono::Duration::hours(7);
        }
    }

    #[test]
    fn clauses_sort_as_the_catalog() {
        let mut numbers = vec!["99.2", "10.1", "8.6.1", "4.1", "99.10", "9.2", "8.7.3"];
        numbers.sort_by_key(|n| clause_order(n));
        assert_eq!(
            numbers,
            ["4.1", "8.6.1", "8.7.3", "9.2", "10.1", "99.2", "99.10"]
        );
    }
}
