//! Instants in RFC 3339, as jiff's `Display` writes them
//! (`2026-03-10T09:00:00.123Z`), worked out with integer arithmetic: a log
//! line carries five or six instants (the call's, the request's dates, the
//! decision's), and jiff's printer, which goes through a civil date-time
//! and a time zone offset, was a fifth of the writer's work per line.

use jiff::{Timestamp, fmt::temporal::DateTimePrinter};

/// The first second of the year 10000: from there on (and before 1970)
/// jiff writes the instant.
const YEAR_10000: i64 = 253_402_300_800;

const SECONDS_PER_DAY: i64 = 86_400;

/// Appends `t` to `out` exactly as jiff's `Display` writes it: date and
/// time of day, then a fraction with its trailing zeros dropped (none when
/// it is zero), then `Z`.
pub fn write(out: &mut Vec<u8>, t: Timestamp) {
    let (second, nanos) = (t.as_second(), t.subsec_nanosecond());
    // Before 1970 seconds and fraction run backwards (both negative), and
    // past 9999 the year takes a sign and more digits: jiff writes those.
    if !(0..YEAR_10000).contains(&second) || nanos < 0 {
        // Writing to a `Vec` cannot fail.
        let _ = DateTimePrinter::new().print_timestamp(&t, out);
        return;
    }
    let (year, month, day) = civil(second.div_euclid(SECONDS_PER_DAY));
    let of_day = second.rem_euclid(SECONDS_PER_DAY);
    let (hour, minute, sec) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    out.extend_from_slice(&pair(year / 100));
    out.extend_from_slice(&pair(year));
    for (separator, n) in [
        (b'-', month),
        (b'-', day),
        (b'T', hour),
        (b':', minute),
        (b':', sec),
    ] {
        out.push(separator);
        out.extend_from_slice(&pair(n));
    }
    if nanos != 0 {
        // Nine digits, two at a time, then the trailing zeros dropped.
        let n = u32::try_from(nanos).unwrap_or(0);
        let mut fraction = [b'.'; 10];
        let [_, rest @ ..] = &mut fraction;
        let (high, low) = (n / 10, n % 10);
        for (d, chunk) in rest.chunks_exact_mut(2).zip([1_000_000, 10_000, 100, 1]) {
            d.copy_from_slice(&pair(i64::from(high / chunk)));
        }
        if let Some(last) = rest.last_mut() {
            *last = b'0' + u8::try_from(low).unwrap_or(0);
        }
        let end = fraction.iter().rposition(|&d| d != b'0').unwrap_or(0) + 1;
        out.extend_from_slice(fraction.get(..end).unwrap_or(&fraction));
    }
    out.push(b'Z');
}

/// The last two decimal digits of `n` (not negative), as ASCII.
fn pair(n: i64) -> [u8; 2] {
    let n = usize::try_from(n % 100).unwrap_or(0);
    let digits = DIGIT_PAIRS.get(2 * n..2 * n + 2).unwrap_or(b"00");
    [
        digits.first().copied().unwrap_or(b'0'),
        digits.last().copied().unwrap_or(b'0'),
    ]
}

/// "00" to "99", for two digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The proleptic Gregorian date of a day counted from 1970-01-01 (not
/// negative): Howard Hinnant's `civil_from_days`.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ours(t: Timestamp) -> String {
        let mut out = Vec::new();
        write(&mut out, t);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn fractions_drop_their_trailing_zeros() {
        let t = |s, n| Timestamp::new(s, n).unwrap();
        assert_eq!(ours(t(1_773_133_200, 0)), "2026-03-10T09:00:00Z");
        assert_eq!(
            ours(t(1_773_133_200, 120_000_000)),
            "2026-03-10T09:00:00.12Z"
        );
        assert_eq!(ours(t(1_773_133_200, 1)), "2026-03-10T09:00:00.000000001Z");
        assert_eq!(ours(t(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(ours(t(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(ours(Timestamp::MAX), Timestamp::MAX.to_string());
        assert_eq!(ours(t(-1, -500_000_000)), "1969-12-31T23:59:58.5Z");
    }

    proptest! {
        /// Any instant jiff can hold reads as jiff writes it.
        #[test]
        fn instants_are_written_as_jiff_writes_them(
            second in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
            nanos in 0..1_000_000_000i32,
        ) {
            let nanos = if second < 0 { -nanos } else { nanos };
            if let Ok(t) = Timestamp::new(second, nanos) {
                prop_assert_eq!(ours(t), t.to_string());
            }
        }

        /// The years this writes itself, day by day and second by second.
        #[test]
        fn dates_from_1970_to_9999_are_written_as_jiff_writes_them(
            second in 0..YEAR_10000,
            nanos in prop_oneof![Just(0), 0..1_000_000_000i32],
        ) {
            // jiff's range ends a day short of 10000.
            if let Ok(t) = Timestamp::new(second, nanos) {
                prop_assert_eq!(ours(t), t.to_string());
            }
        }
    }
}
