//! gen-access-log as the benchmarks and the fixtures run it: its output is pinned by md5, so
//! that a change to the generator cannot silently change the data every published figure and
//! committed fixture was made from.

use std::process::{Command, Output};

fn gen_access_log(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_gen-access-log"))
        .args(args)
        .output()
        .expect("cannot run gen-access-log");
    assert!(
        output.status.success() || !output.stderr.is_empty(),
        "gen-access-log {args:?} failed without a message"
    );
    output
}

fn md5_hex(args: &[&str]) -> String {
    let output = gen_access_log(args);
    assert!(
        output.status.success(),
        "gen-access-log {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    md5(&output.stdout).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn default_format_is_pinned() {
    // The combined format as it has always been: BENCHMARKS.md and the fixtures depend on it.
    assert_eq!(
        md5_hex(&["--lines", "200000", "--seed", "7"]),
        "56e808501d752c0db591a8eb1b57a607"
    );
    // Naming the defaults changes nothing.
    assert_eq!(
        md5_hex(&[
            "--lines", "200000", "--seed", "7", "--format", "combined", "--time", "clf"
        ]),
        "56e808501d752c0db591a8eb1b57a607"
    );
}

#[test]
fn other_formats_are_pinned() {
    for (format, time, sum) in [
        ("json", "rfc3339", "4d051dd8836e8b6887359781f0d4661d"),
        ("logfmt", "rfc3339", "e82363595e92fc99b69cc5a58c066c51"),
        ("combined", "rfc3339", "05a37fecb35e6677556b4d1da2c82d1d"),
    ] {
        let args = [
            "--lines", "20000", "--seed", "7", "--format", format, "--time", time,
        ];
        assert_eq!(md5_hex(&args), sum, "gen-access-log {}", args.join(" "));
    }
}

#[test]
fn json_and_logfmt_default_to_rfc3339_times() {
    for format in ["json", "logfmt"] {
        assert_eq!(
            md5_hex(&["--lines", "500", "--format", format]),
            md5_hex(&["--lines", "500", "--format", format, "--time", "rfc3339"]),
            "{format}"
        );
    }
}

#[test]
fn bad_format_and_time_are_usage_errors() {
    for args in [
        ["--lines", "1", "--format", "xml"],
        ["--lines", "1", "--time", "unix"],
    ] {
        let output = gen_access_log(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("gen-access-log: --"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn md5_matches_known_digests() {
    let hex = |data: &[u8]| -> String { md5(data).iter().map(|b| format!("{b:02x}")).collect() };
    assert_eq!(hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        hex(b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
}

/// MD5 (RFC 1321), to compare with `md5sum` figures without a dependency.
fn md5(data: &[u8]) -> [u8; 16] {
    const SHIFTS: [[u32; 4]; 4] = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];
    // K[i] = floor(|sin(i + 1)| * 2^32); checked by `md5_matches_known_digests`.
    let k: Vec<u32> = (0..64)
        .map(|i| (f64::from(i + 1).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());

    for block in message.chunks_exact(64) {
        let words: Vec<u32> = block
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let round = i / 16;
            let (f, g) = match round {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(words[g])
                .rotate_left(SHIFTS[round][i % 4]);
            (a, b, c, d) = (d, b.wrapping_add(rotated), b, c);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut digest = [0u8; 16];
    for (i, s) in state.iter().enumerate() {
        digest[4 * i..4 * i + 4].copy_from_slice(&s.to_le_bytes());
    }
    digest
}
