//! Progress of long operations (verify, backup, restore): one line
//! rewritten in place on a terminal; when stderr is not a terminal (a
//! service's journal, a script), a plain line when a stage starts and ends
//! and at most every few seconds in between.

use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

/// Between two progress lines when not on a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Reports (stage, done, total) on stderr.
#[derive(Debug)]
pub struct Progress {
    interactive: bool,
    stage: String,
    last: Option<Instant>,
}

impl Progress {
    /// Progress on this process's stderr.
    pub fn stderr() -> Self {
        Self {
            interactive: std::io::stderr().is_terminal(),
            stage: String::new(),
            last: None,
        }
    }

    /// Reports that `done` of `total` steps of `stage` are done.
    pub fn update(&mut self, stage: &str, done: u64, total: u64) {
        let new_stage = stage != self.stage;
        if new_stage {
            self.stage = stage.to_owned();
        }
        let finished = done >= total;
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let mut err = std::io::stderr().lock();
        if self.interactive {
            let _ = write!(err, "\r{stage}: {done}/{total} ({percent}%)   ");
            if finished {
                let _ = writeln!(err);
            }
            let _ = err.flush();
            return;
        }
        let due = self.last.is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if new_stage || finished || due {
            let _ = writeln!(err, "{stage}: {done}/{total} ({percent}%)");
            self.last = Some(Instant::now());
        }
    }
}
