//! A byte string that keeps short contents inline.
//!
//! Keys of Flink state are short (key group + a serialized key + a namespace, usually 10-20
//! bytes) and so are many values (a `Long` is 8 bytes, 16 with a TTL timestamp). Keeping them
//! inline in the hot tier's slots saves a pointer chase and an allocation per entry, which is
//! what decides the speed of a lookup (see DESIGN.md: 59 ns inline against 140-190 ns boxed).

use std::fmt;

/// Bytes stored inline up to this length; longer contents go to the heap.
pub const INLINE_CAP: usize = 22;

/// A byte string of any length, inline when it is at most [`INLINE_CAP`] bytes (24 bytes in all).
///
/// Heap contents keep spare capacity when they grow by appending (list state), so a list
/// that grows one element at a time costs amortized constant time per element.
#[derive(Clone)]
pub enum IBytes {
    /// Short contents, stored in the value itself.
    Inline {
        /// Bytes used.
        len: u8,
        /// The contents, in the first `len` bytes.
        buf: [u8; INLINE_CAP],
    },
    /// Long contents: the first `len` bytes of `buf` (whose length is the capacity).
    Heap {
        /// Bytes used.
        len: u32,
        /// The contents, in the first `len` bytes.
        buf: Box<[u8]>,
    },
}

impl IBytes {
    /// The empty byte string.
    pub const EMPTY: IBytes = IBytes::Inline {
        len: 0,
        buf: [0; INLINE_CAP],
    };

    /// Copies `bytes`.
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> IBytes {
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            IBytes::Inline {
                len: bytes.len() as u8,
                buf,
            }
        } else {
            IBytes::Heap {
                len: bytes.len() as u32,
                buf: bytes.into(),
            }
        }
    }

    /// Takes ownership of `bytes` (no copy when they go to the heap).
    pub fn from_vec(bytes: Vec<u8>) -> IBytes {
        if bytes.len() <= INLINE_CAP {
            IBytes::from_slice(&bytes)
        } else {
            IBytes::Heap {
                len: bytes.len() as u32,
                buf: bytes.into_boxed_slice(),
            }
        }
    }

    /// The contents.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            IBytes::Inline { len, buf } => &buf[..*len as usize],
            IBytes::Heap { len, buf } => &buf[..*len as usize],
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            IBytes::Inline { len, .. } => *len as usize,
            IBytes::Heap { len, .. } => *len as usize,
        }
    }

    /// True when there are no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held on the heap, beyond the value itself: what the allocator gives a block of the
    /// capacity ([`crate::alloc::size_class`]), which is what the memory budget is charged.
    #[inline]
    pub fn heap_bytes(&self) -> usize {
        match self {
            IBytes::Inline { .. } => 0,
            IBytes::Heap { buf, .. } => crate::alloc::size_class(buf.len()),
        }
    }

    /// Bytes of heap capacity (0 when inline).
    #[inline]
    fn capacity(&self) -> usize {
        match self {
            IBytes::Inline { .. } => 0,
            IBytes::Heap { buf, .. } => buf.len(),
        }
    }

    /// Replaces the contents with a copy of `bytes`, reusing the space held when it fits and
    /// is not more than twice what is needed.
    #[inline]
    pub fn assign(&mut self, bytes: &[u8]) {
        if let IBytes::Heap { len, buf } = self {
            if bytes.len() > INLINE_CAP && bytes.len() <= buf.len() && buf.len() <= 2 * bytes.len()
            {
                buf[..bytes.len()].copy_from_slice(bytes);
                *len = bytes.len() as u32;
                return;
            }
        }
        *self = IBytes::from_slice(bytes);
    }

    /// Appends `more` to the contents, doubling the heap capacity when it runs out.
    pub fn extend_from_slice(&mut self, more: &[u8]) {
        if more.is_empty() {
            return;
        }
        let old = self.len();
        let total = old + more.len();
        match self {
            IBytes::Inline { len, buf } if total <= INLINE_CAP => {
                buf[old..total].copy_from_slice(more);
                *len = total as u8;
            }
            IBytes::Heap { len, buf } if total <= buf.len() => {
                buf[old..total].copy_from_slice(more);
                *len = total as u32;
            }
            _ => {
                let capacity = total.max(2 * self.capacity()).max(2 * INLINE_CAP);
                let mut v = Vec::with_capacity(capacity);
                v.extend_from_slice(self.as_slice());
                v.extend_from_slice(more);
                v.resize(capacity, 0);
                *self = IBytes::Heap {
                    len: total as u32,
                    buf: v.into_boxed_slice(),
                };
            }
        }
    }
}

impl Default for IBytes {
    fn default() -> Self {
        IBytes::EMPTY
    }
}

impl PartialEq for IBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for IBytes {}

impl fmt::Debug for IBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IBytes({:02x?})", self.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_three_words() {
        assert_eq!(std::mem::size_of::<IBytes>(), 24);
    }

    #[test]
    fn inline_and_heap_round_trip() {
        for n in [0usize, 1, 21, 22, 23, 1000] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let b = IBytes::from_slice(&data);
            assert_eq!(b.as_slice(), &data[..]);
            assert_eq!(b.len(), n);
            let charged = if n > INLINE_CAP {
                crate::alloc::size_class(n)
            } else {
                0
            };
            assert_eq!(b.heap_bytes(), charged);
            let mut grown = IBytes::EMPTY;
            for chunk in data.chunks(7) {
                grown.extend_from_slice(chunk);
            }
            assert_eq!(grown.as_slice(), &data[..]);
            assert!(grown.capacity() <= 2 * n.max(2 * INLINE_CAP));
            assert_eq!(IBytes::from_vec(data.clone()), b);
        }
    }

    #[test]
    fn extend_crosses_to_heap() {
        let mut b = IBytes::from_slice(b"0123456789");
        b.extend_from_slice(b"abcdefghij");
        assert!(matches!(b, IBytes::Inline { .. }));
        b.extend_from_slice(b"KLMNOP");
        assert!(matches!(b, IBytes::Heap { .. }));
        assert_eq!(b.as_slice(), b"0123456789abcdefghijKLMNOP");
        b.assign(b"x");
        assert_eq!(b.as_slice(), b"x");
    }
}
