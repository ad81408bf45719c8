"""Real services for the tests, each in its own process on a free loopback port: the one
home of ``ServerProcess`` (start it, wait until it answers, stop it) and ``free_port``, which
the browser tests' portal and the test PKI build on too; moto's standalone S3-compatible
server, the portal under gunicorn, `flask --app wsgi …` commands, and a small HTTP browser
(cookies, CSRF token) to drive a served portal."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# moto accepts any credentials; boto3 needs some to sign its requests.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "absah-test", "AWS_SECRET_ACCESS_KEY": "absah-test-secret",
           "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    """A loopback port nobody listens on at the moment."""
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


def answers(url: str, any_status: bool = False) -> bool:
    """Whether ``url`` answers with a success (2xx), or with any HTTP status at all."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return any_status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def listens(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerProcess:
    """A server in its own process on a loopback port, its output appended to ``log`` (no
    pipe to drain or leak). A subclass's ``start`` says how it starts: ``launch`` the
    command, then ``wait_until`` it answers. As a context manager it is stopped afterwards."""

    def __init__(self, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.log = Path(log)
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Self:
        raise NotImplementedError("a subclass says how its server starts")

    def launch(self, command: list[str], cwd: Path | None = None,
               env: dict[str, str] | None = None) -> None:
        """Start ``command`` in its own process, its output going to the log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Return once ``check()`` holds. When the process ends first, or ``timeout`` seconds
        pass, stop it and raise with the log's tail."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                code = self.process.returncode if self.process is not None else None
                self.stop()
                raise RuntimeError(f"{what} exited ({code}) while starting:\n"
                                   + self.log_tail())
            if check():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{what} did not answer within {timeout:.0f} s:\n"
                                   + self.log_tail())
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the process; kill it when it has not ended within 10 s."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MotoS3(ServerProcess):
    """moto's standalone server (``python -m moto.server``), an S3-compatible store."""

    def __init__(self, folder: Path):
        super().__init__(Path(folder) / "moto.log")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Self:
        self.launch([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                     str(self.port)], env={**os.environ, **AWS_ENV})
        self.wait_until(lambda: answers(self.endpoint + "/moto-api/", any_status=True),
                        timeout, "moto")
        return self

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])

    def new_bucket(self) -> str:
        """A new empty bucket; returns the PORTAL_STORAGE_URL that names it."""
        name = f"absah-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}?endpoint={self.endpoint}&region=us-east-1"

    def objects(self, storage_url: str) -> dict[str, bytes]:
        """Every object of the bucket a storage URL names: {name: bytes}."""
        bucket = storage_url.split("://", 1)[1].split("?", 1)[0]
        client = self.client()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", ()):
                found[item["Key"]] = client.get_object(Bucket=bucket,
                                                       Key=item["Key"])["Body"].read()
        return found


def portal_env(instance_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a portal process: this one's without PORTAL_*, plus the AWS
    credentials moto takes, the instance folder and ``settings`` (PORTAL_* names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(AWS_ENV)
    env.update({"PORTAL_INSTANCE_DIR": str(instance_dir), "PYTHONUNBUFFERED": "1",
                "PORTAL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    env.update(settings)
    return env


def flask(env: dict[str, str], *args: str, check: bool = True,
          timeout: float = 300) -> subprocess.CompletedProcess:
    """``flask --app wsgi ARGS`` in its own process; output captured."""
    result = subprocess.run([_tool("flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


class Gunicorn(ServerProcess):
    """The portal served by gunicorn from an instance folder, with the given environment
    (PORTAL_BASE_URL is this server's address unless the environment names one); started
    once /healthz answers 200. Its output goes to ``log``, by default gunicorn.log in the
    instance folder; with ``access_log``, gunicorn writes its access log there."""

    def __init__(self, env: dict[str, str], workers: int = 2, port: int | None = None,
                 log: Path | None = None, access_log: Path | None = None):
        super().__init__(log or Path(env["PORTAL_INSTANCE_DIR"]) / "gunicorn.log", port)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PORTAL_BASE_URL": env.get("PORTAL_BASE_URL", self.base_url)}
        self.workers = workers
        self.access_log = access_log

    def start(self, timeout: float = 60) -> Self:
        command = [_tool("gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                   "--graceful-timeout", "5"]
        if self.access_log is not None:
            command += ["--access-logfile", str(self.access_log)]
        self.launch(command + ["wsgi:app"], cwd=ROOT, env=self.env)
        self.wait_until(lambda: answers(self.base_url + "/healthz"), timeout, "gunicorn")
        return self


class Web:
    """One person's session with a served portal: cookies and the page's CSRF token."""

    def __init__(self, base_url: str):
        import requests

        self.base_url = base_url
        self.session = requests.Session()
        self.token: str | None = None

    def on(self, base_url: str) -> Web:
        """The same cookies, sent to another host (as a load balancer would)."""
        other = Web(base_url)
        other.session.cookies = self.session.cookies
        other.token = self.token
        return other

    def get(self, path: str, **kw):
        kw.setdefault("allow_redirects", False)
        response = self.session.get(self.base_url + path, timeout=60, **kw)
        self._remember(response)
        return response

    def post(self, path: str, data=None, files=None, **kw):
        if self.token is None:
            self.get("/login")
        data = {"csrf_token": self.token, **(data or {})}
        kw.setdefault("allow_redirects", False)
        response = self.session.post(self.base_url + path, data=data, files=files,
                                     timeout=120, **kw)
        self._remember(response)
        return response

    def login(self, email: str, password: str):
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, (response.status_code, response.text[:800])
        self.get(response.headers["Location"].replace(self.base_url, ""),
                 allow_redirects=True)  # the page after login carries the session's token
        return response

    def _remember(self, response) -> None:
        if "text/html" in response.headers.get("Content-Type", ""):
            match = CSRF.search(response.text)
            if match:
                self.token = unescape(match.group(1))


PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


class PgDatabase:
    """A fresh PostgreSQL database beside the one PORTAL_TEST_DATABASE_URL names (its name
    plus a suffix), dropped afterwards: for servers and tools that need a whole database."""

    def __init__(self, suffix: str):
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(PG_URL)
        self.name = f"{parts.path.lstrip('/') or 'postgres'}_{suffix}"
        self.admin = urlunsplit(parts._replace(path="/postgres", query=""))
        self.url = urlunsplit(parts._replace(path=f"/{self.name}", query=""))

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def create(self) -> str:
        self.drop()
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    def drop(self) -> None:
        self._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()",
                    f'DROP DATABASE IF EXISTS "{self.name}"')

    def __enter__(self) -> str:
        return self.create()

    def __exit__(self, *exc) -> None:
        self.drop()
