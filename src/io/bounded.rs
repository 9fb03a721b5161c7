//! Opening a path for reading without trusting it: what the path is (from `stat`, before
//! opening it) and how much it may hold. Configs, WGSL kernels and data files all come through
//! here.
//!
//! It must not open a path before knowing what it is (opening a named pipe waits for a writer,
//! in the kernel, where Ctrl-C and SIGTERM do not reach), trust a size that a file or its
//! metadata declares (`/dev/zero` reads as 0 bytes long and never ends), or let a read or an
//! allocation grow past its [`Limit`]: every read stops one byte past the limit, and every
//! buffer is reserved fallibly, so that a hostile file is an error naming it and the size,
//! never an abort.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Result};
use crate::limits;

/// The environment variable that sets [`Limit::data`]'s ceiling.
pub const MAX_DATA_BYTES_VAR: &str = "NETDX_MAX_DATA_BYTES";

/// The most bytes one kind of read may hold, and how to say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// Completes "N bytes …": `is larger than a config can be`.
    pub phrase: &'static str,
    /// Appended after the limit: what the user can do.
    pub hint: &'static str,
}

impl Limit {
    /// A config or suite file.
    pub const CONFIG: Limit = Limit {
        bytes: limits::MAX_CONFIG_BYTES,
        phrase: "is larger than a config can be",
        hint: "; is this the config file?",
    };

    /// A WGSL kernel file.
    pub const KERNEL: Limit = Limit {
        bytes: limits::MAX_CONFIG_BYTES,
        phrase: "is larger than a WGSL kernel file can be",
        hint: "",
    };

    /// A text file read as sequence data.
    pub const TEXT: Limit = Limit {
        bytes: limits::MAX_TEXT_BYTES,
        phrase: "is more text than netdx reads",
        hint: "",
    };

    /// What netdx allocates for one data file or one array in it (as stored, inflated, or
    /// widened to f32): `NETDX_MAX_DATA_BYTES` (bytes, or with a K, M, G or T suffix for
    /// powers of 1024), by default [`limits::MAX_DATA_BYTES`].
    pub fn data() -> Result<Limit> {
        let bytes = match std::env::var(MAX_DATA_BYTES_VAR) {
            Ok(v) => parse_bytes(&v).ok_or_else(|| {
                Error::Usage(format!(
                    "{MAX_DATA_BYTES_VAR}=`{v}` is not a number of bytes (e.g. 4294967296 or 4G)"
                ))
            })?,
            Err(_) => limits::MAX_DATA_BYTES,
        };
        Ok(Limit {
            bytes,
            phrase: "is more than netdx reads from one data file",
            hint: "; NETDX_MAX_DATA_BYTES sets this ceiling",
        })
    }

    /// "`what` of N bytes is more than …": a size some header declares, over this limit.
    pub fn refuse(&self, what: &str) -> String {
        format!("{what} {} ({} bytes{})", self.phrase, self.bytes, self.hint)
    }
}

/// `4096`, `64K`, `1G`, `2T` (powers of 1024); `None` when not a positive size.
fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 10),
        (i, 'm' | 'M') => (&t[..i], 20),
        (i, 'g' | 'G') => (&t[..i], 30),
        (i, 't' | 'T') => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(1u64 << shift).filter(|&b| b > 0)
}

/// Why a path cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("symbolic link loop (too many levels of symbolic links)")]
    LinkLoop,
    #[error("is a directory, not a file")]
    Directory,
    #[error("is a named pipe (FIFO), not a file; netdx reads a pipe only when it is given as `-` or /dev/fd/N (process substitution), since opening one waits for a writer")]
    Fifo,
    #[error("is a character device, not a file")]
    CharDevice,
    #[error("is a block device, not a file")]
    BlockDevice,
    #[error("is a socket, not a file")]
    Socket,
    /// More than the limit: `size` when known (a regular file), else at least limit + 1.
    #[error("{} bytes {} ({} bytes{})", size.map_or_else(|| format!("more than {}", limit.bytes), |s| s.to_string()), limit.phrase, limit.bytes, limit.hint)]
    TooLarge { size: Option<u64>, limit: Limit },
    /// The allocator refused a buffer (a process memory limit, say).
    #[error("cannot allocate {bytes} bytes to read it")]
    Alloc { bytes: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Whether `path` names a stream the user passed on purpose: `-` (standard input), or a
/// descriptor by number (`/dev/stdin`, `/dev/fd/N`, `/proc/self/fd/N`, as shell process
/// substitution `<(…)` gives). These are read as streams, with a bound.
fn on_purpose(path: &Path) -> bool {
    if path.as_os_str() == OsStr::new("-") || path == Path::new("/dev/stdin") {
        return true;
    }
    let Some(n) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    let numbered = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    numbered
        && (path.parent() == Some(Path::new("/dev/fd"))
            || path.parent() == Some(Path::new("/proc/self/fd")))
}

/// A path opened for reading.
pub enum Opened {
    /// A regular file and its size now (it may still change while it is read).
    File { file: File, size: u64 },
    /// A pipe or device the user passed on purpose: no size.
    Stream(Box<dyn Read>),
}

/// What `meta` is, refused unless a regular file or (for `stream_ok`) a stream.
fn classify(meta: &std::fs::Metadata, stream_ok: bool) -> std::result::Result<(), Refused> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    if t.is_dir() {
        return Err(Refused::Directory);
    }
    if stream_ok {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Err(Refused::Fifo);
        }
        if t.is_char_device() {
            return Err(Refused::CharDevice);
        }
        if t.is_block_device() {
            return Err(Refused::BlockDevice);
        }
        if t.is_socket() {
            return Err(Refused::Socket);
        }
    }
    Err(Refused::Io(io::Error::other("is not a regular file")))
}

/// The error of a `stat` or `open`, with a symbolic link loop said as such.
fn os_error(e: io::Error) -> Refused {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return Refused::LinkLoop;
    }
    Refused::Io(e)
}

/// Opens `path` for reading after finding out what it is: a regular file, or standard input or
/// a `/dev/fd/N` stream given on purpose; anything else (a directory, a named pipe, a device, a
/// socket) is refused without opening it.
pub fn open(path: &Path) -> std::result::Result<Opened, Refused> {
    if path.as_os_str() == OsStr::new("-") {
        return Ok(Opened::Stream(Box::new(io::stdin())));
    }
    let stream_ok = on_purpose(path);
    let meta = std::fs::metadata(path).map_err(os_error)?;
    classify(&meta, stream_ok)?;
    // Between the stat and the open the path may have been replaced by a pipe: open without
    // waiting for a writer, then check what was opened.
    let file = open_nonblocking(path).map_err(os_error)?;
    let meta = file.metadata()?;
    classify(&meta, stream_ok)?;
    if meta.is_file() {
        Ok(Opened::File {
            size: meta.len(),
            file,
        })
    } else {
        Ok(Opened::Stream(Box::new(file)))
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // Reads block again as usual (a pipe given on purpose is waited for).
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns, with flags it read from it.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// The marker inside the `io::Error` that [`Bounded`] returns past its limit.
#[derive(Debug)]
struct Exceeded;

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("more bytes than the limit")
    }
}

impl std::error::Error for Exceeded {}

/// Whether `e` is [`Bounded`]'s "past the limit".
pub fn is_exceeded(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<Exceeded>())
}

/// A reader that gives at most `limit` bytes of `inner`, and then an error (see
/// [`is_exceeded`]) if `inner` has more: a limit is never silently a truncation.
pub struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded { inner, left: limit }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(Exceeded)),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// At most this much is reserved before the bytes arrive: a size a header declares is a hint,
/// not a promise.
const FIRST_RESERVE: u64 = 1 << 26;

/// Everything `reader` gives, refused past `limit` (reading at most `limit.bytes + 1` bytes).
/// The buffer starts at `expect` (a size hint, capped by the limit and [`FIRST_RESERVE`]),
/// doubles as bytes arrive, and is reserved fallibly.
pub fn read_all(
    reader: impl Read,
    limit: &Limit,
    expect: u64,
) -> std::result::Result<Vec<u8>, Refused> {
    let mut reader = reader.take(limit.bytes.saturating_add(1));
    let mut out: Vec<u8> = Vec::new();
    let mut want = expect
        .min(limit.bytes)
        .min(FIRST_RESERVE)
        .saturating_add(1)
        .max(8192);
    loop {
        if out.len() as u64 == out.capacity() as u64 {
            let grow = want.saturating_sub(out.len() as u64).max(8192);
            let grow = usize::try_from(grow).map_err(|_| Refused::Alloc { bytes: want })?;
            out.try_reserve_exact(grow)
                .map_err(|_| Refused::Alloc { bytes: want })?;
            want = want.saturating_mul(2).min(limit.bytes.saturating_add(1));
        }
        // Zero (and so touch) at most a chunk ahead of what has arrived.
        let len = out.len();
        out.resize(out.capacity().min(len + (1 << 20)), 0);
        match reader.read(&mut out[len..]) {
            Ok(0) => {
                out.truncate(len);
                break;
            }
            Ok(n) => out.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => out.truncate(len),
            Err(e) => return Err(Refused::Io(e)),
        }
    }
    if out.len() as u64 > limit.bytes {
        return Err(Refused::TooLarge {
            size: None,
            limit: *limit,
        });
    }
    Ok(out)
}

/// The whole of `path`, refused past `limit`: a regular file's size is checked first, and the
/// read is bounded whatever the size said (a file may grow, a device reads as empty).
pub fn read(path: &Path, limit: &Limit) -> std::result::Result<Vec<u8>, Refused> {
    match open(path)? {
        Opened::File { file, size } => {
            if size > limit.bytes {
                return Err(Refused::TooLarge {
                    size: Some(size),
                    limit: *limit,
                });
            }
            read_all(file, limit, size)
        }
        Opened::Stream(s) => read_all(s, limit, 0),
    }
}

/// A file's bytes: mapped for a regular file (no copy, whatever its size), read into memory
/// for a stream.
pub enum Contents {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Contents {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Contents::Mapped(m) => m,
            Contents::Read(v) => v,
        }
    }
}

impl AsRef<[u8]> for Contents {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// `path` mapped (a regular file) or read with `limit` (a stream given on purpose).
pub fn map(path: &Path, limit: &Limit) -> std::result::Result<Contents, Refused> {
    match open(path)? {
        Opened::File { file, size } => {
            if size == 0 {
                // An empty file cannot be mapped on every platform; it holds nothing anyway.
                return Ok(Contents::Read(Vec::new()));
            }
            // SAFETY: the map is read-only and private to this process; a file truncated by
            // another process while it is mapped is the one case memmap2 cannot guard
            // against, as for any reader of files that others modify.
            Ok(Contents::Mapped(unsafe { memmap2::Mmap::map(&file) }?))
        }
        Opened::Stream(s) => Ok(Contents::Read(read_all(s, limit, 0)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limit = Limit {
        bytes: 10,
        phrase: "is too much",
        hint: "",
    };

    #[test]
    fn a_bounded_reader_errors_one_byte_past_its_limit() {
        let mut out = Vec::new();
        let e = Bounded::new(&[7u8; 11][..], 10)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(is_exceeded(&e));
        let mut out = Vec::new();
        Bounded::new(&[7u8; 10][..], 10)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn read_all_refuses_past_the_limit_and_keeps_what_fits() {
        assert_eq!(read_all(&[1u8; 10][..], &SMALL, 1 << 40).unwrap().len(), 10);
        let e = read_all(io::repeat(0), &SMALL, 0).unwrap_err();
        assert_eq!(e.to_string(), "more than 10 bytes is too much (10 bytes)");
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("64K"), Some(64 << 10));
        assert_eq!(parse_bytes(" 2g "), Some(2 << 30));
        assert_eq!(parse_bytes("1T"), Some(1 << 40));
        for bad in ["", "0", "-1", "G", "1.5G", "99999999999T", "4 GiB"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn descriptors_by_number_are_streams_on_purpose() {
        for p in ["-", "/dev/stdin", "/dev/fd/63", "/proc/self/fd/0"] {
            assert!(on_purpose(Path::new(p)), "{p}");
        }
        for p in ["/dev/zero", "/dev/fd/", "/dev/fd/x", "fd/3", "/tmp/fifo"] {
            assert!(!on_purpose(Path::new(p)), "{p}");
        }
    }
}
