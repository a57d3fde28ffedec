//! Natives of `io.ferrostate.flink.nativ.NativeLibrary`: identity of the loaded library and
//! switches for failure tests.

use crate::{guard, JniError};
use jni::objects::{JClass, JString};
use jni::sys::{jboolean, jlong, jstring, JNI_TRUE};
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
