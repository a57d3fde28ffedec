//! Errors and panics become Java exceptions here.

use ferrostate_engine::Error as StoreError;
use jni::objects::{GlobalRef, JClass};
use jni::JNIEnv;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

const NATIVE_EXCEPTION: &str = "io/ferrostate/flink/nativ/FerroNativeException";
const CORRUPTION_EXCEPTION: &str = "io/ferrostate/flink/nativ/FerroCorruptionException";

static NATIVE_CLASS: OnceLock<GlobalRef> = OnceLock::new();
static CORRUPTION_CLASS: OnceLock<GlobalRef> = OnceLock::new();

/// Looks the exception classes up once, while the loading class loader is at hand.
pub(crate) fn cache_classes(env: &mut JNIEnv) {
    for (name, cell) in [
        (NATIVE_EXCEPTION, &NATIVE_CLASS),
        (CORRUPTION_EXCEPTION, &CORRUPTION_CLASS),
    ] {
        match env.find_class(name).and_then(|c| env.new_global_ref(c)) {
            Ok(g) => {
                let _ = cell.set(g);
            }
            Err(_) => {
                // Found lazily on the first throw instead.
                let _ = env.exception_clear();
            }
        }
    }
}

/// What a native method can fail with.
#[derive(Debug)]
pub(crate) enum JniError {
    /// The store refused or failed.
    Store(StoreError),
    /// A JNI call failed (a Java exception may be pending).
    Jni(jni::errors::Error),
    /// A handle was used after it was freed.
    Closed(&'static str),
    /// A bad argument from Java.
    Arg(String),
}

impl From<StoreError> for JniError {
    fn from(e: StoreError) -> Self {
        JniError::Store(e)
    }
}

impl From<jni::errors::Error> for JniError {
    fn from(e: jni::errors::Error) -> Self {
        JniError::Jni(e)
    }
}

pub(crate) type JniResult<T> = Result<T, JniError>;

fn panic_message(p: &Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

fn throw_cached(env: &mut JNIEnv, cell: &OnceLock<GlobalRef>, name: &str, msg: &str) {
    let thrown = match cell.get() {
        Some(g) => {
            let class: &JClass = g.as_obj().into();
            env.throw_new(class, msg)
        }
        None => env.throw_new(name, msg),
    };
    if thrown.is_err() {
        // Last resort: some exception must reach Java.
        let _ = env.throw_new("java/lang/RuntimeException", msg);
    }
}

fn throw(env: &mut JNIEnv, what: &str, err: JniError) {
    if env.exception_check().unwrap_or(false) {
        // A Java exception raised inside a JNI call is already on its way.
        return;
    }
    match err {
        JniError::Closed(which) => {
            let _ = env.throw_new(
                "java/lang/IllegalStateException",
                format!("{what}: the {which} is closed"),
            );
        }
        JniError::Arg(m) | JniError::Store(StoreError::InvalidArgument(m)) => {
            let _ = env.throw_new("java/lang/IllegalArgumentException", format!("{what}: {m}"));
        }
        JniError::Store(e @ (StoreError::Corrupt { .. } | StoreError::ChecksumMismatch { .. })) => {
            throw_cached(
                env,
                &CORRUPTION_CLASS,
                CORRUPTION_EXCEPTION,
                &format!("{what}: {e}"),
            );
        }
        JniError::Store(e) => {
            throw_cached(
                env,
                &NATIVE_CLASS,
                NATIVE_EXCEPTION,
                &format!("{what}: {e}"),
            );
        }
        JniError::Jni(e) => {
            throw_cached(
                env,
                &NATIVE_CLASS,
                NATIVE_EXCEPTION,
                &format!("{what}: JNI error: {e}"),
            );
        }
    }
}

/// The value a native method returns when it threw (Java ignores it).
pub(crate) trait Fallback {
    fn fallback() -> Self;
}

macro_rules! fallback {
    ($($t:ty => $v:expr),* $(,)?) => {
        $(impl Fallback for $t {
            #[inline]
            fn fallback() -> Self {
                $v
            }
        })*
    };
}

fallback! {
    () => (),
    i32 => 0,
    i64 => 0,
    u8 => 0,
    jni::sys::jobject => std::ptr::null_mut(),
}

/// Runs `body`; an `Err` or a panic becomes a Java exception and a fallback value is
/// returned (Java ignores the value of a call that threw).
#[inline]
pub(crate) fn guard<'local, R: Fallback>(
    env: &mut JNIEnv<'local>,
    what: &str,
    body: impl FnOnce(&mut JNIEnv<'local>) -> JniResult<R>,
) -> R {
    match catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            throw(env, what, e);
            R::fallback()
        }
        Err(p) => {
            let msg = format!("{what}: native panic: {}", panic_message(&p));
            throw_cached(env, &NATIVE_CLASS, NATIVE_EXCEPTION, &msg);
            R::fallback()
        }
    }
}
