"""Shared analysis for the DS3xx rules and the egress inventory: network sinks, destinations, sensitive sources."""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from datasec_scan.lazycst import cst

from datasec_scan.egress import EgressSite
from datasec_scan.model import Severity
from datasec_scan.rule import FileContext
from datasec_scan.semantics.constants import fold, fold_str
from datasec_scan.semantics.dataflow import FlowAnalysis, Taint
from datasec_scan.semantics.names import NameResolver, dotted
from datasec_scan.tree import code_for_node

from . import _catalog
from ._prescreen import UNICODE_WORDS



class _LazyRegex:
    """A catalog's glob list as one regex, compiled on first use: most scans need few of the dozens."""

    def __init__(self, globs: tuple[str, ...]) -> None:
        self.globs = globs

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return _catalog.glob_regex(self.globs)

    def match(self, text: str) -> re.Match[str] | None:
        self.match = self.compiled.match  # type: ignore[method-assign]  # later calls go straight to the regex
        return self.match(text)


def _regex(patterns: Iterable[str], ignore_case: bool = False) -> _LazyRegex | None:
    globs = tuple(p.lower() if ignore_case else p for p in patterns)
    return _LazyRegex(globs) if globs else None


def _matches(regex: _LazyRegex | None, names: Iterable[str]) -> str | None:
    if regex is None:
        return None
    for n in sorted(names):
        if regex.match(n):
            return n
    return None


def code_of(node: cst.CSTNode, limit: int = 60) -> str:
    text = " ".join(code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- catalogs --------------------------------------------------------------------------------------

_SRC = _catalog.load("sources")
_ENV_WHOLE = _regex(_SRC["environment"]["whole"])
_ENV_ONE = _regex(_SRC["environment"]["one"])
_SECRET_NAMES = _regex(_SRC["environment"]["secret_names"])
_NOT_SECRET = _regex(_SRC["environment"]["not_secret"])
_HOME_VARS = frozenset(_SRC["environment"]["home_variables"])
_FILE_LABELS = sorted(((label, _regex(patterns, ignore_case=True)) for label, patterns in _SRC["files"].items()),
                      key=lambda item: item[0] not in ("token-store", "wallet"))  # the specific stores first
_HOST_ID = _regex(_SRC["host"]["identifying"])
_HOST_COARSE = _regex(_SRC["host"]["coarse"])
_PUBLIC_IP_HOSTS = frozenset(_SRC["host"]["public_ip_hosts"])
_METADATA_HOSTS = frozenset(_SRC.get("cloud_metadata", {}).get("hosts", ()))
_METADATA_CREDENTIALS = _regex(_SRC.get("cloud_metadata", {}).get("credential_paths", ()))
_SURVEILLANCE = [(label, _regex(patterns)) for label, patterns in _SRC["surveillance"].items()
                 if label != "keystroke_listeners"]
_LISTENERS = _regex(_SRC["surveillance"]["keystroke_listeners"])
_API_SOURCES = [(label, _regex(patterns)) for label, patterns in _SRC.get("calls", {}).items()]
_COMMAND_LABELS = {program: label for label, programs in _SRC.get("commands", {}).items() for program in programs}
_CREDENTIAL_COMMANDS = {program: tuple(phrases) for program, phrases in _SRC.get("credential_commands", {}).items()}

_HOSTS = _catalog.load("hosts")
RISK_TEXT = {"raw-ip": "a raw IP address", "webhook": "a chat webhook / bot API", "paste": "a paste or file-drop site",
             "request-catcher": "a request catcher", "tunnel": "a tunnel service", "dynamic-dns": "a dynamic-DNS name"}
_RISK_HOSTS = [(cat, _regex(_HOSTS[cat]["hosts"])) for cat in ("webhook", "paste", "request-catcher", "tunnel",
                                                                "dynamic-dns")]
_RISK_PATHS: dict[str, list[str]] = dict(_HOSTS["webhook"].get("paths", {}))
_PROVIDERS = [(_LazyRegex((k,)), _regex(v)) for k, v in _HOSTS["providers"].items()]
_BENIGN_IPS = frozenset(_HOSTS.get("raw-ip", {}).get("benign", ()))
_DOC_NETS = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                                     "2001:db8::/32"))


@dataclass(frozen=True)
class SinkSpec:
    kind: str
    library: str
    names: _LazyRegex | None
    methods: frozenset[str]
    receivers: tuple[str, ...]
    destination: object  # [pos, kw] list, "receiver", "command", "none"
    ignore: frozenset[str]
    credentials: frozenset[str]
    credential_methods: frozenset[str]
    connects: bool
    dns: bool
    programs: frozenset[str]
    params: tuple[str, ...]  # names of the positional parameters, so `ignore` applies to them too


_SINKS = tuple(
    SinkSpec(
        kind=s["kind"], library=s["library"], names=_regex(s.get("names", ())), methods=frozenset(s.get("methods", ())),
        receivers=tuple(s.get("receivers", ())), destination=s.get("destination", "none"),
        ignore=frozenset(s.get("ignore", ())), credentials=frozenset(s.get("credentials", ())),
        credential_methods=frozenset(s.get("credential_methods", ())), connects=bool(s.get("connects", False)),
        dns=bool(s.get("dns", False)), programs=frozenset(s.get("programs", ())), params=tuple(s.get("params", ())),
    ) for s in _catalog.load("sinks")["sink"]
)
# Every sink's names as one regex: most calls match none, and then no sink needs asking by name.
_ANY_SINK_NAME = _regex(tuple(g for spec in _SINKS if spec.names is not None for g in spec.names.globs))
_DECODERS = {"base64.b64decode": base64.b64decode, "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
             "base64.b32decode": base64.b32decode, "base64.b16decode": base64.b16decode,
             "binascii.unhexlify": binascii.unhexlify, "binascii.a2b_base64": binascii.a2b_base64,
             "bytes.fromhex": lambda v: bytes.fromhex(v if isinstance(v, str) else v.decode())}
# Options through which a network tool is given the credential it logs in with (not data it sends), by program.
_SSH_FLAGS = frozenset({"-i", "-F", "-o", "--identity"})
_IDENTITY_FLAGS = {"ssh": _SSH_FLAGS, "scp": _SSH_FLAGS, "sftp": _SSH_FLAGS, "rsync": frozenset({"-e", "--rsh"}),
                   "curl": frozenset({"--netrc-file", "--key", "--cert", "-E"}), "wget": frozenset({"--certificate",
                                                                                                   "--private-key"})}
_IDENTITY_OPTIONS = ("IdentityFile=", "-oIdentityFile=", "--key=", "--cert=", "--netrc-file=", "--rsh=",
                     "--private-key=", "--certificate=")
_EVERY_VARIABLE = "\x00every variable"  # an environment lookup whose key runs over the whole environment
_DNS_PROGRAMS = frozenset({"nslookup", "dig", "host", "ping", "drill", "resolvectl", "Resolve-DnsName"})
_PROCESS_NAMES = _regex(n for s in _catalog.load("sinks")["sink"] if s["kind"] == "process" for n in s.get("names", ()))
_SINK_METHODS = frozenset(m for s in _SINKS for m in s.methods)
_SINK_LAST = frozenset(n.rsplit(".", 1)[-1] for s in _catalog.load("sinks")["sink"] for n in s.get("names", ())
                       if "()." in n) - {"write", "open", "put", "execute", "query", "notify", "publish", "stream",
                                         "delete", "head", "patch", "login", "connect", "connect_ex", "resolve",
                                         "setopt"}
_SINK_ROOTS = ("requests.", "httpx.", "aiohttp.", "urllib", "socket.", "smtplib.", "ftplib.", "paramiko.", "http.client.")


# --- pre-screens -----------------------------------------------------------------------------------
# Every DS3xx report is made at a call `Analyzer.sink` recognises, so "some sink is possible" is a necessary
# condition on the text, checked before a parse (the rules' `triggered_by`). `Analyzer.sink` recognises a call
#  (1) by a qualified name of the catalog (`socket.socket().sendall`). NameResolver builds a name's first part only
#      from an import statement (`import requests as r`, `from http import client`, `from socket import *`) or
#      from a folded string given to `__import__`/`importlib.import_module`/`sys.modules[...]` (reached directly, or
#      through `globals()`/`vars()`/`locals()`/`builtins` keys); its later parts from attribute names (`.post`),
#      names in import statements (`from os import system as run`), bare names under `from m import *`, and
#      `getattr(x, <folded>)` (its literal when it is a plain one). Identifiers are NFKC-folded as Python does.
#  (2) by a method name alone (`.sendall(`, `.request(`, `.urlopen(`, `.put(`) on a receiver whose text contains
#      one of the spec's `receivers` (lowercased).
# Which program a subprocess runs (curl, nslookup...) and which host a call talks to are folded constants that
# string building can hide (chr codes, escapes, slices, `%`), so they are not part of the screen; nor are DS301's
# sources (a credential path is a folded string too).

_AFTER_MODULE = r"(?=[ \t\f]*(?:[.,;#\\\r\n]|as\b|import\b|$))"  # what may follow a module name in an import
# What may stand between two tokens inside brackets or across `\`-continuations (possessive: no backtracking).
_GAP = r"(?:[\s\\]++|#[^\r\n]*+)*+"
_GAP_CLOSE = r"(?:[\s\\)]++|#[^\r\n]*+)*+"  # the same, with closing brackets of a parenthesised `(x.method)`
_GAP_RE = re.compile(_GAP)
# Ways to a module named by any folded string, whole names included: `__import__` (with `__import__("builtins")`
# `.__dict__[...]` reaching `getattr` and `importlib`), `__builtins__`, and calls of `globals()`/`vars()`/`locals()`
# (not attributes, string keys or assignment targets of those names), whose keys reach `__import__` and `getattr`.
# (`importlib.import_module`, `sys.modules` and `builtins.__dict__` are pseudo-names of the tables.)
_ALWAYS_DYNAMIC = frozenset({"__import__", "__builtins__"})
_NAMESPACE_CALLS = frozenset({"globals", "locals", "vars"})
_NAMESPACE_USE = re.compile(r"(?:globals|locals|vars)\b(?![ \t\f]*=(?!=))")


def _namespace_call(text: str) -> bool:
    """`globals`/`locals`/`vars` used as a name (not an attribute, a string key or an assignment target)."""
    for m in _NAMESPACE_USE.finditer(text):
        before = text[m.start() - 1] if m.start() else " "
        if not (before in ".'\"_" or before.isalnum()):
            return True
    return False
_PSEUDO_NAMES = (("importlib", ("import_module",)), ("sys", ("modules",)), ("builtins", ("__dict__",)))
_GETATTR = re.compile(r"\bgetattr\b")
# A `getattr(x, "name")` whose attribute is a plain literal names a word of the text; any other use of `getattr`
# (a folded expression, an alias) may name any attribute.
_STATIC_ATTR = re.compile(rf"{_GAP}[rRuUbB]{{0,2}}(?P<q>['\"])(?P<attr>[\w.]*)(?P=q){_GAP}[,)]")
# An attribute given as a name (folded only when the module binds it) or as `a.b` (never folded).
_NAME_ATTR = re.compile(rf"{_GAP}(?:(?P<name>[A-Za-z_]\w*)|[A-Za-z_]\w*(?:{_GAP}\.{_GAP}[A-Za-z_]\w*)+){_GAP}[,)]")
_IMPORT_LIST = re.compile(rf"import\b(?:{_GAP}\([^)]*|(?:[^\r\n\\]|\\[\s\S])*)")
_STAR_IMPORT = re.compile(rf"import{_GAP}\*")  # (no `\b` before: a literal first is searched fast)


def _getattr_literals(text: str) -> list[str] | None:
    """The plain literal attributes of every `getattr(x, "attr")`; None when some `getattr` may name any attribute
    (not a literal, nor a name the module never binds, nor an attribute chain)."""
    found: list[str] = []
    for use in _GETATTR.finditer(text):
        at = _GAP_RE.match(text, use.end()).end()  # type: ignore[union-attr]  # it matches the empty string
        if text[at:at + 1] != "(":
            return None  # `g = getattr`, `getattr` in a comment: may be called anywhere
        depth = 0
        for at in range(at + 1, len(text)):  # the first argument, up to its comma; give up on strings and comments
            ch = text[at]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                if depth == 0:
                    return None
                depth -= 1
            elif ch in "'\"#\\":
                return None
            elif ch == "," and depth == 0:
                break
        else:
            return None
        literal = _STATIC_ATTR.match(text, at + 1)
        if literal is not None:
            found += literal.group("attr").split(".")
            continue
        name = _NAME_ATTR.match(text, at + 1)
        if name is None or name.group("name") and _may_be_bound(text, name.group("name")):
            return None
    return found


def _may_be_bound(text: str, name: str) -> bool:
    """Whether NameResolver may fold `name`: it binds names by assignment (also as a tuple target, first on a line or
    followed by `=` on it), annotated assignment, walrus and `with ... as`; not parameters, loops or `except`.
    (Each occurrence of the name is found by a literal search, fast, and its surroundings checked there.)"""
    for m in re.finditer(re.escape(name) + r"(?!\w)", text):
        start = m.start()
        before = text[start - 1] if start else "\n"
        if before == "." or before.isalnum() or before == "_":
            continue
        if _BINDING_AFTER.match(text, m.end()):  # `name = ...`, `name: int`, `name, other = ...`
            return True
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip(" \t\f([") == "" and _COMMA_AFTER.match(text, m.end()):  # `name, other`
            return True
        at = start
        while at and text[at - 1] in " \t\f\\([":
            at -= 1
        if at < start and text.endswith("as", 0, at) and (at < 3 or not (text[at - 3].isalnum() or text[at - 3] == "_")):
            return True  # `with ... as name`, `import x as name`
    return False


_BINDING_AFTER = re.compile(r"[ \t\f]*(?:=(?!=)|:|,[^\r\n]*?(?<![=!<>])=(?!=))")
_COMMA_AFTER = re.compile(r"[ \t\f]*,")


def _imported_roots(text: str, candidates: Iterable[str]) -> frozenset[str]:
    """The module names among `candidates` (words of the text) written where a module name may stand: not after a
    dot or inside a longer word, and followed by what `_AFTER_MODULE` allows. (Each name is searched as a literal,
    which the regex engine finds fast, and the character before it checked here.)"""
    found = set()
    for root in candidates:
        for m in re.finditer(re.escape(root) + _AFTER_MODULE, text):
            before = text[m.start() - 1] if m.start() else " "
            if before != "." and not (before.isalnum() or before == "_"):
                found.add(root)
                break
    return frozenset(found)


class _Features:
    """What the screens ask of one text, computed once for all of them (the engine asks every rule in turn)."""

    def __init__(self, text: str, catalog_words: frozenset[str], root_words: frozenset[str]) -> None:
        from ._prescreen import view

        v = view(text)  # the text's word set, shared with the other rules' screens
        self.view = v
        self.text = "\n".join(v.forms)  # Python NFKC-folds identifiers (`ｒｅｑｕｅｓｔｓ`): look at both spellings
        words = v.words
        self.dynamic = not words.isdisjoint(_ALWAYS_DYNAMIC) or (
            not words.isdisjoint(_NAMESPACE_CALLS) and _namespace_call(self.text))
        self.roots = frozenset() if self.dynamic else _imported_roots(self.text, root_words & words)
        self._catalog_words = catalog_words
        self._words: frozenset[str] | None = None
        self._any_attribute: bool | None = None
        self._literals: list[str] = []

    @property
    def any_attribute(self) -> bool:
        if self._any_attribute is None:
            literals = _getattr_literals(self.text) if "getattr" in self.view.words else []
            self._any_attribute = literals is None
            self._literals = literals or []
        return self._any_attribute

    @property
    def words(self) -> frozenset[str]:
        """Catalog words that may be a later part of a name: attribute names, names in imports, getattr literals
        (any word of the text under a star import). Only catalog words that are words of the text are looked for."""
        if self._words is None:
            present = self._catalog_words & self.view.words
            text = self.text
            if not present or _STAR_IMPORT.search(text):
                found = set(present)
            else:
                found = set(_attribute_regex(tuple(sorted(present, key=lambda w: (-len(w), w)))).findall(text))
                for segment in _IMPORT_LIST.findall(text):
                    found.update(present.intersection(UNICODE_WORDS.findall(segment)))
                found.update(present.intersection(self._literals))
            self._words = frozenset(found)
        return self._words


@functools.lru_cache(maxsize=256)
def _attribute_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """`.word` for these words (a file's few catalog words: a short alternation tried at every dot)."""
    return re.compile(rf"\.{_GAP}({'|'.join(map(re.escape, words))})\b")


class _Tables:
    """The catalog's sink names as word sets, built on first use, and the features of the last text asked about."""

    @functools.cached_property
    def compiled(self) -> tuple[frozenset[str], frozenset[str]]:
        """(later parts, first parts) of the catalog's sink names."""
        names = _PSEUDO_NAMES + tuple(part for spec in _catalog.load("sinks")["sink"] for part in _sink_names(spec))
        return frozenset(w for _, rest in names for w in rest), frozenset(root for root, _ in names)

    def features(self, text: str) -> _Features:
        last = getattr(self, "_last", None)
        if last is None or last[0] is not text:
            last = self._last = (text, _Features(text, *self.compiled))
        return last[1]


_TABLES = _Tables()


def _globbed(part: str) -> bool:
    return any(ch in part for ch in "*?[")


def _sink_names(spec: dict) -> list[tuple[str, tuple[str, ...]]]:  # type: ignore[type-arg]
    """(first part, later parts) of every name of a sink spec; parts with glob characters are left out."""
    out = []
    for name in spec.get("names", ()):
        parts = [p for p in re.sub(r"\(\)|\[\d+\]", "", name).split(".") if p]
        out.append((parts[0], tuple(p for p in parts[1:] if not _globbed(p))))
    return out


class _SinkScreen:
    """Whether a text may hold a call the sink catalog recognises, for the specs `wanted` selects.
    A necessary condition only (see above), never a sufficient one; compiled on first use."""

    def __init__(self, wanted) -> None:  # type: ignore[no-untyped-def]
        self.wanted = wanted

    @functools.cached_property
    def _tables(self) -> tuple[bool, dict[str, list[tuple[str, ...]]],
                               list[tuple[frozenset[str], re.Pattern[str], re.Pattern[str] | None]]]:
        specs = [s for s in _catalog.load("sinks")["sink"] if self.wanted(s)]
        names = set(_PSEUDO_NAMES) | {n for s in specs for n in _sink_names(s)}
        by_root: dict[str, list[tuple[str, ...]]] = {}
        for root, rest in sorted(names):
            by_root.setdefault(root, []).append(rest)
        methods = []
        for s in specs:
            if s.get("methods"):
                called = re.compile(rf"\.{_GAP}(?:{'|'.join(map(re.escape, s['methods']))})\b{_GAP_CLOSE}\(")
                receivers = [r.lower() for r in s.get("receivers", ())]
                receiver = re.compile("|".join(
                    re.escape(r) if len(r) > 2 else rf"(?<![a-z0-9]){re.escape(r)}(?![a-z0-9])" for r in receivers),
                    re.IGNORECASE) if receivers else None
                methods.append((frozenset(s["methods"]), called, receiver))
        return any(_globbed(root) for root in by_root), by_root, methods

    def __call__(self, text: str) -> bool:
        always, by_root, methods = self._tables
        if always:
            return True
        seen = _TABLES.features(text)
        if seen.dynamic:
            return True
        for method_words, called, receiver in methods:
            if method_words.isdisjoint(seen.view.words):
                continue
            if called.search(seen.text) and (receiver is None or receiver.search(seen.text)):
                return True
        roots = [r for r in seen.roots if r in by_root]
        if not roots:
            return False
        if seen.any_attribute:
            return True
        words = seen.words
        return any(all(w in words for w in rest) for root in roots for rest in by_root[root])


# The pre-screens of the rules: DS301 needs a sink that carries data (not a bare connect, not a DNS lookup);
# DS302/DS303 any sink; DS304 a DNS lookup or a child process (`nslookup`/`dig`/`host`/`ping`).
may_send_data = _SinkScreen(lambda s: not s.get("connects") and not s.get("dns"))
may_reach_network = _SinkScreen(lambda s: True)
may_resolve_name = _SinkScreen(lambda s: bool(s.get("dns")) or s.get("destination") == "command")

# --- labels ----------------------------------------------------------------------------------------

CRITICAL_LABELS = ("credential-file", "browser-store", "token-store", "wallet", "cloud-credentials")
HIGH_LABELS = ("environment", "system-accounts", "clipboard", "keystrokes", "screenshot", "camera", "microphone")
_LABEL_TEXT = {
    "credential-file": "a credential file", "cloud-credentials": "cloud credentials from the instance metadata service",
    "browser-store": "a browser password/cookie store",
    "token-store": "an app token store", "wallet": "a crypto wallet", "environment": "the whole environment",
    "system-accounts": "the system account database", "clipboard": "the clipboard", "keystrokes": "keystrokes",
    "screenshot": "a screenshot", "camera": "the camera", "microphone": "the microphone",
    "host-info": "identifying host data (hostname, user, MAC or public IP)",
    "platform-info": "platform details (OS, architecture)",
}


def label_severity(label: str) -> Severity:
    kind = label.split(":", 1)[0]
    if kind in CRITICAL_LABELS:
        return Severity.CRITICAL
    if kind in HIGH_LABELS or kind == "env-secret":
        return Severity.HIGH
    if kind == "host-info":
        return Severity.MEDIUM
    return Severity.LOW


def label_text(label: str) -> str:
    kind, _, detail = label.partition(":")
    if detail == "api":
        return _LABEL_TEXT.get(kind, kind)
    if kind == "env-secret":
        return f"secret environment variable {detail}"
    if kind == "env":
        return f"environment variable {detail}" if detail != "?" else "an environment variable"
    return _LABEL_TEXT.get(kind, kind)


def is_secret_var(name: str) -> bool:
    upper = name.upper()
    return bool(_SECRET_NAMES and _SECRET_NAMES.match(upper)) and not (_NOT_SECRET and _NOT_SECRET.match(upper))


# --- destinations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where a call sends data: a statically known host, or "dynamic" with what it depends on."""

    host: str | None = None
    scheme: str | None = None
    port: int | None = None
    path: str | None = None
    depends_on: tuple[str, ...] = ()
    from_environment: bool = False

    @property
    def known(self) -> bool:
        return self.host is not None

    def text(self) -> str:
        if self.host is None:
            deps = ", ".join(self.depends_on) or "unknown"
            return f"dynamic (depends on {deps})"
        out = f"{self.scheme}://" if self.scheme else ""
        out += f"[{self.host}]" if ":" in self.host else self.host
        return out + (f":{self.port}" if self.port else "")


def host_risk(host: str | None, path: str | None = None) -> str | None:
    """The high-risk category of a host ("raw-ip", "webhook", ...), or None."""
    if not host:
        return None
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if str(ip) in _BENIGN_IPS:
            return None
        if any(ip in net for net in _DOC_NETS):
            return "raw-ip"  # documentation ranges count as public: fixtures and examples use them
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return None
        return "raw-ip"
    for category, regex in _RISK_HOSTS:
        if regex is not None and regex.match(host):
            prefixes = _RISK_PATHS.get(host)
            if prefixes and not (path and any(path.startswith(p) for p in prefixes)):
                continue
            return category
    return None


def metadata_host(host: str | None) -> bool:
    """Whether a host is a cloud instance metadata service (which its own credentials may be sent back to)."""
    return host is not None and host.lower() in _METADATA_HOSTS


def known_provider(var: str) -> bool:
    """Whether the `[providers]` table names the service a variable belongs to."""
    return any(name_re.match(var.upper()) for name_re, _ in _PROVIDERS)


def provider_hosts_match(var: str, host: str) -> bool:
    """Whether `host` plausibly belongs to the service a secret-named variable is for."""
    host = host.lower()
    for name_re, hosts_re in _PROVIDERS:
        if name_re.match(var.upper()) and hosts_re is not None and hosts_re.match(host):
            return True
    labels = set(re.split(r"[.\-]", host))
    first = var.lower().split("_", 1)[0]
    return len(first) >= 3 and first in labels


def _split_url(text: str, complete: bool) -> Destination | None:
    """A Destination from a (possibly partial) URL or host text; None when the host is not fully known."""
    text = text.strip()
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
            return None
        end = re.search(r"[/?#]", rest)
        netloc = rest[: end.start()] if end else rest
        if not complete and end is None:
            return None  # the host may go on in the part we cannot see
        if "@" in netloc:
            netloc = netloc.rsplit("@", 1)[1]
        try:
            parts = urlsplit(f"{scheme}://{netloc}")
            host, port = parts.hostname, parts.port
        except ValueError:
            return None
        if not host or not re.fullmatch(r"[A-Za-z0-9.\-_:\[\]]+", host):
            return None
        path = rest[end.start():] if end else ""
        return Destination(host.lower(), scheme.lower(), port, path)
    return None


def _host_only(text: str) -> Destination | None:
    text = text.strip().lower()
    if re.fullmatch(r"[a-z0-9_\-]+(\.[a-z0-9_\-]+)+\.?|[0-9a-f:]+:[0-9a-f:]*", text):
        return Destination(text.rstrip("."))
    return None


class Analyzer:
    """Per-file helper shared by the DS3xx rules and the egress collector (one per FileContext)."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.names: NameResolver = context.names
        self.flow: FlowAnalysis = context.flow
        self._sinks: dict[int, Sink | None] = {}
        self._connects: dict[str, list[cst.Call]] | None = None
        self._listener_params: dict[int, set[str]] | None = None

    @classmethod
    def of(cls, context: FileContext) -> Analyzer:
        found = getattr(context, "_ds3xx_analyzer", None)
        if found is None:
            found = cls(context)
            context._ds3xx_analyzer = found  # type: ignore[attr-defined]
        return found

    # --- sources -----------------------------------------------------------------------------------

    def classify(self, expr: cst.BaseExpression) -> tuple[str, ...]:
        """Labels of a sensitive source expression itself (the data-flow `classify` callback)."""
        if isinstance(expr, cst.Call):
            return self._classify_call(expr)
        if isinstance(expr, cst.Subscript):
            if self._is_env(expr.value):
                key = expr.slice[0].slice if len(expr.slice) == 1 else None
                name = self._env_name(key.value) if isinstance(key, cst.Index) else None
                return (self._env_label(name),)
            return ()
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in ("environ", "environb") and self._is_env(expr):
                return ("environment",)
            return ()
        if isinstance(expr, cst.Name):
            if expr.value in ("environ", "environb") and self._is_env(expr):
                return ("environment",)
            if self._is_listener_param(expr):
                return ("keystrokes",)
            return ()
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.BinaryOperation)):
            return self._path_labels(expr)
        return ()

    def _is_env(self, expr: cst.BaseExpression) -> bool:
        return _matches(_ENV_WHOLE, self.names.qualified_names(expr)) is not None

    def _env_name(self, key: cst.BaseExpression) -> str | None:
        """The variable an environment lookup names; for a loop variable over literal names (`for k in KEYS`),
        the first secret-named one among them."""
        name = fold_str(key, self.names)
        if name is not None or not isinstance(key, cst.Name):
            return name
        found: list[str] = []
        for iterable in self.flow.iterables_of(key)[:4]:
            if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) and \
                    iterable.func.attr.value == "keys":
                iterable = iterable.func.value
            if self._is_env(iterable):
                return _EVERY_VARIABLE  # `{k: os.environ[k] for k in os.environ}`: all of them
            found += self._literal_strings(iterable)
        return next((n for n in found if is_secret_var(n)), found[0] if found else None)

    def _env_label(self, name: str | None) -> str:
        if name is _EVERY_VARIABLE:
            return "environment"
        if not name:
            return "env:?"
        return f"env-secret:{name}" if is_secret_var(name) else f"env:{name}"

    def _classify_call(self, call: cst.Call) -> tuple[str, ...]:
        names = self.flow.call_names(call)
        if not names:
            return ()
        if _matches(_ENV_ONE, names):
            args = [a.value for a in call.args if a.keyword is None and not a.star]
            key = args[0] if args else next((a.value for a in call.args if a.keyword and a.keyword.value in (
                "key", "varname")), None)
            return (self._env_label(self._env_name(key) if key is not None else None),)
        if _matches(_HOST_ID, names):
            return ("host-info",)
        if _matches(_HOST_COARSE, names):
            return ("platform-info",)
        for label, regex in _SURVEILLANCE:
            if _matches(regex, names):
                return (label,)
        for label, regex in _API_SOURCES:
            if _matches(regex, names):
                return (f"{label}:api",)
        labels = self._path_labels(call)
        if labels:
            return labels
        if _matches(_PROCESS_NAMES, names):
            return self._command_labels(call)
        sink = self.sink(call)
        if sink is not None and sink.kind == "http" and sink.destination_expr is not None:
            url = sink.destination_expr
            text = fold_str(url, self.names) or self._constant_prefix(url)
            dest = _split_url(text, fold_str(url, self.names) is not None) if text else None
            if dest is not None and dest.host in _PUBLIC_IP_HOSTS:
                return ("host-info",)
            if dest is not None and dest.host in _METADATA_HOSTS and _matches(_METADATA_CREDENTIALS, (dest.path or "",)):
                return ("cloud-credentials",)
        return ()

    def _command_labels(self, call: cst.Call) -> tuple[str, ...]:
        """Labels of a child process's output: a fingerprinting or secret-dumping program, or a sensitive path."""
        first = next((a.value for a in call.args if a.keyword is None and not a.star), None) or next(
            (a.value for a in call.args if a.keyword and a.keyword.value in ("args", "cmd", "command")), None)
        if isinstance(first, cst.Name):
            values = self.flow.values_of(first)
            first = values[0] if len(values) == 1 else first
        words: list[str] = []
        if isinstance(first, (cst.List, cst.Tuple)):
            for e in first.elements[:16]:
                labels = self._path_labels(e.value)
                if labels:
                    return labels
                text = fold_str(e.value, self.names)
                if text is not None:
                    words.append(text)
        elif first is not None:
            text = fold_str(first, self.names) or self._constant_prefix(first)
            words = text.split()[:16] if text else []
        if not words:
            return ()
        program = words[0].replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")
        label = _COMMAND_LABELS.get(program)
        if label == "environment" and any(not w.startswith("-") for w in words[1:]):
            label = None  # `env LC_ALL=C git status` launches a program; `printenv HOME` prints one variable
        elif label == "credential-file" and program == "security" and not any(
                w.startswith(("find-", "dump-keychain")) for w in words[1:]):
            label = None  # only the keychain queries
        elif label is None and program in _CREDENTIAL_COMMANDS:  # `git credential fill`, `gh auth token`
            said = " ".join(w.lower() for w in words[1:] if not w.startswith("-"))
            label = "credential-file" if any(p in said for p in _CREDENTIAL_COMMANDS[program]) else None
        if label is not None:
            return (label,)
        for word in words[1:]:
            if "/" in word or "\\" in word or "~" in word:
                labels = self._word_path_labels(word.strip("'\""))
                if labels:
                    return labels
        return ()

    def _is_listener_param(self, name: cst.Name) -> bool:
        if self._listener_params is None:
            self._listener_params = {}
            for call, scope in self.flow._collected.calls:
                func = call.func
                if not isinstance(func, (cst.Name, cst.Attribute)) or (
                        isinstance(func, cst.Attribute) and func.attr.value not in (
                            "Listener", "on_press", "on_release", "hook", "add_hotkey", "Events")) or (
                        isinstance(func, cst.Name) and func.value not in ("Listener", "on_press", "on_release", "hook")):
                    continue
                if not _matches(_LISTENERS, self.flow.call_names(call)):
                    continue
                for arg in call.args:  # `on_press=record`, `callback=self.record`
                    if isinstance(arg.value, (cst.Name, cst.Attribute)):
                        for f, bound in self.flow._resolve_targets(arg.value, scope):
                            self._listener_params[f.index] = {n for n, _ in f.params[bound:]}
        if not self._listener_params:
            return False
        fdef = self.flow.function_of(name)
        if fdef is None:
            return False
        scope = self.flow._collected.scope_of.get(id(fdef))
        return scope is not None and name.value in self._listener_params.get(scope.index, set())

    def fold_path(self, expr: cst.BaseExpression, depth: int = 0, choices: dict[int, list[str]] | None = None,
                  chosen: dict[int, str] | None = None) -> str | None:
        """A path expression written out, "~" for the home folder and "*" for unknown parts; None if unknown.
        A loop variable over literal strings is unknown, but is recorded in `choices` (node id -> the strings), and
        `chosen` gives such variables a value."""
        if depth > 8:
            return None
        d = depth + 1
        text = fold_str(expr, self.names)
        if text is not None:
            return text
        if isinstance(expr, cst.Call):
            names = self.flow.call_names(expr)
            args = [a.value for a in expr.args if not a.star]
            method = expr.func.attr.value if isinstance(expr.func, cst.Attribute) else None
            if names & {"pathlib.Path.home", "os.path.expanduser"} and not args or method == "home" and not args:
                return "~"
            if _matches(_ENV_ONE, names) and args:
                var = fold_str(args[0], self.names)
                return "~" if var in _HOME_VARS else None
            if any(n.endswith((".path.join", "Path", "PurePath", "PosixPath", "WindowsPath")) for n in names) or \
                    method == "joinpath":
                parts = [self.fold_path(expr.func.value, d, choices, chosen) or "*"] if method == "joinpath" else []
                parts += [self.fold_path(a, d, choices, chosen) or "*" for a in args]
                joined = "/".join(parts)
                return joined if joined.strip("*/") else None
            if any(n.endswith((".expanduser", ".expandvars", ".abspath", ".realpath", ".normpath")) for n in names) \
                    or names & {"builtins.str", "os.fspath"}:
                return self.fold_path(args[0], d, choices, chosen) if args else None
            if method in ("expanduser", "resolve", "absolute") and isinstance(expr.func, cst.Attribute):
                return self.fold_path(expr.func.value, d, choices, chosen)
            return None
        if isinstance(expr, cst.Subscript) and self._is_env(expr.value):
            key = expr.slice[0].slice if len(expr.slice) == 1 else None
            var = fold_str(key.value, self.names) if isinstance(key, cst.Index) else None
            return "~" if var in _HOME_VARS else None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Divide, cst.Add)):
            left, right = self.fold_path(expr.left, d, choices, chosen), self.fold_path(expr.right, d, choices, chosen)
            if left is None and right is None:
                return None
            sep = "/" if isinstance(expr.operator, cst.Divide) else ""
            return f"{left or '*'}{sep}{right or '*'}"
        if isinstance(expr, cst.FormattedString):
            parts = []
            for p in expr.parts:
                if isinstance(p, cst.FormattedStringText):
                    parts.append(p.value)
                else:
                    parts.append(self.fold_path(p.expression, d, choices, chosen) or "*")  # type: ignore[union-attr]
            text = "".join(parts)
            return text if text.strip("*") else None
        if isinstance(expr, (cst.Name, cst.Attribute)):
            if chosen is not None and id(expr) in chosen:
                return chosen[id(expr)]
            values = self.flow.values_of(expr)
            if len(values) == 1:
                return self.fold_path(values[0], d, choices, chosen)
            if choices is not None and isinstance(expr, cst.Name):
                options = [o for iterable in self.flow.iterables_of(expr)[:4] for o in self._literal_strings(iterable)]
                if options:
                    choices.setdefault(id(expr), options)
        return None

    def _literal_strings(self, iterable: cst.BaseExpression) -> list[str]:
        """The strings a literal list, tuple or set holds (written there or bound once to a name)."""
        if isinstance(iterable, cst.Name):
            values = self.flow.values_of(iterable)
            iterable = values[0] if len(values) == 1 else iterable
        if not isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
            return []
        return [n for n in (fold_str(e.value, self.names) for e in iterable.elements[:64]) if n]

    def _path_labels(self, expr: cst.BaseExpression) -> tuple[str, ...]:
        if isinstance(expr, cst.SimpleString) and len(expr.value) > 200:
            return ()
        if isinstance(expr, cst.BinaryOperation) and not isinstance(expr.operator, (cst.Divide, cst.Add)):
            return ()
        choices: dict[int, list[str]] = {}
        path = self.fold_path(expr, choices=choices)
        labels = self._word_path_labels(path) if path else ()
        if labels or not choices:
            return labels
        # `for name in (".netrc", ".pypirc"): open(os.path.join(home, name))`: each name the loop gives
        node, options = next(iter(choices.items()))
        for option in options[:16]:
            path = self.fold_path(expr, chosen={node: option})
            labels = self._word_path_labels(path) if path else ()
            if labels:
                return labels
        return ()

    def _word_path_labels(self, path: str) -> tuple[str, ...]:
        if len(path) > 300 or "\n" in path:
            return ()
        path = re.sub(r"^\$(HOME|\{HOME\})|^%(USERPROFILE|APPDATA|LOCALAPPDATA)%", "~", path, flags=re.IGNORECASE)
        norm = re.sub(r"/+", "/", path.replace("\\", "/")).lower()
        if norm.startswith("~") and not norm.startswith("~/"):
            norm = "~/" + norm[1:]
        if " " in norm and not any(w in norm for w in ("login data", "local state", "web data", "local storage",
                                                        "user data", "telegram desktop", "opera software")):
            return ()
        for label, regex in _FILE_LABELS:
            if regex is not None and regex.match(norm):
                return (label,)
        return ()

    # --- sinks -------------------------------------------------------------------------------------

    def sink(self, call: cst.Call) -> Sink | None:
        key = id(call)
        if key not in self._sinks:
            self._sinks[key] = self._find_sink(call)
        return self._sinks[key]

    def _find_sink(self, call: cst.Call) -> Sink | None:
        names = self.flow.call_names(call)
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
        if method in _SINK_LAST and isinstance(call.func, cst.Attribute) and isinstance(
                call.func.value, (cst.Name, cst.Attribute)) and not any(n.startswith(_SINK_ROOTS) for n in names) and (
                method != "get" or any(w in (dotted(call.func.value) or "").lower() for w in ("session", "client",
                                                                                              "http"))):
            # `self.session = requests.Session()` ... `self.session.post(...)`: what the receiver was assigned
            values = self.flow.values_of(call.func.value)
            if 0 < len(values) <= 4:
                names = names | {f"{n}().{method}" for v in values if isinstance(v, cst.Call)
                                 for n in self.flow.call_names(v)}
        by_name = _ANY_SINK_NAME is not None and any(_ANY_SINK_NAME.match(n) for n in names)
        if not by_name and method not in _SINK_METHODS:
            return None  # (what the loop below would find: no spec matches by name or by method)
        for spec in _SINKS:
            matched = _matches(spec.names, names) if by_name else None
            if matched is None and method in spec.methods and isinstance(call.func, cst.Attribute):
                receiver = (dotted(call.func.value) or code_of(call.func.value, 80)).lower()
                words = set(re.split(r"[^a-z0-9]+", receiver))
                if any(r in words or (len(r) > 2 and r in receiver) for r in spec.receivers):
                    matched = f"{code_of(call.func.value, 30)}.{method}"
            if matched is None:
                continue
            if spec.destination == "command" and not self._network_command(call, spec):
                return None
            return Sink(call, spec, matched)
        return None

    def _network_command(self, call: cst.Call, spec: SinkSpec) -> bool:
        return self.command_program(call) in spec.programs

    def command_name_args(self, call: cst.Call) -> list[cst.BaseExpression]:
        """For a `nslookup`/`dig`/`host`/`ping` child process: the expressions that may be the name it looks up
        (the non-constant list items, or the whole command string)."""
        if self.command_program(call) not in _DNS_PROGRAMS:
            return []
        first = next((a.value for a in call.args if a.keyword is None and not a.star), None) or next(
            (a.value for a in call.args if a.keyword and a.keyword.value in ("args", "cmd", "command")), None)
        if isinstance(first, (cst.List, cst.Tuple)):
            return [e.value for e in first.elements[1:] if fold_str(e.value, self.names) is None]
        return [first] if first is not None else []

    def command_program(self, call: cst.Call) -> str | None:
        """The program a subprocess call runs (its base name, without `.exe`), when it is a constant."""
        args = [a.value for a in call.args if a.keyword is None and not a.star]
        first = args[0] if args else next((a.value for a in call.args if a.keyword and a.keyword.value in (
            "args", "cmd", "command")), None)
        if first is None:
            return None
        if isinstance(first, cst.Name):
            values = self.flow.values_of(first)
            first = values[0] if len(values) == 1 else first
        if isinstance(first, (cst.List, cst.Tuple)) and first.elements:
            program = fold_str(first.elements[0].value, self.names)
        else:
            text = fold_str(first, self.names)
            if text is None and isinstance(first, cst.FormattedString) and first.parts and isinstance(
                    first.parts[0], cst.FormattedStringText):
                text = first.parts[0].value
            if text is None and isinstance(first, cst.BinaryOperation):
                text = fold_str(first.left, self.names)
            program = text.split()[0] if text and text.split() else None
        if not program:
            return None
        return program.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".exe")

    def destinations(self, sink: Sink) -> tuple[Destination, ...]:
        spec = sink.spec
        if spec.destination == "receiver":
            return self._receiver_destinations(sink.call)
        if spec.destination == "command":
            return self._command_destinations(sink.call)
        expr = sink.destination_expr
        if expr is None and spec.kind == "webhook" and isinstance(sink.call.func, cst.Attribute):
            return self._receiver_destinations(sink.call)  # `DiscordWebhook(url=u)` ... `.execute()`
        if expr is None:
            return (Destination(depends_on=("unknown",)),)
        return self.resolve_destination(expr, host_only=spec.kind in ("socket", "dns", "mail", "ftp", "ssh"))

    def resolve_destination(self, expr: cst.BaseExpression, host_only: bool = False, depth: int = 0
                            ) -> tuple[Destination, ...]:
        """Every destination an URL/host/address expression may name (values of variables followed)."""
        if depth > 3:
            return (self._dynamic(expr),)
        port = None
        if isinstance(expr, (cst.Tuple, cst.List)) and expr.elements:
            if len(expr.elements) > 1:
                p = fold(expr.elements[1].value, self.names)
                port = p if isinstance(p, int) else None
            found = self.resolve_destination(expr.elements[0].value, True, depth + 1)
            return tuple(Destination(d.host, d.scheme, port or d.port, d.path, d.depends_on, d.from_environment)
                         for d in found)
        text = fold_str(expr, self.names)
        if text is not None:
            dest = _split_url(text, True) or (_host_only(text) if host_only or "/" not in text else None)
            if dest is not None:
                return (dest,)
            return (Destination(depends_on=(f"relative URL {text[:40]!r}",)),)
        prefix = self._constant_prefix(expr)
        if prefix:
            dest = _split_url(prefix, False)
            if dest is not None:
                return (dest,)
        if isinstance(expr, (cst.Name, cst.Attribute)):
            values = self.flow.values_of(expr)
            if values:
                out: list[Destination] = []
                for v in values[:8]:
                    if isinstance(v, cst.Name) and v.value == "None":
                        continue  # a default meaning "not given"
                    for d in self.resolve_destination(v, host_only, depth + 1):
                        if d not in out:
                            out.append(d)
                if out:
                    return tuple(out)
        if isinstance(expr, cst.Call):
            names = self.flow.call_names(expr)
            args = [a.value for a in expr.args if a.keyword is None and not a.star]
            if any(n.endswith(("urljoin", "urlunparse", "Request")) for n in names) and args:
                return self.resolve_destination(args[0], host_only, depth + 1)
            decoded = self._decoded_literal(expr)
            if decoded is not None:
                dest = _split_url(decoded, True) or (_host_only(decoded) if host_only else None)
                if dest is not None:
                    return (dest,)
        return (self._dynamic(expr),)

    def _decoded_literal(self, expr: cst.Call) -> str | None:
        """`base64.b64decode("aHR0cDovL...").decode()` and the like, decoded: a destination hidden in a literal."""
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "decode" and isinstance(
                expr.func.value, cst.Call):
            expr = expr.func.value
        names = self.flow.call_names(expr)
        decoder = next((n for n in names if n in _DECODERS), None)
        if decoder is None or not expr.args:
            return None
        value = fold(expr.args[0].value, self.names)
        if not isinstance(value, (str, bytes)) or len(value) > 2000:
            return None
        try:
            raw = _DECODERS[decoder](value)
        except (ValueError, TypeError):
            return None
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return text if text.isprintable() else None

    def _dynamic(self, expr: cst.BaseExpression) -> Destination:
        taints = self.flow.taints(expr, self.classify)
        env_vars = [f"${t.label.split(':', 1)[1]}" for t in taints if t.label.startswith(("env:", "env-secret:"))]
        names = [n for n in self.flow.free_names(expr) if n not in ("os.environ", "os.getenv", "os.environ.get")]
        deps = tuple(dict.fromkeys(env_vars + names))[:4] or (code_of(expr, 40),)
        env = any(t.label.startswith(("env", "environment")) for t in taints)
        return Destination(depends_on=deps, from_environment=env)

    def _constant_prefix(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, cst.FormattedString):
            text = ""
            for p in expr.parts:
                if isinstance(p, cst.FormattedStringText):
                    text += p.value
                else:
                    value = fold_str(p.expression, self.names)  # type: ignore[union-attr]
                    if value is None:
                        break
                    text += value
            return text or None
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Add):
                left = fold_str(expr.left, self.names) or self._constant_prefix(expr.left)
                right = fold_str(expr.right, self.names) if left and "://" in left else None
                return left + right if left and right else left
            if isinstance(expr.operator, cst.Modulo):
                text = fold_str(expr.left, self.names)
                return text.split("%", 1)[0] if text else None
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format":
            text = fold_str(expr.func.value, self.names)
            return text.split("{", 1)[0] if text else None
        if isinstance(expr, (cst.Name, cst.Attribute)):
            values = self.flow.values_of(expr)
            if len(values) == 1 and values[0] is not expr:
                return fold_str(values[0], self.names) or self._constant_prefix(values[0])
        return None

    def _receiver_destinations(self, call: cst.Call, depth: int = 0) -> tuple[Destination, ...]:
        func = call.func
        if not isinstance(func, cst.Attribute) or depth > 3:
            return (Destination(depends_on=("unknown",)),)
        receiver = func.value
        candidates: list[cst.BaseExpression] = [receiver, *self.flow.values_of(receiver)]
        if len(candidates) == 1 and isinstance(receiver, cst.Name):  # `async with websockets.connect(u) as ws:`
            single = self.names.single_value(receiver.value)
            candidates += [single] if single is not None else []
        out: list[Destination] = []
        for cand in candidates:
            if isinstance(cand, cst.Await):  # `ws = await websockets.connect(u)`
                cand = cand.expression
            inner = cand
            while isinstance(inner, (cst.Subscript, cst.Attribute)):  # `MongoClient(uri)["db"]["users"]`
                inner = inner.value
            if inner is not cand and isinstance(inner, cst.Call):
                cand = inner
            if isinstance(cand, cst.Call):
                sink = self.sink(cand)
                if sink is not None and (sink.spec.connects or (
                        sink.kind == "webhook" and sink.destination_expr is not None)):
                    out += [d for d in self.destinations(sink) if d not in out]
                    continue
                if isinstance(cand.func, cst.Attribute):  # ssh.open_sftp(), ctx.wrap_socket(sock)
                    args = [a.value for a in cand.args if a.keyword is None]
                    if cand.func.attr.value == "wrap_socket" and args:
                        inner = cst.Call(func=cst.Attribute(value=args[0], attr=cst.Name("send")))
                        out += [d for d in self._receiver_destinations(inner, depth + 1) if d.known and d not in out]
                    else:
                        out += [d for d in self._receiver_destinations(cand, depth + 1) if d.known and d not in out]
        text = dotted(receiver)
        if text:
            for connect in self._connect_calls().get(text, []):
                sink = self.sink(connect)
                if sink is not None:
                    out += [d for d in self.destinations(sink) if d not in out]
        known = [d for d in out if d.known]
        return tuple(known or out or [Destination(depends_on=(text or code_of(receiver, 30),))])

    def _connect_calls(self) -> dict[str, list[cst.Call]]:
        if self._connects is None:
            self._connects = {}
            for call, _ in self.flow._collected.calls:
                if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("connect", "connect_ex"):
                    text = dotted(call.func.value)
                    if text:
                        self._connects.setdefault(text, []).append(call)
        return self._connects

    def _command_destinations(self, call: cst.Call) -> tuple[Destination, ...]:
        texts: list[str] = []
        for arg in call.args:
            value = arg.value
            if isinstance(value, cst.Name):  # `cmd = ["curl", "-d", data, URL]` ... `subprocess.run(cmd)`
                bound = self.flow.values_of(value)
                value = bound[0] if len(bound) == 1 and isinstance(bound[0], (cst.List, cst.Tuple)) else value
            if isinstance(value, (cst.List, cst.Tuple)):
                texts += [t for t in (fold_str(e.value, self.names) for e in value.elements) if t]
            elif isinstance(value, cst.FormattedString):
                texts += [p.value for p in value.parts if isinstance(p, cst.FormattedStringText)]
            else:
                t = fold_str(value, self.names) or self._constant_prefix(value)
                if t:
                    texts.append(t)
        for text in texts:
            for word in text.split():
                dest = _split_url(word.strip("'\""), True)
                if dest is not None:
                    return (dest,)
        return (Destination(depends_on=("command line",)),)

    # --- data reaching a sink ----------------------------------------------------------------------

    def data_taints(self, sink: Sink) -> list[tuple[str, Taint]]:
        """(role, taint) for every sensitive label reaching a data-carrying argument of the sink."""
        found: list[tuple[str, Taint]] = []
        for role, expr in sink.data_args():
            if sink.spec.destination == "command" and isinstance(expr, (cst.List, cst.Tuple)):
                # `ssh -i ~/.ssh/key host`: the identity file is how the client logs in, not what it sends
                items = [e.value for e in expr.elements]
                flags = [fold_str(e, self.names) for e in items]
                identity = _IDENTITY_FLAGS.get(self.command_program(sink.call) or "", frozenset())
                for i, item in enumerate(items):
                    if not (i and flags[i - 1] in identity or (flags[i] or "").startswith(_IDENTITY_OPTIONS)):
                        found += [(role, t) for t in self.flow.taints(item, self.classify)]
                continue
            for taint in self.flow.taints(expr, self.classify):
                if role == "url" and taint.label.startswith("env:"):
                    continue  # a configured endpoint, not data
                found.append((role, taint))
        func = sink.call.func
        if sink.kind == "http" and "()." in sink.matched and isinstance(func, cst.Attribute) and isinstance(
                func.value, (cst.Name, cst.Attribute)) and not sink.spec.connects:
            # what was stored into the session first (`s.headers.update({...})`, `s.auth = ...`) goes with every call
            found += [("credentials", t) for t in self.flow.taints(func.value, self.classify)]
        if sink.kind == "webhook" and isinstance(func, cst.Attribute) and isinstance(
                func.value, (cst.Name, cst.Attribute)):
            # `webhook.add_file(...)`, `webhook.add_embed(embed)` ... `webhook.execute()`: the message built up first
            found += [("message", t) for t in self.flow.taints(func.value, self.classify)]
        if sink.spec.destination == "command":
            found += self._command_path_taints(sink.call)
        return found

    def _command_path_taints(self, call: cst.Call) -> list[tuple[str, Taint]]:
        """A sensitive path written into a network command line (`curl -F f=@$HOME/.aws/credentials URL`)."""
        for arg in call.args[:1]:
            text = fold_str(arg.value, self.names) or self._constant_prefix(arg.value)
            words = (text or "").split()[:32]
            identity = _IDENTITY_FLAGS.get(self.command_program(call) or "", frozenset())
            if text and re.search(r"(^|[\s'\"])ssh\s", text):  # `rsync -e 'ssh -i KEY'`
                identity = identity | _SSH_FLAGS
            for i, word in enumerate(words):
                if i and words[i - 1] in identity or word.startswith(_IDENTITY_OPTIONS):
                    continue
                word = word.strip("'\"").rsplit("@", 1)[-1].rsplit("=", 1)[-1]
                if "/" in word or "\\" in word:
                    for label in self._word_path_labels(word):
                        return [("command line", Taint(label, ((arg.value, f"source ({label}): `{word}`"),)))]
        return []


@dataclass(frozen=True)
class Sink:
    call: cst.Call
    spec: SinkSpec
    matched: str

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def method(self) -> str:
        return self.matched

    @property
    def destination_expr(self) -> cst.BaseExpression | None:
        dest = self.spec.destination
        if not isinstance(dest, list):
            return None
        position, keyword = dest
        for arg in self.call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
        positional = [a.value for a in self.call.args if a.keyword is None and not a.star]
        if self.spec.library == "(by method name)" and len(positional) == 1:
            return positional[0]
        return positional[position] if len(positional) > position else None

    def data_args(self) -> list[tuple[str, cst.BaseExpression]]:
        """(role, expression) of every argument that may carry data out; the URL's role is "url"."""
        if self.spec.connects:
            return []
        dest = self.destination_expr
        out: list[tuple[str, cst.BaseExpression]] = []
        position = 0
        method = self.call.func.attr.value if isinstance(self.call.func, cst.Attribute) else ""
        for arg in self.call.args:
            if arg.keyword is not None:
                name = arg.keyword.value
                if name in self.spec.ignore:
                    continue
                role = "credentials" if name in self.spec.credentials else name
            else:
                role = f"argument {position + 1}"
                position += 1
                if position <= len(self.spec.params) and self.spec.params[position - 1] in self.spec.ignore:
                    continue  # `urlretrieve(url, filename)`: the local file it writes is not sent
            if arg.value is dest:
                role = "url" if self.spec.kind in ("http", "webhook") else "destination"
                if self.spec.kind != "http" and not self.spec.dns:
                    continue
            if method in self.spec.credential_methods:
                role = "credentials"
            out.append((role, arg.value))
        return out


def taint_flow(taint: Taint, sink_node: cst.CSTNode, what: str) -> tuple[tuple[cst.CSTNode, str], ...]:
    return taint.steps + ((sink_node, what),)


def collect_egress(context: FileContext) -> list[EgressSite]:
    """The egress collector of the built-in pack (entry-point group `datasec_scan.egress`)."""
    analyzer = Analyzer.of(context)
    sites: list[EgressSite] = []
    for call, _ in analyzer.flow._collected.calls:
        sink = analyzer.sink(call)
        if sink is None:
            continue
        sources = tuple(sorted({t.label for _, t in analyzer.data_taints(sink)}))
        dests = analyzer.destinations(sink)
        dynamic = [d for d in dests if not d.known]
        if len(dynamic) > 1:  # one point per call: what its destination depends on, merged
            deps = tuple(dict.fromkeys(dep for d in dynamic for dep in d.depends_on))[:6]
            dests = tuple(d for d in dests if d.known) + (Destination(depends_on=deps),)
        for dest in dests:
            sites.append(EgressSite(call, sink.spec.library, sink.method, sink.kind, dest.host, dest.scheme, dest.port,
                                    dest.depends_on, sources, host_risk(dest.host, dest.path)))
    return sites
