//! Finding the files to read: paths given, folders walked recursively (following symlinks, with
//! loops detected and reported rather than followed), `--glob` and `--exclude` applied to what
//! the walk finds (a file named explicitly is always read). Files are marked explicit or walked
//! ([`InputFile::explicit`]): a walked file that is no log is skipped, an explicit one an error.
//!
//! Named explicitly, a pipe or character device is read too, as a stream (`spoor hunt
//! <(zcat x.gz)`, a FIFO, `/dev/stdin`), and `-` is standard input; found by walking a folder,
//! they are passed over, since reading one could block for ever.

use crate::read::InputFile;
use crate::{InputError, ReadOptions};
use globset::{Glob, GlobSet, GlobSetBuilder};
use spoor_event::FileStats;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn build(patterns: &[String]) -> Result<Option<GlobSet>, InputError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = Glob::new(p).map_err(|e| InputError::BadGlob {
            pattern: p.clone(),
            message: e.to_string(),
        })?;
        b.add(g);
    }
    b.build().map(Some).map_err(|e| InputError::BadGlob {
        pattern: patterns.join(" "),
        message: e.to_string(),
    })
}

/// A pattern matches the whole path or the file name alone (`*.log` works anywhere).
fn matches(set: &GlobSet, path: &Path) -> bool {
    set.is_match(path) || path.file_name().is_some_and(|n| set.is_match(Path::new(n)))
}

fn problem(path: &Path, message: String) -> FileStats {
    FileStats {
        path: path.to_string_lossy().into_owned(),
        error: Some(message),
        ..FileStats::default()
    }
}

/// The path that names standard input.
pub(crate) const STDIN: &str = "-";

/// A pipe or character device: read as a stream when named explicitly.
#[cfg(unix)]
fn is_stream(t: std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    t.is_fifo() || t.is_char_device()
}

#[cfg(not(unix))]
fn is_stream(_: std::fs::FileType) -> bool {
    false
}

/// The files under `paths` to read, sorted by path, and the paths that could not be read (each
/// as a [`FileStats`] with its error). A bad glob pattern is returned as the only problem. `-`
/// stands for standard input; a pipe or character device named in `paths` is read as a stream
/// (see the module docs).
pub fn discover(paths: &[PathBuf], opts: &ReadOptions) -> (Vec<InputFile>, Vec<FileStats>) {
    let (globs, excludes) = match (build(&opts.globs), build(&opts.excludes)) {
        (Ok(g), Ok(e)) => (g, e),
        (Err(e), _) | (_, Err(e)) => {
            return (Vec::new(), vec![problem(Path::new(""), e.to_string())])
        }
    };
    let mut files: BTreeMap<String, InputFile> = BTreeMap::new();
    let mut problems = Vec::new();
    for root in paths {
        if root.as_os_str() == STDIN {
            files.entry(STDIN.to_string()).or_insert(InputFile {
                path: root.clone(),
                display: STDIN.to_string(),
                size: 0,
                explicit: true,
            });
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        let it = walker.into_iter().filter_entry(|e| {
            // Never exclude the root given explicitly.
            e.depth() == 0 || !excludes.as_ref().is_some_and(|x| matches(x, e.path()))
        });
        for entry in it {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let msg = if e.loop_ancestor().is_some() {
                        "symlink loop not followed".to_string()
                    } else if let Some(io) = e.io_error() {
                        crate::error::io_reason(io)
                    } else {
                        e.to_string()
                    };
                    problems.push(problem(&p, msg));
                    continue;
                }
            };
            let stream = entry.depth() == 0 && is_stream(entry.file_type());
            if !entry.file_type().is_file() && !stream {
                continue;
            }
            let path = entry.path();
            // A file named on the command line is read whatever the patterns say (as ripgrep
            // does); patterns choose among the files found by walking folders.
            if entry.depth() > 0 {
                if let Some(g) = &globs {
                    if !matches(g, path) {
                        continue;
                    }
                }
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let display = path.to_string_lossy().into_owned();
            let explicit = entry.depth() == 0;
            let file = files.entry(display.clone()).or_insert(InputFile {
                path: path.to_path_buf(),
                display,
                size,
                explicit,
            });
            // Named on the command line and also inside a walked folder: explicit.
            file.explicit |= explicit;
        }
    }
    (files.into_values().collect(), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_filters_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/skip")).unwrap();
        std::fs::write(d.join("a/x.log"), b"x").unwrap();
        std::fs::write(d.join("a/y.json"), b"{}").unwrap();
        std::fs::write(d.join("a/skip/z.log"), b"z").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.join("a"), d.join("a/loop")).unwrap();
        let opts = ReadOptions {
            globs: vec!["*.log".into()],
            excludes: vec!["skip".into()],
            ..ReadOptions::default()
        };
        let (files, problems) = discover(&[d.to_path_buf(), d.join("missing")], &opts);
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(d)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, vec!["a/x.log"]);
        // Named explicitly: read even though it matches no glob.
        let (files, _) = discover(&[d.join("a/y.json")], &opts);
        assert_eq!(files.len(), 1);
        assert!(problems.iter().any(|p| p.path.ends_with("missing")));
        #[cfg(unix)]
        assert!(problems
            .iter()
            .any(|p| p.error.as_deref() == Some("symlink loop not followed")));
        let bad = ReadOptions {
            globs: vec!["a[".into()],
            ..ReadOptions::default()
        };
        let (f, p) = discover(&[d.to_path_buf()], &bad);
        assert!(f.is_empty());
        assert!(p[0].error.as_deref().unwrap_or("").contains("bad glob"));
    }
}
