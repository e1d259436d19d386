//! The one format Focal writes times in.

/// The current time, RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339_millis(time::OffsetDateTime::now_utc())
}

/// `t` in UTC as RFC 3339 with exactly three digits of fraction
/// (`2026-03-08T09:00:05.100Z`): one width for every time, so that times
/// sort as text (the well-known format drops trailing zeros, and
/// `…05Z` would sort after `…05.1Z`).
pub fn rfc3339_millis(t: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_one_width_and_sort_as_text() {
        let at = |ms: i64| {
            rfc3339_millis(
                time::OffsetDateTime::from_unix_timestamp_nanos(
                    1_772_960_405_000_000_000 + i128::from(ms) * 1_000_000,
                )
                .unwrap(),
            )
        };
        assert_eq!(at(0), "2026-03-08T09:00:05.000Z");
        assert_eq!(at(100), "2026-03-08T09:00:05.100Z");
        let times: Vec<String> = [0, 1, 10, 100, 999, 1000].into_iter().map(at).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(sorted, times);
        assert!(times.iter().all(|t| t.len() == 24));
    }
}
