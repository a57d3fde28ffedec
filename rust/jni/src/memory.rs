//! Natives of `io.ferrostate.flink.nativ.NativeMemory`: the budget shared by the stores of
//! one slot. A handle is a `Box<Arc<SharedMemory>>`; stores hold their own `Arc`, so the
//! Java owner may free its handle while stores still use the memory.

use crate::results;
use crate::store::long_array;
use crate::{guard, JniError, JniResult};
use ferrostate_engine::memory::SharedMemory;
use jni::objects::JClass;
use jni::sys::{jdouble, jlong, jlongArray};
use jni::JNIEnv;
use std::sync::Arc;

pub(crate) fn shared(h: jlong) -> JniResult<Arc<SharedMemory>> {
    if h == 0 {
        return Err(JniError::Closed("shared memory"));
    }
    // SAFETY: non-zero handles come from `create` and are freed once by `free`.
    Ok(unsafe { &*(h as *const Arc<SharedMemory>) }.clone())
}

/// The budget behind `h`, or a small private one when `h` is 0 (snapshot readers that run
/// after their backend is gone).
pub(crate) fn shared_or_private(h: jlong) -> JniResult<Arc<SharedMemory>> {
    if h == 0 {
        Ok(SharedMemory::new(
            ferrostate_engine::memory::MIN_BUDGET,
            0.0,
            0.25,
        ))
    } else {
        shared(h)
    }
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeMemory_create<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    budget: jlong,
    hot_ratio: jdouble,
    write_buffer_ratio: jdouble,
) -> jlong {
    guard(&mut env, "create memory budget", |_| {
        if budget <= 0 {
            return Err(JniError::Arg(format!(
                "memory budget must be positive, is {budget}"
            )));
        }
        let m = SharedMemory::new(budget as usize, hot_ratio, write_buffer_ratio);
        Ok(Box::into_raw(Box::new(m)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeMemory_free<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, "free memory budget", |_| {
        if h != 0 {
            // SAFETY: see `shared`.
            drop(unsafe { Box::from_raw(h as *mut Arc<SharedMemory>) });
        }
        Ok(())
    })
}

/// [`results::BUDGET_USAGE`].
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeMemory_usage<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlongArray {
    guard(&mut env, "memory usage", |env| {
        long_array(env, &results::budget_usage(&*shared(h)?))
    })
}
