"""The command line: scan, rules, explain (and the workflow commands built on them)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SEVERITIES = ("critical", "high", "medium", "low")


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"datasec-scan: error: {message}", err=True)
    return click.exceptions.Exit(EXIT_ERROR)


def load_rules(config=None, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()):
    """Discover rule packs and apply select/ignore; any pack problem exits 2."""
    from .plugins import PackError, RuleSet, discover

    try:
        rules = discover()
    except PackError as exc:
        raise _fail(str(exc)) from None
    if config is None:
        return rules
    unknown = sorted(set(config.rule_options) - {r.code for r in rules.rules})
    if unknown:  # options of a rule no installed pack has: a typo, or a pack missing from this environment
        raise _fail(f"{config.source}: `tool.datasec-scan.rules.{unknown[0]}` names no installed rule "
                    "(`datasec-scan rules` lists them)")
    from dataclasses import replace

    if select or ignore:
        config = replace(config, select=select or config.select, ignore=config.ignore + ignore)
    chosen = tuple(r for r in rules.rules if config.rule_enabled(r.code, r.status))
    return RuleSet(chosen, rules.packs)


def load_config(paths: list[Path], config_file: Path | None):
    from .config import ConfigError, load

    try:
        return load(paths, config_file)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


class _Commands(click.Group):
    """Commands defined in other modules are imported when run or listed, so `--version` and `scan` start fast."""

    elsewhere = {"config": ("workflow", "config_command"), "baseline": ("workflow", "baseline_group"),
                 "egress": ("egress", "egress_command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.elsewhere})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.elsewhere:
            import importlib

            module, attribute = self.elsewhere[name]
            return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="datasec-scan")
def main() -> None:
    """Find backdoors in Python code: remote-access hooks, hardcoded credentials, undisclosed outbound data."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "html"]), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Exit 1 when a finding is at or above this severity "
              "[default: high, or fail-on from the config].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read configuration from this file instead of the nearest pyproject.toml.")
@click.option("--select", multiple=True, help="Only these rule codes or prefixes (repeatable), e.g. DS1.")
@click.option("--ignore", multiple=True, help="Skip these rule codes or prefixes (repeatable).")
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, help="Worker processes (0: all cores).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the per-file result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Cache folder [default: $DATASEC_SCAN_CACHE_DIR or ~/.cache/datasec-scan].")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Treat findings listed in this baseline file as accepted (see `datasec-scan baseline`).")
@click.option("--since", metavar="REF", help="Only report findings on lines changed since this git ref "
              "(untracked files count as wholly changed).")
@click.option("--no-inline-ignores", is_flag=True, help="Disregard `# datasec: ignore[...]` comments.")
@click.option("--isolated", is_flag=True, help="Read no configuration file (for vetting code you do not trust: "
              "its pyproject.toml could exclude or ignore anything).")
@click.option("--installed", is_flag=True, help="Scan installed distributions instead of paths: PATHS are "
              "distribution names (default: all, plus .pth files no distribution owns), read via their RECORD.")
@click.option("--python", "python", metavar="PATH", help="With --installed: the interpreter whose site-packages to "
              "scan (it is only asked for its paths, with -I -S; nothing installed is imported).")
@click.option("--sarif-suppressed", type=click.Choice(["include", "omit"]), default="include", show_default=True,
              help="SARIF: emit suppressed findings with SARIF `suppressions`, or leave them out (GitHub code "
              "scanning does not honour `suppressions`; see docs/github-code-scanning.md).")
@click.option("--sarif-category", default="datasec-scan/", show_default=True, metavar="TEXT",
              help="SARIF: runAutomationDetails.id, the code scanning category ('' leaves it to the upload step).")
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None, config_file: Path | None,
         select: tuple[str, ...], ignore: tuple[str, ...], jobs: int, no_cache: bool, cache_dir: Path | None,
         baseline_file: Path | None = None, since: str | None = None, no_inline_ignores: bool = False,
         isolated: bool = False, installed: bool = False, python: str | None = None,
         sarif_suppressed: str = "include", sarif_category: str = "datasec-scan/") -> None:
    """Scan files and folders (default: the current folder), wheels/sdists/eggs, or installed distributions."""
    from .discover import discover
    from .model import ScanResult, Severity
    from .reporters import render
    from .scheduler import collect, open_cache, scan_targets

    targets_in = list(paths) or [Path(".")]
    if isolated and config_file is not None:
        raise _fail("--isolated and --config exclude each other")
    config = load_config(targets_in, config_file) if not isolated else load_config([], None)
    if no_inline_ignores:
        from dataclasses import replace

        config = replace(config, inline_ignores=False)
    loaded: list = []

    def rules_now():  # loaded once, on first need: a run answered wholly from the cache never imports them
        if not loaded:
            loaded.append(load_rules(config, select, ignore))
        return loaded[0]

    if no_cache:
        rules_now()  # a broken rule pack or rule option is an error before anything is read
    root = Path.cwd()
    from . import workflow

    try:
        baseline = workflow.read_baseline(baseline_file)
        changes = workflow.changed_since(since, root) if since is not None else None
    except workflow.WorkflowError as exc:
        raise _fail(str(exc)) from None
    packages: tuple[tuple[str, str], ...] = ()
    if installed or python is not None:  # an environment's distributions (RECORD files, .pth), not paths
        from .packages import PackagesError, installed_targets

        try:
            targets, notes, packages = installed_targets([str(p) for p in paths], python)
        except PackagesError as exc:
            raise _fail(str(exc)) from None
    else:
        targets, notes = discover(targets_in, root, (), config.respect_gitignore, limits=config.limits)
    targets = workflow.without_excluded(targets, config, root)  # gitignore-style, relative to the config
    if changes is not None:
        targets = workflow.only_changed_targets(targets, changes, root)
    cache = None if no_cache else open_cache(config, select, ignore, cache_dir)
    files = collect(workflow.with_progress(scan_targets(targets, rules_now, config, jobs, cache), len(targets),
                                           workflow.progress_wanted(len(targets), fmt, output)))
    infos = cache.rule_infos() if cache is not None and not loaded else None
    if infos is None:
        infos = tuple(r.info() for r in rules_now().rules)
        if cache is not None:
            cache.put_rule_infos(infos)
    if cache is not None:
        cache.prune()
    files = workflow.finish(files, config, root, changes, baseline, baseline_file)
    result = ScanResult(str(root), files, infos, __version__, tuple(notes), packages=packages)
    colour = fmt == "text" and output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sarif_options = {} if fmt != "sarif" else {"sarif_suppressed": sarif_suppressed, "category": sarif_category,
                                                "read_source": _source_reader(root)}
    report = render(result, fmt, colour=colour, **sarif_options)
    if output is not None:
        output.write_text(report, encoding="utf-8")
    else:
        click.echo(report, nl=False)
    threshold = Severity.parse(fail_on) if fail_on else config.fail_on
    if any(n.kind == "rule-error" for n in result.all_notifications):
        click.echo("datasec-scan: error: a rule failed on at least one file (see notifications)", err=True)
        raise SystemExit(EXIT_ERROR)
    raise SystemExit(EXIT_FINDINGS if any(f.severity >= threshold for f in result.active_findings) else EXIT_CLEAN)


def _source_reader(root: Path, max_bytes: int = 64 * 1024 * 1024):
    """Reads a reported file's bytes for SARIF line fingerprints; None for archive members and anything odd."""
    import stat

    def read(path: str) -> bytes | None:
        full = root / path
        try:
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
                return None
            with open(full, "rb") as handle:
                return handle.read(max_bytes + 1)
        except (OSError, ValueError):
            return None

    return read


@main.command("rules")
def list_rules() -> None:
    """List the installed rules."""
    rules = load_rules()
    rows = [("CODE", "NAME", "CATEGORY", "SEVERITY", "CONFIDENCE", "STATUS")]
    rows += [(r.code, r.name, r.category.value, r.severity.label, r.confidence.label, r.status) for r in rules.rules]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Show a rule's documentation."""
    rules = load_rules()
    rule = rules.by_code(code.upper()) or next((r for r in rules.rules if r.name == code), None)
    if rule is None:
        raise _fail(f"no rule {code!r}; `datasec-scan rules` lists them")
    info = rule.info()
    click.echo(click.style(f"{info.code} {info.name}", bold=True) + f" — {info.summary}")
    cwe = ", ".join(f"CWE-{c}" for c in info.cwe) or "-"
    click.echo(f"category: {info.category.value}   severity: {info.severity.label}   confidence: "
               f"{info.confidence.label}   {cwe}   pack: {info.pack}   status: {info.status}\n")
    click.echo(info.doc)


@main.command("fetch-scan")
@click.argument("specs", nargs=-1, required=True, metavar="NAME[==VERSION]...")
@click.option("--index-url", help="Package index, simple API root (e.g. https://pypi.org/simple) [default: "
              "$PIP_INDEX_URL, pip's global.index-url, else PyPI]; its /pypi/NAME/json API is tried first.")
@click.option("--wheels", type=click.Choice(["best", "all", "pure", "none"]), default="best", show_default=True,
              help="Wheels to fetch besides the sdist: best = the pure wheel, else one for this platform.")
@click.option("--download-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the downloaded archives here [default: a temporary folder, removed afterwards].")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "html"]), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Exit 1 when a finding is at or above this severity.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read configuration from this file [default: the nearest pyproject.toml of the current folder].")
@click.option("--isolated", is_flag=True, help="Read no configuration file.")
@click.option("--select", multiple=True, help="Only these rule codes or prefixes (repeatable).")
@click.option("--ignore", multiple=True, help="Skip these rule codes or prefixes (repeatable).")
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, help="Worker processes (0: all cores).")
@click.pass_context
def fetch_scan(ctx: click.Context, specs: tuple[str, ...], index_url: str | None, wheels: str,
               download_dir: Path | None, fmt: str, output: Path | None, fail_on: str | None,
               config_file: Path | None, isolated: bool, select: tuple[str, ...], ignore: tuple[str, ...],
               jobs: int) -> None:
    """Fetch releases' sdist and wheels from the package index and scan them, without pip, install or build.

    Reads the index's JSON API (or the PEP 691/503 simple API), checks each file's published sha256,
    and scans the archives in memory like `scan` does. Never runs `pip download`, which would run the
    sdist's build backend.
    """
    import tempfile

    from .config import ConfigError, find_pyproject
    from .packages import PackagesError, configured_index_url, fetch

    index = configured_index_url(index_url)
    if config_file is None and not isolated:
        try:
            config_file = find_pyproject(Path.cwd())
        except ConfigError as exc:
            raise _fail(str(exc)) from None
    output = output.absolute() if output is not None else None
    config_file = config_file.absolute() if config_file is not None else None
    with tempfile.TemporaryDirectory(prefix="datasec-fetch-") as tmp:
        folder = (download_dir or Path(tmp)).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        archives: list[Path] = []
        for spec in specs:
            try:
                archives += fetch(spec, index, folder, wheels, say=lambda s: click.echo(s, err=True))[2]
            except PackagesError as exc:
                raise _fail(str(exc)) from None
        here = Path.cwd()
        os.chdir(folder)  # findings then read `name-1.0.tar.gz!/...`
        try:
            ctx.invoke(scan, paths=tuple(Path(p.name) for p in archives), fmt=fmt, output=output, fail_on=fail_on,
                       config_file=config_file, select=select, ignore=ignore, jobs=jobs, isolated=isolated)
        finally:
            os.chdir(here)


if __name__ == "__main__":  # pragma: no cover
    main()
