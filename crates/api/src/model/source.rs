//! Where models come from on disk: `MODELS_DIR` read into one [`Source`]
//! per served model version, in any of the layouts it accepts:
//!
//! - `<name>/model.onnx`, with `card.toml`, `golden.json` and
//!   `background.csv` beside it or not;
//! - `<name>.onnx`, a bare file (no card);
//! - `<name>/<version>/model.onnx` (versions such as `1`, `2` or `1.4.0`),
//!   each version's own files first, then those of `<name>/`.
//!
//! Files being copied in should arrive under a hidden or `.tmp`/`.part`
//! name and be renamed: such names are never read.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

/// The graph's file name in a model directory.
pub(crate) const MODEL_FILE: &str = "model.onnx";
/// The card's file name.
pub(crate) const CARD_FILE: &str = "card.toml";
/// The reference answers checked at load.
pub(crate) const GOLDEN_FILE: &str = "golden.json";
/// The training rows explanations are measured against.
pub(crate) const BACKGROUND_FILE: &str = "background.csv";
/// The training rows' profile drift is measured against.
pub const REFERENCE_FILE: &str = "reference.json";

/// One model version's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// The model's name (its directory or file name).
    pub name: String,
    /// The version its directory names, for the versioned layout.
    pub version: Option<String>,
    /// The ONNX graph.
    pub onnx: PathBuf,
    /// The card, if there is one.
    pub card: Option<PathBuf>,
    /// The golden answers, if there are any.
    pub golden: Option<PathBuf>,
    /// The background rows, if there are any.
    pub background: Option<PathBuf>,
    /// The training rows' profile drift is measured against, if there is one.
    pub reference: Option<PathBuf>,
    /// Its files that are links out of the models directory, not followed.
    pub outside: Vec<PathBuf>,
}

impl Source {
    /// Every file it reads: the graph, then those beside it that exist.
    fn files(&self) -> impl Iterator<Item = &PathBuf> {
        [
            Some(&self.onnx),
            self.card.as_ref(),
            self.golden.as_ref(),
            self.background.as_ref(),
            self.reference.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// The source, noting each of its files that is a link leading out of
    /// `root` (unless `follow_links`): such a model is refused, naming the
    /// file, and the file is never read.
    fn within(mut self, root: &Path, follow_links: bool) -> Self {
        self.outside = self.files().filter(|p| !inside(root, p, follow_links)).cloned().collect();
        self
    }

    /// `name` or `name/version`: what failures and reloads are keyed by.
    pub(crate) fn key(&self) -> String {
        match &self.version {
            Some(v) => format!("{}/{v}", self.name),
            None => self.name.clone(),
        }
    }

    /// Size and modification time of every file it reads: a change in any of
    /// them means the model must be loaded again.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        Fingerprint(
            self.files()
                .map(|p| {
                    let meta = fs::metadata(p).ok();
                    let len = meta.as_ref().map_or(0, fs::Metadata::len);
                    let modified = meta.and_then(|m| m.modified().ok()).unwrap_or(SystemTime::UNIX_EPOCH);
                    (p.clone(), len, modified)
                })
                .collect(),
        )
    }
}

/// What a [`Source`]'s files looked like when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint(Vec<(PathBuf, u64, SystemTime)>);

/// A directory entry that looks like a model but cannot be one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Misplaced {
    /// The model's name.
    pub name: String,
    /// The file or directory at fault.
    pub file: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// Every model source under a directory, and what could not be one.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    /// Sources, sorted by name then version.
    pub sources: Vec<Source>,
    /// Entries that look like models but are not laid out as one.
    pub misplaced: Vec<Misplaced>,
}

/// Whether `path` may be read: it resolves inside `root` (the models
/// directory, resolved), or links may lead anywhere.
fn inside(root: &Path, path: &Path, follow_links: bool) -> bool {
    follow_links || path.canonicalize().is_ok_and(|resolved| resolved.starts_with(root))
}

/// Reads `dir`. Unless `follow_links`, a link that leads out of `dir` is
/// not followed: it is reported as misplaced, or, beside a model, ignored.
pub(crate) fn discover(dir: &Path, follow_links: bool) -> Result<Discovery> {
    let mut found = Discovery::default();
    let root = dir
        .canonicalize()
        .with_context(|| format!("Failed to read the models directory {}", dir.display()))?;
    for entry in sorted_entries(dir)? {
        let Some(file_name) = entry.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        if ignored(&file_name) {
            continue;
        }
        if !inside(&root, &entry, follow_links) {
            let name = file_name.strip_suffix(".onnx").unwrap_or(&file_name).to_owned();
            found.misplaced.push(Misplaced {
                name,
                file: entry.clone(),
                reason: "is a link that leads out of the models directory, which is not followed \
                         (MODELS_FOLLOW_LINKS=true follows such links)"
                    .to_owned(),
            });
            continue;
        }
        if entry.is_file() {
            if let Some(name) = file_name.strip_suffix(".onnx") {
                found.sources.push(Source {
                    name: name.to_owned(),
                    version: None,
                    onnx: entry.clone(),
                    card: None,
                    golden: None,
                    background: None,
                    reference: None,
                    outside: Vec::new(),
                });
            }
            continue;
        }
        if !entry.is_dir() {
            continue;
        }
        let versions: Vec<(Version, PathBuf)> = sorted_entries(&entry)?
            .into_iter()
            .filter(|p| p.join(MODEL_FILE).is_file())
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?;
                Some((Version::parse(name)?, p.clone()))
            })
            .collect();
        let flat = entry.join(MODEL_FILE).is_file();
        let misplaced = |reason: String| Misplaced { name: file_name.clone(), file: entry.clone(), reason };
        if flat && !versions.is_empty() {
            found
                .misplaced
                .push(misplaced(format!("holds both {MODEL_FILE} and version directories; keep one layout")));
            continue;
        }
        let within = |source: Source| source.within(&root, follow_links);
        if flat {
            found.sources.push(within(source_in(&file_name, None, &entry, None)));
        } else if !versions.is_empty() {
            let mut versions = versions;
            versions.sort_by(|a, b| a.0.cmp(&b.0));
            for (version, path) in versions {
                found.sources.push(within(source_in(&file_name, Some(version.0), &path, Some(&entry))));
            }
        } else if entry.join(CARD_FILE).is_file() {
            found.misplaced.push(misplaced(format!("has {CARD_FILE} but no {MODEL_FILE}")));
        }
    }
    // A bare file and a directory of the same name: neither wins silently.
    let mut names: Vec<&str> =
        found.sources.iter().filter(|s| s.version.is_none()).map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    let twice: Vec<String> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0].to_owned()).collect();
    for name in twice {
        found.sources.retain(|s| s.name != name);
        found.misplaced.push(Misplaced {
            file: dir.join(format!("{name}.onnx")),
            reason: format!("both {name}.onnx and {name}/ exist; keep one"),
            name,
        });
    }
    Ok(found)
}

/// Names a copy in progress or an editor uses.
fn ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") || name.ends_with('~')
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("Failed to read the models directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

pub(crate) fn source_in(name: &str, version: Option<String>, dir: &Path, parent: Option<&Path>) -> Source {
    let find =
        |file: &str| [Some(dir), parent].into_iter().flatten().map(|d| d.join(file)).find(|p| p.is_file());
    Source {
        name: name.to_owned(),
        version,
        onnx: dir.join(MODEL_FILE),
        card: find(CARD_FILE),
        golden: find(GOLDEN_FILE),
        background: find(BACKGROUND_FILE),
        reference: find(REFERENCE_FILE),
        outside: Vec::new(),
    }
}

/// A version directory's name: numbers separated by dots (`3`, `1.4.0`,
/// an optional leading `v`), ordered as numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version(pub(super) String);

impl Version {
    /// The version `name` spells, if it is one.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let digits = name.strip_prefix('v').unwrap_or(name);
        let ok = !digits.is_empty()
            && name.len() <= 32
            && digits.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then(|| Self(name.to_owned()))
    }

    fn parts(&self) -> Vec<u64> {
        let digits = self.0.strip_prefix('v').unwrap_or(&self.0);
        digits.split('.').map(|p| p.parse().unwrap_or(u64::MAX)).collect()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_numbers_not_text() {
        let mut v: Vec<Version> =
            ["10", "9", "1.10.0", "1.9.2", "v2"].iter().filter_map(|s| Version::parse(s)).collect();
        v.sort();
        let names: Vec<&str> = v.iter().map(|v| v.0.as_str()).collect();
        assert_eq!(names, ["1.9.2", "1.10.0", "v2", "9", "10"]);
    }

    #[test]
    fn names_that_are_not_versions_are_not_version_directories() {
        for name in ["latest", "1.x", "", "v", "1..2", "-1"] {
            assert_eq!(Version::parse(name), None, "{name}");
        }
    }

    #[test]
    fn every_layout_is_found_and_a_name_in_two_layouts_is_refused() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let root = dir.path();
        let touch = |p: &str| {
            let path = root.join(p);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, b"x").expect("write");
        };
        touch("flat/model.onnx");
        touch("flat/card.toml");
        touch("bare.onnx");
        touch("versioned/card.toml");
        touch("versioned/2/model.onnx");
        touch("versioned/10/model.onnx");
        touch("versioned/10/card.toml");
        touch("twice.onnx");
        touch("twice/model.onnx");
        touch("cardonly/card.toml");
        touch("train/train.py");
        touch("copying.onnx.part");
        touch(".hidden.onnx");

        let found = discover(root, false).expect("discover");

        let keys: Vec<String> = found.sources.iter().map(Source::key).collect();
        assert_eq!(keys, ["bare", "flat", "versioned/2", "versioned/10"]);
        let v2 = &found.sources[2];
        assert_eq!(v2.card.as_deref(), Some(root.join("versioned/card.toml").as_path()), "the shared card");
        assert_eq!(found.sources[3].card.as_deref(), Some(root.join("versioned/10/card.toml").as_path()));
        let misplaced: Vec<&str> = found.misplaced.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(misplaced, ["cardonly", "twice"]);
    }
}
