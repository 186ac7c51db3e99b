"""A tiny internal package: `make demo` publishes it to three local stand-in regions."""

__version__ = "1.0.0"


def greet(name: str = "world") -> str:
    return f"hello, {name}, from an internal package"
