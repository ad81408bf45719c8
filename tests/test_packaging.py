"""The built wheel works on its own: templates, static files and migrations travel inside
the package (``portal/_data/...``), and ``flask --app wsgi`` runs from any directory."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Not part of the source the wheel is built from (and some are large or machine-local).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "instance", "*.egg-info",
    "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", "test-artifacts")

_SMOKE = r"""
import os, re, sys
import portal, wsgi
prefix = sys.argv[1] + os.sep
assert os.path.realpath(portal.__file__).startswith(prefix), portal.__file__
assert os.path.realpath(wsgi.__file__).startswith(prefix), wsgi.__file__
client = wsgi.app.test_client()
page = client.get("/login")
assert page.status_code == 200, page.status_code
html = page.get_data(as_text=True)
match = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
assert match, html[:2000]
css = client.get(match.group(1))
assert css.status_code == 200, (match.group(1), css.status_code)
assert css.mimetype == "text/css", css.mimetype
assert b"{" in css.get_data(), css.get_data()[:200]
print("ok", portal.__file__)
"""


def _tools_missing() -> str | None:
    for module in ("venv", "ensurepip", "pip"):
        if importlib.util.find_spec(module) is None:
            return f"the {module} module is unavailable: cannot build and install a wheel"
    return None


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, (
        f"{args} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


@pytest.mark.skipif(_tools_missing() is not None, reason=_tools_missing() or "")
def test_wheel_installs_and_serves_from_anywhere(tmp_path):
    # Build from a copy of the source: no build/ or egg-info left in the working tree,
    # and no stale build/lib files from an earlier build slipping into the wheel.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-q", "-w", str(wheels), "."], cwd=source)
    (wheel,) = wheels.glob("absah-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("portal/_data/templates/base.html", "portal/_data/static/absah.css",
                 "portal/_data/migrations/0001_initial.py", "wsgi.py",
                 "portal/translations/en/LC_MESSAGES/messages.mo"):
        assert name in names, f"{name} missing from {wheel.name}"
    assert any(n.startswith("portal/modules/sops/seeds/") and n.endswith(".yaml")
               for n in names), "SOP seeds missing from the wheel"
    if (ROOT / "static" / "vendor" / "htmx.min.js").is_file():
        assert "portal/_data/static/vendor/htmx.min.js" in names

    # A fresh environment with only the wheel installed (offline, no dependencies) ...
    fresh = tmp_path / "fresh"
    _run([sys.executable, "-m", "venv", str(fresh)])
    python = fresh / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PORTAL_", "PYTHON", "FLASK_", "VIRTUAL_ENV"))}
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "-q", str(wheel)], env=env)
    # ... then the project venv's dependencies made importable after it. A path added by a
    # .pth file does not have its own .pth files run, so the project's editable finder
    # stays off and cannot shadow the installed portal.
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                      "['purelib'])"], env=env).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_project_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))

    # ... used from an empty directory, as a deployment would.
    work = tmp_path / "work"
    work.mkdir()
    env["PORTAL_INSTANCE_DIR"] = str(tmp_path / "instance")
    upgrade = _run([str(python), "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                   cwd=work, env=env)
    assert "0001_initial" in upgrade.stdout, upgrade.stdout
    smoke = _run([str(python), "-c", _SMOKE, str(fresh.resolve())], cwd=work, env=env)
    assert smoke.stdout.startswith("ok"), smoke.stdout
