"""Built-in integrations, one folder each (manifest.json, __init__.py, const.py, config.py, README.md)."""
