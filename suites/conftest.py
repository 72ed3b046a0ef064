"""The suites run under the harness plugin: feature markers, depth, library fixtures, statuses."""
pytest_plugins = ["harness.plugin"]
