//! Natives of `io.ferrostate.flink.nativ.NativeLibrary`: identity of the loaded library and
//! the write-failure switch of fault drills (`state.backend.ferrostate.debug.fail-writes-file`).

use crate::guard;
use jni::objects::JClass;
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
