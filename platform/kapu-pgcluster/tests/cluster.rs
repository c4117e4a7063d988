//! Starts real PostgreSQL clusters in temporary directories.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kapu_pgcluster::{PgCluster, find_binaries};

/// Runs `sql` with psql against the cluster and returns its unaligned output.
fn psql(cluster: &PgCluster, sql: &str) -> Result<String> {
    let output = Command::new(find_binaries()?.join("psql"))
        .args(["-X", "-At", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
        .args(["-p", &cluster.port().to_string(), "-c", sql])
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// Waits until `condition` holds, for at most `timeout`.
fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn starts_stops_and_restarts_reusing_the_data() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cluster = PgCluster::start(dir.path(), 0).context("first start")?;
    assert_ne!(cluster.port(), 5432);
    assert_eq!(cluster.url("kapu"), format!("postgres://postgres@127.0.0.1:{}/kapu", cluster.port()));
    assert_eq!(psql(&cluster, "show fsync")?, "off");
    assert_eq!(psql(&cluster, "show max_connections")?, "300");
    assert_eq!(psql(&cluster, "show server_encoding")?, "UTF8");
    psql(&cluster, "create table kept (note text); insert into kept values ('árvíztűrő')")?;
    cluster.stop()?;
    cluster.stop()?;
    assert!(!dir.path().join("postmaster.pid").exists());

    let cluster = PgCluster::start(dir.path(), 0)?;
    assert_eq!(psql(&cluster, "select note from kept")?, "árvíztűrő");
    Ok(())
}

#[test]
fn a_stale_pid_file_from_a_killed_run_is_ignored() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cluster = PgCluster::start(dir.path(), 0)?;
    let pid_file = std::fs::read_to_string(dir.path().join("postmaster.pid"))?;
    cluster.stop()?;

    // A pid that is certainly not running: a child we have already reaped.
    let mut gone = Command::new("true").spawn()?;
    gone.wait()?;
    let stale = pid_file.replacen(pid_file.lines().next().context("empty pid file")?, &gone.id().to_string(), 1);
    std::fs::write(dir.path().join("postmaster.pid"), stale)?;

    let cluster = PgCluster::start(dir.path(), 0)?;
    assert_eq!(psql(&cluster, "select 1")?, "1");
    Ok(())
}

#[test]
fn a_data_dir_the_server_user_cannot_reach_is_reported() -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let outer = tempfile::tempdir()?;
    std::fs::set_permissions(outer.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let error = PgCluster::start(&outer.path().join("data"), 0).err().context("started in an unreachable directory")?;
    assert!(matches!(&error, kapu_pgcluster::PgClusterError::Unreachable { blocking, .. } if blocking == outer.path()), "{error}");
    Ok(())
}

/// Helper run in a child process by `the_server_dies_with_its_owner`: starts a cluster, prints
/// its port and waits for stdin to close.
#[test]
#[ignore = "helper process for the_server_dies_with_its_owner"]
fn owner_process() -> Result<()> {
    let Some(dir) = std::env::var_os("KAPU_PGCLUSTER_OWNER_DIR") else {
        return Ok(());
    };
    let cluster = PgCluster::start(Path::new(&dir), 0)?;
    println!("PORT={}", cluster.port());
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(())
}

#[test]
fn the_server_dies_with_its_owner() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut owner = Command::new(std::env::current_exe()?)
        .args(["--exact", "owner_process", "--ignored", "--nocapture"])
        .env("KAPU_PGCLUSTER_OWNER_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = owner.stdout.take().context("no stdout")?;
    let port = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("PORT=").map(str::to_owned))
        .context("the owner process printed no port")?;
    assert!(dir.path().join("postmaster.pid").exists(), "port {port}");

    owner.kill()?;
    owner.wait()?;
    // The postmaster removes its pid file as the last step of shutting down.
    assert!(wait_until(Duration::from_secs(30), || !dir.path().join("postmaster.pid").exists()), "postgres outlived its owner");
    Ok(())
}
