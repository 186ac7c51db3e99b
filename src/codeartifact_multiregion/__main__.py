"""``python -m codeartifact_multiregion``."""

import sys

from .cli import main

sys.exit(main())
