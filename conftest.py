"""Root conftest: the shared fixtures (broker, PostgreSQL databases, clearinghouse servers) for every test
directory, and how `make test` spreads the suite over pytest-xdist workers."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["rcm_shared.testing.fixtures", "rcm_shared.testing.clearinghouse"]

# Tests that start a whole platform (every service, the issuer, a broker as processes) run one after another on one
# worker: two platforms at once would double a 2-core machine's load past their readiness waits, and each picks
# its ports free, so two starting together could race for the same one. Everything else is spread a file at a
# time (module fixtures are set up once), like `--dist loadfile`.
_PLATFORM_TESTS = ("tests/e2e/", "tests/drills/", "cli/tests/test_supervisor.py")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the group marks into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    root = str(config.rootpath).replace(os.sep, "/") + "/"
    for item in items:
        path = str(item.path).replace(os.sep, "/").removeprefix(root)
        group = "platform" if path.startswith(_PLATFORM_TESTS) else path
        item.add_marker(pytest.mark.xdist_group(group))
