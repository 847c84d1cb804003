//! `time::Time`: Go's wall-clock `time.Time` (`time.Now()`), virtual under
//! the detector so that printed times replay.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::rt::{clock, detect};

/// The wall-clock time at which every detected schedule starts: Go
/// playground's `2009-11-10 23:00:00 UTC` (Unix time 1257894000).
const DETECT_EPOCH_UNIX: i64 = 1_257_894_000;

const NANOS: i128 = 1_000_000_000;

/// A wall-clock time, in UTC with nanosecond precision: Go's `time.Time`
/// from `time.Now()`, for timestamps, logs and `Display`.
///
/// [`Time::now`] reads the system's wall clock in production. Under the
/// detector it is virtual: every schedule starts at
/// [`Time::DETECT_EPOCH`] (`2009-11-10 23:00:00 +0000 UTC`, the Go
/// playground's clock) and advances with the virtual clock, so a program
/// that prints times prints the same ones when its seed replays.
///
/// `time::now()` keeps returning the monotonic [`Instant`](crate::time::Instant):
/// measure durations with that (the wall clock may be set back in
/// production; `Time` arithmetic follows it). `Time - Time` and
/// [`sub`](Time::sub) saturate at zero, as `Instant`'s do, since Rust's
/// `Duration` cannot be negative; compare with `<` first when the order is
/// unknown.
///
/// `Display` is Go's default format, `2009-11-10 23:00:00 +0000 UTC`,
/// with fractional seconds (trailing zeros trimmed) when there are any.
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config};
/// use goro::time::{self, Duration, Time};
///
/// let report = explore(Config::default().schedules(1).env(false), || async {
///     let start = Time::now();
///     assert_eq!(start.to_string(), "2009-11-10 23:00:00 +0000 UTC");
///     time::sleep(Duration::from_millis(1500)).await;
///     assert_eq!(Time::now().to_string(), "2009-11-10 23:00:01.5 +0000 UTC");
///     assert_eq!(Time::since(start), Duration::from_millis(1500));
/// });
/// assert!(report.findings().is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    /// Nanoseconds since 1970-01-01 00:00:00 UTC (negative before).
    unix_nanos: i128,
}

impl Time {
    /// Where the detector's wall clock starts in every schedule:
    /// `2009-11-10 23:00:00 +0000 UTC`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::time::Time::DETECT_EPOCH.unix(), 1257894000);
    /// ```
    pub const DETECT_EPOCH: Time = Time {
        unix_nanos: DETECT_EPOCH_UNIX as i128 * NANOS,
    };

    /// The current wall-clock time: Go's `time.Now()` (virtual under the
    /// detector, see the type's docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let t = goro::time::Time::now();
    /// assert!(t.unix() > 1_600_000_000);
    /// ```
    pub fn now() -> Time {
        if detect::active() {
            let virt = clock::since_start(clock::now()).unwrap_or_default();
            return Time::DETECT_EPOCH + virt;
        }
        let unix_nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Time { unix_nanos }
    }

    /// The time `sec` seconds and `nsec` nanoseconds after the Unix epoch:
    /// Go's `time.Unix(sec, nsec)` (`nsec` may exceed a second or be
    /// negative).
    ///
    /// # Examples
    ///
    /// ```
    /// let t = goro::time::Time::from_unix(1257894000, 0);
    /// assert_eq!(t.to_string(), "2009-11-10 23:00:00 +0000 UTC");
    /// ```
    pub const fn from_unix(sec: i64, nsec: i64) -> Time {
        Time {
            unix_nanos: sec as i128 * NANOS + nsec as i128,
        }
    }

    /// How long ago `t` was: Go's `time.Since(t)`, `Time::now().sub(t)`
    /// (zero if `t` is in the future).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Time};
    ///
    /// let t = Time::now() - Duration::from_secs(60);
    /// assert!(Time::since(t) >= Duration::from_secs(60));
    /// ```
    pub fn since(t: Time) -> Duration {
        Time::now().sub(t)
    }

    /// How long until `t`: Go's `time.Until(t)` (zero if it has passed).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Time};
    ///
    /// let t = Time::now() + Duration::from_secs(3600);
    /// assert!(Time::until(t) > Duration::from_secs(3500));
    /// ```
    pub fn until(t: Time) -> Duration {
        t.sub(Time::now())
    }

    /// `self - u`: Go's `t.Sub(u)`, saturating at zero when `u` is later.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Time};
    ///
    /// let t = Time::from_unix(10, 0);
    /// assert_eq!(t.sub(Time::from_unix(4, 500_000_000)), Duration::from_millis(5500));
    /// assert_eq!(Time::from_unix(4, 0).sub(t), Duration::ZERO);
    /// ```
    #[allow(clippy::should_implement_trait)] // `Sub` is implemented too; this is Go's name.
    pub fn sub(self, u: Time) -> Duration {
        let d = self.unix_nanos - u.unix_nanos;
        if d <= 0 {
            return Duration::ZERO;
        }
        Duration::new((d / NANOS) as u64, (d % NANOS) as u32)
    }

    /// `self + d`: Go's `t.Add(d)`. Go's `t.Add(-d)` is `t - d` (Rust's
    /// `Duration` has no sign).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Time};
    ///
    /// let t = Time::from_unix(100, 0);
    /// assert_eq!(t.add(Duration::from_secs(5)), Time::from_unix(105, 0));
    /// assert_eq!(t - Duration::from_secs(5), Time::from_unix(95, 0));
    /// ```
    #[allow(clippy::should_implement_trait)] // `Add<Duration>` is implemented too; this is Go's name.
    pub fn add(self, d: Duration) -> Time {
        Time {
            unix_nanos: self.unix_nanos + d.as_nanos() as i128,
        }
    }

    /// Seconds since the Unix epoch: Go's `t.Unix()` (rounded down).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::time::Time::from_unix(7, 999_999_999).unix(), 7);
    /// assert_eq!(goro::time::Time::from_unix(-1, 500_000_000).unix(), -1);
    /// ```
    pub fn unix(self) -> i64 {
        self.unix_nanos.div_euclid(NANOS) as i64
    }

    /// Milliseconds since the Unix epoch: Go's `t.UnixMilli()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::time::Time::from_unix(1, 2_000_000).unix_milli(), 1002);
    /// ```
    pub fn unix_milli(self) -> i64 {
        self.unix_nanos.div_euclid(1_000_000) as i64
    }

    /// Nanoseconds since the Unix epoch: Go's `t.UnixNano()` (as Go, it
    /// overflows `i64` outside the years 1678 to 2262: this saturates).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::time::Time::from_unix(1, 5).unix_nano(), 1_000_000_005);
    /// ```
    pub fn unix_nano(self) -> i64 {
        self.unix_nanos.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    fn add(self, d: Duration) -> Time {
        Time::add(self, d)
    }
}

impl Sub<Duration> for Time {
    type Output = Time;

    fn sub(self, d: Duration) -> Time {
        Time {
            unix_nanos: self.unix_nanos - d.as_nanos() as i128,
        }
    }
}

impl Sub<Time> for Time {
    type Output = Duration;

    fn sub(self, u: Time) -> Duration {
        Time::sub(self, u)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.unix_nanos.div_euclid(NANOS);
        let nanos = self.unix_nanos.rem_euclid(NANOS) as u32;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )?;
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str(" +0000 UTC")
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_default_format() {
        assert_eq!(
            Time::from_unix(0, 0).to_string(),
            "1970-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(
            Time::from_unix(951_782_400, 120_000_000).to_string(),
            "2000-02-29 00:00:00.12 +0000 UTC"
        );
        assert_eq!(
            Time::from_unix(-1, 0).to_string(),
            "1969-12-31 23:59:59 +0000 UTC"
        );
        assert_eq!(
            Time::from_unix(4_102_444_799, 1).to_string(),
            "2099-12-31 23:59:59.000000001 +0000 UTC"
        );
    }
}
