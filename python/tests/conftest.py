"""Fixtures of the Python tests: the programs of this build and a store the real daemon wrote.

CTest (python/CMakeLists.txt) sets PYTHONPATH, RESIDUED, RESIDUE_CLI and RESIDUE_TEST_DATA_DIR;
run by hand, they default to build/ and tests/data/ of this checkout.
"""
import hashlib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "python"))
RESIDUED = os.environ.get("RESIDUED", str(ROOT / "build" / "residued"))
RESIDUE_CLI = os.environ.get("RESIDUE_CLI", str(ROOT / "build" / "residue"))
TEST_DATA = pathlib.Path(os.environ.get("RESIDUE_TEST_DATA_DIR", ROOT / "tests" / "data"))
TOKEN = "python-test-token-0123456789abcdef"


def run_cli(*args):
    """Runs the residue tool; returns its stdout."""
    done = subprocess.run([RESIDUE_CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fill_store(work, store_toml=""):
    """residued on a free loopback port (as scripts/lib/daemon.sh starts it), with task "words"
    (MSS, k = 256) and `store_toml` (its store settings; none: SQLite in work/data), takes 20000
    reports from `residue loadgen`, then stops on SIGTERM after committing them."""
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    (work / "residued.toml").write_text(
        'listen = "127.0.0.1:0"\ndata_dir = "data"\n' + store_toml +
        '[[tasks]]\nname = "words"\nprotocol = "mss"\nepsilon = 2.0\nk = 256\n'
        f'[[tokens]]\nname = "pytest"\ntoken_sha256 = "{digest}"\nroles = ["report", "read"]\n')
    out = open(work / "residued.out", "w+")
    daemon = subprocess.Popen([RESIDUED, "--config", work / "residued.toml"], stdout=out,
                              stderr=subprocess.STDOUT)
    try:
        url = None
        for _ in range(600):  # a minute at most
            match = re.search(r"http://[0-9.]+:[0-9]+", (work / "residued.out").read_text())
            if match or daemon.poll() is not None:
                url = match and match.group(0)
                break
            time.sleep(0.1)
        assert url, (work / "residued.out").read_text()
        run_cli("loadgen", "--url", url, "--token", TOKEN, "--task", "words", "--reports",
                20000, "--batch", 1000, "--data", "zipf:1.1")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """A SQLite data directory holding task "words" as residued wrote it (fill_store)."""
    work = tmp_path_factory.mktemp("store")
    fill_store(work)
    return work / "data"


@pytest.fixture(scope="session")
def postgres_store(tmp_path_factory):
    """The conninfo of a PostgreSQL server on 127.0.0.1 (initdb and postgres of `pg_config
    --bindir`, as the `postgres` user under root, since both refuse root) holding task "words"
    as residued wrote it (fill_store). The server is stopped at the end of the session."""
    bindir = pathlib.Path(subprocess.run(["pg_config", "--bindir"], capture_output=True,
                                         text=True, check=True).stdout.strip())
    work = tmp_path_factory.mktemp("postgres")
    # Not under pytest's directories: those are 0700 root's, and the server runs as postgres.
    pg = pathlib.Path(tempfile.mkdtemp(prefix="residue-pg-"))
    user = {}
    if os.geteuid() == 0:
        user = {"user": "postgres", "group": "postgres", "extra_groups": []}
        shutil.chown(pg, "postgres", "postgres")
    log = open(pg / "server.log", "a")
    initdb = subprocess.run([bindir / "initdb", "-D", pg / "data", "-A", "trust", "-U",
                             "residue", "-E", "UTF8", "--locale=C", "--no-sync"], stdout=log,
                            stderr=log, timeout=60, **user)
    assert initdb.returncode == 0, (pg / "server.log").read_text()
    with socket.socket() as s:  # a free port (the C++ fixture retries a taken one; rare)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([bindir / "postgres", "-D", pg / "data", "-c",
                               "listen_addresses=127.0.0.1", "-p", str(port), "-c",
                               f"unix_socket_directories={pg}"], stdout=log, stderr=log, **user)
    conninfo = f"host=127.0.0.1 port={port} user=residue dbname=postgres connect_timeout=5"
    try:
        for _ in range(300):
            if subprocess.run([bindir / "pg_isready", "-q", "-h", "127.0.0.1", "-p",
                               str(port)]).returncode == 0:
                break
            assert server.poll() is None, (pg / "server.log").read_text()
            time.sleep(0.1)
        else:
            raise AssertionError("PostgreSQL did not accept connections within 30 s: " +
                                 (pg / "server.log").read_text())
        fill_store(work, f'store = "postgres"\n[postgres]\nconninfo = "{conninfo}"\n')
        yield conninfo
    finally:
        server.send_signal(signal.SIGQUIT)
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(pg, ignore_errors=True)


@pytest.fixture(scope="session")
def memory_file(tmp_path_factory):
    """A memory over tests/data/brown_tiny (28 words, 2 cells), built by `residue memory build`."""
    path = tmp_path_factory.mktemp("memory") / "tiny.rm"
    run_cli("memory", "build", "--eps", 8, "--n", 2000, "--vocab", 28, "--cells", 2,
            "--dimension", 4, "--cells-candidates", 20, "--data-dir", TEST_DATA / "brown_tiny",
            "--out", path)
    return path
