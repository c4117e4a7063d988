use std::path::PathBuf;
use std::process::ExitStatus;

/// Why a private PostgreSQL cluster could not be found, created, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PgClusterError {
    /// No directory holding both `initdb` and `postgres` was found.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found on PATH, in $KAPU_PG_BINDIR or under \
         /usr/lib/postgresql/*/bin; install the `postgresql` package"
    )]
    BinariesNotFound,
    /// Running as root, but there is no `postgres` system user to run the server as.
    #[error(
        "running as root, and PostgreSQL refuses to run as root, but there is no `postgres` system user \
         to run it as; install the `postgresql` package (it creates the user)"
    )]
    NoPostgresUser,
    /// A parent of the data directory cannot be entered by the user that runs PostgreSQL.
    #[error(
        "the `{user}` user cannot enter {blocking} (a parent of the data directory {data_dir}); \
         use a data directory it can reach, e.g. under /tmp or /var/tmp"
    )]
    Unreachable {
        /// The requested data directory.
        data_dir: PathBuf,
        /// The ancestor directory that is not traversable.
        blocking: PathBuf,
        /// The user PostgreSQL runs as.
        user: String,
    },
    /// Another live postmaster, not orphaned, already serves the data directory.
    #[error("a postmaster (pid {pid}) is already running on {data_dir}")]
    AlreadyRunning {
        /// The data directory.
        data_dir: PathBuf,
        /// The running postmaster's process id.
        pid: i32,
    },
    /// `initdb` exited unsuccessfully.
    #[error("initdb failed ({status}):\n{output}")]
    Initdb {
        /// Its exit status.
        status: ExitStatus,
        /// Its standard output and error.
        output: String,
    },
    /// The postmaster exited during startup.
    #[error("postgres exited during startup ({status}); log:\n{log}")]
    StartFailed {
        /// Its exit status.
        status: ExitStatus,
        /// The server log written during this startup attempt.
        log: String,
    },
    /// The postmaster did not become ready, or did not exit, in time.
    #[error("timed out waiting for postgres to {what}; log:\n{log}")]
    Timeout {
        /// What was awaited ("accept connections", "shut down").
        what: &'static str,
        /// The server log written since the start.
        log: String,
    },
    /// An operating system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl PgClusterError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub(crate) fn nix(context: impl Into<String>) -> impl FnOnce(nix::Error) -> Self {
        let context = context.into();
        move |errno| Self::Io { context, source: std::io::Error::from(errno) }
    }
}
