//! Archive and compression formats as plain data: what a stream's first bytes say it is, and
//! the header models of gzip, tar, zip and ar with their normalisation rules. Pure: bytes in,
//! bytes or findings out; the streaming readers live in `crate::archive`.

pub mod ar;
pub mod gzip;
pub mod tar;
pub mod zip;

/// The time a normaliser caps (or, with `overwrite`, sets) timestamps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamp {
    /// Seconds since the epoch (UTC).
    pub time: i64,
    /// Set every timestamp to `time` instead of only lowering later ones.
    pub overwrite: bool,
}

impl Clamp {
    /// The new value of a timestamp `t`.
    pub fn apply(&self, t: i64) -> i64 {
        if self.overwrite { self.time } else { t.min(self.time) }
    }
}

/// What a stream is, judged from its first bytes (at least 512 when the stream has them) and,
/// only to tell text from binary, whether those bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// gzip (RFC 1952).
    Gzip,
    /// xz.
    Xz,
    /// bzip2.
    Bzip2,
    /// Zstandard.
    Zstd,
    /// tar (ustar, GNU or v7 with a valid checksum).
    Tar,
    /// zip, jar, apk, whl.
    Zip,
    /// Unix ar (static libraries, .deb).
    Ar,
    /// ELF object, library or executable.
    Elf,
    /// Text (UTF-8 without NUL bytes).
    Text,
    /// Anything else.
    Binary,
}

impl Kind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gzip => "gzip",
            Kind::Xz => "xz",
            Kind::Bzip2 => "bzip2",
            Kind::Zstd => "zstd",
            Kind::Tar => "tar",
            Kind::Zip => "zip",
            Kind::Ar => "ar",
            Kind::Elf => "elf",
            Kind::Text => "text",
            Kind::Binary => "binary",
        }
    }

    /// A compression layer around one stream.
    pub fn is_compression(self) -> bool {
        matches!(self, Kind::Gzip | Kind::Xz | Kind::Bzip2 | Kind::Zstd)
    }

    /// An archive of members.
    pub fn is_archive(self) -> bool {
        matches!(self, Kind::Tar | Kind::Zip | Kind::Ar)
    }
}

/// Recognises a stream by its magic bytes; `head` is its start (the whole stream when shorter
/// than 512 bytes).
pub fn detect(head: &[u8]) -> Kind {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Kind::Xz
    } else if starts(b"BZh") && head.len() > 3 && (b'1'..=b'9').contains(&head[3]) {
        Kind::Bzip2
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Zstd
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Kind::Zip
    } else if starts(b"!<arch>\n") {
        Kind::Ar
    } else if starts(b"\x7fELF") {
        Kind::Elf
    } else if head.len() >= 512 && tar::is_header(&head[..512]) {
        Kind::Tar
    } else if is_text(head) {
        Kind::Text
    } else {
        Kind::Binary
    }
}

/// UTF-8 without NUL; a multi-byte character cut at the end of `head` still counts as text.
pub fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) of a Unix time, for reports.
pub fn format_time(t: i64) -> String {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!("{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Reads a time for the normaliser: Unix seconds (as `SOURCE_DATE_EPOCH` has it), or UTC
/// `YYYY-MM-DD HH:MM:SS` (a descriptor's `reference_datetime`), also with `T` and `Z`.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once([' ', 'T'])?;
    let d: Vec<u32> = date.split('-').map(str::parse).collect::<Result<_, _>>().ok()?;
    let t: Vec<u32> = time.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    let ([y, mo, day], [h, mi, sec]) = (d.as_slice(), t.as_slice()) else { return None };
    if !(1..=12).contains(mo) || !(1..=31).contains(day) || *h > 23 || *mi > 59 || *sec > 60 {
        return None;
    }
    Some(days_from_civil(i64::from(*y), *mo, *day) * 86_400 + i64::from(h * 3600 + mi * 60 + sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1, 0, 3652, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn detects_by_magic() {
        assert_eq!(detect(b"\x1f\x8b\x08\0"), Kind::Gzip);
        assert_eq!(detect(b"!<arch>\ndebian-binary"), Kind::Ar);
        assert_eq!(detect("h\u{e9}llo\n".as_bytes()), Kind::Text);
        assert_eq!(detect(&"\u{e9}".as_bytes()[..1]), Kind::Text);
        assert_eq!(detect(b"a\0b"), Kind::Binary);
    }

    #[test]
    fn times_for_the_normaliser() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14 22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-13-14 22:13:20"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn every_kind_has_its_report_name_and_class() {
        let all = [
            (Kind::Gzip, "gzip"),
            (Kind::Xz, "xz"),
            (Kind::Bzip2, "bzip2"),
            (Kind::Zstd, "zstd"),
            (Kind::Tar, "tar"),
            (Kind::Zip, "zip"),
            (Kind::Ar, "ar"),
            (Kind::Elf, "elf"),
            (Kind::Text, "text"),
            (Kind::Binary, "binary"),
        ];
        for (k, name) in all {
            assert_eq!(k.name(), name);
        }
        let compression: Vec<_> =
            all.iter().filter(|(k, _)| k.is_compression()).map(|x| x.1).collect();
        assert_eq!(compression, ["gzip", "xz", "bzip2", "zstd"]);
        let archive: Vec<_> = all.iter().filter(|(k, _)| k.is_archive()).map(|x| x.1).collect();
        assert_eq!(archive, ["tar", "zip", "ar"]);
    }

    #[test]
    fn detects_every_magic_and_its_edges() {
        assert_eq!(detect(b"\xfd7zXZ\0rest"), Kind::Xz);
        assert_eq!(detect(b"BZh9rest"), Kind::Bzip2);
        // "BZh" alone or with a block size out of 1..=9 is not bzip2 (and does not panic).
        assert_eq!(detect(b"BZh"), Kind::Text);
        assert_eq!(detect(b"BZh0"), Kind::Text);
        assert_eq!(detect(b"\x28\xb5\x2f\xfd"), Kind::Zstd);
        assert_eq!(detect(b"PK\x03\x04"), Kind::Zip);
        assert_eq!(detect(b"PK\x05\x06"), Kind::Zip);
        assert_eq!(detect(b"\x7fELF\x02"), Kind::Elf);
        assert_eq!(detect(&[]), Kind::Text);
        // A multi-byte character cut at the end after valid text is still text; a bad byte
        // in the middle is not.
        assert_eq!(detect(b"hello\xc3"), Kind::Text);
        assert_eq!(detect(b"hello\xf0\x9f\x98"), Kind::Text);
        assert_eq!(detect(b"hello\xc3world"), Kind::Binary);
        assert_eq!(detect(b"\xff"), Kind::Binary);
    }

    #[test]
    fn civil_dates_are_exact() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2100, 12, 31), 47_846);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(47_846), (2100, 12, 31));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{days}: {y}-{m}-{d}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_time(-1), "1969-12-31 23:59:59");
        assert_eq!(format_time(951_827_696), "2000-02-29 12:34:56");
    }

    #[test]
    fn times_out_of_range_are_refused_and_edges_kept() {
        assert_eq!(parse_time(" 2000-02-29 12:34:56 "), Some(951_827_696));
        assert_eq!(parse_time("1970-01-01 00:00:60"), Some(60));
        assert_eq!(parse_time("1970-01-01 23:59:59"), Some(86_399));
        assert_eq!(parse_time("1970-01-01 24:00:00"), None);
        assert_eq!(parse_time("1970-01-01 00:60:00"), None);
        assert_eq!(parse_time("1970-01-01 00:00:61"), None);
        assert_eq!(parse_time("1970-00-01 00:00:00"), None);
        assert_eq!(parse_time("1970-01-00 00:00:00"), None);
        assert_eq!(parse_time("1970-01-32 00:00:00"), None);
        assert_eq!(parse_time("1970-01-01"), None);
        assert_eq!(parse_time("1970-01-01 00:00"), None);
        assert_eq!(parse_time("-5"), Some(-5));
    }

    #[test]
    fn clamp_caps_or_overwrites() {
        let c = Clamp { time: 100, overwrite: false };
        assert_eq!((c.apply(50), c.apply(150)), (50, 100));
        let o = Clamp { overwrite: true, ..c };
        assert_eq!(o.apply(50), 100);
    }
}
