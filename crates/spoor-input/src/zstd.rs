//! zstd streams read so that a damaged one gives what decodes before the damage, as `zstd -d`
//! does, and then an error naming the damage.
//!
//! Why not ruzstd's `StreamingDecoder` alone: its decoder keeps the last window of decoded bytes
//! until its frame ends (all of them, for a frame no larger than its window, as `zstd` writes
//! for most files), so a stream cut short gave nothing. Here a gate between the compressed bytes
//! and the decoder holds each block back until the next one is whole: when the stream ends
//! early, the last whole block is handed over marked as the frame's last, the decoder finishes,
//! and everything before the damage drains. Concatenated frames (`pzstd`, `cat a.zst b.zst`) are
//! read one after another; skippable frames are skipped. Memory: two blocks (128 KiB each) plus
//! the decoder's window (which ruzstd caps).

use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use std::io::{self, Read};

/// The zstd frame magic, little-endian.
const MAGIC: u32 = 0xFD2F_B528;

/// Largest block body the format allows.
const MAX_BLOCK: usize = 128 * 1024;

/// Where the gate is in the compressed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before a frame header (or at the end).
    FrameStart,
    /// Among the blocks of a frame.
    Blocks,
    /// Nothing more will be handed over.
    Done,
}

/// Hands the compressed bytes to the decoder one whole block behind, finishing a frame cut
/// short at its last whole block.
struct Gate<R> {
    inner: R,
    /// Bytes ready for the decoder, from `pos`.
    out: Vec<u8>,
    pos: usize,
    /// A whole block (header and body) not yet handed over.
    held: Vec<u8>,
    /// The current frame ends with a 4-byte checksum.
    checksum: bool,
    phase: Phase,
    /// What is wrong with the stream, once found.
    damage: Option<String>,
    /// Compressed bytes read so far.
    offset: u64,
    /// Frames begun so far.
    frames: u64,
}

impl<R: Read> Gate<R> {
    /// Reads up to `n` bytes onto the end of `dst`; how many came (fewer only at the end).
    fn take(&mut self, n: usize, dst: &mut Vec<u8>) -> io::Result<usize> {
        let got = (&mut self.inner).take(n as u64).read_to_end(dst)?;
        self.offset += got as u64;
        Ok(got)
    }

    fn damaged(&mut self, what: String) {
        self.damage = Some(format!(
            "zstd stream damaged: {what} (frame {}, compressed byte {}); what decoded before the \
             damage was read",
            self.frames, self.offset
        ));
        self.phase = Phase::Done;
    }

    /// Puts more bytes in `out`; false when nothing more is to come.
    fn advance(&mut self) -> io::Result<bool> {
        loop {
            match self.phase {
                Phase::Done => return Ok(false),
                Phase::FrameStart => {
                    if self.frame_start()? {
                        return Ok(true);
                    }
                }
                Phase::Blocks => {
                    if self.next_block()? {
                        return Ok(true);
                    }
                }
            }
        }
    }

    /// Reads a frame header into `out` (skipping skippable frames); false when none was put.
    fn frame_start(&mut self) -> io::Result<bool> {
        let mut head = Vec::with_capacity(18);
        match self.take(4, &mut head)? {
            0 => {
                self.phase = Phase::Done;
                return Ok(false);
            }
            4 => {}
            n => {
                self.damaged(format!("stream ends {n} bytes into a frame magic"));
                return Ok(false);
            }
        }
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if (0x184D_2A50..=0x184D_2A5F).contains(&magic) {
            let mut size = Vec::with_capacity(4);
            if self.take(4, &mut size)? < 4 {
                self.damaged("stream ends inside a skippable frame".into());
                return Ok(false);
            }
            let n = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
            let skipped = io::copy(&mut (&mut self.inner).take(u64::from(n)), &mut io::sink())?;
            self.offset += skipped;
            if skipped < u64::from(n) {
                self.damaged("stream ends inside a skippable frame".into());
            }
            return Ok(false);
        }
        if magic != MAGIC {
            let what = if self.frames == 0 {
                "no zstd frame magic".to_string()
            } else {
                "bytes after a frame that are not zstd".to_string()
            };
            self.damaged(what);
            return Ok(false);
        }
        self.frames += 1;
        if self.take(1, &mut head)? < 1 {
            self.damaged("stream ends inside a frame header".into());
            return Ok(false);
        }
        let fhd = head[4];
        let single_segment = fhd & 0x20 != 0;
        let window = usize::from(!single_segment);
        let dict = [0, 1, 2, 4][usize::from(fhd & 3)];
        let fcs = match fhd >> 6 {
            0 => usize::from(single_segment),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        let rest = window + dict + fcs;
        if self.take(rest, &mut head)? < rest {
            self.damaged("stream ends inside a frame header".into());
            return Ok(false);
        }
        self.checksum = fhd & 0x04 != 0;
        self.out.extend_from_slice(&head);
        self.phase = Phase::Blocks;
        Ok(true)
    }

    /// Reads the next block; hands over the one held before it. False when nothing was put.
    fn next_block(&mut self) -> io::Result<bool> {
        let mut block = Vec::new();
        if self.take(3, &mut block)? < 3 {
            return Ok(self.cut_short("stream ends before a block header"));
        }
        let header = u32::from_le_bytes([block[0], block[1], block[2], 0]);
        let last = header & 1 != 0;
        let size = (header >> 3) as usize;
        let body = if (header >> 1) & 3 == 1 { 1 } else { size };
        if body > MAX_BLOCK {
            return Ok(self.cut_short(&format!("block of {size} bytes, over the format's 128 KiB")));
        }
        if self.take(body, &mut block)? < body {
            return Ok(self.cut_short("stream ends inside a block"));
        }
        let released = std::mem::take(&mut self.held);
        self.out.extend_from_slice(&released);
        if !last {
            self.held = block;
            return Ok(!self.out.is_empty());
        }
        self.out.extend_from_slice(&block);
        if self.checksum {
            let mut sum = Vec::with_capacity(4);
            if self.take(4, &mut sum)? < 4 {
                // The data is whole; only its checksum (which is not checked) is missing.
                self.damaged("stream ends inside the frame checksum".into());
                self.pad_checksum();
                return Ok(true);
            }
            self.out.extend_from_slice(&sum);
        }
        self.phase = Phase::FrameStart;
        Ok(true)
    }

    /// Appends a checksum of zeros (ruzstd reads but does not check it).
    fn pad_checksum(&mut self) {
        self.out.extend_from_slice(&[0; 4]);
    }

    /// The stream is damaged here: the held block is handed over as the frame's last (so the
    /// decoder finishes and drains), and nothing follows. Whether anything was put in `out`.
    fn cut_short(&mut self, what: &str) -> bool {
        self.damaged(what.to_string());
        let mut held = std::mem::take(&mut self.held);
        let Some(first) = held.first_mut() else {
            return false;
        };
        *first |= 1;
        self.out.extend_from_slice(&held);
        if self.checksum {
            self.pad_checksum();
        }
        true
    }
}

impl<R: Read> Read for Gate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            self.out.clear();
            self.pos = 0;
            if !self.advance()? {
                return Ok(0);
            }
        }
        let avail = self.out.get(self.pos..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), avail.get(..n)) {
            d.copy_from_slice(s);
        }
        self.pos += n;
        Ok(n)
    }
}

/// A zstd stream, decoded; see the module docs.
pub(crate) struct ZstdReader<R> {
    gate: Gate<R>,
    decoder: FrameDecoder,
    /// The error to return once everything decoded has been read.
    error: Option<String>,
}

impl<R: Read> ZstdReader<R> {
    /// Starts decoding `inner` (an error when it does not open with a readable frame header).
    pub(crate) fn new(inner: R) -> io::Result<Self> {
        let mut gate = Gate {
            inner,
            out: Vec::new(),
            pos: 0,
            held: Vec::new(),
            checksum: false,
            phase: Phase::FrameStart,
            damage: None,
            offset: 0,
            frames: 0,
        };
        let mut decoder = FrameDecoder::new();
        if let Err(e) = decoder.init(&mut gate) {
            let msg = gate.damage.take().unwrap_or_else(|| format!("zstd: {e}"));
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
        }
        Ok(ZstdReader {
            gate,
            decoder,
            error: None,
        })
    }

    fn fail(&mut self, e: impl std::fmt::Display) {
        let msg = self
            .gate
            .damage
            .take()
            .unwrap_or_else(|| format!("zstd stream damaged: {e}"));
        self.error = Some(msg);
    }
}

impl<R: Read> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.decoder.can_collect() > 0 {
                return self.decoder.read(buf);
            }
            if let Some(e) = &self.error {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
            }
            if self.decoder.is_finished() {
                // This frame is read: the next one, the damage found, or the end.
                if let Some(d) = self.gate.damage.take() {
                    self.error = Some(d);
                    continue;
                }
                if self.gate.phase == Phase::Done {
                    return Ok(0);
                }
                if let Err(e) = self.decoder.reset(&mut self.gate) {
                    if self.gate.phase == Phase::Done && self.gate.damage.is_none() {
                        return Ok(0); // the end, after the last frame (or skippable ones)
                    }
                    self.fail(e);
                }
                continue;
            }
            let want = BlockDecodingStrategy::UptoBytes(buf.len());
            if let Err(e) = self.decoder.decode_blocks(&mut self.gate, want) {
                self.fail(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| format!("line {i} of a log that compresses {}\n", i * 7919 % 1000))
            .collect::<String>()
            .into_bytes()
    }

    fn decode(z: &[u8]) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let mut r = match ZstdReader::new(z) {
            Ok(r) => r,
            Err(e) => return (out, Some(e.to_string())),
        };
        let mut buf = [0u8; 4096];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn whole_and_concatenated_frames() {
        let a = text(20_000);
        let z = compress_to_vec(&a[..], CompressionLevel::Fastest);
        assert_eq!(decode(&z), (a.clone(), None));
        // Two frames with a skippable frame between them.
        let mut two = z.clone();
        two.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        two.extend_from_slice(&3u32.to_le_bytes());
        two.extend_from_slice(b"xyz");
        two.extend_from_slice(&z);
        let mut both = a.clone();
        both.extend_from_slice(&a);
        assert_eq!(decode(&two), (both, None));
    }

    #[test]
    fn cut_short_keeps_the_whole_blocks() {
        let a = text(40_000);
        let z = compress_to_vec(&a[..], CompressionLevel::Fastest);
        for frac in [0.25, 0.5, 0.9] {
            let cut = (z.len() as f64 * frac) as usize;
            let (out, err) = decode(&z[..cut]);
            assert!(err.as_deref().unwrap_or("").contains("damaged"), "{err:?}");
            // A prefix of the original, most of what the cut kept.
            assert!(a.starts_with(&out));
            assert!(
                out.len() as f64 > a.len() as f64 * (frac - 0.2),
                "{frac}: {} of {}",
                out.len(),
                a.len()
            );
        }
        // Cut inside the frame header, or after the magic only.
        assert!(decode(&z[..3]).1.is_some());
        assert!(decode(&z[..6]).1.is_some());
        // Garbage after a whole frame is damage too, after the frame's data.
        let mut junk = z.clone();
        junk.extend_from_slice(b"not zstd at all");
        let (out, err) = decode(&junk);
        assert_eq!(out, a);
        assert!(err.is_some());
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        let mut seed = 7u64;
        let a = text(3000);
        let z = compress_to_vec(&a[..], CompressionLevel::Fastest);
        for _ in 0..300 {
            let mut bad = z.clone();
            for _ in 0..4 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let i = (seed >> 33) as usize % bad.len();
                bad[i] ^= (seed >> 20) as u8 | 1;
            }
            let _ = decode(&bad);
        }
    }
}
