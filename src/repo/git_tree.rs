//! Listing a repository from a commit's tree in the git object database: the same entries
//! [`super::source::read_dir`] lists from a work tree, so [`super::parse`] stays the one parser and
//! `--rev`, pins and rollbacks see exactly what a checkout of that commit would show.
//!
//! Like the work-tree source it skips hidden entries, reads only the files [`super::wants_content`]
//! names, and follows symlinks (stored in git as blobs holding the target) while they stay inside
//! the config repository, reporting those that leave it, dangle or loop. Nothing is checked out.

use std::collections::VecDeque;

use git2::{ObjectType, Oid, Repository, Tree};

use super::{Entry, EntryKind, SERVICES_DIR, settings, wants_content};
use crate::diagnostic::{Problem, Problems};

const MODE_TREE: i32 = 0o040000;
const MODE_LINK: i32 = 0o120000;
const MODE_SUBMODULE: i32 = 0o160000;
/// Symlinks followed while resolving one path before giving up, as Linux does (`ELOOP`).
const MAX_LINKS: usize = 40;

/// Lists the config repository at `prefix` (`/`-separated, `""` for the top) of the commit tree
/// `top`: `jones-sync.toml` and everything below `services/`; with `only`, just `services/` and
/// `services/<only>/`. `None` when `prefix` does not exist in the tree.
pub fn read(
    repo: &Repository,
    top: &Tree<'_>,
    prefix: &str,
    only: Option<&str>,
) -> Result<Option<(Vec<Entry>, Problems)>, git2::Error> {
    Ok(read_skipping(repo, top, prefix, only, &|_| false)?.map(|(entries, problems, _)| (entries, problems)))
}

/// What [`read_skipping`] lists: the entries, the problems found, and the symlinks listed.
pub type Listed = (Vec<Entry>, Problems, Vec<String>);

/// [`read`], leaving out the services `skip` names (for the parse cache), and the paths of the
/// symlinks listed.
pub fn read_skipping(
    repo: &Repository,
    top: &Tree<'_>,
    prefix: &str,
    only: Option<&str>,
    skip: &dyn Fn(&str) -> bool,
) -> Result<Option<Listed>, git2::Error> {
    let mut lister = Lister { repo, top: top.clone(), prefix: Vec::new() };
    let root = match lister.resolve(components(prefix))? {
        Resolved::Found { real, node: Node::Tree(_) } => real,
        _ => return Ok(None),
    };
    // Like the work-tree source's canonical root: links must stay inside the resolved directory.
    lister.prefix = root.clone();
    let mut out = Listing::default();
    let at = |name: &str| {
        let mut path = root.clone();
        path.push(name.to_string());
        path
    };
    if only.is_none() {
        lister.settings(at(settings::FILE), &mut out)?;
    }
    if lister.tree_at(&root)?.get_name(SERVICES_DIR).is_none() {
        return Ok(Some((out.entries, out.problems, out.links)));
    }
    let keep = |name: &str| only.is_none_or(|only| only == name) && !skip(name);
    lister.entry(
        SERVICES_DIR,
        &at(SERVICES_DIR),
        true,
        &mut Vec::new(),
        &mut out,
        Some(&keep as &dyn Fn(&str) -> bool),
    )?;
    Ok(Some((out.entries, out.problems, out.links)))
}

#[derive(Default)]
struct Listing {
    entries: Vec<Entry>,
    problems: Problems,
    /// The symlinks listed (what is below them is listed too).
    links: Vec<String>,
}

struct Lister<'r> {
    repo: &'r Repository,
    top: Tree<'r>,
    /// The config repository's path from the top; nothing outside it is read.
    prefix: Vec<String>,
}

enum Node<'r> {
    Tree(Tree<'r>),
    Blob(Oid),
    Submodule,
}

enum Resolved<'r> {
    /// `real` is the path from the top with every symlink resolved.
    Found {
        real: Vec<String>,
        node: Node<'r>,
    },
    Missing,
    /// A symlink pointing out of the git tree (absolute, or `..` above the top): its text.
    Outside(String),
    Loop,
}

impl<'r> Lister<'r> {
    /// The tree at `real`, a path from the top without symlinks.
    fn tree_at(&self, real: &[String]) -> Result<Tree<'r>, git2::Error> {
        let mut tree = self.top.clone();
        for name in real {
            let id = tree.get_name(name).ok_or_else(|| git2::Error::from_str("path vanished"))?.id();
            tree = self.repo.find_tree(id)?;
        }
        Ok(tree)
    }

    /// Follows `path` (components from the top) through the tree, resolving symlinks on the way.
    fn resolve(&self, path: Vec<String>) -> Result<Resolved<'r>, git2::Error> {
        let mut pending: VecDeque<String> = path.into();
        let mut real: Vec<String> = Vec::new();
        let mut tree = self.top.clone();
        let mut links = 0;
        while let Some(name) = pending.pop_front() {
            match name.as_str() {
                "" | "." => continue,
                ".." => {
                    if real.pop().is_none() {
                        return Ok(Resolved::Outside("..".into()));
                    }
                    tree = self.tree_at(&real)?;
                    continue;
                }
                _ => {}
            }
            let Some((mode, id, kind)) = tree.get_name(&name).map(|e| (e.filemode(), e.id(), e.kind())) else {
                return Ok(Resolved::Missing);
            };
            match mode {
                MODE_TREE => {
                    tree = self.repo.find_tree(id)?;
                    real.push(name);
                }
                MODE_LINK => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Ok(Resolved::Loop);
                    }
                    let target = String::from_utf8_lossy(self.repo.find_blob(id)?.content()).into_owned();
                    if target.starts_with('/') {
                        return Ok(Resolved::Outside(target));
                    }
                    // Relative to the link's directory (`real`), then whatever followed the link.
                    for part in components(&target).into_iter().rev() {
                        pending.push_front(part);
                    }
                }
                MODE_SUBMODULE => {
                    real.push(name);
                    return Ok(if pending.is_empty() {
                        Resolved::Found { real, node: Node::Submodule }
                    } else {
                        Resolved::Missing
                    });
                }
                _ if kind == Some(ObjectType::Blob) => {
                    real.push(name);
                    if pending.iter().any(|p| !p.is_empty() && p != ".") {
                        return Ok(Resolved::Missing); // a file is not a directory
                    }
                    return Ok(Resolved::Found { real, node: Node::Blob(id) });
                }
                _ => return Ok(Resolved::Missing),
            }
        }
        Ok(Resolved::Found { real, node: Node::Tree(tree) })
    }

    /// The entry `entry` of a listed tree, not a symlink, whose path from the top is `real`.
    fn child(&self, real: Vec<String>, entry: &git2::TreeEntry<'_>) -> Result<Resolved<'r>, git2::Error> {
        Ok(match entry.filemode() {
            MODE_TREE => Resolved::Found { real, node: Node::Tree(self.repo.find_tree(entry.id())?) },
            MODE_SUBMODULE => Resolved::Found { real, node: Node::Submodule },
            _ if entry.kind() == Some(ObjectType::Blob) => Resolved::Found { real, node: Node::Blob(entry.id()) },
            _ => Resolved::Missing,
        })
    }

    /// Adds the settings file at `path` (from the top), as the work-tree source does
    /// ([`super::source::read_settings`]): only from inside the config repository, only a file,
    /// and near misses of its name are problems.
    fn settings(&self, path: Vec<String>, out: &mut Listing) -> Result<(), git2::Error> {
        let problem = |message: String| Problem::new(settings::FILE, message);
        for entry in self.tree_at(&self.prefix)?.iter() {
            if let Ok(name) = entry.name()
                && settings::near_miss(name)
                && entry.filemode() != MODE_TREE
            {
                out.problems.push(settings::near_miss_problem(name));
            }
        }
        let leaves = |target: &str| {
            problem(format!(
                "symlink leaves the repository (it points to `{target}`): the settings are read from inside it only"
            ))
        };
        match self.resolve(path)? {
            Resolved::Found { real, .. } if !real.starts_with(&self.prefix) => {
                out.problems.push(leaves(&real.join("/")))
            }
            Resolved::Found { node: Node::Blob(oid), .. } => {
                let content = self.repo.find_blob(oid)?.content().to_vec();
                out.entries.push(Entry { path: settings::FILE.into(), kind: EntryKind::File(Some(content)) });
            }
            Resolved::Found { node: Node::Tree(_), .. } => out.problems.push(settings::directory_problem()),
            Resolved::Found { node: Node::Submodule, .. } => {
                out.problems.push(problem("a git submodule: the settings file must be a file".into()))
            }
            Resolved::Outside(target) => out.problems.push(leaves(&target)),
            Resolved::Loop => out.problems.push(problem("symlink loop".into())),
            Resolved::Missing => {
                if self.tree_at(&self.prefix)?.get_name(settings::FILE).is_some() {
                    out.problems.push(problem("broken symlink: its target does not exist".into()));
                }
            }
        }
        Ok(())
    }

    /// Lists the entry at `rel` (relative to the config repository) whose unresolved path from the
    /// top is `path`, and everything below it. `ancestors` holds the resolved paths of the
    /// directories being listed, to catch a symlink to one of them.
    fn entry(
        &self,
        rel: &str,
        path: &[String],
        is_link_or_root: bool,
        ancestors: &mut Vec<Vec<String>>,
        out: &mut Listing,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<(), git2::Error> {
        let resolved = self.resolve(path.to_vec())?;
        self.list(rel, resolved, is_link_or_root, ancestors, out, keep)
    }

    /// [`Lister::entry`] once `rel` is resolved.
    fn list(
        &self,
        rel: &str,
        resolved: Resolved<'r>,
        is_link_or_root: bool,
        ancestors: &mut Vec<Vec<String>>,
        out: &mut Listing,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<(), git2::Error> {
        let (real, node) = match resolved {
            Resolved::Found { real, node } => (real, node),
            Resolved::Missing => {
                let message = if is_link_or_root { "broken symlink: its target does not exist" } else { "not found" };
                out.problems.push(Problem::new(rel, message));
                return Ok(());
            }
            Resolved::Outside(target) => {
                let message = format!("symlink leaves the repository (it points to `{target}`)");
                out.problems.push(Problem::new(rel, message));
                return Ok(());
            }
            Resolved::Loop => {
                out.problems.push(Problem::new(rel, "symlink loop"));
                return Ok(());
            }
        };
        if !real.starts_with(&self.prefix) {
            let message = format!("symlink leaves the repository (it points to `{}`)", real.join("/"));
            out.problems.push(Problem::new(rel, message));
            return Ok(());
        }
        match node {
            Node::Blob(oid) => {
                let content =
                    if wants_content(rel) { Some(self.repo.find_blob(oid)?.content().to_vec()) } else { None };
                out.entries.push(Entry { path: rel.to_string(), kind: EntryKind::File(content) });
            }
            Node::Submodule => {
                let message = "a git submodule: its content is not part of this repository's commits";
                out.problems.push(Problem::new(rel, message));
            }
            Node::Tree(tree) => {
                if ancestors.contains(&real) {
                    out.problems.push(Problem::new(rel, "symlink loop"));
                    return Ok(());
                }
                out.entries.push(Entry { path: rel.to_string(), kind: EntryKind::Dir });
                ancestors.push(real.clone());
                for entry in tree.iter() {
                    let Ok(name) = entry.name() else {
                        let lossy = String::from_utf8_lossy(entry.name_bytes());
                        out.problems.push(Problem::new(format!("{rel}/{lossy}"), "name is not valid UTF-8: rename it"));
                        continue;
                    };
                    if name.starts_with('.') {
                        continue;
                    }
                    // The services directory lists just the services `keep` says.
                    if rel == SERVICES_DIR && keep.is_some_and(|keep| !keep(name)) {
                        continue;
                    }
                    let mut child = real.clone();
                    child.push(name.to_string());
                    let is_link = entry.filemode() == MODE_LINK;
                    // A symlink is followed from the top; anything else is what the entry says
                    // (walking from the top for every entry reads each directory above it again,
                    // and libgit2 keeps no tree over 4 KiB in its cache).
                    let resolved = if is_link {
                        out.links.push(format!("{rel}/{name}"));
                        self.resolve(child)?
                    } else {
                        self.child(child, &entry)?
                    };
                    self.list(&format!("{rel}/{name}"), resolved, is_link, ancestors, out, None)?;
                }
                ancestors.pop();
            }
        }
        Ok(())
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/').filter(|part| !part.is_empty()).map(String::from).collect()
}
