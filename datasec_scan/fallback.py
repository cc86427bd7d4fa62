"""Reduced scan for Python that libcst cannot (or must not) parse: shape pre-checks, CPython `ast`, then regexes.

libcst's parser and visitors are recursive: long operator chains take quadratic time, exhaust the
recursion limit or crash the process, and some valid Python (`(x): int = 1`) or Python 2 source
does not parse at all. Before parsing, `obstacle` measures the text's shape (tokens, longest run
of tokens at one bracket level, longest line) against `config.Limits`; when libcst is not asked or
fails, the engine calls `run`, which gives every triggered CST rule its `fallback` hook:

    class MyRule(Rule):
        fallback_patterns = (re.compile(r"\\bdangerous_call\\("),)  # easiest: regexes over the text

        @classmethod
        def fallback(cls, tree, text, context):  # or: a CPython ast (None when even ast failed)
            yield from fallback.exec_of_payload(tree, text)

Findings made this way are marked `fallback=True`. The detectors below (`exec_of_payload`,
`reverse_shell`, `install_hook`, `pipe_to_shell`) are ready-made hooks for rules to call; each
works on the `ast` tree when there is one and on the raw text otherwise. Nothing here imports,
compiles or runs the scanned code: `ast.parse` only builds a tree.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from .model import Level, Notification
from .rule import Report, Rule, TextMatch
from .semantics.constants import INVOKED_LAMBDA, TreeFolding

if TYPE_CHECKING:  # pragma: no cover
    from .config import Limits
    from .rule import FileContext

# A string literal, prefixes included (also used alone, to shrink strings before measuring logical lines).
_STRING = (
    r"""[rRbBuUfF]{0,2}(?:'''(?:[^'\\]+|\\[\s\S]|'(?!''))*(?:''')?|\"\"\"(?:[^"\\]+|\\[\s\S]|"(?!""))*(?:\"\"\")?"""
    r"""|'(?:[^'\\\r\n]+|\\[\s\S])*'?|"(?:[^"\\\r\n]+|\\[\s\S])*"?)"""
)
# One token of Python, approximately; every branch is linear (no nested ambiguity) and strings that
# never close run to the end of the line (or file, for triple quotes) instead of being retried.
_TOKEN = re.compile(
    r"(?P<s>" + _STRING + r")"
    r"""|(?P<c>\#[^\r\n]*)|(?P<cont>\\\r?\n)|(?P<nl>\r\n?|\n)|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<sep>[,;])"""
    r"""|(?P<w>\w+)|(?P<op>[-+*/%@&|^~<>!=:.]+)"""
)


@dataclass(frozen=True)
class Shape:
    """What the pre-check measured: tokens, the longest run of tokens at one bracket level, the longest line."""

    tokens: int
    longest_chain: int
    longest_line: int
    complete: bool = True  # False when counting stopped early at `stop_after` tokens


def measure(text: str, stop_after: int = 0) -> Shape:
    """Count tokens and the longest operator/operand run between commas or statement ends at one bracket level.

    A run is what libcst nests: `1+1+1`, `a.b.c`, `f()()`, `not not x`, `"a" "b"`, `lambda: lambda: 0`.
    """
    tokens = 0
    longest = 0
    runs = [0]
    complete = True
    for m in _TOKEN.finditer(text):
        group = m.lastgroup
        if group == "c" or group == "cont":
            continue
        if group == "nl":
            if len(runs) == 1:
                runs[0] = 0
            continue
        if group == "sep":
            runs[-1] = 0
            continue
        if group == "close":
            if len(runs) > 1:
                runs.pop()
            continue
        weight = m.end() - m.start() if group == "op" else 1  # `---x` nests three times, `**` counts twice
        tokens += weight
        runs[-1] += weight
        if runs[-1] > longest:
            longest = runs[-1]
        if group == "open":
            runs.append(0)
        if stop_after and tokens >= stop_after:
            complete = False
            break
    line = max(map(len, text.splitlines()), default=0)
    return Shape(tokens, longest, line, complete)


_SHAPE: list = [None, None]  # the last text measured and its Shape (obstacle, then parse_ast, see one text)


def _measured(text: str, stop_after: int) -> Shape:
    text_seen, shape = _SHAPE
    if text_seen is text and (shape.complete or shape.tokens >= stop_after):
        return shape
    shape = measure(text, stop_after)
    _SHAPE[:] = [text, shape]
    return shape


# A string, a comment or a line continuation, each replaced by one character before logical lines are measured.
_HIDDEN = re.compile(_STRING + r"|\#[^\r\n]*|\\\r?\n")
_LINE_BREAKS = re.compile(r"[()\[\]{}]|\r\n?|\n")


def plainly_within(text: str, limits: "Limits") -> bool:
    """A cheap sufficient condition for `obstacle(text) is None`: no more characters than the token and line
    limits (a token is at least a character long, an operator weighs its length), and no logical line longer than
    the chain limit (a run of tokens lies within one logical line). Logical lines are measured with strings and
    comments shrunk to one character, so only brackets and newlines are looked at one by one: a third of the cost
    of `measure`, which most files then never need."""
    if len(text) > limits.max_parse_tokens or len(text) > limits.max_line_chars:
        return False
    code = _HIDDEN.sub("0", text)
    limit = limits.max_expression_chain
    depth = start = 0
    for m in _LINE_BREAKS.finditer(code):
        char = m.group()
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= depth > 0
        elif not depth:
            if m.start() - start > limit:
                return False
            start = m.end()
    return len(code) - start <= limit


def obstacle(text: str, limits: "Limits") -> tuple[str, str] | None:
    """Why libcst must not be asked to parse `text` (notification kind, message naming the limit), or None."""
    if plainly_within(text, limits):
        return None
    shape = _measured(text, limits.max_parse_tokens + 1)
    if shape.tokens > limits.max_parse_tokens:
        return "too-large", f"more than limits.max-parse-tokens ({limits.max_parse_tokens:,}) tokens"
    if shape.longest_line > limits.max_line_chars:
        return "too-large", (f"a line of {shape.longest_line:,} characters, over limits.max-line-chars "
                             f"({limits.max_line_chars:,})")
    if shape.longest_chain > limits.max_expression_chain:
        return "too-deep", (f"an expression chain of {shape.longest_chain:,} tokens, over "
                            f"limits.max-expression-chain ({limits.max_expression_chain:,})")
    return None


def parse_ast(text: str, limits: "Limits") -> tuple[ast.Module | None, str]:
    """CPython's parse (never compile or run) within `limits.max-fallback-ast-tokens`; (tree or None, how it went)."""
    shape = _measured(text, limits.max_fallback_ast_tokens + 1)
    if shape.tokens > limits.max_fallback_ast_tokens:
        return None, f"ast not tried: over limits.max-fallback-ast-tokens ({limits.max_fallback_ast_tokens:,})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `SyntaxWarning: invalid escape sequence` is the scanned code's business
            return ast.parse(text.replace("\x00", ""), type_comments=False), "CPython ast parsed the file"
    except _AST_ERRORS as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, f"CPython ast failed too ({type(exc).__name__}: {first[:120]}); regex-level scan"


_AST_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def quiet_ast(text: str) -> ast.Module | None:
    """CPython's parse of a file (never compiled or run), for rules' tree screens; None when it fails. CPython's
    parser is not recursive on long chains and refuses deep nesting itself, so no shape pre-check is needed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, type_comments=False)
    except _AST_ERRORS:
        return None


def run(context: "FileContext", rules: Iterable[type], source: str, reason: tuple[str, str], limits: "Limits",
        tree: ast.Module | None = None) -> list[Notification]:
    """The reduced scan: every rule's `fallback` hook over the ast tree (or None) and text; returns notifications.
    `tree`: CPython's tree of `source` when the engine already built it (for the rules' tree screens)."""
    rules = [r for r in rules if issubclass(r, Rule)]
    tree, how = (tree, "CPython ast parsed the file") if tree is not None else parse_ast(source, limits)
    notes: list[Notification] = []
    used = 0
    remap = _remapper(source, context.text)
    for rule in rules:
        mark = len(context.reports)
        try:
            for i, m in enumerate(rule.fallback(tree, source, context)):
                if i >= MAX_FALLBACK_MATCHES:
                    break
                context.reports.append(Report(rule, m.message, span=(remap(m.start), remap(m.end)), severity=m.severity,
                                              confidence=m.confidence, secrets=tuple(s for s in m.secrets if s),
                                              fallback=True))
        except Exception as exc:  # a broken hook costs only its own findings
            del context.reports[mark:]
            notes.append(Notification(context.path, "rule-error", f"rule {rule.code} ({rule.name}) fallback failed: "
                                      f"{type(exc).__name__}: {exc}", Level.ERROR, rule=rule.code))
            continue
        used += rule.has_fallback()
    _NODES[:] = [None, []]  # let the tree and text go
    _SHAPE[:] = [None, None]
    kind, why = reason
    notes.append(Notification(context.path, kind, f"{why}; Python rules skipped, reduced scan ran instead ({how}; "
                              f"{used} of {len(rules)} triggered Python rules have a fallback), text rules ran"))
    return notes


MAX_FALLBACK_MATCHES = 50  # per rule and file


def _remapper(source: str, text: str):
    """Offsets in `source` (a .pth file's Python view: same lines, other lengths) -> offsets in `text`."""
    if source is text or source == text:
        return lambda offset: offset
    import bisect

    src_starts, txt_starts = line_starts(source), line_starts(text)

    def remap(offset: int) -> int:
        line = bisect.bisect_right(src_starts, offset) - 1
        if line >= len(txt_starts):
            return len(text)
        end = txt_starts[line + 1] if line + 1 < len(txt_starts) else len(text)
        return min(txt_starts[line] + offset - src_starts[line], end)

    return remap


# --- ready-made detectors for rules' fallback hooks -------------------------------------------------------------

DECODERS = frozenset({
    "b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "decodebytes", "decodestring", "standard_b64decode",
    "urlsafe_b64decode", "decompress", "unhexlify", "a2b_base64", "a2b_hex", "fromhex", "loads", "load", "decrypt",
})
EXEC_SINKS = frozenset({"exec", "eval", "compile", "execfile", "FunctionType", "runsource", "run_path"})
SPAWNERS = frozenset({"system", "popen", "Popen", "call", "check_call", "check_output", "run", "spawnl", "spawnlp",
                      "spawnv", "spawnvp", "execl", "execle", "execlp", "execv", "execve", "execvp", "startfile",
                      "getoutput", "getstatusoutput"})
NETWORK = frozenset({"urlopen", "urlretrieve", "Request", "socket", "create_connection", "connect", "HTTPConnection",
                     "HTTPSConnection", "get", "post", "put", "request", "urlopen"})
_NET_MODULES = ("requests", "httpx", "urllib", "http", "socket", "aiohttp", "ftplib", "smtplib", "urllib3", "telnetlib")
_SPAWN_MODULES = ("os", "subprocess", "commands", "pty", "popen2")

_EXEC_WORD = re.compile(r"\b(?:exec|eval|compile|execfile)\s*\(")
_PAYLOAD_WORD = re.compile(r"\b(?:b64decode|b32decode|b85decode|a85decode|decodebytes|decodestring|decompress|"
                           r"unhexlify|fromhex|loads|urlopen|recv|requests\.get|urlretrieve|codecs\.decode|"
                           r"decode\(\s*['\"](?:base64|hex|rot13|zlib|bz2))")
_SHELL_PIPE = re.compile(r"\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b")
_FETCH = re.compile(r"\b(?:curl|wget|fetch|iwr|Invoke-WebRequest)\b")
_REVSHELL_TEXT = re.compile(r"/dev/(?:tcp|udp)/|\bnc(?:at)?\s+(?:-\w+\s+)*-e\s|\bbash\s+-i\b|\bpty\.spawn\b|"
                            r"\bos\.dup2\b|\bmkfifo\b")
_SOCKET_TEXT = re.compile(r"\bsocket\b|\bcreate_connection\b|/dev/(?:tcp|udp)/")
_SPAWN_TEXT = re.compile(r"\b(?:subprocess\.(?:Popen|call|check_call|check_output|run|getoutput)|os\.(?:system|popen|"
                         r"exec[lv]p?e?|spawn[lv]p?e?)|pty\.spawn)\s*\(")
_NET_TEXT = re.compile(r"\b(?:urlopen|urlretrieve|requests\.(?:get|post|put|request)|httpx\.(?:get|post)|"
                       r"socket\.socket|create_connection|HTTPS?Connection)\s*\(")
WINDOW = 2000  # characters after an exec( in which the regex level looks for a decoder or download


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain (calls and subscripts shown as `()` / `[]`), "" otherwise."""
    parts = []
    for _ in range(200):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("()")
            node = node.func
        elif isinstance(node, ast.Subscript):
            parts.append("[]")
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            break
    return ".".join(reversed(parts))


def span_of(node: ast.AST, starts: list[int]) -> tuple[int, int]:
    """Character offsets of an ast node in the text whose line start offsets are `starts`."""
    line = max(1, getattr(node, "lineno", 1))
    start = starts[min(line, len(starts)) - 1] + getattr(node, "col_offset", 0)
    end_line = max(1, getattr(node, "end_lineno", line) or line)
    end = starts[min(end_line, len(starts)) - 1] + (getattr(node, "end_col_offset", 0) or 0)
    return start, max(start, end)


def offset_of(text: str, starts: list[int], line: int, byte_column: int) -> int:
    """The character offset of an ast position (a 1-based line, a column counted in UTF-8 bytes)."""
    start = starts[line - 1]
    head = text[start:start + byte_column]
    if head.isascii():
        return start + byte_column
    return start + len(text[start:].encode("utf-8", "surrogatepass")[:byte_column].decode("utf-8", "ignore"))


def source_of(text: str, starts: list[int], node: ast.AST) -> str:
    """An ast node's text: `ast.get_source_segment` without splitting the whole text at every call."""
    return text[offset_of(text, starts, node.lineno, node.col_offset):  # type: ignore[attr-defined]
                offset_of(text, starts, node.end_lineno, node.end_col_offset)]  # type: ignore[attr-defined]


def line_starts(text: str) -> list[int]:
    # ast counts \r\n, \r and \n as line ends, and so does the engine
    return [0] + [m.end() for m in re.finditer(r"\r\n?|\n", text)]


_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)  # shared singletons, no children


def _walk(tree: ast.AST) -> list[ast.AST]:
    """Every node under `tree` in source order (but for `_LEAVES`), without recursion (a deep tree must not exhaust
    the stack)."""
    out: list[ast.AST] = []
    stack = [tree]
    push, pop, append, node_type, leaves = stack.append, stack.pop, out.append, ast.AST, _LEAVES
    while stack:
        node = pop()
        append(node)
        for name in reversed(node._fields):
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in reversed(value):
                    if isinstance(item, node_type) and not isinstance(item, leaves):
                        push(item)
            elif isinstance(value, node_type) and not isinstance(value, leaves):
                push(value)
    return out


_NODES: list = [None, []]  # the last tree walked and its nodes: the detectors share one walk


def nodes(tree: ast.AST) -> list[ast.AST]:
    if _NODES[0] is not tree:
        _NODES[:] = [tree, _walk(tree)]
    return _NODES[1]


def blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The blocks of statements directly inside a statement (bodies, else, except, finally, match cases)."""
    found = [block for block in (getattr(statement, f, None) for f in ("body", "orelse", "finalbody")) if block]
    found += [part.body for part in getattr(statement, "handlers", None) or getattr(statement, "cases", None) or ()]
    return found


def statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement of a module, in every block, without entering expressions."""
    todo = [tree.body]
    while todo:
        for statement in todo.pop():
            yield statement
            todo.extend(blocks(statement))


# what `TreeFolding.bind` records
_BINDINGS = frozenset({ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.withitem, ast.FunctionDef, ast.Call})
_BOUND: list = [None, None]  # the last tree bound and its TreeFolding: the tree screens share one


def bound_nodes(tree: ast.Module) -> tuple[list[ast.AST], TreeFolding]:
    """Every node of `tree` in source order, and a `TreeFolding` that has bound every assignment of the tree."""
    return nodes(tree), folding_of(tree)


def folding_of(tree: ast.Module, text: str | None = None) -> TreeFolding:
    """A `TreeFolding` that has bound every assignment of `tree`: walking statements only when `text` (the tree's
    source) holds no `:=` and no invoked lambda, the bindings an expression can make, else every node."""
    if _BOUND[0] is not tree:
        folding = TreeFolding()
        if text is not None and ":=" not in text and not INVOKED_LAMBDA.search(text) and _NODES[0] is not tree:
            for statement in statements(tree):
                kind = type(statement)
                if kind is ast.Assign or kind is ast.AnnAssign or kind is ast.FunctionDef:
                    folding.bind(statement)
                elif kind is ast.With or kind is ast.AsyncWith:
                    for item in statement.items:
                        folding.bind(item)
        else:
            for node in nodes(tree):
                if type(node) in _BINDINGS:
                    folding.bind(node)
        _BOUND[:] = [tree, folding]
    return _BOUND[1]


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _tainted_names(tree: ast.AST, wanted: set[str]) -> set[str]:
    """Which of `wanted` (and the names they are built from) hold data that was decoded or downloaded."""
    assigns = []
    for node in nodes(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node.value, ast.Constant):  # the common `x = 1`: nothing to follow
                continue
            names = {tg.id for tg in targets if isinstance(tg, ast.Name)}
            if len(names) < len(targets):
                names = {t.id for tg in targets for t in _walk(tg) if isinstance(t, ast.Name)}
            assigns.append((names, node.value))
    for _ in range(8):  # backwards: the names the wanted ones are assigned from
        grown = {n.id for names, value in assigns if names & wanted for n in _walk(value)
                 if isinstance(n, ast.Name)} - wanted
        if not grown:
            break
        wanted = wanted | grown
    found: set[str] = set()
    for _ in range(2):  # forwards, twice so that source order does not matter for one hop
        for names, value in assigns:
            if names & wanted and not names <= found and _mentions(value, found):
                found |= names
    return found


def payload_call(node: ast.AST) -> bool:
    """A call that decodes (base64, zlib, marshal, hex...) or downloads (urlopen, requests.get, recv) data."""
    if not isinstance(node, ast.Call):
        return False
    name = dotted(node.func)
    head, last = name.split(".", 1)[0], _last(name)
    if last in DECODERS or last in _FETCHERS:
        return True
    if last in ("get", "post", "request") and head in _NET_MODULES:
        return True
    return last == "read" and any(f in name for f in _FETCHERS)


_FETCHERS = frozenset({"urlopen", "urlretrieve", "recv", "recvfrom", "recv_into", "getresponse", "DownloadString"})


def _mentions(expr: ast.AST, names: set[str] | frozenset[str] = frozenset()) -> bool:
    for n in _walk(expr):
        if payload_call(n):
            return True
        if isinstance(n, ast.Attribute) and n.attr in ("text", "content") and _mentions_net(n.value):
            return True
        if isinstance(n, ast.Name) and n.id in names:
            return True
    return False


def _mentions_net(expr: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in _NET_MODULES for n in _walk(expr))


def exec_of_payload(tree: ast.Module | None, text: str) -> Iterator[TextMatch]:
    """exec/eval/compile of decoded (base64, zlib, marshal, hex...) or downloaded (urlopen, requests, recv) data."""
    if tree is not None:
        sinks = [n for n in nodes(tree) if isinstance(n, ast.Call) and n.args and _last(dotted(n.func)) in EXEC_SINKS]
        if not sinks:
            return
        wanted = {n.id for call in sinks for n in _walk(call.args[0]) if isinstance(n, ast.Name)}
        tainted = _tainted_names(tree, wanted) if wanted else set()
        starts = line_starts(text)
        for node in sinks:
            if _mentions(node.args[0], tainted):
                start, end = span_of(node, starts)
                yield TextMatch(start, end, f"{_last(dotted(node.func))}() of decoded or downloaded data "
                                "(reduced scan: the file could not be parsed with libcst)")
        return
    pos = 0
    while True:
        m = _EXEC_WORD.search(text, pos)
        if m is None:
            return
        eol = _line_end(text, m.end())
        if _PAYLOAD_WORD.search(text, m.end(), min(eol, m.end() + WINDOW)):
            yield TextMatch(m.start(), min(eol, m.end() + 80), "exec/eval of decoded or downloaded data "
                            "(regex-level reduced scan: the file could not be parsed)")
            pos = eol
        else:
            pos = m.end()


def _line_end(text: str, pos: int) -> int:
    ends = [i for i in (text.find("\n", pos), text.find("\r", pos)) if i >= 0]
    return min(ends) if ends else len(text)


def reverse_shell(tree: ast.Module | None, text: str) -> Iterator[TextMatch]:
    """A socket whose descriptors are handed to a shell (dup2, pty.spawn), or a shell one-liner in a string."""
    if not _SOCKET_TEXT.search(text):
        return
    if tree is not None:
        starts = line_starts(text)
        for node in nodes(tree):
            if isinstance(node, ast.Call):
                name = dotted(node.func)
                if _last(name) in ("dup2", "spawn") and (name.startswith(("os.", "pty.")) or name in ("dup2", "spawn")):
                    start, end = span_of(node, starts)
                    yield TextMatch(start, end, f"{name}() in a file that opens sockets: a reverse shell "
                                    "(reduced scan: the file could not be parsed with libcst)")
                    return
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _REVSHELL_TEXT.search(node.value):
                start, end = span_of(node, starts)
                yield TextMatch(start, end, "reverse-shell command line in a string "
                                "(reduced scan: the file could not be parsed with libcst)")
                return
        return
    m = _REVSHELL_TEXT.search(text)
    if m is not None:
        yield TextMatch(m.start(), m.end(), f"`{m.group()}` in a file that opens sockets: a reverse shell "
                        "(regex-level reduced scan: the file could not be parsed)")


def install_hook(tree: ast.Module | None, text: str, filename: str) -> Iterator[TextMatch]:
    """Process spawning or network access in setup.py (runs at `pip install` of an sdist)."""
    if filename != "setup.py":
        return
    if tree is not None:
        imported = {a.name.split(".")[0] for n in nodes(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                    for a in (n.names if isinstance(n, ast.Import) else [ast.alias(n.module or "")])}
        starts = line_starts(text)
        for node in nodes(tree):
            if not isinstance(node, ast.Call):
                continue
            name = dotted(node.func)
            head, last = name.split(".", 1)[0], _last(name)
            spawn = last in SPAWNERS and (head in _SPAWN_MODULES or (head == last and imported & set(_SPAWN_MODULES)))
            net = last in NETWORK and (head in _NET_MODULES or (head == last and imported & set(_NET_MODULES)))
            if spawn or net:
                start, end = span_of(node, starts)
                yield TextMatch(start, end, f"setup.py {'starts a process' if spawn else 'opens a connection'} "
                                f"({name}()) (reduced scan: the file could not be parsed with libcst)")
        return
    for pattern, what in ((_SPAWN_TEXT, "starts a process"), (_NET_TEXT, "opens a connection")):
        for m in pattern.finditer(text):
            yield TextMatch(m.start(), m.end(), f"setup.py {what} (`{m.group().rstrip('( ')}`) "
                            "(regex-level reduced scan: the file could not be parsed)")


def pipe_to_shell(text: str) -> Iterator[TextMatch]:
    """`curl ... | sh`-style download-and-run command lines anywhere in the text (one per line)."""
    pos = 0
    while True:
        m = _SHELL_PIPE.search(text, pos)
        if m is None:
            return
        sol = max(text.rfind("\n", 0, m.start()), text.rfind("\r", 0, m.start())) + 1
        if _FETCH.search(text, max(sol, m.start() - WINDOW), m.start()):
            yield TextMatch(max(sol, m.start() - WINDOW), m.end(), "download piped into a shell "
                            "(reduced scan: the file could not be parsed with libcst)")
            pos = _line_end(text, m.end())
        else:
            pos = m.end()
