"""datasec-scan: a static scanner for backdoors in Python code."""

__version__ = "0.1.0"
