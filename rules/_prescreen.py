"""Text pre-screens of the DS1xx rules: cheap necessary conditions for a rule to report anything.

A rule's `applies_to(path, text)` must hold whenever the rule could report on the file, or the engine skips
the parse. The conditions here are derived from what the rules resolve, not from what code usually looks like:

- a sink such as `os.system` is found through `datasec_scan.semantics.names`, which sees through aliases,
  `getattr(mod, "sys" + "tem")`, `__import__("o" + "s")`, `importlib.import_module`, `sys.modules[...]`,
  `globals()[...]`/`vars(builtins)[...]`/`__builtins__` and NFKC-folded identifiers. So a qualified name
  `mod.attr` needs the word `mod` (or a dynamic way to reach a module, `dynamic`) and the word `attr` (or
  `getattr`, or `dynamic`); a builtin `builtins.exec` needs the bare word `exec` (not after a dot) or `dynamic`;
- words are identifier-like tokens of the text and, when it is not ASCII, of its NFKC form too (Python folds
  identifiers that way, so `ｅｘｅｃ(...)` runs `exec`); regexes are tried on both forms;
- attribute names a rule reads as written (`node.func.attr.value == "bind"`) need the word itself.

Decoded payloads are scanned as nested files with the same pre-screens, so an outer condition only needs
what the outer rule itself needs. A text is tokenized once (the engine asks every rule about the same text
object in turn) and shared conditions are remembered per text.

When CPython has parsed the file, a rule mixing in `CodeScreen` asks its pre-screen again as its tree screen,
of the code alone (`CodeView`: docstrings and whole-line comments left out, where no name can be written);
conditions that a reduced scan reads in any text are wrapped in `in_full_text`.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import unicodedata
from collections.abc import Callable, Iterable

from datasec_scan.fallback import line_starts, offset_of, statements

_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# Byte tables for `bytes.translate`: what is no part of a word (or a dotted name) becomes a space, so that a split
# gives the tokens at C speed. Bytes of non-ASCII characters are kept; tokens holding some are split by `\w` again.
WORDS_TABLE = bytes(c if c in _WORD_BYTES or c >= 128 else 32 for c in range(256))
_DOTTED_TABLE = bytes(c if c in _WORD_BYTES or c >= 128 or c == 46 else 32 for c in range(256))
UNICODE_WORDS = re.compile(r"\w+")
_UNICODE_DOTTED = re.compile(r"[\w.]+")


def _tokens(form: str, table: bytes, unicode_tokens: re.Pattern[str], dot_prefix: bool = False) -> set[str]:
    raw = form.encode("utf-8", "surrogatepass").translate(table)
    if dot_prefix:
        raw = raw.replace(b".", b" .")
    found = set(raw.decode("utf-8", "surrogatepass").split())
    if form.isascii():
        return found
    mixed = {t for t in found if not t.isascii()}
    return (found - mixed).union(*(unicode_tokens.findall(t) for t in mixed))


class View:
    """A text as the pre-screens see it: its forms (as written, NFKC), its words, its bare words, a memo.
    Words are computed on first use (a translate and a split: C speed), since most screens ask for them."""

    def __init__(self, text: str) -> None:
        self.text = text
        if text.isascii():
            self.forms: tuple[str, ...] = (text,)
        else:
            folded = unicodedata.normalize("NFKC", text)
            self.forms = (text,) if folded == text else (text, folded)
        self._words: frozenset[str] | None = None
        self._bare: frozenset[str] | None = None
        self.memo: dict[str, bool] = {}

    @property
    def words(self) -> frozenset[str]:
        """Identifier-like tokens, dotted names split at their dots."""
        if self._words is None:
            self._words = frozenset().union(*(_tokens(f, WORDS_TABLE, UNICODE_WORDS) for f in self.forms))
        return self._words

    @property
    def bare(self) -> frozenset[str]:
        """Words not written right after a dot: what a bare name (a builtin, a module) can be."""
        if self._bare is None:
            # Words after a dot come out as tokens with a leading dot, which are no words: `&` drops them.
            tokens = set().union(*(_tokens(f, _DOTTED_TABLE, _UNICODE_DOTTED, dot_prefix=True) for f in self.forms))
            self._bare = self.words.intersection(tokens)
        return self._bare

    @property
    def full(self) -> View:
        """The view of the whole text (a `CodeView` leaves parts out)."""
        return self

    def search(self, pattern: re.Pattern[str]) -> bool:
        return any(pattern.search(form) is not None for form in self.forms)

    def like(self, pattern: str) -> bool:
        """Some word matches an fnmatch pattern (`*connect`)."""
        return any(fnmatch.fnmatchcase(w, pattern) for w in self.words)


_last_view: list[View | None] = [None]


def view(text: str) -> View:
    found = _last_view[0]
    if found is None or found.text is not text:
        found = _last_view[0] = View(text)
    return found


_COMMENT_LINE = re.compile(r"^[ \t\f]*#[^\r\n]*", re.MULTILINE)


def _bare_strings(tree: ast.Module) -> list[ast.Expr]:
    """String statements (docstrings and other bare strings), in every block of statements."""
    return [st for st in statements(tree) if type(st) is ast.Expr and type(st.value) is ast.Constant
            and isinstance(st.value.value, str)]


def code_text(text: str, tree: ast.Module) -> str:
    """`text` without its bare string statements and whole-line comments: no name is resolved through them.

    A line whose first character after indentation is `#` holds no code: it is a comment or lies inside a
    string. Trailing comments stay (finding where they start needs a tokenizer)."""
    strings = _bare_strings(tree)
    if strings:
        starts = line_starts(text)
        pieces, at = [], 0
        for s in sorted(strings, key=lambda s: (s.lineno, s.col_offset)):
            pieces.append(text[at:offset_of(text, starts, s.lineno, s.col_offset)])
            at = offset_of(text, starts, s.end_lineno or s.lineno, s.end_col_offset or 0)
        pieces.append(text[at:])
        text = " ".join(pieces)
    return _COMMENT_LINE.sub("", text)


class CodeView(View):
    """What a tree screen sees of a file CPython parsed: the words of its code and string literals, without bare
    string statements (docstrings) and whole-line comments. Regexes still search the whole text, and `full` is
    the whole text's view, for conditions a reduced scan reads from any text (comments included)."""

    def __init__(self, text: str, tree: ast.Module) -> None:
        super().__init__(code_text(text, tree))
        self.tree = tree
        self._full = view(text)

    @property
    def full(self) -> View:
        return self._full

    def search(self, pattern: re.Pattern[str]) -> bool:
        return self._full.search(pattern)


_last_code_view: list[CodeView | None] = [None]


def code_view(text: str, tree: ast.Module) -> CodeView:
    found = _last_code_view[0]
    if found is None or found.tree is not tree or found.full.text is not text:
        found = _last_code_view[0] = CodeView(text, tree)
    return found


Check = Callable[[View], bool]


def memo(key: str, text: str, check: Check) -> bool:
    """`check` of a text, remembered per text object under `key`."""
    v = view(text)
    found = v.memo.get(key)
    if found is None:
        found = v.memo[key] = check(v)
    return found


def memo_code(key: str, tree: ast.Module, text: str, check: Check) -> bool:
    """`check` of the code of a parsed text (`CodeView`), remembered per tree under `key`: a rule's pre-screen asked
    again without docstrings and comment lines, as its tree screen. Sound where the check's words are names the
    rule resolves; a condition on any text (a reduced scan's gate) is wrapped in `in_full_text`."""
    v = code_view(text, tree)
    found = v.memo.get(key)
    if found is None:
        found = v.memo[key] = check(v)
    return found


class CodeScreen:
    """Mixin for a rule whose pre-screen `screen` asks for names the rule resolves (plus, wrapped in `in_full_text`,
    what its reduced scan reads): its tree screen is that pre-screen asked again of the code alone."""

    code: str
    screen: Check

    @classmethod
    def triggered_by_tree(cls, tree: ast.Module, text: str) -> bool:
        """The pre-screen again, on the code alone (without docstrings and whole-line comments)."""
        return memo_code(cls.code, tree, text, cls.screen)


class CodeTextScreen:
    """Mixin for a rule whose `triggered_by(text)` reads nothing but code (names, imports, calls, their string
    arguments) and has no reduced scan: its tree screen is `triggered_by` of the code text (`code_text`)."""

    triggered_by: Callable[[str], bool]

    @classmethod
    def triggered_by_tree(cls, tree: ast.Module, text: str) -> bool:
        """The pre-screen again, on the code alone (without docstrings and whole-line comments)."""
        return cls.triggered_by(code_view(text, tree).text)


def in_full_text(check: Check) -> Check:
    """`check` on the whole text, also when a tree screen asks (for what a reduced scan reads in comments)."""
    return lambda v: check(v.full)


def shared(key: str, check: Check) -> Check:
    """`check`, remembered per text: several rules ask the same question about the same text."""

    def cached(v: View) -> bool:
        found = v.memo.get(key)
        if found is None:
            found = v.memo[key] = check(v)
        return found

    return cached


def word(*ws: str) -> Check:
    """One of these words occurs as a whole identifier-like token."""
    wanted = frozenset(ws)
    return lambda v: not v.words.isdisjoint(wanted)


def regex(pattern: str, flags: int = 0) -> Check:
    """A regex occurs in the text (compiled once, at first use)."""
    compiled: list[re.Pattern[str]] = []

    def check(v: View) -> bool:
        if not compiled:
            compiled.append(re.compile(pattern, flags))
        return v.search(compiled[0])

    return check


def any_of(*checks: Check) -> Check:
    return lambda v: any(c(v) for c in checks)


def all_of(*checks: Check) -> Check:
    return lambda v: all(c(v) for c in checks)


def has_getattr(v: View) -> bool:
    return "getattr" in v.words


def dynamic(v: View) -> bool:
    """A module or builtin may be reached without its name written out (what `names.py` resolves):

    - `__import__(...)`, `import_module(...)`: a module named by a folded string;
    - `importlib` with getattr (`getattr(importlib, "import_" + "module")`);
    - `sys.modules[...]`, also as `getattr(sys, "modu" + "les")[...]`: needs `sys`;
    - the builtins module or namespace: `__builtins__`, `import builtins` (bare words), and `globals()`,
      `locals()`, `vars()` (bare words), whose subscripts give builtins.
    """
    words, bare = v.words, v.bare
    if "__import__" in words or "import_module" in words:
        return True
    if not bare.isdisjoint(_NAMESPACES):
        return True
    if "getattr" in words and ("importlib" in words or "sys" in words):
        return True
    return "modules" in words and "sys" in words


_NAMESPACES = frozenset({"globals", "locals", "vars", "builtins", "__builtins__"})


def _parts(qualified: str) -> list[str]:
    return [p for p in re.split(r"\(\)|\[[^\]]*\]|\.", qualified) if p]


class Names:
    """Necessary condition for some expression to resolve to one of the qualified names (fnmatch parts allowed).

    For `mod.x.attr`: the word `mod` and the word `attr` (or `getattr`), else `dynamic`.
    For `builtins.name`: the bare word `name`, else `dynamic`; `builtins.name.attr`: bare `name` and `attr`.
    Built at first use.
    """

    def __init__(self, qualified: Iterable[str] | Callable[[], Iterable[str]]) -> None:
        self._source = qualified
        self._pairs: list[tuple[str | None, bool, frozenset[str] | None, tuple[str, ...]]] | None = None
        self._bare: frozenset[str] = frozenset()
        self._always = False

    def _build(self) -> None:
        names = self._source() if callable(self._source) else self._source
        bare: set[str] = set()
        pairs: dict[tuple[str, bool], set[str]] = {}
        for q in names:
            parts = _parts(q)
            is_bare = bool(parts) and parts[0] == "builtins"
            if is_bare:
                parts = parts[1:]
                if len(parts) == 1:
                    bare.add(parts[0])
                    continue
            head, last = parts[0], parts[-1] if len(parts) > 1 else "*"
            if head.strip("*") == "" and last.strip("*") == "":
                self._always = True
                continue
            pairs.setdefault((head, is_bare), set()).add(last)
        self._bare = frozenset(bare)
        built = []
        for (head, is_bare), lasts in sorted(pairs.items()):
            head_word = None if "*" in head else head
            if head_word is None and head.strip("*"):
                raise ValueError(f"unsupported pattern head {head!r}")
            if any(last.strip("*") == "" for last in lasts):
                built.append((head_word, is_bare, None, ()))
            else:
                plain = frozenset(last for last in lasts if "*" not in last)
                built.append((head_word, is_bare, plain, tuple(last for last in lasts if "*" in last)))
        self._pairs = built

    def __call__(self, v: View) -> bool:
        if self._pairs is None:
            self._build()
        if self._always or not v.bare.isdisjoint(self._bare):
            return True
        if self._bare and dynamic(v):  # a builtin through the builtins namespace or module
            return True
        if not self._pairs:
            return False
        # the last part: as written, or from a folded string (getattr, or a dotted import_module/sys.modules key)
        any_last = has_getattr(v) or "import_module" in v.words or ("modules" in v.words and "sys" in v.words)
        module_dynamic: bool | None = None
        for head, is_bare, lasts, patterns in self._pairs:
            last = any_last or lasts is None or not v.words.isdisjoint(lasts) or any(v.like(p) for p in patterns)
            if not last:
                continue
            if head is None or head in (v.bare if is_bare else v.words):
                return True
            if module_dynamic is None:
                module_dynamic = dynamic(v)
            if module_dynamic:
                return True
        return False


def _catalog_names(catalog: str, *keys: str) -> Callable[[], list[str]]:
    def load() -> list[str]:
        from . import _catalog

        return [n for key in keys for n in _catalog.names(catalog, key)]

    return load


# --- conditions shared by the DS1xx rules ------------------------------------------------------------------------

# `Analyzer.exec_sink`: code sinks, deserializers, yaml.load (an unsafe loader is a further condition).
EXEC_SINK = shared("exec_sink", Names(_catalog_names("exec", "code.names", "deserialize.names", "deserialize.yaml_load")))
# `Analyzer.spawn`: shell and argv process spawners.
SPAWN = shared("spawn", Names(_catalog_names("process", "spawn.shell", "spawn.argv")))
# `os.dup2`, as `reverse_shell.wiring` resolves it.
DUP2 = shared("dup2", Names(["os.dup2"]))
# `proc.stdin.write(...)`: `reverse_shell._stdin_write` reads the attribute names as written.
STDIN_WRITE = all_of(word("stdin"), word("write"))



def _request_attrs() -> list[str]:
    return _catalog_names("inbound", "request.attributes")()


# `Analyzer.classify` labelling request data: `request`/`req` (a handler's parameter, `self.request`) as written,
# `flask.request` and its kin as resolved, a Tornado handler's `self.get_argument(...)` in a file naming tornado.
_TORNADO_INPUT = ("get_argument", "get_arguments", "get_body_argument", "get_body_arguments", "get_query_argument",
                  "get_query_arguments", "get_cookie", "get_secure_cookie", "get_signed_cookie")
REQUEST = shared("request", any_of(word("request", "req"), Names(_request_attrs),
                                   all_of(regex("tornado"), word(*_TORNADO_INPUT))))


def _route_words() -> str:
    names = _catalog_names("inbound", "request.route_decorators")()
    dotted = "|".join(sorted(set(names), key=lambda w: (-len(w), w)))
    plain = "api_view|require_http_methods|csrf_exempt|require_POST|require_GET"
    # `_remote.is_route`: a decorator `@a.b.route(...)` (the last part dotted) or `@api_view`-like (any last part);
    # an expression may be parenthesized or continued with backslashes, so brackets and whitespace may intervene.
    return rf"@[\s\\(]*(?:[\w.\s\\()]*?\.[\s\\()]*(?:{dotted})|[\w.\s\\()]*?(?:{plain}))(?!\w)"


_ROUTE: list[Check] = []


def ROUTE(v: View) -> bool:
    """Some function may be decorated as a web route (`_remote.is_route`)."""
    if not _ROUTE:
        _ROUTE.append(shared("route", all_of(lambda v: any("@" in f for f in v.forms), regex(_route_words()))))
    return _ROUTE[0](v)
