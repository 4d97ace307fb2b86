//! QEMU's monitor (QMP): JSON commands, one per line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::err;
use crate::guest::GuestError;

/// A QMP connection: JSON commands, one per line.
#[derive(Debug)]
pub(super) struct Qmp {
    pub(super) stream: BufReader<UnixStream>,
}

impl Qmp {
    pub(super) fn handshake(stream: UnixStream) -> Result<Self, GuestError> {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut qmp = Self { stream: BufReader::new(stream) };
        let mut greeting = String::new();
        qmp.stream.read_line(&mut greeting).map_err(|e| err(format!("QMP: {e}")))?;
        qmp.execute(r#"{"execute":"qmp_capabilities"}"#)?;
        Ok(qmp)
    }

    /// Sends one command and returns its `return` line; events in between are skipped.
    pub(super) fn execute(&mut self, command: &str) -> Result<String, GuestError> {
        self.stream
            .get_mut()
            .write_all(format!("{command}\n").as_bytes())
            .map_err(|e| err(format!("QMP: {e}")))?;
        loop {
            let mut line = String::new();
            match self.stream.read_line(&mut line) {
                Ok(0) => return Ok(String::new()),
                Ok(_) => {}
                Err(e) => return Err(err(format!("QMP: {e}"))),
            }
            if line.contains("\"return\"") {
                return Ok(line);
            }
            if line.contains("\"error\"") {
                return Err(err(format!("QMP {command}: {}", line.trim())));
            }
        }
    }
}
