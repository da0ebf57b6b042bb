//! Pseudo-terminals for a wrapped command's output (`wrkr wrap --tty`).
//!
//! Many tools colour their output, page it or draw progress only when stdout is a terminal; under
//! `wrap` their output goes to pipes (to be logged and hashed) and they turn that off. With
//! `--tty` each output stream gets a pseudo-terminal of its own instead of a pipe: stdout and
//! stderr stay apart (two logs, two hashes, and stdout still goes only where wrap's stdout rules
//! say), and the command sees a terminal on both.
//!
//! The terminal's output processing is turned off (no `\n` to `\r\n`), so the bytes logged and
//! hashed are the bytes the command wrote, as with a pipe. The window size is our own terminal's
//! when we have one (80x24 otherwise). The terminal is not made the command's controlling
//! terminal: it is an output device, not a session; stdin is handled as without `--tty`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One pseudo-terminal: the command writes to `slave`, we read from `master`.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Open a pseudo-terminal sized like ours, both ends closed on exec (the slave reaches the
/// command as its stdout or stderr, which the spawn duplicates without the flag).
#[cfg(unix)]
pub fn open() -> io::Result<Pty> {
    let mut size = libc::winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        let mut ours = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed; a failing ioctl (fd not
        // a terminal) leaves it as it was.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ours) } == 0 && ours.ws_col > 0 {
            size = ours;
            break;
        }
    }
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the ints passed; no name buffer is given, the
    // termios pointer may be null and the winsize is read only.
    let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    if opened != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openpty succeeded: both are fresh descriptors that nothing else owns.
    let pty = unsafe { Pty { master: OwnedFd::from_raw_fd(master), slave: OwnedFd::from_raw_fd(slave) } };
    for fd in [&pty.master, &pty.slave] {
        // SAFETY: F_SETFD on a descriptor we own.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    raw_output(&pty.slave)?;
    Ok(pty)
}

/// Elsewhere there is no pseudo-terminal to give.
#[cfg(not(unix))]
pub fn open() -> io::Result<Pty> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "pseudo-terminals need a Unix system"))
}

/// Turn off output processing: what the command writes is what we read.
#[cfg(unix)]
fn raw_output(slave: &OwnedFd) -> io::Result<()> {
    // SAFETY: termios is plain data; tcgetattr fills it from a terminal we own before it is read.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: as above; both calls only read and write the struct passed.
    unsafe {
        if libc::tcgetattr(slave.as_raw_fd(), &mut termios) != 0 {
            return Err(io::Error::last_os_error());
        }
        termios.c_oflag &= !libc::OPOST;
        if libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &termios) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A read from a master whose slave side every process has closed fails with EIO on Linux where
/// a pipe reads 0: for us, both mean the stream ended.
pub fn is_hangup(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EIO)
}
