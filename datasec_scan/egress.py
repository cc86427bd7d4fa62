"""The egress inventory: every outbound point of a tree, its destination and the data reaching it."""

from __future__ import annotations

import ipaddress
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
from .lazycst import cst

ENTRY_POINT_GROUP = "datasec_scan.egress"
# Files without any of these substrings cannot hold an outbound call a collector knows; they are not parsed.
_PRESCREEN = ("requests", "http", "urllib", "socket", "smtp", "ftp", "paramiko", "dns", "curl", "wget", "boto",
              "webhook", "Webhook", "telebot", "telegram", "urlopen", "aiohttp", "subprocess", "os.system",
              "sendall", "connect", "sftp", "scp", "google.cloud")


@dataclass(frozen=True)
class EgressSite:
    """What a collector reports for one outbound call, before positions are known."""

    node: cst.CSTNode
    library: str
    method: str
    kind: str  # http, socket, dns, mail, ftp, ssh, process, webhook, cloud
    host: str | None
    scheme: str | None = None
    port: int | None = None
    depends_on: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # source categories reaching the call's data
    risk: str | None = None


@dataclass(frozen=True)
class EgressPoint:
    path: str
    line: int
    library: str
    method: str
    kind: str
    destination: str  # "https://api.example.com", "203.0.113.5:4444" or "dynamic (depends on url)"
    host: str | None
    scheme: str | None
    port: int | None
    depends_on: tuple[str, ...]
    sources: tuple[str, ...]
    risk: str | None
    allowed: bool | None  # None when no allow list is configured or the host is dynamic


@dataclass(frozen=True)
class Inventory:
    root: str
    points: tuple[EgressPoint, ...]
    allow: tuple[str, ...] = ()
    files_scanned: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def outside_allow(self) -> tuple[EgressPoint, ...]:
        return tuple(p for p in self.points if p.allowed is False)

    def groups(self) -> list[tuple[str, list[EgressPoint]]]:
        by: dict[str, list[EgressPoint]] = defaultdict(list)
        for p in self.points:
            by[_group_key(p)].append(p)
        return sorted(by.items(), key=lambda kv: (kv[0].startswith("dynamic"), kv[0]))


def _group_key(p: EgressPoint) -> str:
    if p.host is None:
        return "dynamic"
    return p.host + (f":{p.port}" if p.port else "")


def host_allowed(host: str, allow: Iterable[str]) -> bool:
    """Whether a host is disclosed: exact names (case-insensitive), `*.domain` (any subdomain, not the bare
    domain), CIDR ranges or single addresses for IP hosts."""
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    for pattern in allow:
        pattern = pattern.strip().lower().rstrip(".")
        if not pattern:
            continue
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(pattern, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def collectors() -> list[Callable[[Any], Iterable[EgressSite]]]:
    """The egress collectors rule packs register in the `datasec_scan.egress` entry-point group."""
    from .plugins import entry_points

    eps = sorted(entry_points(ENTRY_POINT_GROUP), key=lambda e: e.name)
    unique = {ep.name: ep for ep in eps}
    return [ep.load() for ep in unique.values()]


def collect_file(path: str, data: bytes, allow: Sequence[str] = ()) -> tuple[list[EgressPoint], list[str]]:
    """The egress points of one Python file (parsed, never imported or run)."""
    from .engine import decode, file_kind
    from .rule import FileContext
    from .tree import node_positions, parse_python

    if file_kind(path) != "python":
        return [], []
    decoded = decode(path, data, "python")
    text = decoded.text
    if text is None or not any(s in text for s in _PRESCREEN):
        return [], []
    try:
        module = parse_python(text)
    except (cst.ParserSyntaxError, RecursionError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], [f"{path}: cannot parse as Python: {first}"]
    context = FileContext(path, text, "python", module=module, egress_allow=tuple(allow))
    sites: list[EgressSite] = []
    notes: list[str] = []
    for collector in collectors():
        try:
            sites += list(collector(context))
        except RecursionError:
            notes.append(f"{path}: too deeply nested to analyse")
        except Exception as exc:  # noqa: BLE001  a broken collector costs this file, not the inventory
            notes.append(f"{path}: egress collector failed: {type(exc).__name__}: {exc}")
    if not sites:
        return [], notes
    positions = node_positions(module)
    points = []
    for s in sites:
        line = positions[s.node].start.line if s.node in positions else 1
        if s.host is None:
            deps = ", ".join(s.depends_on) or "unknown"
            dest = f"dynamic (depends on {deps})"
        else:
            dest = (f"{s.scheme}://" if s.scheme else "") + s.host + (f":{s.port}" if s.port else "")
        allowed = host_allowed(s.host, allow) if allow and s.host is not None else None
        points.append(EgressPoint(path, line, s.library, s.method, s.kind, dest, s.host, s.scheme, s.port,
                                  tuple(s.depends_on), tuple(sorted(set(s.sources))), s.risk, allowed))
    return points, notes


def _collect_one(args: tuple[Any, tuple[str, ...], int]) -> tuple[list[EgressPoint], list[str]]:
    from .discover import read_target

    target, allow, max_bytes = args
    data = read_target(target, max_bytes)
    if not isinstance(data, bytes):
        return [], [f"{target.display}: {getattr(data, 'message', data)}"]
    return collect_file(target.display, data, allow)


def is_test_file(display: str) -> bool:
    """Test code (not shipped, talks to fixtures): `tests/`, `test/`, `testing/` folders, `test_*.py`, `*_test.py`,
    `conftest.py`."""
    parts = display.replace("\\", "/").replace("!/", "/").split("/")
    name = parts[-1]
    return (any(p in ("tests", "test", "testing", "t") for p in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name == "conftest.py")


def inventory(paths: Sequence[Path], root: Path, allow: Sequence[str] = (), exclude: Sequence[str] = (),
              respect_gitignore: bool = True, jobs: int = 0, max_bytes: int = 5_000_000,
              include_tests: bool = False) -> Inventory:
    """Collect every outbound point under `paths` (folders, files, archives); test code only if asked."""
    from .discover import discover

    targets, discover_notes = discover(list(paths), root, tuple(exclude), respect_gitignore)
    work = [(t, tuple(allow), max_bytes) for t in targets if t.display.endswith((".py", ".pyw"))
            and (include_tests or not is_test_file(t.display))]
    points: list[EgressPoint] = []
    notes = [f"{n.path}: {n.message}" for n in discover_notes]
    if jobs == 1 or len(work) < 8:
        results: Iterable[tuple[list[EgressPoint], list[str]]] = map(_collect_one, work)
        for found, file_notes in results:
            points += found
            notes += file_notes
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs or None) as pool:
            for found, file_notes in pool.map(_collect_one, work, chunksize=8):
                points += found
                notes += file_notes
    points.sort(key=lambda p: (p.path, p.line, p.method, p.destination))
    return Inventory(str(root), tuple(points), tuple(allow), len(work), tuple(notes))


# --- rendering -------------------------------------------------------------------------------------

def render_text(inv: Inventory) -> str:
    static = len([g for g in inv.groups() if g[0] != "dynamic"])
    head = f"Egress inventory: {len(inv.points)} outbound call(s) in {inv.files_scanned} Python file(s), "
    lines = [head + f"{static} static destination(s)."]
    if inv.allow:
        lines.append(f"Disclosed (allow): {', '.join(inv.allow)}; outside it: {len(inv.outside_allow)} call(s).")
    lines.append("")
    for key, points in inv.groups():
        kinds = sorted({p.kind for p in points})
        sources = sorted({s for p in points for s in p.sources})
        flag = ""
        if any(p.allowed is False for p in points):
            flag = "  [NOT IN ALLOW]"
        risk = next((p.risk for p in points if p.risk), None)
        if risk:
            flag += f"  [high-risk: {risk}]"
        lines.append(f"{key}{flag}")
        lines.append(f"  via: {', '.join(kinds)}; data: {', '.join(sources) or 'no sensitive source seen'}")
        for p in points:
            data = f"  <- {', '.join(p.sources)}" if p.sources else ""
            dest = f"  {p.destination}" if key == "dynamic" or p.scheme else ""
            lines.append(f"    {p.path}:{p.line}  {p.library}  {p.method}{dest}{data}")
        lines.append("")
    for n in inv.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines).rstrip() + "\n"


def to_json(inv: Inventory) -> str:
    doc = {
        "root": inv.root,
        "files_scanned": inv.files_scanned,
        "allow": list(inv.allow),
        "summary": [
            {"destination": key, "calls": len(points), "kinds": sorted({p.kind for p in points}),
             "sources": sorted({s for p in points for s in p.sources}),
             "allowed": None if key == "dynamic" or not inv.allow else all(p.allowed for p in points),
             "risk": next((p.risk for p in points if p.risk), None)}
            for key, points in inv.groups()
        ],
        "points": [asdict(p) for p in inv.points],
        "notes": list(inv.notes),
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def render_html(inv: Inventory, tool_version: str) -> str:
    from .model import ScanResult

    rows = [{"destination": p.destination, "file": f"{p.path}:{p.line}", "library": p.library, "method": p.method,
             "data": ", ".join(p.sources) or "-", "risk": p.risk or "-",
             "disclosed": "-" if p.allowed is None else ("yes" if p.allowed else "NO")}
            for _, points in inv.groups() for p in points]
    try:
        from .reporters import html
    except ImportError:  # pragma: no cover - the HTML reporter ships with the package
        html = None  # type: ignore[assignment]
    if html is not None and hasattr(html, "render"):
        result = ScanResult(inv.root, (), (), tool_version)
        return html.render(result, egress=rows)
    import jinja2

    env = jinja2.Environment(autoescape=True)
    page = env.from_string(
        "<!doctype html><meta charset=utf-8><title>Egress inventory</title><h1>Egress inventory</h1>"
        "<table><tr>{% for k in rows[0] %}<th>{{ k }}</th>{% endfor %}</tr>{% for r in rows %}<tr>"
        "{% for v in r.values() %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>")
    return page.render(rows=rows or [{"destination": "none"}])


# --- the `datasec-scan egress` command ---------------------------------------------------------------

@click.command("egress")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the inventory here.")
@click.option("--check", is_flag=True, help="Exit 1 when any static destination is outside "
              "[tool.datasec-scan.egress] allow (or when no allow list is configured and there is any destination).")
@click.option("--allow", "extra_allow", multiple=True, metavar="HOST",
              help="Also treat this host, *.domain or CIDR range as disclosed (repeatable).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read configuration from this file instead of the nearest pyproject.toml.")
@click.option("--isolated", is_flag=True, help="Read no configuration file.")
@click.option("--include-tests", is_flag=True, help="Also list calls in test code (tests/, test_*.py, conftest.py).")
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, help="Worker processes (0: all cores).")
def egress_command(paths: tuple[Path, ...], fmt: str, output: Path | None, check: bool,
                   extra_allow: tuple[str, ...], config_file: Path | None, isolated: bool, include_tests: bool,
                   jobs: int) -> None:
    """List every outbound call: destination, library, and which sensitive data reaches it."""
    from . import __version__
    from .cli import EXIT_CLEAN, EXIT_FINDINGS, load_config
    from .config import Config

    targets = list(paths) or [Path(".")]
    config = Config() if isolated else load_config(targets, config_file)
    allow = tuple(config.egress_allow) + tuple(extra_allow)
    inv = inventory(targets, Path.cwd(), allow, config.exclude, config.respect_gitignore, jobs,
                    config.limits.max_file_bytes, include_tests)
    if fmt == "json":
        text = to_json(inv)
    elif fmt == "html":
        text = render_html(inv, __version__)
    else:
        text = render_text(inv)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if check:
        if not allow:
            failing = [p for p in inv.points if p.host is not None]
            if failing:
                click.echo(f"datasec-scan: {len(failing)} static destination(s) and no "
                           "[tool.datasec-scan.egress] allow list", err=True)
        else:
            failing = list(inv.outside_allow)
            if failing:
                hosts = sorted({p.host or "" for p in failing})
                click.echo(f"datasec-scan: destinations outside the allow list: {', '.join(hosts)}", err=True)
        raise SystemExit(EXIT_FINDINGS if failing else EXIT_CLEAN)
