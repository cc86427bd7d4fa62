"""Which kind of file a path is, by its name alone (no parser needed to decide what to read)."""

from __future__ import annotations

PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
CONFIG_SUFFIXES = (".env", ".ini", ".cfg", ".toml", ".yaml", ".yml", ".json", ".conf", ".properties")


def file_kind(path: str) -> str | None:
    """What the scanner makes of a file by its name: "python", "pth", "config" or None (not read)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if name.endswith(PYTHON_SUFFIXES):
        return "python"
    if name.endswith(".pth"):
        return "pth"
    if name.endswith(CONFIG_SUFFIXES) or name.startswith(".env") or name == "entry_points.txt":
        return "config"  # entry_points.txt: a wheel's/egg's console scripts, INI-shaped
    return None
