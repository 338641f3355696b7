//! Secret key files: written once with owner-only permissions, never overwritten by accident.

use std::path::Path;

use veilrank_core::{SecretKey, V1_128};

use crate::error::{ClientError, Result};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Generates a key and writes it to `path` (mode 0600 on Unix); fails if the file exists.
pub fn create(path: &Path) -> Result<SecretKey> {
    let key = SecretKey::generate(&V1_128)?;
    save(&key, path)?;
    Ok(key)
}

/// Writes `key` to a new file at `path` (mode 0600 on Unix); fails if the file exists.
pub fn save(key: &SecretKey, path: &Path) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(&key.to_bytes()).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    Ok(())
}

/// Reads a key file.
pub fn load(path: &Path) -> Result<SecretKey> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(io_error(path))?);
    Ok(SecretKey::try_from_bytes(&V1_128, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_load_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = create(&path).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(*key.to_bytes(), *back.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            create(&path).is_err(),
            "an existing key must not be overwritten"
        );
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, b"not a key").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("not a veilrank secret key"), "{e}");
    }
}
