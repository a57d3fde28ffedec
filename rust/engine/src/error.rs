//! Typed errors of the store. The JNI layer turns each kind into a Java exception.

use std::path::PathBuf;

/// Everything the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RocksDB refused an operation.
    #[error("RocksDB error: {0}")]
    Rocks(#[from] rocksdb::Error),

    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// Stored data (a snapshot file, a manifest, a value) is not what it must be.
    #[error("corrupt data in {what}: {detail}")]
    Corrupt {
        /// What holds the bad data.
        what: String,
        /// What is wrong with it.
        detail: String,
    },

    /// A file of a snapshot does not match the checksum its manifest records.
    #[error("checksum mismatch in {file}: manifest says crc32c {expected:08x} and {expected_len} bytes, file has crc32c {actual:08x} and {actual_len} bytes")]
    ChecksumMismatch {
        /// The damaged file.
        file: PathBuf,
        /// The CRC-32C the manifest records.
        expected: u32,
        /// The CRC-32C of the file as it is.
        actual: u32,
        /// The length the manifest records.
        expected_len: u64,
        /// The length of the file as it is.
        actual_len: u64,
    },

    /// A state id that the store never registered.
    #[error("unknown state id {0}")]
    UnknownState(u32),

    /// An argument from the caller is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A fault injected on purpose (tests of failure handling).
    #[error("injected fault: {0}")]
    Injected(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A corruption error.
    pub fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, Error>;
