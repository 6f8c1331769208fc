//! Checkpoint file, version 1 (docs/migration.md section 3): a 64-byte header, then records
//! (`kind u32, reserved u32, len u64, payload, zero padding to 8`), the body protected by
//! unimig-sum64.
//!
//! [`Checkpoint::parse`] validates everything the header and record framing promise and
//! borrows the payloads from the input (a checkpoint holds the whole memory of a process, so
//! the transformer copies only what it replaces). [`Checkpoint::to_bytes`] writes a checkpoint
//! back, recomputing `nrec`, `body_len` and the checksum.

use std::borrow::Cow;

/// `magic` of every checkpoint.
pub const MAGIC: [u8; 8] = *b"UNIMIGCK";
/// The only version this reader and writer know.
pub const VERSION: u32 = 1;
/// Size of the header; the body follows.
pub const HEADER_LEN: usize = 64;
/// Header flag: a probe (REGS and the main stack only).
pub const FLAG_PARTIAL: u32 = 1;
/// `MAP` flag: this mapping is the main machine stack.
pub const MAP_MAIN_STACK: u32 = 1;

/// Record kinds (the `kind` field).
pub mod kind {
    pub const REGS: u32 = 1;
    pub const MAP: u32 = 2;
    pub const DATA: u32 = 3;
    pub const FILE: u32 = 4;
    pub const FENV: u32 = 5;
    pub const SIGACTION: u32 = 6;
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint truncated: {len} bytes, but its header says {expected}")]
    Truncated { len: u64, expected: u64 },
    #[error("checkpoint has {extra} bytes after the body its header describes")]
    TrailingBytes { extra: u64 },
    #[error("not a unimig checkpoint (bad magic)")]
    BadMagic,
    #[error("checkpoint version {0}, this reader knows version 1")]
    Version(u32),
    #[error(
        "checkpoint checksum mismatch: header says {stored:#018x}, body sums to {computed:#018x}"
    )]
    Checksum { stored: u64, computed: u64 },
    #[error("checkpoint header: reserved field is {0:#x}, must be 0")]
    ReservedHeader(u64),
    #[error("checkpoint record {index} at body offset {offset:#x} runs past the end of the body")]
    RecordPastEnd { index: u32, offset: u64 },
    #[error("checkpoint record {index} (kind {kind}): reserved field is {value:#x}, must be 0")]
    ReservedRecord { index: u32, kind: u32, value: u32 },
    #[error("checkpoint record {index}: unknown kind {kind}")]
    UnknownKind { index: u32, kind: u32 },
    #[error(
        "checkpoint record {index} (kind {kind}): payload of {len} bytes is malformed ({what})"
    )]
    BadPayload {
        index: u32,
        kind: u32,
        len: u64,
        what: &'static str,
    },
    #[error("checkpoint header says {declared} records, the body holds {found}")]
    RecordCount { declared: u32, found: u32 },
    #[error("checkpoint is for ELF machine {found}, expected {expected}")]
    WrongIsa { found: u32, expected: u32 },
    #[error("checkpoint is for image id {found:#018x}, this image is {expected:#018x}")]
    WrongImage { found: u64, expected: u64 },
}

/// unimig-sum64 of `body` (docs/migration.md section 3).
pub fn sum64(body: &[u8]) -> u64 {
    const MUL: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x756e_696d_6967_5f31;
    let mut chunks = body.chunks_exact(8);
    let mut mix = |w: u64| {
        h = (h ^ w).wrapping_mul(MUL);
        h ^= h >> 32;
    };
    for c in &mut chunks {
        mix(u64::from_le_bytes(c.try_into().unwrap()));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        mix(u64::from_le_bytes(last));
    }
    h ^ body.len() as u64
}

/// The header fields that are not derived from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// ELF `e_machine` of the registers and stack (62 x86-64, 183 AArch64).
    pub isa: u32,
    pub image_id: u64,
    /// Migration points reached when the checkpoint was taken.
    pub point: u64,
    pub flags: u32,
}

impl Header {
    pub fn partial(&self) -> bool {
        self.flags & FLAG_PARTIAL != 0
    }
}

/// One record; the payload is borrowed from the parsed file or owned when built anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: u32,
    pub payload: Cow<'a, [u8]>,
}

impl<'a> Record<'a> {
    pub fn new(kind: u32, payload: impl Into<Cow<'a, [u8]>>) -> Self {
        Record {
            kind,
            payload: payload.into(),
        }
    }

    /// A `DATA` record: `bytes` at `addr`.
    pub fn data(addr: u64, bytes: &[u8]) -> Record<'static> {
        let mut p = Vec::with_capacity(8 + bytes.len());
        p.extend_from_slice(&addr.to_le_bytes());
        p.extend_from_slice(bytes);
        Record::new(kind::DATA, p)
    }

    /// Address and bytes of a `DATA` record (validated by [`Checkpoint::parse`]).
    pub fn as_data(&self) -> Option<(u64, &[u8])> {
        (self.kind == kind::DATA && self.payload.len() >= 8)
            .then(|| (le64(&self.payload[..8]), &self.payload[8..]))
    }

    /// A `MAP` record's (addr, len, prot, flags).
    pub fn as_map(&self) -> Option<(u64, u64, u32, u32)> {
        (self.kind == kind::MAP && self.payload.len() == 24).then(|| {
            let p = &self.payload;
            (
                le64(&p[0..8]),
                le64(&p[8..16]),
                le32(&p[16..20]),
                le32(&p[20..24]),
            )
        })
    }
}

/// A parsed (or built) checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint<'a> {
    pub header: Header,
    pub records: Vec<Record<'a>>,
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().unwrap())
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap())
}

/// Checks a record's payload length against its kind's layout.
fn payload_shape(kind: u32, p: &[u8]) -> Result<(), &'static str> {
    match kind {
        kind::REGS => (p.len().is_multiple_of(8) && !p.is_empty())
            .then_some(())
            .ok_or("not a whole number of registers"),
        kind::MAP => (p.len() == 24).then_some(()).ok_or("must be 24 bytes"),
        kind::DATA => (p.len() >= 8)
            .then_some(())
            .ok_or("shorter than its address"),
        kind::FILE => {
            if p.len() < 25 {
                Err("shorter than its fixed fields and a path")
            } else if p.last() != Some(&0) {
                Err("path is not NUL-terminated")
            } else {
                Ok(())
            }
        }
        kind::FENV => (p.len() == 4 && le32(p) <= 3)
            .then_some(())
            .ok_or("must be one rounding mode 0..3"),
        kind::SIGACTION => (p.len() == 24).then_some(()).ok_or("must be 24 bytes"),
        _ => Ok(()),
    }
}

impl<'a> Checkpoint<'a> {
    /// Parses and validates `bytes`: size, magic, version, checksum, record framing, known
    /// kinds and their payload sizes. The ISA and image id are checked by
    /// [`Checkpoint::check_target`], which needs to know what the reader expects.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CheckpointError> {
        use CheckpointError as E;
        let len = bytes.len() as u64;
        if bytes.len() < HEADER_LEN {
            return Err(E::Truncated {
                len,
                expected: HEADER_LEN as u64,
            });
        }
        if bytes[..8] != MAGIC {
            return Err(E::BadMagic);
        }
        let version = le32(&bytes[8..]);
        if version != VERSION {
            return Err(E::Version(version));
        }
        let header = Header {
            isa: le32(&bytes[12..]),
            image_id: le64(&bytes[16..]),
            point: le64(&bytes[24..]),
            flags: le32(&bytes[32..]),
        };
        let nrec = le32(&bytes[36..]);
        let body_len = le64(&bytes[40..]);
        let stored = le64(&bytes[48..]);
        let reserved = le64(&bytes[56..]);
        let expected = (HEADER_LEN as u64).saturating_add(body_len);
        if len < expected {
            return Err(E::Truncated { len, expected });
        }
        if len > expected {
            return Err(E::TrailingBytes {
                extra: len - expected,
            });
        }
        let body = &bytes[HEADER_LEN..];
        let computed = sum64(body);
        if computed != stored {
            return Err(E::Checksum { stored, computed });
        }
        if reserved != 0 {
            return Err(E::ReservedHeader(reserved));
        }
        let mut records = Vec::with_capacity(nrec.min(1 << 16) as usize);
        let mut pos = 0usize;
        let mut index = 0u32;
        while pos < body.len() {
            let past_end = E::RecordPastEnd {
                index,
                offset: pos as u64,
            };
            if body.len() - pos < 16 {
                return Err(past_end);
            }
            let kind = le32(&body[pos..]);
            let res = le32(&body[pos + 4..]);
            let plen = le64(&body[pos + 8..]);
            let start = pos + 16;
            let padded = plen.checked_add(7).map(|n| n & !7);
            let end = match padded {
                Some(p) if p <= (body.len() - start) as u64 => start + p as usize,
                _ => return Err(past_end),
            };
            if res != 0 {
                return Err(E::ReservedRecord {
                    index,
                    kind,
                    value: res,
                });
            }
            if !(kind::REGS..=kind::SIGACTION).contains(&kind) {
                return Err(E::UnknownKind { index, kind });
            }
            let payload = &body[start..start + plen as usize];
            payload_shape(kind, payload).map_err(|what| E::BadPayload {
                index,
                kind,
                len: plen,
                what,
            })?;
            records.push(Record::new(kind, payload));
            pos = end;
            index += 1;
        }
        if index != nrec {
            return Err(E::RecordCount {
                declared: nrec,
                found: index,
            });
        }
        Ok(Checkpoint { header, records })
    }

    /// Refuses a checkpoint whose ISA (ELF machine) or image id is not the expected one.
    pub fn check_target(&self, machine: u16, image_id: u64) -> Result<(), CheckpointError> {
        if self.header.isa != u32::from(machine) {
            return Err(CheckpointError::WrongIsa {
                found: self.header.isa,
                expected: machine.into(),
            });
        }
        if self.header.image_id != image_id {
            return Err(CheckpointError::WrongImage {
                found: self.header.image_id,
                expected: image_id,
            });
        }
        Ok(())
    }

    /// The payload of the (first) `REGS` record.
    pub fn regs(&self) -> Option<&[u8]> {
        self.records
            .iter()
            .find(|r| r.kind == kind::REGS)
            .map(|r| &*r.payload)
    }

    /// The file's bytes: header (with `nrec`, `body_len` and checksum computed), then records.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body_len: usize = self
            .records
            .iter()
            .map(|r| 16 + r.payload.len().next_multiple_of(8))
            .sum();
        let mut out = Vec::with_capacity(HEADER_LEN + body_len);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.header.isa.to_le_bytes());
        out.extend_from_slice(&self.header.image_id.to_le_bytes());
        out.extend_from_slice(&self.header.point.to_le_bytes());
        out.extend_from_slice(&self.header.flags.to_le_bytes());
        out.extend_from_slice(&(self.records.len() as u32).to_le_bytes());
        out.extend_from_slice(&(body_len as u64).to_le_bytes());
        out.extend_from_slice(&[0; 16]); // checksum (below), reserved
        for r in &self.records {
            out.extend_from_slice(&r.kind.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(r.payload.len() as u64).to_le_bytes());
            out.extend_from_slice(&r.payload);
            out.resize(out.len().next_multiple_of(8), 0);
        }
        let sum = sum64(&out[HEADER_LEN..]);
        out[48..56].copy_from_slice(&sum.to_le_bytes());
        out
    }

    /// A copy that owns its payloads.
    pub fn into_owned(self) -> Checkpoint<'static> {
        Checkpoint {
            header: self.header,
            records: self
                .records
                .into_iter()
                .map(|r| Record::new(r.kind, r.payload.into_owned()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum64_matches_the_documented_vectors() {
        assert_eq!(sum64(b""), 0x756e_696d_6967_5f31);
        assert_eq!(sum64(b"unimig"), 0x2d24_0cfa_038a_f668);
        let hundred: Vec<u8> = (0..100).collect();
        assert_eq!(sum64(&hundred), 0xbbb5_a155_c297_3eb7);
    }

    fn sample() -> Checkpoint<'static> {
        let mut file = Vec::new();
        file.extend_from_slice(&[3, 0, 0, 0, 0x42, 0, 0, 0]); // fd 3, O_RDWR|O_CREAT
        file.extend_from_slice(&[0; 8]); // fd flags, reserved
        file.extend_from_slice(&17i64.to_le_bytes());
        file.extend_from_slice(b"out.txt\0");
        let mut map = Vec::new();
        map.extend_from_slice(&0x2010_7fff_0000u64.to_le_bytes());
        map.extend_from_slice(&0x1_0000u64.to_le_bytes());
        map.extend_from_slice(&3u32.to_le_bytes());
        map.extend_from_slice(&MAP_MAIN_STACK.to_le_bytes());
        Checkpoint {
            header: Header {
                isa: 62,
                image_id: 0x1234_5678_9abc_def0,
                point: 7,
                flags: 0,
            },
            records: vec![
                Record::new(kind::REGS, (0..64).collect::<Vec<u8>>()),
                Record::new(kind::MAP, map),
                Record::data(0x2010_7fff_fff0, &[1, 2, 3]),
                Record::new(kind::FILE, file),
                Record::new(kind::FENV, 2u32.to_le_bytes().to_vec()),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        let bytes = c.to_bytes();
        assert_eq!(bytes.len() % 8, 0);
        let back = Checkpoint::parse(&bytes).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(
            back.records[2].as_data(),
            Some((0x2010_7fff_fff0, &[1u8, 2, 3][..]))
        );
        assert_eq!(
            back.records[1].as_map(),
            Some((0x2010_7fff_0000, 0x1_0000, 3, MAP_MAIN_STACK))
        );
        assert_eq!(back.regs().map(<[u8]>::len), Some(64));
        assert!(!back.header.partial());
        back.check_target(62, 0x1234_5678_9abc_def0).unwrap();
    }

    fn parse_err(bytes: &[u8]) -> CheckpointError {
        Checkpoint::parse(bytes).unwrap_err()
    }

    /// Rewrites the checksum after a deliberate corruption of the body.
    fn resum(bytes: &mut [u8]) {
        let s = sum64(&bytes[HEADER_LEN..]);
        bytes[48..56].copy_from_slice(&s.to_le_bytes());
    }

    #[test]
    fn refusals() {
        use CheckpointError as E;
        let good = sample().to_bytes();
        assert!(matches!(
            parse_err(&good[..10]),
            E::Truncated { len: 10, .. }
        ));
        assert!(matches!(
            parse_err(&good[..good.len() - 8]),
            E::Truncated { .. }
        ));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(parse_err(&long), E::TrailingBytes { extra: 1 });

        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(parse_err(&b), E::BadMagic);

        let mut b = good.clone();
        b[8] = 2;
        assert_eq!(parse_err(&b), E::Version(2));

        let mut b = good.clone();
        b[HEADER_LEN + 20] ^= 1;
        assert!(matches!(parse_err(&b), E::Checksum { .. }));

        let mut b = good.clone();
        b[56] = 1;
        assert_eq!(parse_err(&b), E::ReservedHeader(1));

        // The REGS record claims a payload longer than the body.
        let mut b = good.clone();
        b[HEADER_LEN + 8..HEADER_LEN + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        resum(&mut b);
        assert_eq!(
            parse_err(&b),
            E::RecordPastEnd {
                index: 0,
                offset: 0
            }
        );

        let mut b = good.clone();
        b[HEADER_LEN + 4] = 1;
        resum(&mut b);
        assert!(matches!(parse_err(&b), E::ReservedRecord { index: 0, .. }));

        let mut b = good.clone();
        b[HEADER_LEN] = 9;
        resum(&mut b);
        assert_eq!(parse_err(&b), E::UnknownKind { index: 0, kind: 9 });

        let mut b = good.clone();
        b[36] = 4;
        assert_eq!(
            parse_err(&b),
            E::RecordCount {
                declared: 4,
                found: 5
            }
        );

        let mut c = sample();
        c.records
            .push(Record::new(kind::FENV, 7u32.to_le_bytes().to_vec()));
        assert!(matches!(
            parse_err(&c.to_bytes()),
            E::BadPayload {
                index: 5,
                kind: kind::FENV,
                ..
            }
        ));
        let mut c = sample();
        c.records.push(Record::new(kind::MAP, vec![0; 16]));
        assert!(matches!(parse_err(&c.to_bytes()), E::BadPayload { .. }));

        let c = Checkpoint::parse(&good).unwrap();
        assert_eq!(
            c.check_target(183, 0x1234_5678_9abc_def0),
            Err(E::WrongIsa {
                found: 62,
                expected: 183
            })
        );
        assert!(matches!(c.check_target(62, 1), Err(E::WrongImage { .. })));
    }
}
