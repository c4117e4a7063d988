//! Starts a private PostgreSQL cluster from the system's binaries, for the demo and the tests.
//!
//! [`PgCluster::start`] creates the data directory with `initdb` when needed and runs
//! `postgres` as a child process listening only on 127.0.0.1, tuned for speed rather than
//! durability (`fsync=off`). It never touches the system's own cluster.
//!
//! PostgreSQL refuses to run as root. When this process is root the server runs as the
//! `postgres` system user, so the data directory's parents must be enterable by that user:
//! `/tmp/...` works, `/root/...` does not (and is reported as [`PgClusterError::Unreachable`]).
//!
//! **The server does not outlive this process.** The postmaster is started through a tiny
//! `/bin/sh` guard: a background subshell blocks reading a pipe whose only writer is this
//! process. [`PgCluster::stop`] tells the guard to exit quietly and shuts the server down
//! itself; if this process dies instead (even by `SIGKILL`), the kernel closes the pipe, the
//! guard reads end-of-file and sends the postmaster `SIGINT` (fast shutdown). This needs no
//! `unsafe` `pre_exec` hook, and unlike `PR_SET_PDEATHSIG` it follows the process, not the
//! thread that happened to spawn the server.

mod error;

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, User};

pub use error::PgClusterError;

/// How long to wait for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before escalating.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often to look at the pid file or the child while waiting.
const POLL: Duration = Duration::from_millis(20);
/// Port attempts when the caller lets us pick the port (another process may grab it first).
const PORT_ATTEMPTS: usize = 5;
/// The system cluster's port, which we must never take.
const SYSTEM_PORT: u16 = 5432;
/// Server log, appended to on every start, inside the data directory.
const LOG_FILE: &str = "kapu-postgres.log";
/// Unix socket paths longer than this do not fit in `sockaddr_un`.
const MAX_SOCKET_PATH: usize = 100;

/// Settings that trade durability for speed: these clusters hold throwaway data.
const SERVER_SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=300",
    "shared_buffers=256MB",
    "logging_collector=off",
    // The server log must hold no personal data or secrets: no statement text (Kapu's
    // one-message paths carry their values inlined) and no DETAIL lines, which quote the
    // values of a violated unique key.
    "log_min_error_statement=panic",
    "log_error_verbosity=terse",
];

/// The guard around the postmaster; see the crate documentation. `$$` in the subshell is the
/// shell's pid, which `exec` hands to the postmaster. A line on the pipe means "exit quietly";
/// end-of-file means "our owner is gone, shut the server down".
const GUARD_SCRIPT: &str = "exec 3<&0; { read -r _ <&3 || kill -INT $$ 2>/dev/null; } & exec \"$@\" </dev/null 3<&-";

/// A running private PostgreSQL cluster; stopped when dropped.
pub struct PgCluster {
    data_dir: PathBuf,
    port: u16,
    child: Option<Child>,
    log_start: u64,
}

impl PgCluster {
    /// Finds the server binaries with [`find_binaries`], creates the data directory with
    /// `initdb` if it does not hold a cluster yet (trust authentication, UTF8, locale C,
    /// superuser `postgres`), then starts `postgres` listening only on 127.0.0.1 on `port`
    /// (0 picks a free port; never 5432) with its unix socket in the data directory, and
    /// returns once it accepts connections.
    ///
    /// An existing data directory is reused. A `postmaster.pid` left by a killed run is
    /// removed; an orphaned postmaster still serving the directory is shut down first.
    pub fn start(data_dir: &Path, port: u16) -> Result<PgCluster, PgClusterError> {
        let bin_dir = find_binaries()?;
        let runner = Runner::current()?;
        let data_dir = prepare_data_dir(data_dir, &runner)?;
        if !data_dir.join("PG_VERSION").exists() {
            initdb(&bin_dir, &data_dir, &runner)?;
        }
        clear_stale_lock(&data_dir)?;

        let attempts = if port == 0 { PORT_ATTEMPTS } else { 1 };
        let mut attempt = 1;
        loop {
            let port = if port == 0 { free_port()? } else { port };
            match spawn(&bin_dir, &data_dir, port, &runner) {
                Ok(cluster) => return Ok(cluster),
                Err(Spawn::PortTaken(_)) if attempt < attempts => {
                    tracing::debug!(port, "port taken while starting postgres, retrying");
                    attempt += 1;
                }
                Err(Spawn::PortTaken(error) | Spawn::Failed(error)) => return Err(error),
            }
        }
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file (inside the data directory).
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE)
    }

    /// The data directory (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database` as the superuser: `postgres://postgres@127.0.0.1:{port}/{database}`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A connection URL for `database` as `user` (authentication is trust, so no password):
    /// `postgres://{user}@127.0.0.1:{port}/{database}`.
    pub fn url_as(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// Shuts the server down fast (`SIGINT`: clients are disconnected, no checkpoint wait
    /// beyond the shutdown one) and waits for it to exit, escalating to immediate shutdown
    /// and then `SIGKILL` if it takes too long. Calling it again does nothing.
    pub fn stop(&mut self) -> Result<(), PgClusterError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // Dismiss the guard first so that it never signals a pid we have already reaped.
        dismiss_guard(&mut child);
        let pid = child_pid(&child);
        let _ = kill(pid, Signal::SIGINT);
        if wait_child(&mut child, STOP_TIMEOUT)?.is_some() {
            return Ok(());
        }
        tracing::warn!(data_dir = %self.data_dir.display(), "postgres did not stop in time, sending SIGQUIT");
        let _ = kill(pid, Signal::SIGQUIT);
        if wait_child(&mut child, STOP_TIMEOUT)?.is_some() {
            return Ok(());
        }
        let _ = child.kill();
        child.wait().map_err(PgClusterError::io("waiting for postgres to exit"))?;
        Err(PgClusterError::Timeout { what: "shut down", log: read_log(&self.data_dir, self.log_start) })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::error!(%error, data_dir = %self.data_dir.display(), "stopping postgres failed");
        }
    }
}

/// Finds the directory holding the PostgreSQL server binaries (`initdb`, `postgres`):
/// `$KAPU_PG_BINDIR` if set, else the first such directory on `PATH` (following a symlinked
/// `postgres` to its installation), else the highest version under `/usr/lib/postgresql/*/bin`
/// (Debian and Ubuntu keep them there).
pub fn find_binaries() -> Result<PathBuf, PgClusterError> {
    if let Some(dir) = std::env::var_os("KAPU_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return if has_server_binaries(&dir) { Ok(dir) } else { Err(PgClusterError::BinariesNotFound) };
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_server_binaries(dir))
    {
        return Ok(real_bin_dir(dir));
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.split('.').map(|part| part.parse::<u32>().ok()).collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or(PgClusterError::BinariesNotFound)
}

/// Follows a symlinked `postgres` (as in `/usr/local/bin/postgres -> /usr/lib/postgresql/15/bin/postgres`)
/// to the installation's own directory, which also holds the client tools.
fn real_bin_dir(dir: PathBuf) -> PathBuf {
    fs::canonicalize(dir.join("postgres"))
        .ok()
        .and_then(|real| real.parent().map(Path::to_path_buf))
        .filter(|real| has_server_binaries(real))
        .unwrap_or(dir)
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "postgres"].iter().all(|name| fs::metadata(dir.join(name)).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0))
}

/// Who runs the server: this process's user, or `postgres` when this process is root.
struct Runner {
    /// The user to switch to; `None` means stay as we are.
    user: Option<User>,
}

impl Runner {
    fn current() -> Result<Self, PgClusterError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(Self { user: None });
        }
        let user = User::from_name("postgres")
            .map_err(PgClusterError::nix("looking up the postgres user"))?
            .ok_or(PgClusterError::NoPostgresUser)?;
        Ok(Self { user: Some(user) })
    }

    fn name(&self) -> String {
        match &self.user {
            Some(user) => user.name.clone(),
            None => User::from_uid(nix::unistd::geteuid()).ok().flatten().map_or_else(|| "current".to_owned(), |user| user.name),
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        // The binaries resolve their own path and fail if the working directory is unreadable.
        command.current_dir("/");
        if let Some(user) = &self.user {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw()).env("HOME", &user.dir).env("USER", &user.name).env("LOGNAME", &user.name);
        }
        command
    }

    /// Whether the runner may enter `dir` (ignoring supplementary groups).
    fn can_traverse(&self, dir: &Path) -> bool {
        let Some(user) = &self.user else {
            return true;
        };
        let Ok(meta) = fs::metadata(dir) else {
            return false;
        };
        let mode = meta.mode();
        if meta.uid() == user.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

fn prepare_data_dir(data_dir: &Path, runner: &Runner) -> Result<PathBuf, PgClusterError> {
    let absolute = std::path::absolute(data_dir).map_err(PgClusterError::io(format!("resolving {}", data_dir.display())))?;
    fs::create_dir_all(&absolute).map_err(PgClusterError::io(format!("creating {}", absolute.display())))?;
    let data_dir = absolute.canonicalize().map_err(PgClusterError::io(format!("resolving {}", absolute.display())))?;
    if let Some(blocking) = data_dir.ancestors().skip(1).find(|dir| !runner.can_traverse(dir)) {
        return Err(PgClusterError::Unreachable { data_dir: data_dir.clone(), blocking: blocking.to_path_buf(), user: runner.name() });
    }
    if let Some(user) = &runner.user
        && !data_dir.join("PG_VERSION").exists()
    {
        std::os::unix::fs::chown(&data_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .map_err(PgClusterError::io(format!("handing {} to the postgres user", data_dir.display())))?;
    }
    if !data_dir.join("PG_VERSION").exists() {
        fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o700))
            .map_err(PgClusterError::io(format!("restricting {}", data_dir.display())))?;
    }
    Ok(data_dir)
}

fn initdb(bin_dir: &Path, data_dir: &Path, runner: &Runner) -> Result<(), PgClusterError> {
    tracing::info!(data_dir = %data_dir.display(), "creating a PostgreSQL cluster");
    let output = runner
        .command(&bin_dir.join("initdb"))
        .arg("--pgdata")
        .arg(data_dir)
        .args(["--auth=trust", "--encoding=UTF8", "--locale=C", "--username=postgres", "--no-sync"])
        .stdin(Stdio::null())
        .output()
        .map_err(PgClusterError::io("running initdb"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(PgClusterError::Initdb {
        status: output.status,
        output: format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    })
}

/// Removes the lock files of a server that is no longer running. A postmaster that still
/// serves the directory is shut down if it is orphaned (its owner was killed before its guard
/// could act), and reported otherwise.
fn clear_stale_lock(data_dir: &Path) -> Result<(), PgClusterError> {
    let pid_file = data_dir.join("postmaster.pid");
    let Ok(contents) = fs::read_to_string(&pid_file) else {
        return Ok(());
    };
    if let Some(pid) = contents.lines().next().and_then(|line| line.trim().parse::<i32>().ok())
        && serves(pid, data_dir)
    {
        if parent_pid(pid) != Some(1) {
            return Err(PgClusterError::AlreadyRunning { data_dir: data_dir.to_path_buf(), pid });
        }
        tracing::warn!(pid, data_dir = %data_dir.display(), "shutting down an orphaned postmaster");
        let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while serves(pid, data_dir) {
            if Instant::now() > deadline {
                return Err(PgClusterError::AlreadyRunning { data_dir: data_dir.to_path_buf(), pid });
            }
            std::thread::sleep(POLL);
        }
    }
    let mut stale = vec![pid_file];
    stale.extend(
        fs::read_dir(data_dir)
            .map_err(PgClusterError::io(format!("listing {}", data_dir.display())))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(".s.PGSQL.") && name.ends_with(".lock"))
            }),
    );
    for path in stale {
        match fs::remove_file(&path) {
            Ok(()) => tracing::debug!(path = %path.display(), "removed a stale lock file"),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(PgClusterError::Io { context: format!("removing {}", path.display()), source: error });
            }
        }
    }
    Ok(())
}

/// Whether `pid` is a live process working in `data_dir` (a postmaster `chdir`s there).
fn serves(pid: i32, data_dir: &Path) -> bool {
    let alive = fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat_field(&stat, 0).is_some_and(|state| state != "Z"));
    alive && fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == data_dir)
}

fn parent_pid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_field(&stat, 1)?.parse().ok()
}

/// The `index`th field of `/proc/<pid>/stat` after the command name (0 = state, 1 = ppid).
fn stat_field(stat: &str, index: usize) -> Option<&str> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(index)
}

fn free_port() -> Result<u16, PgClusterError> {
    loop {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(PgClusterError::io("finding a free port"))?;
        let port = listener.local_addr().map_err(PgClusterError::io("finding a free port"))?.port();
        if port != SYSTEM_PORT {
            return Ok(port);
        }
    }
}

enum Spawn {
    /// The port was taken; another may work.
    PortTaken(PgClusterError),
    Failed(PgClusterError),
}

fn spawn(bin_dir: &Path, data_dir: &Path, port: u16, runner: &Runner) -> Result<PgCluster, Spawn> {
    let log_path = data_dir.join(LOG_FILE);
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Spawn::Failed(PgClusterError::io(format!("opening {}", log_path.display()))(e)))?;
    let log_start = log.seek(SeekFrom::End(0)).map_err(|e| Spawn::Failed(PgClusterError::io("reading the log length")(e)))?;
    let log_err = log.try_clone().map_err(|e| Spawn::Failed(PgClusterError::io("duplicating the log handle")(e)))?;

    let socket_path = data_dir.join(format!(".s.PGSQL.{port}"));
    let socket_dir = if socket_path.as_os_str().len() <= MAX_SOCKET_PATH {
        data_dir.as_os_str().to_string_lossy().into_owned()
    } else {
        tracing::warn!(data_dir = %data_dir.display(), "data directory path too long for a unix socket, TCP only");
        String::new()
    };

    let mut command = runner.command(Path::new("/bin/sh"));
    command
        .arg("-c")
        .arg(GUARD_SCRIPT)
        .arg("kapu-postgres-guard")
        .arg(bin_dir.join("postgres"))
        .arg("-D")
        .arg(data_dir)
        .arg("-p")
        .arg(port.to_string())
        .arg("-c")
        .arg(format!("unix_socket_directories={socket_dir}"));
    for setting in SERVER_SETTINGS {
        command.arg("-c").arg(setting);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .spawn()
        .map_err(|e| Spawn::Failed(PgClusterError::io("starting postgres")(e)))?;

    let mut cluster = PgCluster { data_dir: data_dir.to_path_buf(), port, child: None, log_start };
    let pid = child.id();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                dismiss_guard(&mut child);
                let log = read_log(data_dir, log_start);
                let error = PgClusterError::StartFailed { status, log };
                return Err(if is_port_taken(&error) { Spawn::PortTaken(error) } else { Spawn::Failed(error) });
            }
            Ok(None) => {}
            Err(e) => {
                cluster.child = Some(child);
                return Err(Spawn::Failed(PgClusterError::io("watching postgres")(e)));
            }
        }
        if is_ready(data_dir, pid) {
            tracing::info!(port, data_dir = %data_dir.display(), "PostgreSQL cluster ready");
            cluster.child = Some(child);
            return Ok(cluster);
        }
        if Instant::now() > deadline {
            // Dropping the cluster shuts the half-started server down.
            cluster.child = Some(child);
            return Err(Spawn::Failed(PgClusterError::Timeout { what: "accept connections", log: read_log(data_dir, log_start) }));
        }
        std::thread::sleep(POLL);
    }
}

fn is_port_taken(error: &PgClusterError) -> bool {
    matches!(error, PgClusterError::StartFailed { log, .. }
        if log.contains("could not bind") || log.contains("Address already in use"))
}

/// Whether the postmaster `pid` reports itself ready in `postmaster.pid` (line 1 is the pid,
/// line 8 the status, as `pg_ctl` reads them).
fn is_ready(data_dir: &Path, pid: u32) -> bool {
    let Ok(contents) = fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let lines: Vec<&str> = contents.lines().collect();
    lines.first().and_then(|line| line.trim().parse::<u32>().ok()) == Some(pid) && lines.get(7).map(|line| line.trim()) == Some("ready")
}

fn read_log(data_dir: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(data_dir.join(LOG_FILE))
        && file.seek(SeekFrom::Start(from)).is_ok()
    {
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

/// Tells the guard to exit without signalling the postmaster.
fn dismiss_guard(child: &mut Child) {
    if let Some(mut guard) = child.stdin.take() {
        let _ = guard.write_all(b"stop\n");
    }
}

fn child_pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

fn wait_child(child: &mut Child, timeout: Duration) -> Result<Option<std::process::ExitStatus>, PgClusterError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(PgClusterError::io("waiting for postgres to exit"))? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}
