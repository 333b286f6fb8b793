"""One configuration object: every JITNEST_* variable read, validated and documented in one place."""

from __future__ import annotations

import re
import warnings

import pytest
from conftest import ROOT

from jitnest import config


@pytest.fixture
def environ(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("JITNEST_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults(environ) -> None:
    settings = config.settings()
    assert settings.log_level == "INFO" and not settings.quiet
    assert settings.use_pch and settings.prebuild and settings.nestml_server and settings.nestml_split
    assert settings.optimise
    assert settings.build_jobs >= 1 and settings.cxxflags == () and settings.model_path == ()
    assert settings.compile_timeout == 1800.0 and settings.nestml_timeout == 1200.0


def test_values_are_read_and_follow_the_environment(environ, tmp_path) -> None:
    environ.setenv("JITNEST_QUIET", "1")
    environ.setenv("JITNEST_BUILD_JOBS", "3")
    environ.setenv("JITNEST_CXXFLAGS", "-O3 -march=native")
    environ.setenv("JITNEST_PCH", "0")
    environ.setenv("JITNEST_CACHE_DIR", str(tmp_path))
    settings = config.settings()
    assert settings.quiet and settings.log_level == "WARNING"
    assert settings.build_jobs == 3 and settings.cxxflags == ("-O3", "-march=native") and not settings.use_pch
    assert settings.cache_dir == tmp_path
    environ.setenv("JITNEST_COMPILE_TIMEOUT", "0")
    environ.setenv("JITNEST_NESTML_TIMEOUT", "2.5")
    assert config.settings().compile_timeout is None and config.settings().nestml_timeout == 2.5
    environ.setenv("JITNEST_LOG_LEVEL", "debug")
    assert config.settings().log_level == "DEBUG" and not config.settings().quiet


@pytest.mark.parametrize("name, value", [("JITNEST_PCH", "maybe"), ("JITNEST_BUILD_JOBS", "two"),
                                         ("JITNEST_BUILD_JOBS", "-1"), ("JITNEST_LOG_LEVEL", "LOUD"),
                                         ("JITNEST_COMPILE_TIMEOUT", "soon"), ("JITNEST_NESTML_TIMEOUT", "-5"),
                                         ("JITNEST_NESTML_TIMEOUT", "nan")])
def test_malformed_values_name_the_variable(environ, name, value) -> None:
    environ.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        config.settings()


def test_unknown_variable_is_warned_about_once(environ) -> None:
    environ.setenv("JITNEST_QUITE", "1")
    with pytest.warns(RuntimeWarning, match="JITNEST_QUITE"):
        config.settings()
    environ.setenv("JITNEST_BUILD_JOBS", "2")  # re-read, but the same unknown name warns only once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config.settings()


def test_readme_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Environment variables"):]
    documented = set(re.findall(r"^\| `(JITNEST_[A-Z_]+)", table, re.M))
    assert documented == set(config.VARIABLES), documented ^ set(config.VARIABLES)


def test_no_module_reads_jitnest_variables_itself() -> None:
    readers = []
    for path in sorted((ROOT / "jitnest").rglob("*.py")):
        if path.name == "config.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"environ(\.get)?\(?\[?[\"']JITNEST_|getenv\([\"']JITNEST_", line):
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not readers, readers
