"""The base layer: the vocabulary every other layer shares.

Errors and exit codes, the secret registry, escaping, distribution names, the configuration
model, the report, events and the retry policy. Nothing here does I/O over the network, and
nothing here imports from another layer (the import contract in pyproject.toml checks it).
"""
