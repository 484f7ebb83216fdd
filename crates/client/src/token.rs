//! The device's bearer token: in the OS keyring where there is one (the Secret Service
//! of a Linux desktop session, the macOS Keychain, the Windows Credential Manager), else
//! in a file in the data folder that only the user can read. It never goes into the
//! database, so a copied database file signs nobody in.

use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::ClientError;

const FILE: &str = "device-token";
/// The keyring's service name; each data folder is its own entry under it.
const SERVICE: &str = "Bouquet";

/// Where a device's token is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TokenPlace {
    Keyring,
    File,
}

/// Keeps the token: in the keyring if it takes it, else in the file. A token moved to
/// the keyring leaves no copy in the file.
pub fn save(dir: &Path, token: &str) -> Result<TokenPlace, ClientError> {
    if let Some(entry) = keyring_entry(dir)
        && entry.set_password(token).is_ok()
    {
        remove_file(dir)?;
        return Ok(TokenPlace::Keyring);
    }
    write_file(dir, token)?;
    Ok(TokenPlace::File)
}

/// The token. One in the file is the newest (saving to the keyring removes the file,
/// so a file token was kept later, by a session without a keyring): when a keyring is
/// there it moves into it, replacing what the keyring held.
pub fn load(dir: &Path) -> Result<Option<String>, ClientError> {
    let entry = keyring_entry(dir);
    if let Some(token) = read_file(dir)? {
        if let Some(entry) = &entry
            && entry.set_password(&token).is_ok()
        {
            remove_file(dir)?;
        }
        return Ok(Some(token));
    }
    Ok(entry.and_then(|entry| entry.get_password().ok()))
}

/// Forgets the token wherever it is kept (the account was deleted, or the device signed out).
pub fn forget(dir: &Path) -> Result<(), ClientError> {
    if let Some(entry) = keyring_entry(dir) {
        let _ = entry.delete_credential();
    }
    remove_file(dir)
}

/// Where the token is kept now, if there is one.
pub fn place(dir: &Path) -> Result<Option<TokenPlace>, ClientError> {
    if read_file(dir)?.is_some() {
        return Ok(Some(TokenPlace::File));
    }
    Ok(keyring_entry(dir).filter(|entry| entry.get_password().is_ok()).map(|_| TokenPlace::Keyring))
}

/// Whether this machine has a keyring to ask. On Linux and the BSDs that is the Secret
/// Service on the session bus: without a session bus (a server, an ssh login, CI) there
/// is none, and asking would only make libdbus try to start one.
fn keyring_available() -> bool {
    if std::env::var_os("BOUQUET_TOKEN_STORE").is_some_and(|v| v == "file") {
        return false;
    }
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
}

/// The keyring entry of this data folder: two folders (two accounts, or the tests'
/// devices) never share a token.
fn keyring_entry(dir: &Path) -> Option<keyring::Entry> {
    if !keyring_available() {
        return None;
    }
    let folder = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    keyring::Entry::new(SERVICE, &format!("device token for {}", folder.display())).ok()
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn io(e: std::io::Error) -> ClientError {
    ClientError::Io(format!("the device token: {e}"))
}

fn write_file(dir: &Path, token: &str) -> Result<(), ClientError> {
    use std::io::Write;
    let target = path(dir);
    let temp = dir.join(format!("{FILE}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp).map_err(io)?;
    file.write_all(token.as_bytes()).and_then(|()| file.sync_all()).map_err(io)?;
    // Written whole, then renamed: a crash never leaves half a token.
    std::fs::rename(&temp, &target).map_err(io)
}

fn read_file(dir: &Path) -> Result<Option<String>, ClientError> {
    match std::fs::read_to_string(path(dir)) {
        Ok(token) => Ok(Some(token.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

fn remove_file(dir: &Path) -> Result<(), ClientError> {
    match std::fs::remove_file(path(dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::TokenPlace;

    // The tests' processes run without a session bus (see `tests/keyring.rs` for the
    // keyring), so this is the file every headless machine uses.
    #[test]
    fn without_a_keyring_the_token_file_is_private() {
        if super::keyring_available() {
            return; // a developer's desktop session: covered by tests/keyring.rs
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::save(dir.path(), "bqd_secret").unwrap(), TokenPlace::File);
        assert_eq!(super::load(dir.path()).unwrap().as_deref(), Some("bqd_secret"));
        assert_eq!(super::place(dir.path()).unwrap(), Some(TokenPlace::File));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("device-token")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
