"""Support for the browser tests: the portal served the way ``make run`` serves it (migrate,
load the demo data, then a real WSGI server), on a free loopback port with a fresh instance
folder, and Debian's Chromium driven by Playwright. Nothing here downloads a browser."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic",
                 "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DEMO_PASSWORD = "demo-browser-2026"


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return ("browser tests skipped: the playwright package is not installed "
                "(pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        return f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tool(name: str) -> str:
    """A console script of the virtualenv running the tests (.venv/bin/<name>)."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


class Portal:
    """The portal in its own processes: ``flask db upgrade``, ``flask demo``, then gunicorn.

    Use as a context manager, or ``start()`` / ``stop()``. Output goes to ``server.log`` in
    the instance folder (no pipes to drain or leak); a failed start raises with its tail.
    """

    def __init__(self, instance_dir: Path, password: str = DEMO_PASSWORD, workers: int = 2,
                 extra_env: dict[str, str] | None = None):
        self.instance_dir = Path(instance_dir)
        self.password = password
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.instance_dir / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        self.env.update({"PORTAL_INSTANCE_DIR": str(self.instance_dir),
                         "PORTAL_BASE_URL": self.base_url,
                         "PORTAL_DEMO_PASSWORD": password,
                         "PYTHONUNBUFFERED": "1",
                         **(extra_env or {})})
        self.process: subprocess.Popen | None = None
        self._log = None

    def _flask(self, *args: str) -> None:
        with open(self.log_path, "ab") as log:
            result = subprocess.run([_tool("flask"), "--app", "wsgi", *args], cwd=ROOT,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=180, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n"
                               + self.log_tail())

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self, timeout: float = 60) -> Portal:
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        self._flask("db", "upgrade")
        self._flask("demo")
        self._log = open(self.log_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            [_tool("gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError("gunicorn exited while starting:\n" + self.log_tail())
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"/healthz did not answer within {timeout} s:\n"
                                   + self.log_tail())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def __enter__(self) -> Portal:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_chromium(playwright):
    """Debian's Chromium, headless; never a downloaded browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium_session():
    """Playwright and Debian's Chromium for a test module, stopped afterwards."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def artifact_dir(test_name: str) -> Path:
    """test-artifacts/browser/<test name>/, created (the name made safe for a path)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in test_name).strip("-")
    path = ARTIFACTS / safe
    path.mkdir(parents=True, exist_ok=True)
    return path
