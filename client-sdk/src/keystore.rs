//! Secret key files: written once with owner-only permissions, never overwritten by accident; and
//! beside each key, the stored profile made with it (its id and access token).

use std::path::{Path, PathBuf};

use veilrank_core::{SecretKey, V1_128};
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};
use crate::profile::Profile;

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
    write_private(path, &key.to_bytes(), true)
}

/// Writes a secret file with owner-only permissions; `create_new` refuses an existing file.
fn write_private(path: &Path, bytes: &[u8], create_new: bool) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    Ok(())
}

/// Where the profile made with the key at `key_path` is kept: `<key_path>.profile.json`.
pub fn profile_path(key_path: &Path) -> PathBuf {
    let mut name = key_path.as_os_str().to_owned();
    name.push(".profile.json");
    PathBuf::from(name)
}

/// Keeps `profile` beside the key at `key_path` (mode 0600 on Unix), replacing an older one.
pub fn save_profile(key_path: &Path, profile: &Profile) -> Result<()> {
    let path = profile_path(key_path);
    let json = Zeroizing::new(
        serde_json::to_vec_pretty(profile).map_err(|e| ClientError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })?,
    );
    // write a sibling, then rename: a crash leaves the old profile or the new, never half
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    write_private(&partial, &json, false)?;
    std::fs::rename(&partial, &path).map_err(io_error(&path))
}

/// The profile kept beside the key at `key_path`.
pub fn load_profile(key_path: &Path) -> Result<Profile> {
    let path = profile_path(key_path);
    let bytes = Zeroizing::new(std::fs::read(&path).map_err(io_error(&path))?);
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Io {
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// Removes the profile kept beside the key at `key_path` (after it was erased on the server).
pub fn remove_profile(key_path: &Path) -> Result<()> {
    let path = profile_path(key_path);
    std::fs::remove_file(&path).map_err(io_error(&path))
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
