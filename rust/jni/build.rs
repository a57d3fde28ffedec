fn main() {
    // A job's classloader that loaded this library may be collected while RocksDB's
    // background threads still run code of it; keep the library mapped after dlclose.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
