//! A byte buffer that never grows past a limit.
//!
//! `Vec`/`BytesMut` double their capacity when full, so a buffer checked only after
//! each append can reserve up to twice its limit (2 GiB under the default
//! DOWNLOAD_MAXSIZE of 1 GiB) before the check fires. [`BoundedBuf`] refuses the chunk
//! that would pass the limit before copying it, and grows its capacity by doubling only
//! up to the limit.

use bytes::Bytes;

/// The smallest capacity a growing buffer jumps to.
const MIN_GROWTH: usize = 8 * 1024;

/// A growable buffer of at most `max` bytes (`0` = unlimited).
#[derive(Debug, Default)]
pub struct BoundedBuf {
    buf: Vec<u8>,
    max: usize,
}

/// The chunk that would have taken a [`BoundedBuf`] past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{received} bytes exceed the limit of {max} bytes")]
pub struct Overflow {
    /// The size the buffer would have reached.
    pub received: u64,
    /// The limit.
    pub max: u64,
}

impl BoundedBuf {
    /// An empty buffer for at most `max` bytes (`0` = unlimited), with room for
    /// `expected` bytes (at most 1 MiB and at most `max` reserved up front).
    pub fn new(max: u64, expected: u64) -> Self {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let mut initial = usize::try_from(expected.min(1 << 20)).unwrap_or(1 << 20);
        if max > 0 {
            initial = initial.min(max);
        }
        BoundedBuf {
            buf: Vec::with_capacity(initial),
            max,
        }
    }

    /// Appends `chunk`, or leaves the buffer as it is and reports the overflow when it
    /// would pass the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Overflow> {
        let needed = self.buf.len().saturating_add(chunk.len());
        if self.max > 0 && needed > self.max {
            return Err(Overflow {
                received: needed as u64,
                max: self.max as u64,
            });
        }
        if needed > self.buf.capacity() {
            let mut target = self
                .buf
                .capacity()
                .saturating_mul(2)
                .max(needed)
                .max(MIN_GROWTH);
            if self.max > 0 {
                target = target.min(self.max);
            }
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The capacity reserved so far (never above the limit).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The bytes, as a `Vec`.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes, as `Bytes`.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_never_passes_the_limit() {
        let max = 1_000_000u64;
        let mut b = BoundedBuf::new(max, 0);
        let chunk = vec![7u8; 3000];
        let mut pushed = 0u64;
        loop {
            match b.push(&chunk) {
                Ok(()) => pushed += chunk.len() as u64,
                Err(o) => {
                    assert_eq!(o.received, pushed + 3000);
                    assert!(o.received > max);
                    break;
                }
            }
            assert!(b.capacity() as u64 <= max, "capacity {}", b.capacity());
        }
        assert_eq!(b.len() as u64, pushed);
        assert!(pushed <= max && pushed + 3000 > max);
    }

    #[test]
    fn exactly_the_limit_fits_and_unlimited_grows() {
        let mut b = BoundedBuf::new(10, 100);
        assert!(b.push(b"0123456789").is_ok());
        assert_eq!(b.push(b"x").unwrap_err().received, 11);
        assert_eq!(b.into_bytes(), Bytes::from_static(b"0123456789"));
        let mut u = BoundedBuf::new(0, 0);
        for _ in 0..1000 {
            u.push(&[1; 1000]).unwrap();
        }
        assert_eq!(u.len(), 1_000_000);
    }
}
