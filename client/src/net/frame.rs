//! Size-prefixed framing: every Kafka request and response is an int32
//! big-endian length followed by that many bytes.
//!
//! Reading never trusts the length: the buffer grows as bytes arrive
//! (`READ_CHUNK` at a time, at most doubling), so a peer that declares
//! 90 MiB and sends 1 KiB costs about 1 KiB.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

pub use crate::limits::DEFAULT_MAX_FRAME_SIZE;
use crate::limits::READ_CHUNK;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {size} bytes exceeds the maximum frame size {max}")]
    TooLarge { size: i64, max: usize },
    #[error("negative frame size {0}")]
    Negative(i32),
    #[error("connection ended inside a frame ({read} of {expected} bytes read)")]
    Truncated { read: usize, expected: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads a size prefix and checks it against `max`. `Ok(None)`: the peer
/// closed cleanly between frames. A prefix cut short is
/// `Truncated { expected: 4 }`.
pub async fn read_size<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<usize>, FrameError> {
    read_size_with(r, max, |_| {}).await
}

/// [`read_size`], telling `progress` how many prefix bytes have arrived.
pub async fn read_size_with<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
    mut progress: impl FnMut(usize),
) -> Result<Option<usize>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(FrameError::Truncated {
                read: got,
                expected: 4,
            });
        }
        got += n;
        progress(got);
    }
    let size = i32::from_be_bytes(len);
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    let size = size as usize;
    if size > max {
        return Err(FrameError::TooLarge {
            size: size as i64,
            max,
        });
    }
    Ok(Some(size))
}

/// Appends bytes to `buf` until it holds `want`, growing it only as bytes
/// arrive; `progress` sees the length after each read. An end of stream
/// first is `UnexpectedEof` (the bytes read so far stay in `buf`).
pub async fn read_to_len<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    want: usize,
    mut progress: impl FnMut(usize),
) -> std::io::Result<()> {
    while buf.len() < want {
        if buf.capacity() == buf.len() {
            // Doubling, capped by what is still missing: at most twice
            // what arrived, plus one chunk.
            buf.reserve((want - buf.len()).min(buf.len().max(READ_CHUNK)));
        }
        let missing = (want - buf.len()) as u64;
        let n = (&mut *r).take(missing).read_buf(buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        progress(buf.len());
    }
    Ok(())
}

/// Reads and drops `n` bytes through a small fixed buffer.
pub async fn discard<R: AsyncRead + Unpin>(r: &mut R, mut n: usize) -> std::io::Result<()> {
    let mut sink = [0u8; 4096];
    while n > 0 {
        let want = n.min(sink.len());
        let got = r.read(&mut sink[..want]).await?;
        if got == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        n -= got;
    }
    Ok(())
}

/// Reads one frame's payload. `Ok(None)`: the peer closed cleanly between
/// frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
    let Some(size) = read_size(r, max).await? else {
        return Ok(None);
    };
    let mut buf = BytesMut::new();
    match read_to_len(r, &mut buf, size, |_| {}).await {
        Ok(()) => Ok(Some(buf.freeze())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated {
            read: buf.len(),
            expected: size,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Starts a frame: reserves the 4-byte size prefix, patched by
/// [`finish_frame`].
pub fn start_frame(capacity: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(capacity + 4);
    b.put_i32(0);
    b
}

/// Patches the size prefix; fails when the payload exceeds `max`.
pub fn finish_frame(mut b: BytesMut, max: usize) -> Result<Bytes, FrameError> {
    let size = b.len().saturating_sub(4);
    if size > max || size > i32::MAX as usize {
        return Err(FrameError::TooLarge {
            size: size as i64,
            max,
        });
    }
    b[..4].copy_from_slice(&(size as i32).to_be_bytes());
    Ok(b.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn round_trip_and_clean_eof() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let mut f = start_frame(3);
        f.extend_from_slice(b"abc");
        let f = finish_frame(f, 10).unwrap();
        assert_eq!(&f[..], b"\0\0\0\x03abc");
        a.write_all(&f).await.unwrap();
        a.write_all(&f).await.unwrap();
        drop(a);
        assert_eq!(
            read_frame(&mut b, 10).await.unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert_eq!(
            read_frame(&mut b, 10).await.unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert!(read_frame(&mut b, 10).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn too_large_negative_truncated() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&11i32.to_be_bytes()).await.unwrap();
        assert!(matches!(
            read_frame(&mut b, 10).await,
            Err(FrameError::TooLarge { size: 11, max: 10 })
        ));
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&(-2i32).to_be_bytes()).await.unwrap();
        assert!(matches!(
            read_frame(&mut b, 10).await,
            Err(FrameError::Negative(-2))
        ));
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0, 0, 5, 1, 2]).await.unwrap();
        drop(a);
        assert!(matches!(
            read_frame(&mut b, 10).await,
            Err(FrameError::Truncated {
                read: 2,
                expected: 5
            })
        ));
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0]).await.unwrap();
        drop(a);
        assert!(matches!(
            read_frame(&mut b, 10).await,
            Err(FrameError::Truncated {
                read: 2,
                expected: 4
            })
        ));
        let mut f = start_frame(0);
        f.extend_from_slice(&[0; 11]);
        assert!(finish_frame(f, 10).is_err());
    }

    #[tokio::test]
    async fn buffer_grows_with_what_arrives_not_with_the_declared_size() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&(90i32 << 20).to_be_bytes()).await.unwrap();
        a.write_all(&[7; 1000]).await.unwrap();
        drop(a);
        let size = read_size(&mut b, 100 << 20).await.unwrap().unwrap();
        assert_eq!(size, 90 << 20);
        let mut buf = BytesMut::new();
        let mut seen = 0;
        let e = read_to_len(&mut b, &mut buf, size, |n| seen = n)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!((buf.len(), seen), (1000, 1000));
        assert!(buf.capacity() <= 2 * READ_CHUNK, "{}", buf.capacity());
    }

    #[tokio::test]
    async fn discard_reads_exactly_n() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let w = tokio::spawn(async move {
            a.write_all(&[1; 10_000]).await.unwrap();
            a.write_all(b"next").await.unwrap();
        });
        discard(&mut b, 10_000).await.unwrap();
        let mut rest = vec![];
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"next");
        w.await.unwrap();
    }
}
