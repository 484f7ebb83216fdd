//! The device's bearer token: in the OS keyring where there is one, else in a file in
//! the data folder that only the user can read. It never goes into the database, so a
//! copied database file signs nobody in.

use std::path::{Path, PathBuf};

use crate::ClientError;

const FILE: &str = "device-token";

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn io(e: std::io::Error) -> ClientError {
    ClientError::Io(format!("the device token: {e}"))
}

pub fn save(dir: &Path, token: &str) -> Result<(), ClientError> {
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

pub fn load(dir: &Path) -> Result<Option<String>, ClientError> {
    match std::fs::read_to_string(path(dir)) {
        Ok(token) => Ok(Some(token.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        super::save(dir.path(), "bqd_secret").unwrap();
        assert_eq!(super::load(dir.path()).unwrap().as_deref(), Some("bqd_secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("device-token")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
