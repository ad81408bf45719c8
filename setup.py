"""The package layout (the metadata is in pyproject.toml).

templates/, static/ and migrations/ stay at the top of the source tree, where they are
edited; the wheel carries them inside the package as ``portal/_data/<name>``, where
portal/core/paths.py looks first (an editable install finds them in the source tree).
static/vendor/htmx.min.js is included when ``make assets`` has made it.
"""

from setuptools import find_packages, setup

DATA_DIRS = ("templates", "static", "migrations")

setup(
    packages=find_packages(include=["portal*", "signing*"])
    + [f"portal._data.{name}" for name in DATA_DIRS],
    package_dir={f"portal._data.{name}": name for name in DATA_DIRS},
    include_package_data=False,  # only what package_data names, not every tracked file
    package_data={
        "portal": ["translations/*/LC_MESSAGES/*.mo", "translations/*/LC_MESSAGES/*.po"],
        "portal.modules.sops": ["seeds/*.yaml"],
        **{f"portal._data.{name}": ["**/*"] for name in DATA_DIRS},
    },
    exclude_package_data={f"portal._data.{name}": ["**/__pycache__/*", "**/*.pyc"]
                          for name in DATA_DIRS},
    py_modules=["wsgi"],
)
