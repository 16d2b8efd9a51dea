//! Writing a file so that a failure never leaves half of it: the bytes go to a temporary file
//! in the target's own directory (the same file system, so the rename is atomic), which is
//! synced and then renamed over the target. A reader sees the old picture or the new one,
//! never a mix; on any error the temporary file is removed and the target left as it was.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically. The directory must exist.
///
/// The temporary file is `.NAME.XXXXXX.tmp` beside the target; the new file gets the
/// permissions a plain [`File::create`](std::fs::File::create) would give it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
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
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // A picture is for people to open: 0666 less the umask, as `File::create` makes it,
        // not the 0600 a temporary file gets by default.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // The temporary file deletes itself when dropped on an early return.
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    fn a_write_replaces_the_file_whole_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        std::fs::write(&path, b"an older and longer picture").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["loss.png"]);
    }

    #[test]
    fn a_rename_that_fails_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file, even by root.
        let path = dir.path().join("decision.png");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"x").unwrap();
        assert!(write_atomically(&path, b"picture").is_err());
        assert_eq!(entries(dir.path()), ["decision.png"]);
        assert_eq!(entries(&path), ["keep"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_readable_as_file_create_makes_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let path = dir.path().join("a.png");
        write_atomically(&path, b"a").unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        assert_eq!(mode(&path), mode(&plain));
    }
}
