//! Writing a file so that a crash never leaves half of it: checkpoints, and any other file that
//! must never be seen half-written (the Playground's pictures use it too).
//!
//! The bytes go to a new temporary file in the target's directory (the same file system, so
//! that the rename below is atomic), which is flushed and synced to the disk, then renamed over
//! the target. A reader sees the old file or the new one, never a mix, whenever the process or
//! the machine stops. If anything fails, the temporary file is removed and the target left as
//! it was.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `path` atomically with what `write` writes: to a new temporary file beside it (the
/// same file system, so that the rename is atomic), flushed and synced to the disk, then renamed
/// over `path`. A reader sees the old file or the new one, never a mix, whenever the process or
/// the machine stops; on any error the temporary file is removed and `path` left as it was.
///
/// The new file gets the permissions of the file it replaces, or those `File::create` gives
/// (0666 less the umask). An error keeps its [`io::ErrorKind`] and says which step failed
/// (creating the temporary file, writing it, renaming it), naming the file involved.
///
/// ```
/// use std::io::Write;
/// use shendu_nn::checkpoint::write_atomically;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("notes.txt");
/// write_atomically(&path, |out| out.write_all(b"the old notes"))?;
/// // A write that fails halfway leaves the old file whole.
/// let failed = write_atomically(&path, |out| {
///     out.write_all(b"half of the new notes")?;
///     Err(std::io::Error::other("the disk is full"))
/// });
/// assert!(failed.unwrap_err().to_string().ends_with("the disk is full"));
/// assert_eq!(std::fs::read(&path)?, b"the old notes");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    // The step that failed, in front of the cause, the kind kept for callers that match on it.
    let step = |what: String| move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"));
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    let (file, mut temp) = create_temporary(dir, name, path).map_err(step(format!(
        "cannot create a temporary file in {}",
        dir.display()
    )))?;
    // From here on, dropping `temp` on an early return deletes the temporary file.
    let written = (|| {
        let mut out = BufWriter::new(&file);
        write(&mut out)?;
        out.flush()?;
        drop(out);
        file.sync_all()
    })();
    drop(file);
    let temp_path = temp.path.clone();
    written.map_err(step(format!("cannot write {}", temp_path.display())))?;
    fs::rename(&temp_path, path).map_err(step(format!(
        "cannot rename {} to {}",
        temp_path.display(),
        path.display()
    )))?;
    temp.renamed = true;
    sync_dir(dir);
    Ok(())
}

/// A temporary file, removed when dropped unless it has been renamed to the target.
struct Temporary {
    path: PathBuf,
    renamed: bool,
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: the write has failed already, and that error is the one to report.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates `.{name}.{pid}.{n}.tmp` in `dir`, a name no other file has: `create_new` refuses an
/// existing file (a leftover of a crashed process with a reused pid), and then the next `n` is
/// tried. The process id keeps processes apart and the counter keeps this process's threads
/// apart, so that std alone does what the `tempfile` crate would, with no random names.
fn create_temporary(
    dir: &Path,
    name: &std::ffi::OsStr,
    target: &Path,
) -> io::Result<(File, Temporary)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        // The checkpoint gets the mode of the file it replaces, or that of a file made by
        // `File::create` (0666 less the umask).
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mode = fs::metadata(target).map_or(0o666, |m| m.permissions().mode() & 0o7777);
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = target;
    const ATTEMPTS: usize = 100;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let temp = dir.join(temp_name);
        match options.open(&temp) {
            Ok(file) => {
                let temp = Temporary {
                    path: temp,
                    renamed: false,
                };
                return Ok((file, temp));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Syncs the directory entry of the renamed file, so that the rename itself survives a power
/// cut. Best effort: the new file is in place whatever this returns, and some file systems
/// refuse to sync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_that_fails_midway_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, b"the old checkpoint").unwrap();
        let err = write_atomically(&path, |out| {
            out.write_all(&[7; 100_000])?;
            Err(io::Error::other("the disk is full"))
        })
        .unwrap_err();
        assert_eq!(std::fs::read(&path).unwrap(), b"the old checkpoint");
        assert_eq!(entries(dir.path()), ["model.safetensors"]);
        assert_eq!(err.kind(), io::ErrorKind::Other);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot write {}", dir.path().display()))
                && message.contains(".model.safetensors.")
                && message.ends_with(".tmp: the disk is full"),
            "{message}"
        );
    }

    #[test]
    fn a_write_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, b"the old checkpoint, longer than the new one").unwrap();
        write_atomically(&path, |out| out.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["model.safetensors"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_readable_as_file_create_makes_it_and_a_replaced_one_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        write_atomically(&path, |out| out.write_all(b"a")).unwrap();
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        assert_eq!(mode(&path), mode(&plain));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, |out| out.write_all(b"b")).unwrap();
        assert_eq!(mode(&path), 0o640);
    }
}
