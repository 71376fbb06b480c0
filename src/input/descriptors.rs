//! File descriptors for following many files at once: each followed file stays open.
//!
//! The soft limit on open files (often 1024, or less under a service manager) is raised toward
//! the hard one as far as the files need, as a process that knows it keeps many files open
//! should. Following never takes the last [`RESERVE`] descriptors (a quarter of them under a
//! tiny limit): the sinks, the state file and the rotated copies being read need theirs. When
//! files still cannot all be opened, the follower says so once and tries them again on later
//! looks.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use rustix::io::Errno;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors that following leaves free for the rest of statbuf: a SQLite database and its
/// journal files, a CSV file, the temporary state file and its directory, the pipes of an
/// `--exec` command, a rotated copy being read to its end, a compressed file's second handle.
pub const RESERVE: u64 = 16;

/// The descriptors to leave free under a soft limit of `soft`: [`RESERVE`], or a quarter of
/// the limit when that is less, so that a tiny limit still lets a file or two be followed.
fn reserve(soft: u64) -> u64 {
    RESERVE.min(soft / 4)
}

/// Why a file could not be opened for lack of descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortage {
    /// This process holds as many as its limit allows (`EMFILE`).
    Process,
    /// The system's table of open files is full (`ENFILE`).
    System,
}

impl Shortage {
    /// The shortage an error of `open` reports, if it is one.
    pub fn of(error: &io::Error) -> Option<Shortage> {
        match error.raw_os_error().map(Errno::from_raw_os_error) {
            Some(Errno::MFILE) => Some(Shortage::Process),
            Some(Errno::NFILE) => Some(Shortage::System),
            _ => None,
        }
    }
}

/// The open-file limit of this process, as raised for following.
#[derive(Clone, Copy, Debug)]
pub struct Descriptors {
    /// The soft limit; `None` when unlimited.
    soft: Option<u64>,
    /// The hard limit, which only a privileged process may raise; `None` when unlimited.
    hard: Option<u64>,
}

impl Descriptors {
    /// Raises the soft limit, if it is too low for `files` more open files and the reserve,
    /// as far as the hard limit allows. Failing that, the limit stays as it is.
    pub fn raise_for(files: usize) -> Descriptors {
        let limit = getrlimit(Resource::Nofile);
        let in_use = lowest_free().or(limit.current).unwrap_or(0);
        let wanted = in_use + files as u64 + RESERVE;
        if let Some(soft) = limit.current
            && soft < wanted
        {
            let raised = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
            if raised > soft {
                // Refused (by a sandbox, say), the lower limit still works: files are opened
                // as far as it goes, and the shortage is reported.
                let _ = setrlimit(
                    Resource::Nofile,
                    Rlimit {
                        current: Some(raised),
                        maximum: limit.maximum,
                    },
                );
            }
        }
        let limit = getrlimit(Resource::Nofile);
        Descriptors {
            soft: limit.current,
            hard: limit.maximum,
        }
    }

    /// Whether one more file may be opened with the reserve still free after it.
    ///
    /// Descriptors are numbered from the lowest free one up, so every number below the lowest
    /// free one is taken: when it is close to the limit, few are left.
    pub fn spare(&self) -> bool {
        let Some(soft) = self.soft else {
            return true;
        };
        lowest_free().is_some_and(|free| free + reserve(soft) < soft)
    }

    /// What to tell the user when files cannot be opened: the limit, and how to raise it.
    pub fn explain(&self, shortage: Shortage) -> io::Error {
        let text = match (shortage, self.soft, self.hard) {
            (Shortage::System, ..) => "the system's table of open files is full (raise the \
                                       fs.file-max sysctl, or close files elsewhere)"
                .to_string(),
            (Shortage::Process, Some(soft), Some(hard)) if soft >= hard => format!(
                "too many open files (limit {soft}, which is also the hard limit); raise it \
                 with `ulimit -n N` where statbuf is started (the hard limit as root, or with \
                 LimitNOFILE= for a systemd service, nofile in limits.conf)"
            ),
            (Shortage::Process, Some(soft), _) => format!(
                "too many open files (limit {soft}); raise it with `ulimit -n N` where statbuf \
                 is started"
            ),
            (Shortage::Process, None, _) => "too many open files".to_string(),
        };
        io::Error::other(format!(
            "{text}; they are tried again on every look, and the other files are counted \
             meanwhile"
        ))
    }
}

/// The lowest descriptor number not in use, found by duplicating a standard stream (the
/// copy, closed at once, takes the lowest free number). When none is free, `None`.
fn lowest_free() -> Option<u64> {
    let (stderr, stdout, stdin) = (std::io::stderr(), std::io::stdout(), std::io::stdin());
    for stream in [stderr.as_fd(), stdout.as_fd(), stdin.as_fd()] {
        match rustix::io::fcntl_dupfd_cloexec(stream, 0) {
            Ok(copy) => return Some(copy.as_raw_fd() as u64),
            // Nothing is open under that number.
            Err(Errno::BADF) => continue,
            Err(_) => return None,
        }
    }
    // None of the three standard streams is open: 0 is free.
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_shrinks_only_under_a_tiny_limit() {
        assert_eq!(reserve(1024), RESERVE);
        assert_eq!(reserve(64), RESERVE);
        assert_eq!(reserve(20), 5);
    }

    #[test]
    fn shortages_are_known_by_their_errors() {
        let of = |errno: Errno| Shortage::of(&io::Error::from_raw_os_error(errno.raw_os_error()));
        assert_eq!(of(Errno::MFILE), Some(Shortage::Process));
        assert_eq!(of(Errno::NFILE), Some(Shortage::System));
        assert_eq!(of(Errno::NOENT), None);
        assert_eq!(Shortage::of(&io::Error::other("too many")), None);
    }

    #[test]
    fn a_hard_limit_is_named_with_how_to_raise_it() {
        let capped = Descriptors {
            soft: Some(64),
            hard: Some(64),
        };
        let text = capped.explain(Shortage::Process).to_string();
        for part in ["limit 64", "hard limit", "ulimit -n", "tried again"] {
            assert!(text.contains(part), "{part:?} missing from {text:?}");
        }
        let system = capped.explain(Shortage::System).to_string();
        assert!(system.contains("fs.file-max"), "{system:?}");
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = getrlimit(Resource::Nofile);
        let after = Descriptors::raise_for(0);
        assert!(after.soft >= before.current || after.soft.is_none());
        assert_eq!(after.hard, before.maximum);
    }
}
