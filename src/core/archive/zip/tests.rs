use super::*;

#[test]
fn dos_time_round_trip() {
    let t = 1_700_000_000;
    let (d, tm) = unix_to_dos(t);
    assert_eq!(dos_to_unix(d, tm), t);
    assert_eq!(dos_to_unix(unix_to_dos(0).0, unix_to_dos(0).1), 315_532_800);
}

#[test]
fn extra_fields_normal_form() {
    let mut extra = vec![0x55, 0x54, 9, 0, 3];
    extra.extend_from_slice(&2_000_000_000u32.to_le_bytes());
    extra.extend_from_slice(&2_000_000_001u32.to_le_bytes());
    extra.extend_from_slice(&[0x75, 0x78, 11, 0, 1, 4, 0xe8, 3, 0, 0, 4, 0xe8, 3, 0, 0]);
    let n = normalize_extra(&extra, Clamp { time: 1_000_000_000, overwrite: false });
    let mut want = vec![0x55, 0x54, 5, 0, 1];
    want.extend_from_slice(&1_000_000_000u32.to_le_bytes());
    assert_eq!(n, want);
}

#[test]
fn modes_and_order() {
    assert_eq!(normal_mode(0o100_775), 0o100_755);
    assert_eq!(normal_mode(0o100_600), 0o100_644);
    assert_eq!(normal_mode(0o040_700), 0o040_755);
    let mut names =
        [b"b".to_vec(), b"META-INF/MANIFEST.MF".to_vec(), b"A".to_vec(), b"META-INF/".to_vec()];
    names.sort_by_key(|n| order_key(n));
    assert_eq!(names[0], b"META-INF/");
    assert_eq!(names[1], b"META-INF/MANIFEST.MF");
    assert_eq!(names[2], b"A");
}

/// Made by Info-ZIP's zip 3.0 on Linux (TZ=UTC): `b.txt` (mode 600, "hello\n"), `A/`
/// (755) and `A/c` (775, "x"), all modified 2030-01-02 03:04:06 UTC, stored, each with UT
/// and ux extra fields, and the archive comment "the comment".
const UNIX_ZIP: &[u8] = include_bytes!("../../../../tests/fixtures/archive/unix.zip");

#[test]
fn parses_a_zip_made_by_info_zip() {
    let a = parse(UNIX_ZIP).unwrap();
    assert_eq!(a.comment, b"the comment");
    let names: Vec<_> = a.entries.iter().map(|e| e.name.as_slice()).collect();
    assert_eq!(names, [&b"b.txt"[..], b"A/", b"A/c"]);
    let offsets: Vec<_> = a.entries.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, [0, 69, 129]);
    let modes: Vec<_> = a.entries.iter().map(Entry::unix_mode).collect();
    assert_eq!(modes, [Some(0o100_600), Some(0o040_755), Some(0o100_775)]);
    let t = days_from_civil(2030, 1, 2) * 86_400 + 3 * 3600 + 4 * 60 + 6;
    assert!(a.entries.iter().all(|e| e.mtime() == t));
    let e = &a.entries[0];
    assert_eq!((e.method, e.flags, e.csize, e.usize, e.extra.len()), (0, 0, 6, 6, 24));
    assert_eq!(e.made_by >> 8, 3);
    let l = local(UNIX_ZIP, e).unwrap();
    assert_eq!(l, Local { start: 0, extra: 35..63, data: 63..69, end: 69 });
    assert_eq!(&UNIX_ZIP[l.data], b"hello\n");
    let l = local(UNIX_ZIP, &a.entries[2]).unwrap();
    assert_eq!(&UNIX_ZIP[l.data.clone()], b"x");
    assert_eq!(l.end, l.data.end);
    assert!(!is_signed_jar(&a));
}

#[test]
fn normal_form_of_a_zip_made_by_info_zip() {
    let a = parse(UNIX_ZIP).unwrap();
    let clamp = Clamp { time: days_from_civil(2020, 1, 1) * 86_400, overwrite: false };
    let mut what = vec![];
    let out = normalize(UNIX_ZIP, &a, clamp, &mut what).unwrap().unwrap();
    assert_eq!(what, ["extra fields", "member order", "modes", "timestamps"]);
    let n = parse(&out).unwrap();
    assert_eq!(n.comment, b"the comment");
    let names: Vec<_> = n.entries.iter().map(|e| e.name.as_slice()).collect();
    assert_eq!(names, [&b"A/"[..], b"A/c", b"b.txt"]);
    let modes: Vec<_> = n.entries.iter().map(Entry::unix_mode).collect();
    assert_eq!(modes, [Some(0o040_755), Some(0o100_755), Some(0o100_644)]);
    assert!(n.entries.iter().all(|e| e.mtime() == clamp.time), "{:?}", n.entries);
    for (e, data) in n.entries.iter().zip([&b""[..], b"x", b"hello\n"]) {
        let l = local(&out, e).unwrap();
        assert_eq!(&out[l.data], data);
    }
    // No time before 1980-01-01 12:01 is written, even when asked for.
    let epoch = Clamp { time: 0, overwrite: false };
    let early = normalize(UNIX_ZIP, &a, epoch, &mut vec![]).unwrap().unwrap();
    assert!(parse(&early).unwrap().entries.iter().all(|e| e.mtime() == SAFE_EPOCH));
    // Normal already: nothing to do, nothing said.
    let mut again = vec![];
    assert_eq!(normalize(&out, &n, clamp, &mut again).unwrap(), None);
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn broken_zips_are_refused() {
    assert_eq!(
        parse(b"PK\x03\x04 short").unwrap_err(),
        ZipError::Corrupt("no end of central directory")
    );
    let eocd = UNIX_ZIP.len() - 22 - 11;
    assert_eq!(u32_at(UNIX_ZIP, eocd), Some(EOCD_SIG));
    let mut disk = UNIX_ZIP.to_vec();
    disk[eocd + 4] = 1;
    assert_eq!(parse(&disk).unwrap_err(), ZipError::Zip64);
    let mut moved = UNIX_ZIP.to_vec();
    moved[eocd + 16] += 1;
    assert_eq!(parse(&moved).unwrap_err(), ZipError::Corrupt("central directory entry"));
    let a = parse(UNIX_ZIP).unwrap();
    let mut e = a.entries[0].clone();
    e.offset = 1;
    assert_eq!(local(UNIX_ZIP, &e).unwrap_err(), ZipError::Corrupt("local header"));
    e.offset = 0;
    e.csize = UNIX_ZIP.len() as u64;
    assert_eq!(local(UNIX_ZIP, &e).unwrap_err(), ZipError::Corrupt("local header"));
}

#[test]
fn ntfs_times_are_capped_in_whole_seconds() {
    let ticks = |unix: i64| ((unix + FILETIME_UNIX_DIFF) * 10_000_000) as u64;
    let mut data = vec![0, 0, 0, 0, 1, 0, 24, 0];
    for t in [ticks(2_000_000_000), ticks(500) + 7, ticks(1_000)] {
        data.extend_from_slice(&t.to_le_bytes());
    }
    let mut extra = vec![0x0a, 0, 32, 0];
    extra.extend_from_slice(&data);
    let n = normalize_extra(&extra, Clamp { time: 1_000, overwrite: false });
    let times: Vec<u64> =
        (0..3).map(|i| u64::from_le_bytes(n[12 + 8 * i..20 + 8 * i].try_into().unwrap())).collect();
    assert_eq!(times, [ticks(1_000), ticks(500), ticks(1_000)]);
    assert_eq!(n[..12], extra[..12]);
}

/// Made by Info-ZIP's zip 3.0 (`zip -X -c`, TZ=UTC): `a` ("one\n", comment "first file") and
/// `b` ("two\n", comment "second"), stored, modified 2030-01-02 03:04:06 UTC.
const COMMENTS_ZIP: &[u8] = include_bytes!("../../../../tests/fixtures/archive/comments.zip");
/// The same two files written by zip 3.0 to a pipe (`zip -X - a b | cat`): deflated, each
/// followed by a data descriptor with its signature (bit 3 of the flags set).
const STREAMED_ZIP: &[u8] = include_bytes!("../../../../tests/fixtures/archive/streamed.zip");

#[test]
fn member_comments_are_read_and_skipped() {
    let a = parse(COMMENTS_ZIP).unwrap();
    let got: Vec<_> = a.entries.iter().map(|e| (e.name.as_slice(), e.comment.as_slice())).collect();
    assert_eq!(got, [(&b"a"[..], &b"first file"[..]), (b"b", b"second")]);
    assert!(a.entries.iter().all(|e| e.extra.is_empty()));
    let data: Vec<_> =
        a.entries.iter().map(|e| &COMMENTS_ZIP[local(COMMENTS_ZIP, e).unwrap().data]).collect();
    assert_eq!(data, [b"one\n", b"two\n"]);
}

#[test]
fn data_descriptors_with_and_without_their_signature() {
    let a = parse(STREAMED_ZIP).unwrap();
    let e = &a.entries[0];
    assert_eq!((e.flags & 8, e.method, e.csize, e.usize), (8, 8, 6, 4));
    let l = local(STREAMED_ZIP, e).unwrap();
    assert_eq!(l, Local { start: 0, extra: 31..31, data: 31..37, end: 53 });
    assert_eq!(&STREAMED_ZIP[l.end..l.end + 4], b"PK\x03\x04");
    assert_eq!(local(STREAMED_ZIP, &a.entries[1]).unwrap().start, 53);
    // The signature is optional (APPNOTE 4.3.9.3): without it the descriptor is 12 bytes.
    let unsigned = [&STREAMED_ZIP[..37], &STREAMED_ZIP[41..]].concat();
    assert_eq!(local(&unsigned, e).unwrap().end, 49);
    // A descriptor cut short by the end of the bytes ends there.
    assert_eq!(local(&STREAMED_ZIP[..40], e).unwrap().end, 40);
}

#[test]
fn member_data_may_end_the_bytes() {
    let a = parse(UNIX_ZIP).unwrap();
    let l = local(&UNIX_ZIP[..69], &a.entries[0]).unwrap();
    assert_eq!((l.data, l.end), (63..69, 69));
    assert_eq!(local(&UNIX_ZIP[..68], &a.entries[0]), Err(ZipError::Corrupt("local header")));
}

#[test]
fn the_archive_comment_is_as_long_as_the_end_record_says() {
    // Bytes after the comment are not part of it.
    let junk = [UNIX_ZIP, b"junk"].concat();
    let a = parse(&junk).unwrap();
    assert_eq!((a.comment.as_slice(), a.entries.len()), (&b"the comment"[..], 3));
    // A comment cut short is what is left of it.
    let cut = &UNIX_ZIP[..UNIX_ZIP.len() - 6];
    assert_eq!(parse(cut).unwrap().comment, b"the c");
}

#[test]
fn the_end_record_is_searched_only_where_the_longest_comment_allows() {
    // The end record is at most 22 + 65,535 bytes from the end.
    let near = [UNIX_ZIP, &[0; 65_500]].concat();
    assert_eq!(parse(&near).unwrap().entries.len(), 3);
    let far = [UNIX_ZIP, &[0; 65_536]].concat();
    assert_eq!(parse(&far), Err(ZipError::Corrupt("no end of central directory")));
}

#[test]
fn zip64_markers_are_refused_one_by_one() {
    let eocd = UNIX_ZIP.len() - 22 - 11;
    let with = |at: usize, v: &[u8]| {
        let mut z = UNIX_ZIP.to_vec();
        z[at..at + v.len()].copy_from_slice(v);
        parse(&z)
    };
    assert_eq!(with(eocd + 10, &[0xff, 0xff]), Err(ZipError::Zip64));
    assert_eq!(with(eocd + 16, &[0xff; 4]), Err(ZipError::Zip64));
    let cd = usize::try_from(u32_at(UNIX_ZIP, eocd + 16).unwrap()).unwrap();
    assert_eq!(with(cd + 20, &[0xff; 4]), Err(ZipError::Zip64));
    assert_eq!(with(cd + 42, &[0xff; 4]), Err(ZipError::Zip64));
    // Other fields of the same size are no zip64 marker.
    assert_eq!(with(cd + 24, &[0xff; 4]).unwrap().entries[0].usize, u64::from(u32::MAX));
}

#[test]
fn extra_fields_keep_a_trailing_fragment_only_when_there_is_one() {
    let whole = [0x55, 0x54, 1, 0, 0, 0x0d, 0, 0, 0];
    assert_eq!(extra_fields(&whole), [(0x5455, vec![0]), (0x000d, vec![])]);
    // A block whose length runs past the end, and 3 bytes too short for a block header.
    let cut = [0x55, 0x54, 9, 0, 1, 2];
    assert_eq!(extra_fields(&cut), [(0xffff, cut.to_vec())]);
    let tail = [0x55, 0x54, 1, 0, 0, 7, 8, 9];
    assert_eq!(extra_fields(&tail), [(0x5455, vec![0]), (0xffff, vec![7, 8, 9])]);
    assert_eq!(extra_fields(&[]), []);
    // The fragment is kept as it was by the normal form.
    let clamp = Clamp { time: 1_000, overwrite: false };
    assert_eq!(normalize_extra(&tail, clamp), tail);
}

#[test]
fn timestamp_fields_without_an_mtime_are_kept() {
    let clamp = Clamp { time: 1_000, overwrite: true };
    // Extended timestamp with only the atime flag (2): no mtime to cap.
    let atime = [0x55, 0x54, 5, 0, 2, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(normalize_extra(&atime, clamp), atime);
    // The mtime flag without the 4 bytes of time: kept as it is.
    let short = [0x55, 0x54, 1, 0, 1];
    assert_eq!(normalize_extra(&short, clamp), short);
    // With the mtime flag and others (3: mtime and atime): only the mtime remains.
    let both = [0x55, 0x54, 9, 0, 3, 0, 0, 0, 0x7f, 1, 0, 0, 0];
    assert_eq!(normalize_extra(&both, clamp), [0x55, 0x54, 5, 0, 1, 0xe8, 3, 0, 0]);
    // An NTFS field too short for its three times is kept.
    let ntfs = [0x0a, 0, 8, 0, 0, 0, 0, 0, 1, 0, 24, 0];
    assert_eq!(normalize_extra(&ntfs, clamp), ntfs);
}

#[test]
fn only_a_signature_file_directly_in_meta_inf_makes_a_signed_jar() {
    let jar = |names: &[&str]| Archive {
        entries: names
            .iter()
            .map(|n| Entry { name: n.as_bytes().to_vec(), ..Entry::default() })
            .collect(),
        comment: vec![],
    };
    assert!(is_signed_jar(&jar(&["META-INF/MANIFEST.MF", "META-INF/CERT.SF"])));
    assert!(!is_signed_jar(&jar(&["META-INF/MANIFEST.MF", "lib/CERT.SF"])));
    assert!(!is_signed_jar(&jar(&["META-INF/sub/CERT.SF", "a.SF"])));
    assert!(!is_signed_jar(&jar(&["META-INF/CERT.RSA", "META-INF/"])));
}

#[test]
fn a_change_to_the_local_or_the_central_extra_field_alone_is_said() {
    let a = parse(UNIX_ZIP).unwrap();
    let clamp = Clamp { time: days_from_civil(2020, 1, 1) * 86_400, overwrite: false };
    let out = normalize(UNIX_ZIP, &a, clamp, &mut vec![]).unwrap().unwrap();
    // The normal extended timestamp: mtime flag and the capped time.
    let ut = [&[0x55, 0x54, 5, 0, 1][..], &(clamp.time as u32).to_le_bytes()].concat();
    let at: Vec<usize> = (0..out.len() - ut.len()).filter(|&i| out[i..].starts_with(&ut)).collect();
    assert_eq!(at.len(), 6, "one in each local and central header");
    for i in [at[0], at[5]] {
        let mut later = out.clone();
        later[i + 8] += 1;
        let mut what = vec![];
        let n = normalize(&later, &parse(&later).unwrap(), clamp, &mut what).unwrap();
        assert_eq!((n, what), (Some(out.clone()), vec!["extra fields"]));
    }
}
