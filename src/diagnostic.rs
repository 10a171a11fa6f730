//! Problems found in a config repository, each pinned to a file and, where there is one, a line
//! and column, so that a user can jump straight to the mistake.
//!
//! Validation never stops at the first problem: every stage pushes into a [`Problems`] list, which
//! is sorted (file, line, column, message) before it is shown.

use std::fmt;

/// One problem in the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Path relative to the repository root, `/`-separated (`services/shop/prod/config.toml`).
    pub file: String,
    /// 1-based line and column (in characters), when the problem has a place inside the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { file: file.into(), position: None, message: message.into() }
    }

    /// A problem at byte `offset` of `text`.
    pub fn at(file: impl Into<String>, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Problem { file: file.into(), position: Some(line_column(text, offset)), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// 1-based line and column (counted in characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A list of problems that is sorted and deduplicated when it is read.
#[derive(Debug, Default, Clone)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, sorted by file, position and message, without duplicates.
    pub fn into_sorted(mut self) -> Vec<Problem> {
        self.0.sort();
        self.0.dedup();
        self.0
    }
}

impl Extend<Problem> for Problems {
    fn extend<T: IntoIterator<Item = Problem>>(&mut self, iter: T) {
        self.0.extend(iter);
    }
}

/// Renders sorted problems followed by a count line, as `validate`, `plan` and `apply` print them.
pub fn render(problems: &[Problem]) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&format!("error: {problem}\n"));
    }
    let n = problems.len();
    out.push_str(&format!("{n} problem{} found\n", if n == 1 { "" } else { "s" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` after the two-byte `é`: byte 10, character column 4.
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 1000), (3, 1));
    }

    #[test]
    fn problems_sort_by_file_then_position() {
        let mut problems = Problems::default();
        problems.push(Problem::new("b", "x"));
        problems.push(Problem { file: "a".into(), position: Some((3, 1)), message: "late".into() });
        problems.push(Problem { file: "a".into(), position: Some((1, 2)), message: "early".into() });
        problems.push(Problem::new("b", "x"));
        let sorted: Vec<String> = problems.into_sorted().iter().map(ToString::to_string).collect();
        assert_eq!(sorted, ["a:1:2: early", "a:3:1: late", "b: x"]);
    }
}
