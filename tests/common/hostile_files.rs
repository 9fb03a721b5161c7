//! Hostile files built at test time: NPY headers, zip64 entries with any declared size, deflate
//! streams that inflate to gigabytes without being inflated here.

/// An NPY file's bytes: the preamble and header for `descr` and `shape` (a Python tuple), then
/// `body`.
pub fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    super::npy_bytes(descr, shape, false, body)
}

/// A zip of one entry `name` whose data is `packed` (stored, method 0, or deflated, method 8),
/// with the crc and the uncompressed size it declares, written with zip64 size fields as a
/// writer does for large entries.
pub fn zip64(name: &str, method: u16, crc: u32, packed: &[u8], declared: u64) -> Vec<u8> {
    let mut extra = Vec::new();
    extra.extend(1u16.to_le_bytes());
    extra.extend(16u16.to_le_bytes());
    extra.extend(declared.to_le_bytes());
    extra.extend((packed.len() as u64).to_le_bytes());
    let common = |v: &mut Vec<u8>| {
        v.extend(45u16.to_le_bytes()); // version needed: zip64
        v.extend(0u16.to_le_bytes()); // flags
        v.extend(method.to_le_bytes());
        v.extend(0u32.to_le_bytes()); // time, date
        v.extend(crc.to_le_bytes());
        v.extend(u32::MAX.to_le_bytes()); // compressed size: in the zip64 field
        v.extend(u32::MAX.to_le_bytes()); // uncompressed size: in the zip64 field
        v.extend((name.len() as u16).to_le_bytes());
        v.extend((extra.len() as u16).to_le_bytes());
    };
    let mut z = Vec::new();
    z.extend(0x0403_4b50u32.to_le_bytes());
    common(&mut z);
    z.extend(name.as_bytes());
    z.extend(&extra);
    z.extend(packed);
    let directory = z.len() as u32;
    z.extend(0x0201_4b50u32.to_le_bytes());
    z.extend(45u16.to_le_bytes()); // version made by
    common(&mut z);
    z.extend(0u16.to_le_bytes()); // comment
    z.extend(0u16.to_le_bytes()); // disk
    z.extend(0u16.to_le_bytes()); // internal attributes
    z.extend(0u32.to_le_bytes()); // external attributes
    z.extend(0u32.to_le_bytes()); // local header offset
    z.extend(name.as_bytes());
    z.extend(&extra);
    let directory_len = z.len() as u32 - directory;
    z.extend(0x0605_4b50u32.to_le_bytes());
    z.extend([0u8; 4]); // disks
    z.extend(1u16.to_le_bytes());
    z.extend(1u16.to_le_bytes());
    z.extend(directory_len.to_le_bytes());
    z.extend(directory.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z
}

/// A raw deflate stream of `prefix` then `zeros` zero bytes (a whole number of MiB), built
/// without inflating anything: one MiB of zeros is compressed once and its flushed blocks
/// repeated, so a stream that inflates to gigabytes costs about a thousandth of that.
pub fn deflate_bomb(prefix: &[u8], zeros: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let block = |input: &[u8], flush| {
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(input.len() / 2 + 1024);
        c.compress_vec(input, &mut out, flush).unwrap();
        assert_eq!(c.total_in() as usize, input.len());
        out
    };
    const MIB: u64 = 1 << 20;
    assert_eq!(zeros % MIB, 0);
    let zero_block = block(&vec![0u8; MIB as usize], FlushCompress::Full);
    let mut out = block(prefix, FlushCompress::Full);
    for _ in 0..zeros / MIB {
        out.extend(&zero_block);
    }
    out.extend(block(&[], FlushCompress::Finish));
    out
}

/// CRC-32 (zip's), for fixtures that are read to their end.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(bytes);
    c.sum()
}
