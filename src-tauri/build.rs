fn main() {
    // The app package sits at the repository root (beside tauri.conf.json) while its
    // sources and capabilities live in src-tauri/.
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("tauri build script");
}
