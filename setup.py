"""Ship the top-level ``templates/`` and ``static/`` inside the wheel, as ``booking/templates`` and
``booking/static``.

The design card keeps them at the top of the repository, where package data cannot reach; without this
step an installed wheel would serve every page as a 500. ``booking._resource_dir`` looks inside the
package first and falls back to the checkout (editable installs, tests). All metadata is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = ("templates", "static")


class BuildPyWithResources(build_py):
    def run(self) -> None:
        super().run()
        for name in RESOURCES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, Path(self.build_lib) / "booking" / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithResources})
