"""Throwaway PostgreSQL clusters, for the test harness and the bench alike.

A cluster lives in a work directory the postgres user owns (PostgreSQL
refuses to run as root: when we are root, initdb and pg_ctl run as
postgres), listens on a unix socket in that directory only, on a port
nobody else uses, and is stopped by the data directory it was started
from: nothing else is ever signalled.
"""
import os
import pwd
import subprocess
import time


def as_postgres():
    """Must the server programs run as the postgres user (we are root)?"""
    return os.geteuid() == 0


def server_cmd(args, keep_env=()):
    """args, run as the postgres user when we are root, keeping the named
    environment variables (runuser resets the rest)."""
    if not as_postgres():
        return list(args)
    keep = ["-w", ",".join(keep_env)] if keep_env else []
    return ["runuser", "-u", "postgres"] + keep + ["--"] + list(args)


def own_path(path):
    """Give a file or directory to the server's user (when we are root)."""
    if as_postgres():
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def own_workdir(work):
    """Let the postgres user write in work (its sockets and logs go there)."""
    os.chmod(work, 0o755)
    if as_postgres():
        pw = pwd.getpwnam("postgres")
        os.chown(work, pw.pw_uid, pw.pw_gid)


def initdb(bindir, data, sockdir, port, max_connections, extra_conf, shared_buffers="32MB",
           fsync=False):
    """initdb data (trust, UTF8, C locale) for a server on sockdir's socket
    and port only, with extra_conf appended to postgresql.conf.  Tests run
    with fsync off; the bench keeps it on, as a server users run would."""
    subprocess.run(server_cmd([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust",
                               "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(data, "postgresql.conf"), "a") as f:
        f.write("""
listen_addresses = ''
unix_socket_directories = '{sock}'
port = {port}
fsync = {fsync}
max_connections = {maxconn}
shared_buffers = {sb}
log_line_prefix = '%m [%p] '
""".format(sock=sockdir, port=port, maxconn=max_connections, sb=shared_buffers,
           fsync="on" if fsync else "off") + extra_conf)


def start(bindir, data, log, env=None, keep_env=(), retry_for=0):
    """pg_ctl start and wait.  retry_for: seconds to keep trying (after a
    kill -9 the old children may hold shared memory a moment)."""
    deadline = time.time() + retry_for
    while True:
        r = subprocess.run(server_cmd([os.path.join(bindir, "pg_ctl"), "-D", data, "-w",
                                       "-t", "60", "-l", log, "start"], keep_env),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        if r.returncode == 0:
            return
        if time.time() >= deadline:
            raise RuntimeError("the cluster in %s did not start: %s (see %s)"
                               % (data, r.stderr.strip(), log))
        time.sleep(0.5)


def stop(bindir, data):
    """pg_ctl stop -m fast, waiting; quiet if it is not running."""
    subprocess.run(server_cmd([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast",
                               "-w", "stop"]),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
