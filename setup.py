"""Package list for setuptools: every ``clerk_app`` package plus the data-only ``ui/`` and ``resources/``.

Everything else about the build is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["clerk_app", "clerk_app.*"]), "clerk_app.ui", "clerk_app.resources"])
