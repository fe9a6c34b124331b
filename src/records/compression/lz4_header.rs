//! The lz4 frame header checksum: checked, and written the
//! pre-KAFKA-3160 way for magic 0 (needed with or without the lz4 codec,
//! since legacy wrappers are written by tools and tests).

/// xxHash32, needed to check and repair LZ4 frame header checksums
/// (lz4_flex does not expose its own).
pub fn xxh32(data: &[u8], seed: u32) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    fn word(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn round(acc: u32, input: u32) -> u32 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    }
    let mut chunks = data.chunks_exact(16);
    let mut h = if data.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        for c in &mut chunks {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, word(&c[i * 4..]));
            }
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(data.len() as u32);
    let tail = if data.len() >= 16 {
        chunks.remainder()
    } else {
        data
    };
    let mut words = tail.chunks_exact(4);
    for w in &mut words {
        h = h
            .wrapping_add(word(w).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in words.remainder() {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

/// Where an LZ4 frame's header checksum byte sits, after checking that the
/// whole frame descriptor is present.
pub(crate) fn lz4_header_checksum_pos(input: &[u8]) -> Result<usize, &'static str> {
    const MAGIC: [u8; 4] = 0x184D_2204u32.to_le_bytes();
    if input.len() < 7 {
        return Err("lz4 frame shorter than its header");
    }
    if input[..4] != MAGIC {
        return Err("not an lz4 frame (bad magic)");
    }
    let flg = input[4];
    let mut pos = 6;
    if flg & 0x08 != 0 {
        pos += 8; // content size
    }
    if flg & 0x01 != 0 {
        pos += 4; // dictionary id
    }
    if input.len() <= pos {
        return Err("lz4 frame header is truncated");
    }
    Ok(pos)
}

/// The header checksum byte as Kafka before KAFKA-3160 wrote it: the hash
/// wrongly included the 4 magic bytes. Magic 0 messages keep that form
/// (Kafka 0.10 fixed it for magic 1 only, for compatibility).
pub fn lz4_kafka3160_checksum(frame_header_up_to_checksum: &[u8]) -> u8 {
    (xxh32(frame_header_up_to_checksum, 0) >> 8) as u8
}

/// The correct LZ4 frame header checksum over the descriptor (FLG..).
pub fn lz4_header_checksum(descriptor: &[u8]) -> u8 {
    (xxh32(descriptor, 0) >> 8) as u8
}
