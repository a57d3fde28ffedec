//! Errors and panics become Java exceptions here.

use ferrostate_engine::Error as StoreError;
use jni::objects::{JClass, WeakRef};
use jni::JNIEnv;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

const NATIVE_EXCEPTION: &str = "io/ferrostate/flink/nativ/FerroNativeException";
const CORRUPTION_EXCEPTION: &str = "io/ferrostate/flink/nativ/FerroCorruptionException";

/// The exception classes of the class loader that loaded this library copy, held weakly: a
/// JNI global reference is a GC root, and one to a class pins its class loader, so a job's
/// class loader that loaded ferrostate (a job jar with ferrostate inside) could never be
/// collected, and every job submission would leak its whole class loader. The library itself
/// stays mapped (`-z nodelete`); when a later class loader loads this same copy again,
/// `JNI_OnLoad` replaces the entries.
static NATIVE_CLASS: Mutex<Option<WeakRef>> = Mutex::new(None);
static CORRUPTION_CLASS: Mutex<Option<WeakRef>> = Mutex::new(None);

/// Looks the exception classes up once per load, while the loading class loader is at hand.
pub(crate) fn cache_classes(env: &mut JNIEnv) {
    for (name, cell) in [
        (NATIVE_EXCEPTION, &NATIVE_CLASS),
        (CORRUPTION_EXCEPTION, &CORRUPTION_CLASS),
    ] {
        let weak = match env.find_class(name).and_then(|c| env.new_weak_ref(c)) {
            Ok(w) => w,
            Err(_) => {
                // Found by name on the first throw instead.
                let _ = env.exception_clear();
                None
            }
        };
        let old = std::mem::replace(&mut *cell.lock().unwrap_or_else(|e| e.into_inner()), weak);
        drop(old);
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

fn throw_cached(env: &mut JNIEnv, cell: &Mutex<Option<WeakRef>>, name: &str, msg: &str) {
    let cached = cell
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|w| w.upgrade_local(env).ok().flatten());
    let thrown = match cached {
        Some(c) => {
            let class: JClass = c.into();
            env.throw_new(&class, msg)
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
