"""``python -m codeartifact_multiregion``."""

from codeartifact_multiregion.kit.cli import run

if __name__ == "__main__":
    run()
