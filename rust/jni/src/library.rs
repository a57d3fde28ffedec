//! Natives of `io.ferrostate.flink.nativ.NativeLibrary`: identity of the loaded library and
//! switches for failure tests.

use crate::{guard, JniError};
use jni::objects::{JByteBuffer, JClass, JString};
use jni::sys::{jboolean, jint, jlong, jstring, JNI_TRUE};
use jni::JNIEnv;

/// Address of a static of this library copy: two class loaders that each loaded their own
/// copy see different values.
static IDENTITY: u8 = 0;

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_identity<'l>(
    _env: JNIEnv<'l>,
    _c: JClass<'l>,
) -> jlong {
    &IDENTITY as *const u8 as jlong
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_version<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
) -> jstring {
    guard(&mut env, "version", |env| {
        Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_setFailWrites<'l>(
    _env: JNIEnv<'l>,
    _c: JClass<'l>,
    on: jboolean,
) {
    ferrostate_engine::fault::set_fail_writes(on == JNI_TRUE);
}

/// Panics inside a guarded call, to prove that a panic becomes a Java exception.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_panicForTest<'l>(
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
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_noop<'l>(
    _env: JNIEnv<'l>,
    _c: JClass<'l>,
) {
}

/// A registered direct buffer for [`touch`]; the handle is a `Box<Buffer>`.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_registerTouchBuffer<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    buffer: JByteBuffer<'l>,
) -> jlong {
    guard(&mut env, "register touch buffer", |env| {
        let b = crate::store::Buffer::register(env, &buffer)?;
        Ok(Box::into_raw(Box::new(b)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_freeTouchBuffer<'l>(
    _env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    if h != 0 {
        // SAFETY: handles come from `registerTouchBuffer` and Java frees each once.
        drop(unsafe { Box::from_raw(h as *mut crate::store::Buffer) });
    }
}

/// The floor of a state access: reads `len` bytes of a registered buffer and writes their
/// checksum back into its first 8 bytes, as a lookup reads a key and writes a value.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeLibrary_touch<'l>(
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
        let b = unsafe { &*(h as *const crate::store::Buffer) };
        let sum = b
            .slice(len)?
            .iter()
            .fold(0u64, |a, x| a.rotate_left(5) ^ *x as u64);
        b.write(&sum.to_be_bytes());
        Ok(8)
    })
}
