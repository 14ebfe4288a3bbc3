//! The process's standard streams, or in-memory ones for tests. The only code that writes to
//! stdout or stderr; knows whether each is a terminal.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::{Arc, Mutex};

type Sink = Box<dyn Write + Send>;
type Source = Box<dyn Read + Send>;

pub struct IoStreams {
    out: Mutex<Sink>,
    err: Mutex<Sink>,
    input: Mutex<Source>,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    pub stdin_tty: bool,
    /// The terminal's width in columns, when stdout is a terminal.
    pub stdout_width: Option<u16>,
}

impl IoStreams {
    pub fn system() -> Self {
        let stdout_tty = io::stdout().is_terminal();
        IoStreams {
            stdout_width: stdout_tty
                .then(|| terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| w.0))
                .flatten(),
            stdout_tty,
            stderr_tty: io::stderr().is_terminal(),
            stdin_tty: io::stdin().is_terminal(),
            out: Mutex::new(Box::new(io::stdout())),
            err: Mutex::new(Box::new(io::stderr())),
            input: Mutex::new(Box::new(io::stdin())),
        }
    }

    /// Streams backed by memory: what was written can be read back from the buffers.
    pub fn memory(stdin: &str) -> (Self, SharedBuf, SharedBuf) {
        let out = SharedBuf::default();
        let err = SharedBuf::default();
        let io = IoStreams {
            out: Mutex::new(Box::new(out.clone())),
            err: Mutex::new(Box::new(err.clone())),
            input: Mutex::new(Box::new(io::Cursor::new(stdin.as_bytes().to_vec()))),
            stdout_tty: false,
            stderr_tty: false,
            stdin_tty: false,
            stdout_width: None,
        };
        (io, out, err)
    }

    /// Writes data to stdout. A closed pipe (`csp … | head`) surfaces as `BrokenPipe`.
    pub fn out(&self, text: &str) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes a line to stderr; failures to write diagnostics are ignored.
    pub fn err_line(&self, text: &str) {
        let mut err = self.err.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }

    /// Reads one line of stdin (for "press Enter" pauses).
    pub fn read_line(&self) -> io::Result<String> {
        let mut input = self.input.lock().unwrap_or_else(|e| e.into_inner());
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while input.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Reads all of stdin.
    pub fn read_stdin(&self) -> io::Result<String> {
        let mut s = String::new();
        self.input
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .read_to_string(&mut s)?;
        Ok(s)
    }
}

/// A clonable in-memory writer.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
