"""Support for the browser tests: the portal served the way ``make run`` serves it (migrate,
load the demo data, then a real WSGI server), on a free loopback port with a fresh instance
folder, and Debian's Chromium driven by Playwright. Nothing here downloads a browser. Also the
page check the phone and statistics tests share: each page at a phone's and a desktop's size,
no sideways scrolling, no serious or critical axe-core violation (``check_pages``)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from services import ROOT, Gunicorn, _tool

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic",
                 "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DEMO_PASSWORD = "demo-browser-2026"
TIMEOUT_MS = 15_000
# The two screens every page must fit: a phone and a desktop.
SIZES = ({"width": 360, "height": 740}, {"width": 1280, "height": 800})
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
# axe runs in the page's main world even with the page's own JavaScript switched off.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ${v.help} -- `
         + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""
# The elements whose right edge lies past the viewport, outermost first (for the message).
STICKING_OUT = """() => {
  const width = window.innerWidth, found = [];
  for (const e of document.querySelectorAll('body *')) {
    const box = e.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5) {
      const classes = typeof e.className === 'string' ? e.className.trim().split(/\\s+/) : [];
      const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + classes.filter(Boolean).map(c => '.' + c).join('');
      found.push(`${name} (right edge ${Math.round(box.right)} px): `
        + (e.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50));
    }
  }
  return found.slice(0, 8);
}"""


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return ("browser tests skipped: the playwright package is not installed "
                "(pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        return f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


class Portal(Gunicorn):
    """The portal in its own processes: ``flask db upgrade``, ``flask demo``, then gunicorn.

    Use as a context manager, or ``start()`` / ``stop()``. Output goes to ``server.log`` in
    the instance folder (no pipes to drain or leak); a failed start raises with its tail.
    """

    def __init__(self, instance_dir: Path, password: str = DEMO_PASSWORD, workers: int = 2,
                 extra_env: dict[str, str] | None = None):
        self.instance_dir = Path(instance_dir)
        self.password = password
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update({"PORTAL_INSTANCE_DIR": str(self.instance_dir),
                    "PORTAL_DEMO_PASSWORD": password,
                    "PYTHONUNBUFFERED": "1",
                    **(extra_env or {})})
        super().__init__(env, workers, log=self.instance_dir / "server.log")

    @property
    def log_path(self) -> Path:
        return self.log

    def _flask(self, *args: str) -> None:
        with open(self.log_path, "ab") as log:
            result = subprocess.run([_tool("flask"), "--app", "wsgi", *args], cwd=ROOT,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=180, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n"
                               + self.log_tail())

    def start(self, timeout: float = 60) -> Portal:
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        self._flask("db", "upgrade")
        self._flask("demo")
        return super().start(timeout)

    def url(self, path: str = "/") -> str:
        return self.base_url + path


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


def module_fixtures(name: str, seed: str, seed_timeout: float):
    """The module-wide fixtures of a browser test module, assigned to their names there:

        portal, seeded, browser = module_fixtures("phone", SEED, seed_timeout=180)

    ``portal``, a Portal in a fresh instance folder; ``seeded``, the JSON that ``seed`` (a
    Python script run in the portal's environment) prints on its last line; ``browser``,
    Debian's Chromium."""

    @pytest.fixture(scope="module")
    def portal(tmp_path_factory):
        with Portal(tmp_path_factory.mktemp(name) / "instance") as running:
            yield running

    @pytest.fixture(scope="module")
    def seeded(portal) -> dict:
        result = subprocess.run([sys.executable, "-c", seed], cwd=ROOT, env=portal.env,
                                capture_output=True, text=True, timeout=seed_timeout,
                                check=False)
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    @pytest.fixture(scope="module")
    def browser(portal):
        with chromium_session() as chromium:
            yield chromium

    return portal, seeded, browser


def artifact_dir(test_name: str) -> Path:
    """test-artifacts/browser/<test name>/, created (the name made safe for a path)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in test_name).strip("-")
    path = ARTIFACTS / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_in(page, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()


@contextlib.contextmanager
def on_phone(browser, base_url: str, who: str | None, password: str, js: bool = False,
               timeout_ms: float | None = None):
    """A page of a new browser context at a phone's size (SIZES[0]), in Indonesian, logged
    in as ``who`` (unless None); the context is closed afterwards."""
    context = browser.new_context(java_script_enabled=js, base_url=base_url,
                                  viewport=SIZES[0], locale="id-ID")
    try:
        if timeout_ms is not None:
            context.set_default_timeout(timeout_ms)
        page = context.new_page()
        if who is not None:
            log_in(page, who, password)
        yield page
    finally:
        context.close()


def axe_violations(page, checker) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now.

    axe needs timers, which a page without JavaScript never runs: the page's HTML as it
    stands (its scripts removed) is checked in ``checker``, a page of a context with
    JavaScript on, at the same size and with the same stylesheet."""
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", page.content(), flags=re.S | re.I)
    base = page.url.split("/", 3)[:3]
    html = html.replace("<head>", f'<head><base href="{"/".join(base)}/">', 1)
    checker.set_viewport_size(page.viewport_size)
    checker.set_content(html, wait_until="load")
    checker.evaluate(AXE.read_text(encoding="utf-8"))
    return checker.evaluate(AXE_RUN)


def check_pages(browser, base_url: str, visits: list[tuple[str | None, list[str]]], js: bool,
                password: str, shots: Callable[[str | None, str, int], Path],
                expected_status: Callable[[str], int] | None = None,
                actions: dict[str, Callable] | None = None) -> tuple[list[str], int]:
    """Every page of ``visits`` ((who, the paths they open), None for an anonymous visitor),
    with JavaScript on or off, measured at each of SIZES: a page wider than the screen (with
    the elements that stick out) and each serious or critical axe-core violation is a
    problem. Returns (the problems, how many page sizes were measured).

    Each page answers ``expected_status(path)``, or any success without it; a path named in
    ``actions`` is not opened but done by its action (called with the page). A screenshot
    of each page at each size goes to ``shots(who, path, width)``."""
    if not AXE.is_file():
        pytest.fail("axe-core is not vendored: run `make assets` (npm) first")
    problems, measured = [], 0
    checking = browser.new_context(java_script_enabled=True, base_url=base_url)
    try:
        checker = checking.new_page()
        for who, paths in visits:
            with on_phone(browser, base_url, who, password, js, TIMEOUT_MS) as page:
                for path in paths:
                    page.set_viewport_size(SIZES[0])
                    if actions and path in actions:
                        actions[path](page)
                    else:
                        response = page.goto(path)
                        status = response and response.status
                        assert response is not None and (
                            response.ok if expected_status is None
                            else status == expected_status(path)), (who, path, status)
                        page.wait_for_load_state()
                    for size in SIZES:
                        page.set_viewport_size(size)
                        width = page.evaluate("document.scrollingElement.scrollWidth")
                        viewport = page.evaluate("window.innerWidth")
                        measured += 1
                        page.screenshot(path=shots(who, path, size["width"]),
                                        full_page=size is SIZES[0])
                        where = f"{path} as {who or 'visitor'} at {size['width']} px"
                        if width > viewport:
                            problems.append(f"{where}: {width} px wide\n      "
                                            + "\n      ".join(page.evaluate(STICKING_OUT)))
                        for violation in axe_violations(page, checker):
                            problems.append(f"{where}, axe: {violation}")
    finally:
        checking.close()
    return problems, measured
