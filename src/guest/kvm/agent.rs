//! The guest agent's line protocol on the virtio-serial control port (see
//! `assets/agent.sh`): READY, `RUN id` / `EXIT id status`, `NET on|off`; and the network
//! switch built on it (the agent unbinds the NIC, QMP deletes its backend).

use std::fs;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::vm::{Net, ShareDir, Vm};
use super::wrapper::wrapper_script;
use super::{err, io_err};
use crate::guest::{GuestError, Network, User};
use crate::process;

pub(super) enum LineError {
    Timeout,
    Other(GuestError),
}

impl From<LineError> for GuestError {
    fn from(e: LineError) -> Self {
        match e {
            LineError::Timeout => err("timed out waiting for the guest agent"),
            LineError::Other(e) => e,
        }
    }
}

impl Vm {
    pub(super) fn console_tail(&self) -> String {
        process::tail_of_file(&self.console, 15)
    }

    /// One line from the agent; watches for QEMU's death, Ctrl-C and the deadline, calling
    /// `on_tick` between reads.
    pub(super) fn read_line_with(
        &mut self,
        deadline: Option<Instant>,
        on_tick: &mut dyn FnMut(),
    ) -> Result<String, LineError> {
        let _ = self.ctl.get_ref().set_read_timeout(Some(Duration::from_millis(100)));
        let mut line = String::new();
        loop {
            match self.ctl.read_line(&mut line) {
                Ok(0) => {
                    return Err(LineError::Other(self.died("the guest closed its control port")));
                }
                Ok(_) if line.ends_with('\n') => return Ok(line.trim_end().to_string()),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(LineError::Other(err(format!("control port: {e}")))),
            }
            on_tick();
            if process::interrupted() {
                return Err(LineError::Other(err("interrupted")));
            }
            if self.qemu.try_wait().is_some() {
                return Err(LineError::Other(self.died("QEMU exited")));
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(LineError::Timeout);
            }
        }
    }

    pub(super) fn read_line(&mut self, deadline: Option<Instant>) -> Result<String, LineError> {
        self.read_line_with(deadline, &mut || {})
    }

    pub(super) fn died(&mut self, what: &str) -> GuestError {
        let _ = self.qemu.wait_timeout(Duration::from_millis(500));
        err(format!(
            "{what}; QEMU log ({}):\n{}\nconsole:\n{}",
            self.qemu_log.display(),
            process::tail_of_file(&self.qemu_log, 10),
            self.console_tail()
        ))
    }

    pub(super) fn send(&mut self, line: &str) -> Result<(), GuestError> {
        self.ctl
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| err(format!("control port: {e}")))
    }

    pub(super) fn agent_net(&mut self, state: &str) -> Result<(), GuestError> {
        self.send(&format!("NET {state}"))?;
        let line = self.read_line(Some(Instant::now() + Duration::from_secs(60)))?;
        if line != format!("NET {state}") {
            return Err(err(format!("unexpected line from the guest agent: {line:?}")));
        }
        Ok(())
    }

    pub(super) fn set_network(&mut self, network: Network) -> Result<(), GuestError> {
        match (network, self.net) {
            (Network::Online, Net::Unused) => self.network_on(),
            (Network::Offline, Net::Unused | Net::On) => self.network_off(),
            (Network::Online, Net::Removed) => {
                Err(err("the network was already removed from this guest"))
            }
            (Network::Online, Net::Absent) => Err(err("this guest was created without a network")),
            _ => Ok(()),
        }
    }

    pub(super) fn network_on(&mut self) -> Result<(), GuestError> {
        self.agent_net("on")?;
        self.net = Net::On;
        Ok(())
    }

    pub(super) fn network_off(&mut self) -> Result<(), GuestError> {
        // Also when the network was never used: the agent takes the NIC away from the guest,
        // so a script sees only lo, as on every other backend.
        self.agent_net("off")?;
        // The guest side alone could be undone by root in the guest; deleting the NIC's
        // backend leaves nothing on the host to send packets to.
        let qmp = self.qmp.as_mut().ok_or_else(|| err("no QMP connection"))?;
        qmp.execute(r#"{"execute":"set_link","arguments":{"name":"nic0","up":false}}"#)?;
        qmp.execute(r#"{"execute":"netdev_del","arguments":{"id":"net0"}}"#)?;
        self.net = Net::Removed;
        Ok(())
    }

    pub(super) fn new_id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }

    /// Runs a script in the guest; its output is appended to `log` as it comes. A `helper`
    /// is our own root command, run by the agent's shell itself (two programs fewer).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(
        &mut self,
        user: User,
        setarch: Option<&str>,
        trace: bool,
        script: &str,
        env: &[(String, String)],
        log: Option<&Path>,
        helper: bool,
    ) -> Result<i32, GuestError> {
        let id = self.new_id();
        let dir = ShareDir::create(&self.share, "cmd", id)?;
        let dir = dir.path();
        let gdir = format!("/run/gitian/cmd/{id}");
        fs::write(dir.join("script"), script).map_err(|e| io_err("cannot write", dir, &e))?;
        let wrapper = if helper {
            format!("cd /root || exit 1\nexec >>{gdir}/log 2>&1 </dev/null\n. {gdir}/script\n")
        } else {
            wrapper_script(&self.arch, &self.user, user, setarch, trace, env, &gdir)
        };
        fs::write(dir.join("run"), wrapper).map_err(|e| io_err("cannot write", dir, &e))?;
        self.dispatch(id, dir, log)
    }

    /// Sends `RUN id` for the wrapper already in `dir` and waits for its exit status, appending
    /// its output to `log` as it comes.
    pub(super) fn dispatch(
        &mut self,
        id: u32,
        dir: &Path,
        log: Option<&Path>,
    ) -> Result<i32, GuestError> {
        let guest_log = dir.join("log");
        fs::write(&guest_log, "").map_err(|e| io_err("cannot write", &guest_log, &e))?;
        let mut sink = match log {
            Some(p) => Some(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| io_err("cannot open", p, &e))?,
            ),
            None => None,
        };
        let mut offset = 0u64;
        let mut pump = |sink: &mut Option<fs::File>| {
            if let (Some(out), Ok(mut f)) = (sink.as_mut(), fs::File::open(&guest_log))
                && f.seek(SeekFrom::Start(offset)).is_ok()
            {
                let mut buf = Vec::new();
                if f.read_to_end(&mut buf).is_ok() && !buf.is_empty() {
                    offset += buf.len() as u64;
                    let _ = out.write_all(&buf);
                }
            }
        };
        self.send(&format!("RUN {id}"))?;
        let line = self.read_line_with(None, &mut || pump(&mut sink))?;
        pump(&mut sink);
        line.strip_prefix(&format!("EXIT {id} "))
            .and_then(|c| c.parse::<i32>().ok())
            .ok_or_else(|| err(format!("unexpected line from the guest agent: {line:?}")))
    }
}
