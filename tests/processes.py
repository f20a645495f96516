"""Real server processes for the tests: started, waited for, stopped."""

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(command: list[str], ready_url: str, log_path: Path, *, env: dict | None = None, cwd=None,
            timeout: float = 180):
    """Run `command`, its output in `log_path`; yield once `ready_url` answers,
    then stop it (killed if it does not stop in 20 s)."""
    log = open(log_path, "w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{Path(command[1]).name} did not start; see {log_path}")
                time.sleep(0.5)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
