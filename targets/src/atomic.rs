//! File output that never damages what stands at the destination.
//!
//! * A regular file (or nothing) is replaced atomically: the bytes go to a temporary file
//!   beside it (`.NAME.tmp-PID`), are synced, then renamed over it, so a failure or a kill
//!   never leaves a partial file. An existing file's permission bits are kept. Other hard
//!   links to the old file keep the old contents (as with `sed -i` or git).
//! * A symbolic link is followed (also when dangling): the file it points to is written and
//!   the link stays.
//! * A character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is written in
//!   place, never replaced; write errors (`/dev/full`) are reported.
//! * A directory, block device or socket is refused.
//!
//! Temporaries left by killed processes (their PID no longer runs) are removed the next
//! time the same destination is written.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Symbolic links followed at most this many times (as Linux's `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

fn temp_prefix(name: &OsStr) -> String {
    format!(".{}.tmp-", name.to_string_lossy())
}

fn temp_path(dir: &Path, name: &OsStr) -> PathBuf {
    dir.join(format!("{}{}", temp_prefix(name), std::process::id()))
}

/// The folder of `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Whether process `pid` may still be running (conservatively true where unknown).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Removes entries of `dir` named `PREFIX<pid>` whose process is gone; `remove` deletes one
/// (a file or a folder). Errors are ignored: cleaning is best effort.
pub fn remove_stale_temporaries(dir: &Path, prefix: &str, remove: fn(&Path) -> io::Result<()>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = remove(&entry.path());
        }
    }
}

/// The file a path finally names: symbolic links followed, also dangling ones.
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = parent_dir(&current).join(target);
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other(format!("more than {MAX_SYMLINK_HOPS} symbolic links to follow")))
}

/// Writes `bytes` to `path` without damaging what stands there (see the module docs).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// As [`write_atomically`], with the bytes streamed by `write` (buffered), so a large
/// output need not be held in memory whole.
pub fn write_atomically_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let path = resolve_symlinks(path)?;
    let existing = match std::fs::metadata(&path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &existing {
        let kind = meta.file_type();
        if kind.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        if !kind.is_file() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::FileTypeExt;
                if kind.is_char_device() || kind.is_fifo() {
                    let mut f = io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(&path)?);
                    write(&mut f)?;
                    return f.flush();
                }
            }
            return Err(io::Error::other("not a regular file, character device or FIFO; refusing to replace it"));
        }
    }
    let name = path.file_name().ok_or_else(|| io::Error::other("names no file"))?;
    let dir = parent_dir(&path);
    remove_stale_temporaries(dir, &temp_prefix(name), |p| std::fs::remove_file(p));
    let tmp = temp_path(dir, name);
    let result = (|| {
        let mut buffered = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        write(&mut buffered)?;
        let f = buffered.into_inner().map_err(|e| e.into_error())?;
        if let Some(meta) = &existing {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};

    use super::*;

    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile_dir();
        let target = dir.join("data.bin");
        std::fs::write(&target, b"old").unwrap();
        symlink("data.bin", dir.join("link.bin")).unwrap();
        write_atomically(&dir.join("link.bin"), b"new").unwrap();
        assert!(std::fs::symlink_metadata(dir.join("link.bin")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        // A dangling link creates its target.
        symlink("fresh.bin", dir.join("dangling.bin")).unwrap();
        write_atomically(&dir.join("dangling.bin"), b"x").unwrap();
        assert_eq!(std::fs::read(dir.join("fresh.bin")).unwrap(), b"x");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_mode_of_a_replaced_file_is_kept() {
        let dir = tempfile_dir();
        let p = dir.join("out.npy");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&p, b"new").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn devices_are_written_in_place_and_errors_reported() {
        write_atomically(Path::new("/dev/null"), b"spikes").unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
        if Path::new("/dev/full").exists() {
            assert!(write_atomically(Path::new("/dev/full"), &[0; 8192]).is_err());
            assert!(!std::fs::metadata("/dev/full").unwrap().is_file());
        }
    }

    #[test]
    fn directories_are_refused_and_stale_temporaries_removed() {
        let dir = tempfile_dir();
        assert!(write_atomically(&dir, b"x").is_err());
        // PID 0x7fff_fff0 is above Linux's pid_max: never a running process.
        let stale = dir.join(".out.npy.tmp-2147483632");
        std::fs::write(&stale, b"partial").unwrap();
        write_atomically(&dir.join("out.npy"), b"y").unwrap();
        if cfg!(target_os = "linux") {
            assert!(!stale.exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fresh folder under the system temp folder (this crate has no tempfile dependency).
    fn tempfile_dir() -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "sf-atomic-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
