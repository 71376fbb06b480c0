//! A stop request that a thread blocked on a pipe or a sleep can wake up for.
//!
//! A reader blocked in `read(2)` on a pipe cannot check a flag, and a reader that checked a
//! flag and then read could lose the lines it read if the process exited before it sent them.
//! So readers `poll(2)` their input together with the read end of a self-pipe; a stop request
//! writes one byte into it and never drains it, so every poller sees it from then on.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::pipe::{PipeFlags, pipe_with};

pub struct Stop {
    requested: AtomicBool,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
}

/// What a wait ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait {
    /// The input is readable (or at end, or in error: a read will tell).
    Ready,
    /// A stop was requested.
    Stopped,
}

impl Stop {
    pub fn new() -> std::io::Result<Stop> {
        let (wake_read, wake_write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Stop {
            requested: AtomicBool::new(false),
            wake_read,
            wake_write,
        })
    }

    /// Asks every reader to stop at the next line boundary it reaches.
    pub fn request(&self) {
        if !self.requested.swap(true, Ordering::SeqCst) {
            // The pipe is empty until now, so one byte always fits; if the write failed anyway,
            // the flag is still set and readers of regular files still see it.
            let _ = rustix::io::write(&self.wake_write, b"x");
        }
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Waits until `input` is readable or a stop is requested.
    pub fn wait_readable(&self, input: impl AsFd) -> std::io::Result<Wait> {
        if self.requested() {
            return Ok(Wait::Stopped);
        }
        loop {
            let mut fds = [
                PollFd::new(&self.wake_read, PollFlags::IN),
                PollFd::new(&input, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(0) => continue,
                Ok(_) if !fds[0].revents().is_empty() => return Ok(Wait::Stopped),
                Ok(_) => return Ok(Wait::Ready),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sleeps for `duration` unless a stop is requested first; true when stopped.
    pub fn sleep(&self, duration: Duration) -> bool {
        if self.requested() {
            return true;
        }
        let timeout = Timespec {
            tv_sec: duration.as_secs() as _,
            tv_nsec: duration.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&self.wake_read, PollFlags::IN)];
        // An error or an interruption only shortens the sleep; callers loop anyway.
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        self.requested()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_wakes_a_waiter() {
        let stop = std::sync::Arc::new(Stop::new().unwrap());
        let (_keep_open, pipe_read) = {
            let (r, w) = rustix::pipe::pipe().unwrap();
            (w, r)
        };
        let waiter = {
            let stop = stop.clone();
            std::thread::spawn(move || stop.wait_readable(&pipe_read).unwrap())
        };
        std::thread::sleep(Duration::from_millis(20));
        stop.request();
        assert_eq!(waiter.join().unwrap(), Wait::Stopped);
        assert!(stop.requested());
        assert!(stop.sleep(Duration::from_secs(60)));
    }

    #[test]
    fn readable_input() {
        let stop = Stop::new().unwrap();
        let (r, w) = rustix::pipe::pipe().unwrap();
        rustix::io::write(&w, b"line\n").unwrap();
        assert_eq!(stop.wait_readable(&r).unwrap(), Wait::Ready);
        assert!(!stop.sleep(Duration::from_millis(1)));
    }
}
