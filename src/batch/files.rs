//! The files of `newsflow process`: its input and two outputs must be distinct files, and a
//! file output appears under its name only once it is complete.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Buffer of the input and of each file output: few system calls on large files.
const BUFFER_BYTES: usize = 1 << 20;

/// What can go wrong with the files themselves, before or after the records are processed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A usage error: the run would destroy its input or write one output over the other.
    #[error("--{first} and --{second} name the same file, {}; give each its own file", path.display())]
    SameFile {
        first: &'static str,
        second: &'static str,
        path: PathBuf,
    },
    #[error("cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl FileError {
    /// Whether the command line itself is at fault (exit code 2), not the files.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::SameFile { .. })
    }
}

/// Refuses two of the named paths (flag name, path) on one file, however it is reached:
/// the same path, a symlink, a hard link (same device and inode), or an output not yet
/// created named twice. `-` (stdin, stdout) is not a file and is skipped, and so are
/// character devices such as /dev/null, whose writes destroy nothing.
pub fn check_distinct(paths: &[(&'static str, &Path)]) -> Result<(), FileError> {
    let identities: Vec<_> = paths
        .iter()
        .filter(|(_, path)| *path != Path::new("-"))
        .filter_map(|&(flag, path)| Some((flag, path, identity(path)?)))
        .collect();
    for (i, (first, path, id)) in identities.iter().enumerate() {
        if let Some((second, _, _)) = identities[i + 1..].iter().find(|(_, _, other)| other == id) {
            return Err(FileError::SameFile {
                first,
                second,
                path: path.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Inode {
        device: u64,
        inode: u64,
    },
    /// A file not created yet: its directory's canonical path and its name.
    NotYet(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    match fs::metadata(path) {
        Ok(metadata) if metadata.file_type().is_char_device() => None,
        Ok(metadata) => Some(Identity::Inode {
            device: metadata.dev(),
            inode: metadata.ino(),
        }),
        // A path that cannot be resolved fails when it is opened, with its own error.
        Err(_) => {
            let directory = fs::canonicalize(parent_directory(path)).ok()?;
            Some(Identity::NotYet(directory.join(path.file_name()?)))
        }
    }
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The input: a file, or stdin for `-`.
pub fn open_input(path: &Path) -> Result<Box<dyn BufRead>, FileError> {
    if path == Path::new("-") {
        return Ok(Box::new(io::stdin().lock()));
    }
    let file = File::open(path).map_err(|source| FileError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(Box::new(BufReader::with_capacity(BUFFER_BYTES, file)))
}

/// One output of `newsflow process`. A regular file is written under a temporary name in
/// its own directory and renamed over its name by [`Output::finish`], so a run that fails
/// or is killed never leaves a partial file posing as complete, and an existing file is
/// replaced only by a finished one (dropped unfinished, the temporary file is removed).
/// Streams and devices are written in place.
pub struct Output {
    /// What errors name: the path, or the stream.
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    InPlace(Box<dyn Write>),
    Replacing(BufWriter<NamedTempFile>),
}

impl Output {
    /// stdout for `-`, else the file at `path`.
    pub fn open(path: &Path) -> Result<Self, FileError> {
        if path == Path::new("-") {
            return Ok(Self {
                path: PathBuf::from("stdout"),
                sink: Sink::InPlace(Box::new(BufWriter::new(io::stdout().lock()))),
            });
        }
        Self::create(path)
    }

    fn create(path: &Path) -> Result<Self, FileError> {
        let write_error = |source| FileError::Write {
            path: path.to_owned(),
            source,
        };
        let existing = match fs::metadata(path) {
            Ok(metadata) => Some(metadata),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(write_error(error)),
        };
        // Under /dev and /proc are devices and descriptors the caller opened (/dev/stdout,
        // /dev/fd/3): a rename would not reach what they are connected to.
        let in_place = path.starts_with("/dev")
            || path.starts_with("/proc")
            || existing
                .as_ref()
                .is_some_and(|metadata| !metadata.is_file());
        if in_place {
            let file = File::create(path).map_err(write_error)?;
            return Ok(Self {
                path: path.to_owned(),
                sink: Sink::InPlace(Box::new(BufWriter::with_capacity(BUFFER_BYTES, file))),
            });
        }
        // Through a symlink, the file it points to is replaced, not the link.
        let target = match existing {
            Some(_) => fs::canonicalize(path).map_err(write_error)?,
            None => path.to_owned(),
        };
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            // What File::create gives a new file; a replaced file keeps its own mode.
            .permissions(fs::Permissions::from_mode(0o666))
            .tempfile_in(parent_directory(&target))
            .map_err(write_error)?;
        if let Some(metadata) = existing {
            temporary
                .as_file()
                .set_permissions(metadata.permissions())
                .map_err(write_error)?;
        }
        Ok(Self {
            path: target,
            sink: Sink::Replacing(BufWriter::with_capacity(BUFFER_BYTES, temporary)),
        })
    }

    /// Flushes; a file is synced to disk, then renamed over its name.
    pub fn finish(self) -> Result<(), FileError> {
        let path = self.path;
        let write_error = |source| FileError::Write {
            path: path.clone(),
            source,
        };
        match self.sink {
            Sink::InPlace(mut stream) => stream.flush().map_err(write_error),
            Sink::Replacing(file) => {
                let temporary = file
                    .into_inner()
                    .map_err(|error| write_error(error.into_error()))?;
                temporary.as_file().sync_all().map_err(write_error)?;
                temporary
                    .persist(&path)
                    .map_err(|error| write_error(error.error))?;
                Ok(())
            }
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.sink {
            Sink::InPlace(stream) => stream,
            Sink::Replacing(file) => file,
        }
    }
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.writer().write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer().write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_output_takes_its_name_only_when_finished() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("out.jsonl");
        fs::write(&path, "previous\n").unwrap();
        let mut output = Output::create(&path).unwrap();
        output.write_all(b"new\n").unwrap();
        output.flush().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "previous\n");
        output.finish().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(names_in(directory.path()), ["out.jsonl"]);
    }

    #[test]
    fn an_unfinished_output_leaves_no_file_and_the_old_one_intact() {
        let directory = tempfile::tempdir().unwrap();
        let fresh = directory.path().join("fresh.jsonl");
        let existing = directory.path().join("existing.jsonl");
        fs::write(&existing, "previous\n").unwrap();
        for path in [&fresh, &existing] {
            let mut output = Output::create(path).unwrap();
            output.write_all(&[b'x'; 3 << 20]).unwrap();
            drop(output);
        }
        assert_eq!(names_in(directory.path()), ["existing.jsonl"]);
        assert_eq!(fs::read_to_string(&existing).unwrap(), "previous\n");
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_its_symlink() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("target.jsonl");
        let link = directory.path().join("link.jsonl");
        fs::write(&target, "previous\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut output = Output::create(&link).unwrap();
        output.write_all(b"new\n").unwrap();
        output.finish().unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
        let mode = fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn devices_are_written_in_place() {
        let mut output = Output::create(Path::new("/dev/null")).unwrap();
        assert!(matches!(output.sink, Sink::InPlace(_)));
        output.write_all(b"gone\n").unwrap();
        output.finish().unwrap();
    }

    #[test]
    fn the_same_file_twice_is_refused_however_it_is_named() {
        let directory = tempfile::tempdir().unwrap();
        let input = directory.path().join("in.jsonl");
        fs::write(&input, "{}\n").unwrap();
        let symlink = directory.path().join("symlink.jsonl");
        std::os::unix::fs::symlink(&input, &symlink).unwrap();
        let hard_link = directory.path().join("hard.jsonl");
        fs::hard_link(&input, &hard_link).unwrap();
        let dotted = directory.path().join(".").join("in.jsonl");
        let not_yet = directory.path().join("out.jsonl");
        let refused = [
            [("input", &input), ("output", &input)],
            [("input", &input), ("dlq", &symlink)],
            [("input", &input), ("output", &hard_link)],
            [("input", &input), ("output", &dotted)],
            [("output", &not_yet), ("dlq", &not_yet)],
        ];
        for pair in refused {
            let pair = pair.map(|(flag, path)| (flag, path.as_path()));
            let error = check_distinct(&pair).unwrap_err();
            assert!(error.is_usage());
            let FileError::SameFile { first, second, .. } = error else {
                panic!("{error}")
            };
            assert_eq!([first, second], [pair[0].0, pair[1].0]);
        }
    }

    #[test]
    fn distinct_files_streams_and_devices_are_accepted() {
        let directory = tempfile::tempdir().unwrap();
        let input = directory.path().join("in.jsonl");
        fs::write(&input, "{}\n").unwrap();
        let output = directory.path().join("out.jsonl");
        let dlq = directory.path().join("dlq.jsonl");
        check_distinct(&[("input", &input), ("output", &output), ("dlq", &dlq)]).unwrap();
        let null = Path::new("/dev/null");
        check_distinct(&[("input", null), ("output", null), ("dlq", null)]).unwrap();
        let stdio = Path::new("-");
        check_distinct(&[("input", stdio), ("output", stdio)]).unwrap();
    }
}
