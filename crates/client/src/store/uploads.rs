//! A file the app's window hands over in pieces. A web view cannot give the Rust side a
//! path, and reading a 50 MB CRM export whole into the page (then copying it through IPC
//! as one string) froze the window; instead the window sends slices of the file, each
//! appended here to a staging file in the data folder, and the import then streams from
//! that file with progress. Each piece names the offset it starts at, so a piece sent
//! twice or out of order is refused instead of corrupting the file.
//!
//! The staging files hold couples' details: they are removed when the import finishes or
//! is cancelled, with the account's data when it is forgotten, and any left by a crash
//! when the app starts again (and, older than six hours, when an upload begins).

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::csv_io::{ImportProgress, ImportReport};
use super::{LocalStore, Result};
use crate::ClientError;

/// The folder inside the data folder.
const UPLOADS_DIR: &str = "uploads";
/// An upload untouched for this long was abandoned (the app closed or crashed mid-way).
const ABANDONED_AFTER: Duration = Duration::from_secs(6 * 3600);
/// The largest file accepted: far beyond any CRM's export of a supplier's contacts,
/// small enough that a wrong file (a video) is refused before it fills the disk.
pub const MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;

impl LocalStore {
    fn uploads_dir(&self) -> PathBuf {
        self.data_dir().join(UPLOADS_DIR)
    }

    fn upload_path(&self, id: Uuid) -> PathBuf {
        self.uploads_dir().join(format!("{id}.part"))
    }

    /// Starts an upload; returns its id. Sweeps uploads abandoned long ago.
    pub fn begin_upload(&self) -> Result<Uuid> {
        let dir = self.uploads_dir();
        fs::create_dir_all(&dir)?;
        self.sweep_uploads(ABANDONED_AFTER)?;
        let id = Uuid::new_v4();
        File::create_new(self.upload_path(id))?;
        Ok(id)
    }

    /// Appends `bytes` at `offset` (where the previous piece ended); returns the bytes held.
    pub fn append_upload(&self, id: Uuid, offset: u64, bytes: &[u8]) -> Result<u64> {
        let path = self.upload_path(id);
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|_| ClientError::NotFound("that upload is not open (it finished, was cancelled or expired)".into()))?;
        let held = file.metadata()?.len();
        if offset != held {
            return Err(ClientError::Invalid(format!(
                "this piece starts at byte {offset} but the upload holds {held} bytes; send from byte {held}"
            )));
        }
        let after = held + bytes.len() as u64;
        if after > MAX_UPLOAD_BYTES {
            self.cancel_upload(id)?;
            return Err(ClientError::Invalid(format!(
                "the file is larger than {} MB; split it into smaller files",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            )));
        }
        file.write_all(bytes)?;
        Ok(after)
    }

    /// Imports the uploaded file as contacts (see [`Self::import_contacts_csv_reporting`])
    /// and removes it, whatever the outcome: a refused file is chosen again, not resumed.
    pub fn import_upload_as_contacts(
        &self,
        id: Uuid,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport> {
        let path = self.upload_path(id);
        let file = File::open(&path)
            .map_err(|_| ClientError::NotFound("that upload is not open (it finished, was cancelled or expired)".into()))?;
        let total = file.metadata()?.len();
        let report = self.import_contacts_csv_reporting(BufReader::new(file), total, progress);
        let _ = fs::remove_file(&path);
        report
    }

    /// Drops an upload (the user cancelled, or chose another file). Unknown ids are fine.
    pub fn cancel_upload(&self, id: Uuid) -> Result<()> {
        match fs::remove_file(self.upload_path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Removes uploads untouched for `older_than` (all of them for zero).
    pub fn sweep_uploads(&self, older_than: Duration) -> Result<()> {
        let Ok(entries) = fs::read_dir(self.uploads_dir()) else { return Ok(()) };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(now);
            if now.duration_since(modified).unwrap_or_default() >= older_than {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}
