//! Compressed inputs, known by their first bytes, never by their names: gzip (every member, as
//! `cat a.gz b.gz` makes), zstd, bzip2 and xz. A compressed file is read as the text it decodes
//! to, and every offset kept for it (progress aside) is an offset in that text.

use std::fs::File;
use std::io::{self, Read};

use crate::input::source::read_at;

/// A compression format statbuf reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// Bytes of a file's start that tell its format.
pub const MAGIC_BYTES: usize = 6;

impl Codec {
    /// The format whose magic bytes `head` starts with.
    pub fn sniff(head: &[u8]) -> Option<Codec> {
        match head {
            [0x1f, 0x8b, ..] => Some(Codec::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Codec::Zstd),
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Codec::Bzip2),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Codec::Xz),
            _ => None,
        }
    }

    /// Whether `head`, too short to tell, may still turn out to be compressed: it is the start
    /// of some format's magic bytes. A live pipe is held back only that long.
    pub fn undecided(head: &[u8]) -> bool {
        // bzip2's fourth byte is any digit from 1 to 9: its entry stops before it.
        const MAGICS: [&[u8]; 4] = [
            &[0x1f, 0x8b],
            &[0x28, 0xb5, 0x2f, 0xfd],
            b"BZh",
            &[0xfd, b'7', b'z', b'X', b'Z', 0],
        ];
        Codec::sniff(head).is_none() && MAGICS.iter().any(|magic| magic.starts_with(head))
    }

    /// The format of an open file, from its first bytes (read without moving its offset).
    pub fn of_file(file: &File) -> io::Result<Option<Codec>> {
        Ok(Codec::sniff(&read_at(file, 0, MAGIC_BYTES)?))
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }

    /// A reader of the text `compressed` decodes to. Concatenated streams (members) are all
    /// read, as `zcat` and friends do.
    pub fn decoder<'r>(self, compressed: impl Read + Send + 'r) -> io::Result<Box<dyn Read + Send + 'r>> {
        let buffered = io::BufReader::with_capacity(INPUT_BUFFER, compressed);
        Ok(match self {
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
            Codec::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
            Codec::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(buffered)),
        })
    }
}

/// Compressed bytes read at a time.
const INPUT_BUFFER: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::source::content_at;
    use std::io::Write;

    fn compress(codec: Codec, text: &[u8]) -> Vec<u8> {
        match codec {
            Codec::Gzip => {
                let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                out.write_all(text).unwrap();
                out.finish().unwrap()
            }
            Codec::Zstd => zstd::encode_all(text, 3).unwrap(),
            Codec::Bzip2 => {
                let mut out = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
                out.write_all(text).unwrap();
                out.finish().unwrap()
            }
            Codec::Xz => {
                let mut out = liblzma::write::XzEncoder::new(Vec::new(), 6);
                out.write_all(text).unwrap();
                out.finish().unwrap()
            }
        }
    }

    #[test]
    fn every_codec_is_known_by_its_bytes_and_decodes_every_stream() {
        let dir = tempfile::tempdir().unwrap();
        for codec in [Codec::Gzip, Codec::Zstd, Codec::Bzip2, Codec::Xz] {
            let mut bytes = compress(codec, b"first line\nsecond ");
            bytes.extend(compress(codec, b"line\nthird line\n"));
            assert_eq!(Codec::sniff(&bytes), Some(codec));
            let mut text = Vec::new();
            codec.decoder(&bytes[..]).unwrap().read_to_end(&mut text).unwrap();
            assert_eq!(text, b"first line\nsecond line\nthird line\n", "{codec:?}");
            let path = dir.path().join(codec.name());
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(content_at(&path, true, 11, 6).unwrap(), b"second", "{codec:?}");
            assert_eq!(content_at(&path, true, 30, 10).unwrap(), b"ine\n", "{codec:?}");
        }
        assert_eq!(Codec::sniff(b"BZh"), None);
        for undecided in [&b""[..], b"\x1f", b"BZ", b"BZh", b"\xfd7zX"] {
            assert!(Codec::undecided(undecided), "{undecided:?}");
        }
        for decided in [&b"a"[..], b"ok\n", b"\x1f\x8b", b"BZx", b"B\n"] {
            assert!(!Codec::undecided(decided), "{decided:?}");
        }
        assert_eq!(Codec::sniff(b"plain text\n"), None);
        assert_eq!(Codec::sniff(b""), None);
    }
}
