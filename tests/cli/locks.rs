//! File locks through the real binary: a command waiting for the lock another csp holds still
//! answers Ctrl-C at once, instead of after the whole lock wait.

#[cfg(unix)]
mod unix {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use csp::files::{self, LOCK_WAIT};

    use crate::support::TestEnv;

    /// Waits for the child to exit; kills it past `limit` so a regression fails instead of
    /// hanging the suite (a safety net, not a timing assertion).
    fn wait_or_kill(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                panic!("csp did not exit within {limit:?} of Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[tokio::test]
    async fn ctrl_c_while_waiting_for_the_mappings_lock_exits_130_at_once() {
        let env = TestEnv::new().await;
        let mappings = env.config_dir().join("mappings.json");
        // Another csp is changing the mappings.
        let held = files::lock_for(&mappings, LOCK_WAIT).unwrap();

        let mut child = env
            .std_cmd()
            .args(["-v", "map", "remove", "--customer", "Contoso"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in stderr.lines() {
                let line = line.unwrap();
                all.push_str(&line);
                all.push('\n');
                let _ = lines_tx.send(line);
            }
            all
        });

        // csp says it waits once it has waited one round, by which time its runtime has
        // started listening for Ctrl-C; a `-v` line, so the test knows when to press it.
        let waiting = loop {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains("waiting for another csp process") => break true,
                Ok(_) => continue,
                Err(_) => break false,
            }
        };
        if !waiting {
            let _ = child.kill();
            panic!(
                "csp never said it was waiting for the lock: {}",
                reader.join().unwrap()
            );
        }
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: sends a signal to the child this test started and has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);

        // Well past LOCK_WAIT: only a hang fails here; the exit code says what happened.
        let status = wait_or_kill(&mut child, LOCK_WAIT * 6);
        let stderr = reader.join().unwrap();
        assert_eq!(status.code(), Some(130), "{stderr}");
        assert!(
            !stderr.contains("is locked by another csp process"),
            "{stderr}"
        );
        assert!(
            !mappings.exists(),
            "nothing may be written without the lock"
        );
        drop(held);
    }
}
