//! Vendors Produce, Fetch, Metadata and ApiVersions (client side) into
//! src/kafka/, which is committed. A normal build only verifies it, offline
//! (manifest, lock and fingerprints); `KWIRE_VENDOR=generate cargo build`
//! regenerates it from the kafka-clients jar (fetched once, then cached).

use std::path::PathBuf;

fn main() {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let result = kwire_codegen::Builder::kafka_release("4.4.0")
        .apis(["Produce", "Fetch", "Metadata", "ApiVersions"])
        .side(kwire_codegen::Side::Client)
        .out_dir(root.join("src/kafka"))
        .build_script();
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
