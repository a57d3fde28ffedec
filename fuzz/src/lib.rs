//! Shared pieces of ferrostate's fuzz targets (`fuzz_targets/`): scratch directories, the JNI
//! crate's codecs compiled from its own sources with readers of them written again from the
//! Java side's description, and a snapshot directory packed into one byte string.

pub mod archive;
pub mod jni_codecs;
pub mod scratch;

/// The error type the JNI crate's codec modules name as `crate::JniError` (see
/// [`jni_codecs`]); only the variant they use.
#[derive(Debug)]
pub enum JniError {
    /// A bad argument.
    Arg(String),
}

/// The result type the JNI crate's codec modules name as `crate::JniResult`.
pub type JniResult<T> = Result<T, JniError>;
