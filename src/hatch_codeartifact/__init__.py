"""Hatch publisher plugin: ``hatch publish -p codeartifact``."""
