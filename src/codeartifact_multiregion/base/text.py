"""Make text from outside safe to print: no control characters reach a terminal.

File names, messages and error bodies come from indexes, servers and files we do not
control. An ESC or OSC sequence in one could rewrite the terminal, hide a line or set
the window title; a BEL rings. ``printable`` shows each such character as a visible
escape (``\\x1b``) instead. Rich markup is escaped where rich renders (``progress.py``).
"""

from __future__ import annotations

import unicodedata


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control or format character (C0, DEL, C1, bidi) made visible."""
    out = []
    for char in str(text):
        if keep_newlines and char == "\n":
            out.append(char)
        elif _unsafe(char):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def _unsafe(char: str) -> bool:
    # Cc: C0 controls, DEL and C1 (CSI 0x9b among them); Cf: bidi overrides and other
    # invisible formatting that can make a name read as another; Zl/Zp: line separators.
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")
