"""The lab's command-line entry points (console scripts in pyproject.toml)."""
