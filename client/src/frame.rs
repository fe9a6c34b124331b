//! Size-prefixed framing: every Kafka request and response is an int32
//! big-endian length followed by that many bytes.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Kafka's own default for `socket.request.max.bytes` (100 MiB); responses
/// (Fetch) are bounded by the request's max bytes, so the same limit is a
/// sane default on the read side.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

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

/// Reads one frame's payload. `Ok(None)`: the peer closed cleanly between
/// frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
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
    let mut buf = BytesMut::zeroed(size);
    let mut read = 0;
    while read < size {
        let n = r.read(&mut buf[read..]).await?;
        if n == 0 {
            return Err(FrameError::Truncated {
                read,
                expected: size,
            });
        }
        read += n;
    }
    Ok(Some(buf.freeze()))
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
}
