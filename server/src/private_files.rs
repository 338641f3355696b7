//! Files that hold secrets or users' data, readable by the server's own user only: the data
//! directory is created 0700, the profile database and the audit log 0600 (existing ones are
//! tightened), and a key file that others can read is reported at start.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use zeroize::Zeroizing;

/// Creates `dir` (and its parents) as 0700 when it is missing; warns when an existing one lets
/// others in, which is the provider's choice to keep.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    if let Some(mode) = open_to_others(dir)? {
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{mode:o}"),
            "the data directory is open to other users; 0700 keeps them out"
        );
    }
    Ok(())
}

/// Opens `path` for appending, created 0600; an existing file is made 0600.
pub fn append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    restrict(path)?;
    Ok(file)
}

/// Creates `path` empty and 0600 when it is missing, and makes an existing file 0600: what a
/// database that creates its file itself (with the process's umask) is opened on.
pub fn prepare(path: &Path) -> io::Result<()> {
    drop(append(path)?);
    Ok(())
}

/// Makes `path` readable and writable by its owner only, saying so when it was not.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(mode) = open_to_others(path)? {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        tracing::warn!(
            file = %path.display(),
            was = format!("{mode:o}"),
            "made the file readable by this user only (0600)"
        );
    }
    Ok(())
}

/// Reads a file of secrets, warning when other users can read it.
pub fn read_secret(path: &Path) -> io::Result<Zeroizing<String>> {
    let text = Zeroizing::new(std::fs::read_to_string(path)?);
    if let Some(mode) = open_to_others(path)? {
        tracing::warn!(
            file = %path.display(),
            mode = format!("{mode:o}"),
            "a secret file that other users can read: chmod 600 it"
        );
    }
    Ok(text)
}

/// The permission bits of `path` when its group or others have any.
fn open_to_others(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("log");
        drop(append(&file).unwrap());
        assert_eq!(mode(&file), 0o600);
        // an existing file that others could read is tightened
        let loose = dir.join("db");
        std::fs::write(&loose, b"x").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600);
        assert_eq!(
            std::fs::read(&loose).unwrap(),
            b"x",
            "prepare keeps the content"
        );
    }

    #[test]
    fn a_secret_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "  the-secret-key-0123\n").unwrap();
        assert_eq!(
            read_secret(&path).unwrap().as_str(),
            "  the-secret-key-0123\n"
        );
        assert!(read_secret(&dir.path().join("missing")).is_err());
    }
}
