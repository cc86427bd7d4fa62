"""DS151 entry-point-shadows-command: a console script named like a system tool (ls, sudo, git, ssh, pip...)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, TextMatch, TextRule

from . import _catalog
from ._packaging import dig, ini_entries, key_span, load_toml, normalize, table_start

_SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
_PY_SCRIPT = re.compile(r"""["']\s*([A-Za-z0-9_.+\-]+)\s*=\s*[A-Za-z_][\w.]*\s*(?::\s*[\w.]+)?\s*(?:\[[^\]'"]*\])?\s*["']""")
_PY_NAME = re.compile(r"""\bname\s*=\s*["']([A-Za-z0-9_.\-]+)["']""")


def _commands() -> frozenset[str]:
    return frozenset(_catalog.names("commands", "shadowed.commands"))


def _owners(command: str) -> frozenset[str]:
    """Distributions that legitimately install `command` (normalized names), besides one named like it."""
    return frozenset(normalize(d) for d in _catalog.table("commands", "owners").get(command.lower(), ()))


class EntryPointShadowsCommand(TextRule):
    """A console script named like a common system command, which it would shadow on PATH.

    ## What it does
    Reads the scripts a package declares — `[project.scripts]`/`[project.gui-scripts]` and
    `[tool.poetry.scripts]` in pyproject.toml, `console_scripts` in setup.cfg's
    `[options.entry_points]`, a wheel's `entry_points.txt`, and `console_scripts` lists in
    `setup.py` — and reports a script named like a system tool, shell, interpreter, package manager
    or remote-access client (`ls`, `sudo`, `sh`, `python`, `pip`, `git`, `ssh`, `curl`, ...; the
    list is `rules/catalogs/commands.toml`). A distribution named like the command (pip's `pip3`),
    or listed there as the command's owner (awscli's `aws`), is not reported.

    ## Why is this bad?
    Installing the package writes the script into the environment's `bin/` folder, which comes
    first on PATH while the environment is active: the next `sudo`, `git` or `ssh` typed there
    runs the package's code instead, with the password or key the user types into it.

    ## Example
    ```toml
    [project.scripts]
    sudo = "helper.cli:main"
    ```

    ## How to fix
    Give the script a name of its own (`helper-sudo`), or drop it.

    ## References
    - CWE-427: Uncontrolled Search Path Element
    - MITRE ATT&CK T1036.005 (Masquerading: Match Legitimate Name or Location)
    - https://packaging.python.org/en/latest/specifications/entry-points/
    """

    code = "DS151"
    name = "entry-point-shadows-command"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (427,)
    attack = ("T1036.005",)
    file_kinds = ("config", "python")
    triggers = ("scripts",)
    VALID = (
        Example('[project]\nname = "helper"\n[project.scripts]\nhelper = "helper.cli:main"\n', "pyproject.toml"),
        Example("[console_scripts]\npip = pip._internal.cli.main:main\npip3 = pip._internal.cli.main:main\n",
                "pip-24.0.dist-info/entry_points.txt"),
        Example("[console_scripts]\naws = awscli.clidriver:main\n", "awscli-1.46.3.dist-info/entry_points.txt"),
    )
    INVALID = (
        Example('[project]\nname = "helper"\n[project.scripts]\nsudo = "helper.cli:main"\n', "pyproject.toml"),
        Example("[console_scripts]\ngit = helper.cli:main\n", "helper-1.0.dist-info/entry_points.txt"),
        Example("[metadata]\nname = helper\n[options.entry_points]\nconsole_scripts =\n    ssh = helper.cli:main\n",
                "setup.cfg"),
        Example('from setuptools import setup\nsetup(name="helper", entry_points={"console_scripts": '
                '["ls = helper.cli:main"]})\n', "setup.py"),
        Example('from setuptools import setup\nsetup(name="awscli-fast", entry_points={"console_scripts": '
                '["aws = awscli_fast.cli:main"]})\n', "setup.py"),
    )

    def scan(self, text: str) -> Iterator[TextMatch]:
        commands = _commands()
        name = ""
        found: list[tuple[str, int, int]] = []
        if self.context.kind == "python":
            if not any(g in text for g in _SCRIPT_GROUPS):
                return
            m = _PY_NAME.search(text)
            name = m.group(1) if m else ""
            found = [(s.group(1), s.start(), s.end()) for s in _PY_SCRIPT.finditer(text)]
        elif self.context.filename.endswith(".toml"):
            data = load_toml(text)
            if data is None:
                return
            name = str(dig(data, "project", "name") or dig(data, "tool", "poetry", "name") or "")
            for header, keys in (("project.scripts", ("project", "scripts")),
                                 ("project.gui-scripts", ("project", "gui-scripts")),
                                 ("project.entry-points.console_scripts", ("project", "entry-points", "console_scripts")),
                                 ("project.entry-points.gui_scripts", ("project", "entry-points", "gui_scripts")),
                                 ("tool.poetry.scripts", ("tool", "poetry", "scripts"))):
                table = dig(data, *keys)
                if isinstance(table, dict):
                    after = table_start(text, header)
                    found += [(script, *key_span(text, script, after)) for script in table]
        else:
            name = self._dist_name_from_path()
            for e in ini_entries(text):
                if e.section == "metadata" and e.key == "name" and e.parent is None:
                    name = e.value
                elif e.section in _SCRIPT_GROUPS and e.parent is None or e.section == "options.entry_points" and e.parent in _SCRIPT_GROUPS:
                    found.append((e.key, e.start, e.end))
                elif e.section == "options.entry_points" and e.key in _SCRIPT_GROUPS and "=" in e.value:
                    found.append((e.value.partition("=")[0].strip(), e.start, e.end))
        owner = normalize(name)
        for script, start, end in found:
            if script.lower() not in commands:
                continue
            if owner and (normalize(script).startswith(owner) or owner in _owners(script)):
                continue
            yield TextMatch(start, end, f"script `{script}` installs over the `{script}` command on PATH: running "
                            f"`{script}` in the environment runs this package's code"
                            + (f" (distribution `{name}`)" if name else ""))

    def _dist_name_from_path(self) -> str:
        parts = self.context.path.replace("\\", "/").split("/")
        if len(parts) >= 2 and parts[-2].endswith((".dist-info", ".egg-info")):
            return parts[-2].rsplit(".", 1)[0].split("-", 1)[0]
        return ""
