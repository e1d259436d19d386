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
