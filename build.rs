//! Rebuilds the crate when a migration is added or changed: `embed_migrations!` reads the
//! `migrations/` folders at compile time, and cargo does not otherwise see new folders there.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
