"""Root conftest: the shared fixtures (broker, PostgreSQL databases, clearinghouse servers) for every test
directory."""

pytest_plugins = ["rcm_shared.testing.fixtures", "rcm_shared.testing.clearinghouse"]
