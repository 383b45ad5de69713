"""Root conftest: the shared fixtures (broker, PostgreSQL databases) for every test directory."""

pytest_plugins = ["rcm_shared.testing.fixtures"]
