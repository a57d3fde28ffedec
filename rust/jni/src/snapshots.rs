//! Natives of `io.ferrostate.flink.nativ.NativeSnapshots`: manifests of snapshot
//! directories, their verification, and the key-group-ordered scan that feeds Flink's
//! canonical savepoint writer.

use crate::batch::BatchWriter;
use crate::results;
use crate::{guard, JniError, JniResult};
use ferrostate_engine::snapshot::{self, KgCursor, SnapshotReader};
use ferrostate_engine::store::StateKind;
use jni::objects::{JByteBuffer, JClass, JIntArray, JLongArray, JObjectArray, JString};
use jni::sys::{jbyteArray, jint, jlong};
use jni::JNIEnv;
use std::collections::HashMap;
use std::path::Path;

fn strings(env: &mut JNIEnv, arr: &JObjectArray) -> JniResult<Vec<String>> {
    let n = env.get_array_length(arr)?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let o = env.get_object_array_element(arr, i)?;
        out.push(env.get_string(&JString::from(o))?.into());
    }
    Ok(out)
}

/// `(name, size, crc32c)` of the files named by three parallel Java arrays.
/// Files whose size and CRC-32C are known already: name -> (size, crc32c).
fn known_files(
    env: &mut JNIEnv,
    names: &JObjectArray,
    sizes: &JLongArray,
    crcs: &JIntArray,
) -> JniResult<HashMap<String, (u64, u32)>> {
    let names = strings(env, names)?;
    let mut s = vec![0i64; names.len()];
    let mut c = vec![0i32; names.len()];
    env.get_long_array_region(sizes, 0, &mut s)?;
    env.get_int_array_region(crcs, 0, &mut c)?;
    Ok(names
        .into_iter()
        .zip(s.into_iter().zip(c))
        .map(|(n, (s, c))| (n, (s as u64, c as u32)))
        .collect())
}

/// Runs `op` on snapshot directory `dir` with the sizes and checksums Java already knows
/// (three parallel arrays), returning the files of the manifest `op` gives
/// ([`results::files`]).
fn with_known_files<'l>(
    env: &mut JNIEnv<'l>,
    what: &str,
    dir: &JString<'l>,
    known: (&JObjectArray<'l>, &JLongArray<'l>, &JIntArray<'l>),
    op: impl FnOnce(
        &Path,
        &HashMap<String, (u64, u32)>,
    ) -> ferrostate_engine::Result<snapshot::Manifest>,
) -> jbyteArray {
    guard(env, what, |env| {
        let dir: String = env.get_string(dir)?.into();
        let (names, sizes, crcs) = known;
        let known = known_files(env, names, sizes, crcs)?;
        let m = op(Path::new(&dir), &known)?;
        files_array(env, &m)
    })
}

/// The files of `m` as a Java byte array ([`results::files`]).
fn files_array(env: &mut JNIEnv, m: &snapshot::Manifest) -> JniResult<jbyteArray> {
    Ok(env
        .byte_array_from_slice(&results::files(&m.files))?
        .into_raw())
}

/// Writes the manifest of `dir`; `known*` give checksums of files uploaded before. Returns
/// its files ([`results::files`]).
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_writeManifestNative<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    dir: JString<'l>,
    known_names: JObjectArray<'l>,
    known_sizes: JLongArray<'l>,
    known_crcs: JIntArray<'l>,
) -> jbyteArray {
    let known = (&known_names, &known_sizes, &known_crcs);
    with_known_files(
        &mut env,
        "write snapshot manifest",
        &dir,
        known,
        snapshot::write_manifest,
    )
}

/// Verifies every file of `dir` against its manifest; returns its files ([`results::files`]).
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_verifyNative<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    dir: JString<'l>,
) -> jbyteArray {
    guard(&mut env, "verify snapshot", |env| {
        let dir: String = env.get_string(&dir)?.into();
        files_array(env, &snapshot::verify(Path::new(&dir))?)
    })
}

/// As `verify`, with the size and checksum of some files already taken while they were
/// downloaded: those are not read again.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_verifyKnownNative<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    dir: JString<'l>,
    known_names: JObjectArray<'l>,
    known_sizes: JLongArray<'l>,
    known_crcs: JIntArray<'l>,
) -> jbyteArray {
    let known = (&known_names, &known_sizes, &known_crcs);
    with_known_files(&mut env, "verify snapshot", &dir, known, |dir, known| {
        snapshot::verify_known(dir, known)
    })
}

/// A key-group-ordered scan over a snapshot directory.
struct KgScan {
    reader: SnapshotReader,
    states: Vec<(String, StateKind)>,
    prefix_bytes: usize,
    last_kg: u32,
    cursor: KgCursor,
}

fn scan_handle<'a>(h: jlong) -> JniResult<&'a mut KgScan> {
    if h == 0 {
        return Err(JniError::Closed("snapshot scan"));
    }
    // SAFETY: handles come from `openScan` and are freed once by `closeScan`; one thread
    // (the asynchronous snapshot writer) uses a scan.
    Ok(unsafe { &mut *(h as *mut KgScan) })
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_openScan<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    dir: JString<'l>,
    memory: jlong,
    names: JObjectArray<'l>,
    kinds: JIntArray<'l>,
    prefix_bytes: jint,
    first_kg: jint,
    last_kg: jint,
) -> jlong {
    guard(&mut env, "open snapshot scan", |env| {
        let dir: String = env.get_string(&dir)?.into();
        let memory = crate::memory::shared_or_private(memory)?;
        let names = strings(env, &names)?;
        let mut k = vec![0i32; names.len()];
        env.get_int_array_region(&kinds, 0, &mut k)?;
        let states = names
            .into_iter()
            .zip(k)
            .map(|(n, k)| Ok((n, StateKind::from_code(k)?)))
            .collect::<ferrostate_engine::Result<Vec<_>>>()?;
        if first_kg < 0 || last_kg < first_kg {
            return Err(JniError::Arg(format!(
                "bad key group range [{first_kg}, {last_kg}]"
            )));
        }
        let reader = SnapshotReader::open(Path::new(&dir), &memory)?;
        let scan = KgScan {
            reader,
            states,
            prefix_bytes: prefix_bytes as usize,
            last_kg: last_kg as u32,
            cursor: KgCursor {
                kg: first_kg as u32,
                ..KgCursor::default()
            },
        };
        Ok(Box::into_raw(Box::new(scan)) as jlong)
    })
}

/// Fills `out` with entries `[i32 state index][i32 key length][key][i32 value length][value]`
/// and returns their number: 0 when the scan is done, `-n` when the next entry needs `n`
/// bytes and does not fit.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_nextBatch<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    out: JByteBuffer<'l>,
) -> jint {
    guard(&mut env, "read snapshot scan", |env| {
        let s = scan_handle(h)?;
        let ptr = env.get_direct_buffer_address(&out)?;
        let cap = env.get_direct_buffer_capacity(&out)?;
        // SAFETY: a live direct buffer of `cap` bytes, used by this thread during the call.
        let buf = unsafe { std::slice::from_raw_parts_mut(ptr, cap) };
        let mut batch = BatchWriter::new(buf, jint::MAX);
        s.reader.scan_key_groups(
            &s.states,
            s.prefix_bytes,
            s.last_kg,
            &mut s.cursor,
            |state, k, v| Ok(batch.push(Some(state as u32), k, v)),
        )?;
        batch.result()
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_closeScan<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, "close snapshot scan", |_| {
        if h != 0 {
            // SAFETY: see `scan_handle`.
            drop(unsafe { Box::from_raw(h as *mut KgScan) });
        }
        Ok(())
    })
}

/// Statistics per state of a snapshot directory ([`results::stats`]).
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_statsNative<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    dir: JString<'l>,
    memory: jlong,
    prefix_bytes: jint,
) -> jbyteArray {
    guard(&mut env, "snapshot statistics", |env| {
        let dir: String = env.get_string(&dir)?.into();
        let memory = crate::memory::shared_or_private(memory)?;
        let reader = SnapshotReader::open(Path::new(&dir), &memory)?;
        let stats = reader.stats(prefix_bytes as usize)?;
        Ok(env
            .byte_array_from_slice(&results::stats(&stats))?
            .into_raw())
    })
}

/// Encodes the index of a native snapshot (see `SnapshotIndex`).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_encodeIndex<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    checkpoint_id: jlong,
    key_groups: JIntArray<'l>,
    state_names: JObjectArray<'l>,
    state_kinds: JIntArray<'l>,
    queues: JObjectArray<'l>,
    local_names: JObjectArray<'l>,
    remotes: JObjectArray<'l>,
    sizes: JLongArray<'l>,
    crcs: JIntArray<'l>,
    shared: JIntArray<'l>,
) -> jbyteArray {
    guard(&mut env, "encode snapshot index", |env| {
        let mut kg = [0i32; 3];
        env.get_int_array_region(&key_groups, 0, &mut kg)?;
        let names = strings(env, &state_names)?;
        let mut kinds = vec![0i32; names.len()];
        env.get_int_array_region(&state_kinds, 0, &mut kinds)?;
        let queues = strings(env, &queues)?;
        let locals = strings(env, &local_names)?;
        let remotes = strings(env, &remotes)?;
        let n = locals.len();
        let mut sz = vec![0i64; n];
        let mut cr = vec![0i32; n];
        let mut sh = vec![0i32; n];
        env.get_long_array_region(&sizes, 0, &mut sz)?;
        env.get_int_array_region(&crcs, 0, &mut cr)?;
        env.get_int_array_region(&shared, 0, &mut sh)?;
        if remotes.len() != n {
            return Err(JniError::Arg("file arrays differ in length".into()));
        }
        let index = snapshot::SnapshotIndex {
            format_version: snapshot::FORMAT_VERSION,
            checkpoint_id: checkpoint_id as u64,
            key_group_start: kg[0] as u32,
            key_group_end: kg[1] as u32,
            prefix_bytes: kg[2] as u32,
            states: names
                .into_iter()
                .zip(kinds)
                .map(|(n, k)| (n, k as u8))
                .collect(),
            queues,
            files: (0..n)
                .map(|i| snapshot::IndexFile {
                    local_name: locals[i].clone(),
                    remote: remotes[i].clone(),
                    size: sz[i] as u64,
                    crc32c: cr[i] as u32,
                    shared: sh[i] != 0,
                })
                .collect(),
        };
        Ok(env.byte_array_from_slice(&index.encode()?)?.into_raw())
    })
}

/// Checks the index at the start of a meta stream and returns its length in bytes; a stream
/// that is not a ferrostate snapshot, or a damaged index, throws.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeSnapshots_indexLength<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    head: jni::objects::JByteArray<'l>,
) -> jint {
    guard(&mut env, "read snapshot index", |env| {
        let bytes = env.convert_byte_array(&head)?;
        let (_, used) = snapshot::SnapshotIndex::decode(&bytes)?;
        Ok(used as jint)
    })
}
