//! The programs some tests need besides statbuf, and what a test does without one: outside CI
//! it says which program is missing and how to install it, and skips; under CI (the `CI`
//! variable set) it fails, since a green CI run must have run every test.

use std::path::{Path, PathBuf};

/// A program some tests need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// The independent count most tests compare with.
    Mawk,
    /// Fault injection (`-e inject=`).
    Strace,
    /// A real terminal for the progress display.
    Tmux,
    /// GNU time, for peak memory (`-f %M`).
    GnuTime,
    /// Renders the man page.
    Man,
    /// Lints the man page.
    Mandoc,
    Zsh,
    Fish,
}

impl Tool {
    /// The program: a path, or a name looked up in PATH.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Mawk => "/usr/bin/mawk",
            Tool::Strace => "strace",
            Tool::Tmux => "tmux",
            Tool::GnuTime => "/usr/bin/time",
            Tool::Man => "man",
            Tool::Mandoc => "mandoc",
            Tool::Zsh => "zsh",
            Tool::Fish => "fish",
        }
    }

    /// The Debian package that installs it.
    pub fn package(self) -> &'static str {
        match self {
            Tool::Mawk => "mawk",
            Tool::Strace => "strace",
            Tool::Tmux => "tmux",
            Tool::GnuTime => "time",
            Tool::Man => "man-db",
            Tool::Mandoc => "mandoc",
            Tool::Zsh => "zsh",
            Tool::Fish => "fish",
        }
    }

    /// Where it is installed, if it is.
    pub fn path(self) -> Option<PathBuf> {
        let program = Path::new(self.program());
        if program.is_absolute() {
            return program.is_file().then(|| program.to_path_buf());
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    }
}

/// Whether every tool a test needs is installed. When one is not, says so (naming the package)
/// and returns false, so that the test returns at once; under CI, fails the test instead.
pub fn have(tools: &[Tool]) -> bool {
    let missing: Vec<Tool> = tools.iter().copied().filter(|t| t.path().is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let names: Vec<&str> = missing.iter().map(|t| t.program()).collect();
    let packages: Vec<&str> = missing.iter().map(|t| t.package()).collect();
    let message = format!(
        "this test needs {} (apt-get install {})",
        names.join(", "),
        packages.join(" ")
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipped: {message}");
    false
}
