//! Natives of `io.ferrostate.flink.nativ.NativeHooks`, a class of the shim's *test* sources:
//! hooks for failure tests and benchmarks. Built only with the `test-hooks` feature, which the
//! library packed into the released jar does not have (`java/build-native.sh` packs a library
//! with hooks into the test classes only).

use crate::store::{checked_len, with_store, Buffer};
use crate::{guard, JniError};
use jni::objects::{JByteBuffer, JClass, JString};
use jni::sys::{jint, jlong};
use jni::JNIEnv;

/// Panics inside a guarded call, to prove that a panic becomes a Java exception.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeHooks_panicForTest<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    message: JString<'l>,
) {
    guard(&mut env, "panic test", |env| {
        let m: String = env.get_string(&message)?.into();
        if m.is_empty() {
            return Err(JniError::Arg("empty message".into()));
        }
        panic!("{m}");
    })
}

/// The floor of a native call: does nothing (benchmarks).
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeHooks_noop<'l>(
    _env: JNIEnv<'l>,
    _c: JClass<'l>,
) {
}

/// A registered direct buffer for [`touch`]; the handle is a `Box<Buffer>`.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeHooks_registerTouchBuffer<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    buffer: JByteBuffer<'l>,
) -> jlong {
    guard(&mut env, "register touch buffer", |env| {
        let b = Buffer::register(env, &buffer)?;
        Ok(Box::into_raw(Box::new(b)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeHooks_freeTouchBuffer<'l>(
    _env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    if h != 0 {
        // SAFETY: handles come from `registerTouchBuffer` and Java frees each once.
        drop(unsafe { Box::from_raw(h as *mut Buffer) });
    }
}

/// The floor of a state access: reads `len` bytes of a registered buffer and writes their
/// checksum back into its first 8 bytes, as a lookup reads a key and writes a value.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeHooks_touch<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    len: jint,
) -> jint {
    guard(&mut env, "touch buffer", |_| {
        if h == 0 {
            return Err(JniError::Closed("touch buffer"));
        }
        // SAFETY: see `freeTouchBuffer`.
        let b = unsafe { &*(h as *const Buffer) };
        let sum = b
            .slice(len)?
            .iter()
            .fold(0u64, |a, x| a.rotate_left(5) ^ *x as u64);
        b.write(&sum.to_be_bytes());
        Ok(8)
    })
}

/// The Rust-only floor of a state access (benchmarks): `count` lookups of the keys laid back
/// to back in `keys` (each `key_len` bytes), in one native call; returns the sum of the value
/// lengths found.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeHooks_benchGetLoop<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    keys: JByteBuffer<'l>,
    key_len: jint,
    count: jint,
) -> jlong {
    guard(&mut env, "benchmark lookups", |env| {
        let keys = Buffer::register(env, &keys)?;
        let kl = checked_len(key_len, keys.capacity())?;
        let n = count.max(0) as usize;
        if kl == 0
            || n.checked_mul(kl)
                .is_none_or(|total| total > keys.capacity())
        {
            return Err(JniError::Arg("keys do not fit the buffer".into()));
        }
        let all = keys.slice((n * kl) as jint)?;
        with_store(h, |s| {
            let mut sum = 0i64;
            for key in all.chunks_exact(kl) {
                if let Some(len) = s.store.get(state as u32, key, |v| v.len())? {
                    sum += len as i64;
                }
            }
            Ok(sum)
        })
    })
}
