"""Packages as units: per-package verdicts, installed environments (dist-info/RECORD), index fetching (no pip, no build)."""

from __future__ import annotations

import csv
import hashlib
import html.parser
import io
import json
import os
import re
import stat
import subprocess
import sys
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .archives import archive_rules, outer_archive, run_archive_rules, wants_of
from .config import Config
from .kinds import file_kind
from .model import FileResult, Level, Notification, ScanResult
from .redact import inert
from .model import ArchiveView, MemberInfo

if TYPE_CHECKING:  # pragma: no cover
    from .discover import Target
    from .plugins import RuleSet


class PackagesError(Exception):
    """An environment or index could not be read; the CLI exits 2 with this message."""


# --- verdicts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One package's verdict: the highest active finding, counts, and a one-line summary to gate on."""

    package: str
    verdict: str  # critical | high | medium | low | clean
    files: int
    findings: int
    by_severity: tuple[tuple[str, int], ...]
    by_category: tuple[tuple[str, int], ...]
    by_rule: tuple[tuple[str, int], ...]
    suppressed: int
    notifications: int
    notification_kinds: tuple[str, ...]
    summary: str

    def as_dict(self) -> dict:
        return {"package": self.package, "verdict": self.verdict, "files": self.files, "findings": self.findings,
                "by_severity": dict(self.by_severity), "by_category": dict(self.by_category),
                "by_rule": dict(self.by_rule), "suppressed": self.suppressed, "notifications": self.notifications,
                "notification_kinds": list(self.notification_kinds), "summary": self.summary}


def package_of(path: str, owners: dict[str, str]) -> str | None:
    """The package a display path belongs to: its outermost archive, or the installed distribution owning it."""
    return owners.get(path) or outer_archive(path)


def _short(path: str, package: str) -> str:
    return path.split("!/", 1)[1] if "!/" in path else path.rsplit("/", 1)[-1]


def package_verdicts(result: ScanResult) -> list[Verdict]:
    """Verdicts per archive / installed distribution of the result (none for a plain source scan)."""
    owners = dict(result.packages)
    groups: dict[str, list[FileResult]] = {}
    for fr in result.files:
        pkg = package_of(fr.path, owners)
        if pkg is not None:
            groups.setdefault(pkg, []).append(fr)
    loose: dict[str, list[Notification]] = {}
    for n in result.notifications:
        pkg = package_of(n.path, owners)
        if pkg is not None:
            loose.setdefault(pkg, []).append(n)
            groups.setdefault(pkg, [])
    return [_verdict(pkg, groups[pkg], loose.get(pkg, [])) for pkg in sorted(groups)]


def _verdict(package: str, files: list[FileResult], extra: list[Notification]) -> Verdict:
    found = [f for fr in files for f in fr.findings]
    active = [f for f in found if f.suppression is None]
    notes = [n for fr in files for n in fr.notifications] + extra
    sev = Counter(f.severity for f in active)
    top = max((f.severity for f in active), default=None)
    if top is None:
        summary = f"clean: no findings in {len(files)} file{'s' if len(files) != 1 else ''}"
    else:
        best = sorted((f for f in active if f.severity == top),
                      key=lambda f: (-f.confidence, f.location.path, f.location.line, f.rule))[0]
        where = f"{_short(best.location.path, package)}:{best.location.line}"
        message = best.message if len(best.message) <= 110 else best.message[:109] + "…"
        others = ", ".join(f"{sev[s]} {s.label}" for s in sorted(sev, reverse=True) if s != top)
        summary = f"{sev[top]} {top.label}: {best.rule} {message} ({where})" + (f"; also {others}" if others else "")
    kinds = sorted({n.kind for n in notes})
    if notes:
        summary += f"; {len(notes)} notification{'s' if len(notes) != 1 else ''} ({', '.join(kinds)})"
    return Verdict(
        package=package, verdict=top.label if top else "clean", files=len(files), findings=len(active),
        by_severity=tuple((s.label, sev[s]) for s in sorted(sev, reverse=True)),
        by_category=tuple(sorted(Counter(f.category.value for f in active).items())),
        by_rule=tuple(sorted(Counter(f.rule for f in active).items())),
        suppressed=len(found) - len(active), notifications=len(notes), notification_kinds=tuple(kinds),
        summary=inert(summary))


# --- installed environments ------------------------------------------------------------------------

_PATHS_SNIPPET = """
import json, os, site, sys, sysconfig
# Run with -I -S: site.py never runs, so nothing of the environment executes -- but then a virtual
# environment's prefix is not applied either; find its pyvenv.cfg the way site.py would.
exe = os.path.dirname(os.path.abspath(sys.executable))
venv = next((d for d in (exe, os.path.dirname(exe)) if os.path.isfile(os.path.join(d, "pyvenv.cfg"))), None)
paths = []
system = True
if venv:
    with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8", errors="replace") as handle:
        cfg = dict(line.split("=", 1) for line in handle if "=" in line)
    cfg = {k.strip().lower(): v.strip().lower() for k, v in cfg.items()}
    system = cfg.get("include-system-site-packages") == "true"
    got = sysconfig.get_paths(vars={"base": venv, "platbase": venv})
    paths += [got["purelib"], got["platlib"]]
if system:
    paths += [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    paths += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    paths += [user] if user else []
print(json.dumps({"paths": paths}))
"""


def site_dirs(python: str | None = None) -> list[Path]:
    """The site-packages folders of this interpreter, or of `python` (run isolated, without site: `-I -S`)."""
    if python is None:
        import site
        import sysconfig

        paths = [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
        paths += site.getsitepackages() if hasattr(site, "getsitepackages") else []
        user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
        raw = json.dumps({"paths": paths + ([user] if user else [])})
    else:
        try:
            done = subprocess.run([python, "-I", "-S", "-c", _PATHS_SNIPPET], capture_output=True, text=True,
                                  timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PackagesError(f"cannot run {python}: {exc}") from None
        if done.returncode != 0:
            raise PackagesError(f"{python} could not report its site-packages: {done.stderr.strip()[-300:]}")
        raw = done.stdout
    try:
        paths = json.loads(raw.strip().splitlines()[-1])["paths"]
    except (ValueError, KeyError, IndexError) as exc:
        raise PackagesError(f"unexpected answer from the interpreter about its paths: {exc}") from None
    seen: dict[str, Path] = {}
    for p in paths:
        if isinstance(p, str) and os.path.isdir(p):
            seen.setdefault(os.path.realpath(p), Path(p))
    return list(seen.values())


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    dist_info: Path
    site: Path

    @property
    def label(self) -> str:
        return f"{self.name}=={self.version}"

    def record(self) -> list[tuple[str, str, int]]:
        """(path relative to site-packages, hash field, line number) of each RECORD row."""
        try:
            text = (self.dist_info / "RECORD").read_text("utf-8", errors="replace")
        except OSError:
            return []
        return [(row[0], row[1] if len(row) > 1 else "", n)
                for n, row in enumerate(csv.reader(io.StringIO(text)), start=1) if row and row[0]]


def distributions(sites: Iterable[Path], names: Iterable[str] = ()) -> list[Distribution]:
    wanted = {normalize_name(n) for n in names}
    found: list[Distribution] = []
    for site in sites:
        try:
            entries = sorted(site.iterdir())
        except OSError:
            continue
        for d in entries:
            if not d.name.endswith(".dist-info") or not d.is_dir():
                continue
            try:
                meta = HeaderParser().parsestr((d / "METADATA").read_text("utf-8", errors="replace"))
                name, version = meta.get("Name"), meta.get("Version")
            except OSError:
                name = version = None
            if not name:
                name, _, version = d.name[: -len(".dist-info")].partition("-")
            if wanted and normalize_name(name) not in wanted:
                continue
            found.append(Distribution(str(name), str(version or "?"), d, site))
    return found


def installed_targets(names: list[str], python: str | None = None
                      ) -> tuple[list["Target"], list[Notification], tuple[tuple[str, str], ...]]:
    """Targets for an environment's distributions (RECORD files + one per dist-info), and who owns what."""
    from .discover import Target

    sites = site_dirs(python)
    if not sites:
        raise PackagesError("the interpreter reports no existing site-packages folder")
    dists = distributions(sites, names)
    notes: list[Notification] = []
    missing = {normalize_name(n) for n in names} - {normalize_name(d.name) for d in dists}
    for n in sorted(missing):
        notes.append(Notification(n, "not-installed", f"no distribution named {n!r} in {', '.join(map(str, sites))}",
                                  Level.ERROR))
    targets: dict[str, Target] = {}
    owners: dict[str, str] = {}
    for dist in dists:
        shown = dist.dist_info.as_posix()
        targets[shown] = Target(shown, dist.dist_info)
        owners[shown] = dist.label
        for rel, _, _ in dist.record():
            full = Path(os.path.normpath(dist.site / rel))
            owners[full.as_posix()] = dist.label
            if file_kind(full.name) is not None and full.is_file() and not full.is_symlink():
                targets[full.as_posix()] = Target(full.as_posix(), full)
    if not names:  # .pth files nobody's RECORD lists: something dropped them there
        for site in sites:
            for pth in sorted(site.glob("*.pth")):
                shown = pth.as_posix()
                if shown in owners or not pth.is_file():
                    continue
                owners[shown] = "(files of no distribution)"
                targets[shown] = Target(shown, pth)
                notes.append(Notification(shown, "unowned-file", ".pth file listed in no distribution's RECORD; "
                                          "its import lines run at every interpreter start"))
    return [targets[k] for k in sorted(targets)], notes, tuple(sorted(owners.items()))


def scan_distribution(target: "Target", rules: "RuleSet", config: Config) -> FileResult:
    """Archive rules over an installed distribution: its RECORD files, read and hashed in place."""
    dist_info = target.path
    site = dist_info.parent
    chosen = archive_rules(rules, "installed")
    keep = wants_of(chosen)
    rows = Distribution("", "", dist_info, site).record()
    names = [rel for rel, _, _ in rows] or [f"{dist_info.name}/{p.name}" for p in sorted(dist_info.iterdir())
                                            if p.is_file()]
    members: list[MemberInfo] = []
    notes: list[Notification] = []
    for rel in names:
        full = Path(os.path.normpath(site / rel))
        try:
            st = os.stat(full, follow_symlinks=False)
        except OSError:
            continue  # DS154 reports files RECORD lists but that are gone
        if stat.S_ISLNK(st.st_mode):
            members.append(MemberInfo(rel, 0, "symlink"))
            continue
        if not stat.S_ISREG(st.st_mode):
            members.append(MemberInfo(rel, 0, "other"))
            continue
        if st.st_size > config.limits.max_member_bytes:
            notes.append(Notification(full.as_posix(), "too-large", f"{st.st_size:,} bytes, over "
                                      f"limits.max-member-bytes; not hashed"))
            members.append(MemberInfo(rel, st.st_size, "file"))
            continue
        try:
            data = full.read_bytes()
        except OSError as exc:
            notes.append(Notification(full.as_posix(), "unreadable", f"cannot read: {exc.strerror or exc}",
                                      Level.ERROR))
            continue
        members.append(MemberInfo(rel, len(data), "file", hashlib.sha256(data).digest(),
                                  data if keep(rel) else None))
    view = ArchiveView(site.as_posix(), "installed", tuple(members))
    findings, problems = run_archive_rules(view, chosen, config)
    return FileResult(target.display, tuple(findings), tuple(sorted(notes + problems, key=Notification.sort_key)))


# --- package index ---------------------------------------------------------------------------------

DEFAULT_INDEX = "https://pypi.org/simple"
USER_AGENT = "datasec-scan (fetch-scan; https://github.com/) urllib"
SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


def configured_index_url(explicit: str | None = None, env: dict | None = None,
                         pip_config: Callable[[], str | None] | None = None) -> str:
    """--index-url, else PIP_INDEX_URL, else pip's `global.index-url` setting, else PyPI."""
    env = os.environ if env is None else env
    if explicit:
        return explicit.rstrip("/")
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"].rstrip("/")
    value = (pip_config or _pip_config_index)()
    return (value or DEFAULT_INDEX).rstrip("/")


def _pip_config_index() -> str | None:
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value.startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class ReleaseFile:
    filename: str
    url: str
    sha256: str | None
    kind: str  # sdist | wheel | other


def _kind(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith(".whl"):
        return "wheel"
    if lower.endswith((".tar.gz", ".tgz", ".tar.bz2", ".zip", ".tar.xz")):
        return "sdist"
    return "other"


def _get(url: str, accept: str = "application/json", limit: int = 20_000_000, timeout: float = 60
         ) -> tuple[bytes, str]:
    import urllib.error  # (with http.client and ssl: imported only to fetch, not to report)
    import urllib.request

    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise PackagesError(f"refusing to fetch {url!r}: only http and https")
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(limit + 1)
            ctype = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise PackagesError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PackagesError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > limit:
        raise PackagesError(f"{url}: answer larger than {limit:,} bytes")
    return body, ctype


def _version_key(version: str) -> tuple:
    try:
        from packaging.version import Version  # optional: better ordering when available

        return (0, Version(version))
    except Exception:
        parts = re.findall(r"\d+|[a-z]+", version.lower())
        pre = any(p in ("a", "b", "rc", "dev", "alpha", "beta", "pre") for p in parts)
        return (1, not pre, tuple(int(p) if p.isdigit() else -1 for p in parts))


def _version_of(filename: str, project: str) -> str | None:
    base = re.sub(r"\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$", "", filename, flags=re.IGNORECASE)
    if filename.lower().endswith(".whl"):
        parts = base.split("-")
        return parts[1] if len(parts) >= 5 else None
    prefix = re.sub(r"[-_.]+", "[-_.]+", re.escape(normalize_name(project)).replace("\\-", "-"))
    m = re.match(rf"(?i)^{prefix}-(.+)$", base)
    return m.group(1) if m else None


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def release_files(name: str, version: str | None, index_url: str) -> tuple[str, list[ReleaseFile]]:
    """(version, files) of a release: the JSON API (`/pypi/NAME[/VERSION]/json`), else the simple API."""
    root = re.sub(r"/simple/?$", "", index_url)
    json_url = f"{root}/pypi/{urllib.parse.quote(name)}/" + (f"{urllib.parse.quote(version)}/" if version else "") + "json"
    try:
        body, _ = _get(json_url)
        data = json.loads(body)
        chosen = str(data["info"]["version"])
        files = [ReleaseFile(u["filename"], urllib.parse.urljoin(json_url, u["url"]),
                             (u.get("digests") or {}).get("sha256"), _kind(u["filename"]))
                 for u in data.get("urls", []) if not u.get("yanked") or version]
        return chosen, files
    except (PackagesError, ValueError, KeyError, TypeError):
        pass
    simple = f"{index_url}/{normalize_name(name)}/"
    body, ctype = _get(simple, SIMPLE_ACCEPT)
    entries: list[tuple[str, str, str | None]] = []  # filename, url, sha256
    if "json" in ctype:
        try:
            data = json.loads(body)
            for f in data.get("files", []):
                if f.get("yanked") and not version:
                    continue
                entries.append((f["filename"], urllib.parse.urljoin(simple, f["url"]), (f.get("hashes") or {}).get("sha256")))
        except (ValueError, KeyError, TypeError) as exc:
            raise PackagesError(f"{simple}: unreadable PEP 691 answer: {exc}") from None
    else:
        parser = _Links()
        parser.feed(body.decode("utf-8", errors="replace"))
        for href, text in parser.links:
            url = urllib.parse.urljoin(simple, href)
            parts = urllib.parse.urlsplit(url)
            digest = re.match(r"sha256=([0-9a-fA-F]{64})$", parts.fragment or "")
            filename = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1]) or text
            entries.append((filename, parts._replace(fragment="").geturl(), digest.group(1).lower() if digest else None))
    by_version: dict[str, list[ReleaseFile]] = {}
    for filename, url, digest in entries:
        v = _version_of(filename, name)
        if v is not None:
            by_version.setdefault(v, []).append(ReleaseFile(filename, url, digest, _kind(filename)))
    if not by_version:
        raise PackagesError(f"no release files for {name!r} at {simple}")
    if version is None:
        version = max(by_version, key=_version_key)
    if version not in by_version:
        raise PackagesError(f"{name} has no release {version!r} at {simple}")
    return version, by_version[version]


def pick_files(files: list[ReleaseFile], wheels: str) -> list[ReleaseFile]:
    """The sdist(s) plus the wheels asked for: all, pure (`*-none-any`), none, or best (pure, else this platform's)."""
    sdists = [f for f in files if f.kind == "sdist"]
    whls = [f for f in files if f.kind == "wheel"]
    if wheels == "none":
        return sdists
    if wheels == "all":
        return sdists + whls
    pure = [f for f in whls if f.filename.lower().endswith("-none-any.whl")]
    if pure or wheels == "pure":
        return sdists + pure
    import platform

    cp = f"cp{sys.version_info.major}{sys.version_info.minor}"
    machine, system = platform.machine().lower(), sys.platform
    osname = {"linux": "linux", "darwin": "macosx", "win32": "win"}.get(system, system)
    mine = [f for f in whls if osname in f.filename.lower() and machine in f.filename.lower()]
    best = [f for f in mine if f"-{cp}-" in f.filename] or [f for f in mine if "abi3" in f.filename] or mine
    return sdists + (best[:1] or whls[:1])


def _safe_filename(filename: str) -> str | None:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return name if name and name not in (".", "..") and not name.startswith(".") else None


def download(files: list[ReleaseFile], folder: Path, max_bytes: int, say: Callable[[str], None] = lambda s: None
             ) -> list[Path]:
    """Download into `folder`, checking each published sha256; a mismatch is an error, nothing is unpacked."""
    out = []
    for f in files:
        name = _safe_filename(f.filename)
        if name is None:
            raise PackagesError(f"refusing index file name {f.filename!r}")
        body, _ = _get(f.url, "application/octet-stream", limit=max_bytes, timeout=300)
        digest = hashlib.sha256(body).hexdigest()
        if f.sha256 is None:
            say(f"warning: {name}: the index publishes no sha256; downloaded file not verified")
        elif digest != f.sha256.lower():
            raise PackagesError(f"{name}: sha256 {digest} does not match the published {f.sha256}; not scanned")
        path = folder / name
        path.write_bytes(body)
        out.append(path)
    return out


def fetch(spec: str, index_url: str, folder: Path, wheels: str = "best", max_bytes: int = 500_000_000,
          say: Callable[[str], None] = lambda s: None) -> tuple[str, str, list[Path]]:
    """NAME[==VERSION] -> (name, version, downloaded archives), read from the index without pip."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([A-Za-z0-9.+!_-]+))?\s*", spec)
    if not m:
        raise PackagesError(f"cannot read {spec!r}; use NAME or NAME==VERSION")
    name, version = m.group(1), m.group(2)
    version, files = release_files(name, version, index_url)
    chosen = pick_files(files, wheels)
    if not chosen:
        raise PackagesError(f"{name} {version}: no sdist or wheel to scan")
    say(f"{name} {version}: " + ", ".join(f.filename for f in chosen))
    return name, version, download(chosen, folder, max_bytes, say)


__all__ = ["Verdict", "package_verdicts", "installed_targets", "scan_distribution", "configured_index_url",
           "release_files", "pick_files", "fetch", "PackagesError", "site_dirs", "distributions"]
