//! `csp` on a pseudo-terminal, through util-linux `script`: what a person at a terminal sees
//! (colour, tables fitted to the width, progress bars), and Ctrl-C typed at it (byte 3, which
//! the terminal turns into SIGINT).

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::TestEnv;

impl TestEnv {
    /// `csp {line}` on a terminal `width` columns wide (its own default when `None`), with this
    /// world's environment. `line` is shell text: redirections such as `2>/dev/null` work.
    pub fn on_terminal(&self, line: &str, width: Option<u16>) -> Command {
        let base = self.std_cmd();
        let size = width
            .map(|w| format!("stty cols {w} rows 50; "))
            .unwrap_or_default();
        let program = base.get_program().to_str().unwrap().to_string();
        let mut cmd = Command::new("script");
        for (k, v) in base.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.env("TERM", "xterm-256color").args([
            "-qfec",
            &format!("{size}{program} {line}"),
            "/dev/null",
        ]);
        cmd
    }
}

/// Runs a terminal command to its end: what the terminal showed, without carriage returns.
pub fn shown(mut cmd: Command) -> String {
    let out = cmd.output().expect("util-linux `script` runs");
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

/// Waits until the terminal shows `until`, types Ctrl-C, and returns how csp ended and all
/// the terminal showed. A csp that ignores Ctrl-C is killed after a minute and fails the test
/// (not a timing assertion: it would otherwise hang the suite).
pub async fn ctrl_c_once_shown(mut cmd: Command, until: &'static str) -> (ExitStatus, String) {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("util-linux `script` runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains(until) {
            let n = stdout.read(&mut buf).unwrap();
            assert!(
                n > 0,
                "csp ended before showing {until:?}: {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
        stdin.write_all(&[3]).unwrap();
        stdin.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("csp did not stop on Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut rest = Vec::new();
        let _ = stdout.read_to_end(&mut rest);
        seen.extend(rest);
        (status, String::from_utf8_lossy(&seen).into_owned())
    })
    .await
    .unwrap()
}
