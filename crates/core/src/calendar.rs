//! Working days for legal deadlines. Reg. (EEC, Euratom) 1182/71 Art. 3(4): where the last day
//! of a period other than one of hours is a public holiday, a Saturday or a Sunday, the period
//! ends with the expiry of the last hour of the following working day. The public holidays are
//! those of the controller's country, as each Member State publishes them for that regulation;
//! the rules below are the national ones (regional holidays, such as those of the German
//! Länder, are not included). Easter-based days are computed, never listed by year.

use jiff::civil::{Date, Weekday, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The countries whose public holidays are known; elsewhere only weekends move a deadline.
pub const COUNTRIES: [&str; 7] = ["BE", "DE", "FI", "FR", "IE", "NL", "SE"];

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm).
pub fn easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // Both fit: March or April, day 1 to 31.
    date(year, month as i8, day as i8)
}

/// The `n`th (1-based) `weekday` of a month, or the last one for `n = 0`.
fn nth_weekday(year: i16, month: i8, weekday: Weekday, n: i8) -> Date {
    let first = date(year, month, 1);
    if n == 0 {
        let last = first.last_of_month();
        let back = (last.weekday().to_monday_zero_offset() - weekday.to_monday_zero_offset())
            .rem_euclid(7);
        return last - i64::from(back).days();
    }
    let ahead =
        (weekday.to_monday_zero_offset() - first.weekday().to_monday_zero_offset()).rem_euclid(7);
    first + (i64::from(ahead) + 7 * i64::from(n - 1)).days()
}

/// The `weekday` falling within `from` and the six days after it (Midsummer, All Saints in
/// the Nordic countries).
fn weekday_from(from: Date, weekday: Weekday) -> Date {
    let ahead =
        (weekday.to_monday_zero_offset() - from.weekday().to_monday_zero_offset()).rem_euclid(7);
    from + i64::from(ahead).days()
}

/// The public holidays of `country` in `year`, in no particular order.
pub fn holidays(country: &str, year: i16) -> Vec<Date> {
    let easter = easter(year);
    let after_easter = |days: i64| easter + days.days();
    let on = |month: i8, day: i8| date(year, month, day);
    let good_friday = after_easter(-2);
    let easter_monday = after_easter(1);
    let ascension = after_easter(39);
    let whit_sunday = after_easter(49);
    let whit_monday = after_easter(50);
    match country {
        "FI" => vec![
            on(1, 1),
            on(1, 6),
            good_friday,
            easter,
            easter_monday,
            on(5, 1),
            ascension,
            whit_sunday,
            weekday_from(on(6, 19), Weekday::Friday),
            weekday_from(on(6, 20), Weekday::Saturday),
            weekday_from(on(10, 31), Weekday::Saturday),
            on(12, 6),
            on(12, 24),
            on(12, 25),
            on(12, 26),
        ],
        "SE" => vec![
            on(1, 1),
            on(1, 6),
            good_friday,
            easter,
            easter_monday,
            on(5, 1),
            ascension,
            whit_sunday,
            on(6, 6),
            weekday_from(on(6, 19), Weekday::Friday),
            weekday_from(on(6, 20), Weekday::Saturday),
            weekday_from(on(10, 31), Weekday::Saturday),
            on(12, 24),
            on(12, 25),
            on(12, 26),
            on(12, 31),
        ],
        "BE" => vec![
            on(1, 1),
            easter_monday,
            on(5, 1),
            ascension,
            whit_monday,
            on(7, 21),
            on(8, 15),
            on(11, 1),
            on(11, 11),
            on(12, 25),
        ],
        "DE" => vec![
            on(1, 1),
            good_friday,
            easter_monday,
            on(5, 1),
            ascension,
            whit_monday,
            on(10, 3),
            on(12, 25),
            on(12, 26),
        ],
        "FR" => vec![
            on(1, 1),
            easter_monday,
            on(5, 1),
            on(5, 8),
            ascension,
            whit_monday,
            on(7, 14),
            on(8, 15),
            on(11, 1),
            on(11, 11),
            on(12, 25),
        ],
        // The days of the Algemene termijnenwet, which moves statutory deadlines.
        "NL" => {
            let kings_day = if on(4, 27).weekday() == Weekday::Sunday {
                on(4, 26)
            } else {
                on(4, 27)
            };
            vec![
                on(1, 1),
                good_friday,
                easter,
                easter_monday,
                kings_day,
                on(5, 5),
                ascension,
                whit_sunday,
                whit_monday,
                on(12, 25),
                on(12, 26),
            ]
        }
        "IE" => {
            // St Brigid's Day: the first Monday of February, or 1 February when it is a Friday.
            let brigid = if on(2, 1).weekday() == Weekday::Friday {
                on(2, 1)
            } else {
                nth_weekday(year, 2, Weekday::Monday, 1)
            };
            let mut days = vec![
                on(1, 1),
                on(3, 17),
                easter_monday,
                nth_weekday(year, 5, Weekday::Monday, 1),
                nth_weekday(year, 6, Weekday::Monday, 1),
                nth_weekday(year, 8, Weekday::Monday, 1),
                nth_weekday(year, 10, Weekday::Monday, 0),
                on(12, 25),
                on(12, 26),
            ];
            if year >= 2023 {
                days.push(brigid);
            }
            days
        }
        _ => vec![],
    }
}

/// Whether `day` is a working day in `country`: not a Saturday, a Sunday or a public holiday.
pub fn is_working_day(country: &str, day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
        && !holidays(country, day.year()).contains(&day)
}

/// A deadline that ends at `end` (the midnight after its last day, in `tz`), moved to the end
/// of the next working day when its last day is not one (Reg. 1182/71 Art. 3(4)).
pub fn roll_forward(end: Timestamp, tz: &TimeZone, country: &str) -> Timestamp {
    let last_moment = end
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap_or(end);
    let mut last = last_moment.to_zoned(tz.clone()).date();
    let first = last;
    // A year holds no run of more than a few non-working days; the bound only guards the loop.
    for _ in 0..14 {
        if is_working_day(country, last) {
            break;
        }
        last = last.tomorrow().unwrap_or(last);
    }
    if last == first {
        return end;
    }
    last.tomorrow()
        .ok()
        .and_then(|next| next.to_zoned(tz.clone()).ok())
        .map_or(end, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_falls_on_the_known_sundays() {
        for (year, month, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter(year), date(year, month, day), "{year}");
        }
    }

    #[test]
    fn movable_holidays_land_where_each_country_puts_them() {
        let has =
            |country: &str, y: i16, m: i8, d: i8| holidays(country, y).contains(&date(y, m, d));
        // Finland: Midsummer Eve is the Friday of 19-25 June; All Saints the Saturday of 31 Oct-6 Nov.
        assert!(has("FI", 2026, 6, 19));
        assert!(has("FI", 2026, 10, 31));
        assert!(has("FI", 2027, 6, 25));
        assert!(has("FI", 2027, 11, 6));
        // Whit Monday in Belgium, Germany and France, 50 days after Easter.
        assert!(has("BE", 2026, 5, 25) && has("DE", 2026, 5, 25) && has("FR", 2026, 5, 25));
        // King's Day moves to 26 April when 27 April is a Sunday (2025).
        assert!(has("NL", 2025, 4, 26) && !has("NL", 2025, 4, 27));
        // St Brigid's Day: 2 February 2026 (the first Monday), 1 February 2030 (a Friday).
        assert!(has("IE", 2026, 2, 2) && has("IE", 2030, 2, 1));
        // The last Monday of October in Ireland.
        assert!(has("IE", 2026, 10, 26));
        assert!(holidays("XX", 2026).is_empty());
    }

    fn helsinki() -> TimeZone {
        TimeZone::get("Europe/Helsinki").expect("zone")
    }

    fn end_of(day: &str, tz: &TimeZone) -> Timestamp {
        day.parse::<Date>()
            .expect("date")
            .tomorrow()
            .expect("date")
            .to_zoned(tz.clone())
            .expect("zone")
            .timestamp()
    }

    #[test]
    fn a_deadline_on_a_weekend_or_holiday_moves_to_the_end_of_the_next_working_day() {
        let tz = helsinki();
        let cases = [
            // A Saturday: the Monday after.
            ("FI", "2026-02-28", "2026-03-02"),
            // Good Friday 2026 in Finland: Friday, Saturday, Easter Sunday and Monday pass.
            ("FI", "2026-04-03", "2026-04-07"),
            // Christmas Eve, Christmas, St Stephen's, then the weekend: Monday 28 December.
            ("FI", "2026-12-24", "2026-12-28"),
            // Swedish New Year's Eve 2027 is a Friday holiday; the weekend and New Year follow.
            ("SE", "2027-12-31", "2028-01-03"),
            // A working day stays.
            ("FI", "2026-03-31", "2026-03-31"),
            // Good Friday is no holiday in France: a Friday deadline stays.
            ("FR", "2026-04-03", "2026-04-03"),
            // An unknown country moves for weekends only.
            ("XX", "2026-12-25", "2026-12-25"),
        ];
        for (country, last, expected) in cases {
            assert_eq!(
                roll_forward(end_of(last, &tz), &tz, country),
                end_of(expected, &tz),
                "{country} {last}"
            );
        }
    }
}
