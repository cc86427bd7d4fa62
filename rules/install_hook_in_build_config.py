"""DS150 install-hook-in-build-config: setup.cfg/pyproject.toml declare code that runs at build or install time."""

from __future__ import annotations

from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, TextMatch, TextRule

from ._packaging import dig, ini_entries, key_span, load_toml, table_start

# Commands pip runs when it builds or installs from an sdist (or an editable checkout).
INSTALL_COMMANDS = frozenset({"install", "develop", "egg_info", "build", "build_py", "build_ext", "build_clib",
                              "build_scripts", "bdist_wheel", "bdist_egg", "install_lib", "install_scripts",
                              "install_data", "install_egg_info", "dist_info", "editable_wheel", "sdist"})


class InstallHookInBuildConfig(TextRule):
    """Build configuration that makes the package's own code run at build or install time.

    ## What it does
    Reads `pyproject.toml` and `setup.cfg` (and any TOML or INI file with the same tables) and
    reports two declarations that hand control to code inside the package while pip builds it:
    an in-tree build backend (`[build-system] backend-path`, the backend module then comes from
    the sdist itself) and setuptools command overrides (`cmdclass` in `[options]` of setup.cfg,
    `[tool.setuptools.cmdclass]` in pyproject.toml). Overrides of the commands pip runs while
    installing (`install`, `egg_info`, `build_py`, `bdist_wheel`, ...) are reported medium; others
    low.

    ## Why is this bad?
    `pip install` of an sdist runs the build backend and every overridden command before the user
    ever imports the package. Malicious packages hide their install hook there, away from
    `setup.py` where reviewers and other scanners look. The declaration is legitimate in some
    projects (setuptools builds itself with an in-tree backend), so the finding says where to
    look: the named module is the code that runs.

    ## Example
    ```toml
    [build-system]
    requires = []
    build-backend = "backend"
    backend-path = ["_build"]   # _build/backend.py runs on `pip install`
    ```

    ## How to fix
    Use a published build backend (`setuptools.build_meta`, `hatchling.build`, `flit_core.buildapi`)
    and do generation steps in the open, in a reviewed build plugin; if an in-tree backend is needed,
    keep it a thin, reviewed wrapper.

    ## References
    - CWE-829: Inclusion of Functionality from Untrusted Control Sphere
    - PEP 517 (in-tree build backends): https://peps.python.org/pep-0517/#in-tree-build-backends
    - https://setuptools.pypa.io/en/latest/userguide/declarative_config.html
    """

    code = "DS150"
    name = "install-hook-in-build-config"
    category = Category.REMOTE_ACCESS
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = (829,)
    attack = ("T1195.001",)
    file_kinds = ("config",)
    triggers = ("backend-path", "cmdclass")
    VALID = (
        Example('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
                "pyproject.toml"),
        Example("[metadata]\nname = demo\n[options]\npackages = find:\n", "setup.cfg"),
    )
    INVALID = (
        Example('[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n',
                "pyproject.toml"),
        Example("[options]\npackages = find:\ncmdclass =\n    install = demo.hooks:PostInstall\n", "setup.cfg"),
        Example('[tool.setuptools.cmdclass]\nbuild_py = "demo._build:BuildPy"\n', "pyproject.toml"),
    )

    def scan(self, text: str) -> Iterator[TextMatch]:
        if self.context.filename.endswith(".toml"):
            yield from self._toml(text)
        else:
            yield from self._cfg(text)

    def _toml(self, text: str) -> Iterator[TextMatch]:
        data = load_toml(text)
        if data is None:
            return
        paths = dig(data, "build-system", "backend-path")
        if paths:
            backend = dig(data, "build-system", "build-backend") or "?"
            start, end = key_span(text, "backend-path", table_start(text, "build-system"))
            yield TextMatch(start, end, f"in-tree build backend `{backend}` loaded from backend-path {paths!r}: "
                            "the package's own code runs when pip builds or installs it")
        cmdclass = dig(data, "tool", "setuptools", "cmdclass")
        if isinstance(cmdclass, dict):
            after = table_start(text, "tool.setuptools.cmdclass") or table_start(text, "tool.setuptools")
            for command, target in cmdclass.items():
                yield self._override(text, command, str(target), *key_span(text, command, after))

    def _cfg(self, text: str) -> Iterator[TextMatch]:
        for entry in ini_entries(text):
            if entry.section != "options":
                continue
            if entry.parent == "cmdclass":
                yield self._override(text, entry.key, entry.value, entry.start, entry.end)
            elif entry.parent is None and entry.key == "cmdclass" and "=" in entry.value:
                command, _, target = entry.value.partition("=")
                yield self._override(text, command.strip(), target.strip(), entry.start, entry.end)

    def _override(self, text: str, command: str, target: str, start: int, end: int) -> TextMatch:
        hot = command in INSTALL_COMMANDS
        return TextMatch(start, end, f"setuptools command `{command}` replaced by `{target}`"
                         + (": it runs when pip builds or installs the package" if hot else ""),
                         severity=None if hot else Severity.LOW)
