//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds the SQL files,
//! but cargo does not notice a new file in the folder by itself.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
