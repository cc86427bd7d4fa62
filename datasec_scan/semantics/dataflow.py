"""Rule-agnostic taint data flow: scoped, flow-insensitive propagation with per-function summaries.

How it works (the contract rules rely on; docs/egress.md has the long form):

- A rule asks `FlowAnalysis.taints(expr, classify)`: which source labels may reach `expr`.
  `classify(e)` names the labels of a *source expression itself* (a call resolving to
  `requests.get` -> ("network",)); the analysis calls it on sub-expressions it evaluates and caches
  the answers per node. One analysis (a fixed point over the whole module) is computed per distinct
  `classify` object, so pass the same function or bound method each time.
- Scopes: the module (globals, class bodies), each function and method (nested functions read
  their enclosing functions' variables). Inside a scope the analysis is flow-insensitive: a variable
  carries every label of every value it is ever assigned.
- Propagation: assignments (plain, annotated, augmented, walrus, tuple unpacking), `for` and
  comprehension targets, `with ... as`, containers (literals, comprehensions, `d[k] = v`,
  `.append/.extend/.update/.insert/.add/.setdefault/.write`), f-strings, `%`, `.format`, `+`,
  attribute and subscript reads (`resp.text`, `d["k"]`), method calls on a tainted receiver
  (`x.decode()`, `f.read()`, `resp.json()`), and a catalog of transforming calls (`json.dumps`,
  `base64.*`, `zlib.*`, `urlencode`, `str`, `bytes`, `dict`, `open(path)`, folder listings
  `os.walk`/`glob.glob`, `shutil.make_archive`...). What is stored into an archive or stream writer
  (`zipfile.ZipFile(p, "w")`, `tarfile.open(fileobj=buf)`) is stored into the file or buffer it
  wraps, and what is written through `open("name", "w")` into the file that literal names (a path held in a
  variable is not followed). A file copy or move (`shutil.copy2(src, dst)`, `os.replace`) stores what the
  source carries into the destination variable, or into the file a literal destination names. Calls of unknown
  functions do NOT carry their arguments' taint
  (so `Client(token).get()` is not "the token").
- Sanitizers stop propagation: `len`, `bool`, `int`, `float`, `hash`, `isinstance`, `type`, `id`,
  comparisons, `not`, predicates like `.startswith()`, and one-way digests (`hashlib.*`, `hmac.*`,
  `crc32`): a digest cannot be turned back into the secret, so it is not the secret.
- Across functions of one module: a call of a local function (or `self.method(...)` within a
  class) applies that function's summary: the labels its return values carry, with each of its
  parameters standing in for the caller's argument. `self.attr` is one variable per class, shared
  by all its methods. `threading.Thread(target=f, args=(x,))`, `threading.Timer`,
  `multiprocessing.Process`, `atexit.register(f, x)`, `executor.submit(f, x)` count as calls of `f`, and a call
  through a command table bound once to a literal (`OPS[name](x)`, `OPS.get(name)(x)`) as a call of each entry.
- A sink *inside* a helper (`def send(data): requests.post(url, data=data)`) needs no extra API:
  when the data reaching an expression comes from a parameter, `taints` follows the parameter back
  to every call site in the module (bounded depth) and reports the callers' sources, the path
  running through the call. A parameter no call site feeds is not a source.
- Bounded: at most `MAX_ROUNDS` rounds of the fixed point, paths of at most `MAX_PATH` steps
  (longer paths keep their first steps), `MAX_CALL_DEPTH` levels of call-site resolution.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from dataclasses import dataclass, field

from ..lazycst import cst

from ..tree import Visitor, walk, walk_every
from .names import NameResolver, dotted

MAX_ROUNDS = 12
MAX_PATH = 24
MAX_CALL_DEPTH = 4
MAX_CALL_SITES = 64  # per function, when following parameters back to callers
_SNIPPET = 60

Step = tuple["cst.CSTNode", str]
Path = tuple[Step, ...]
Labels = dict[str, Path]  # label (or internal parameter marker) -> one shortest path
_MARK = "\x00p:"  # internal labels: a parameter of a function, resolved through call sites
_FILE = "\x00f:"  # a module-level pseudo-variable: the content written into the file a literal names
_Passed = tuple[str, "str | None", "cst.BaseExpression"]  # how an argument is passed: star ("", "*", "**"), keyword, value


@dataclass(frozen=True)
class Taint:
    """A source label that may reach an expression, with one shortest path from the source to it."""

    label: str
    steps: tuple[tuple[cst.CSTNode, str], ...]


# --- catalogs of calls (qualified-name prefixes); data about Python itself, not about any rule ---

_SANITIZER_NAMES = frozenset({
    "builtins.len", "builtins.bool", "builtins.int", "builtins.float", "builtins.hash", "builtins.isinstance",
    "builtins.issubclass", "builtins.type", "builtins.id", "builtins.callable", "builtins.hasattr",
    "builtins.abs", "builtins.round", "builtins.complex", "builtins.any", "builtins.all", "builtins.print",
    "os.path.exists", "os.path.isfile", "os.path.isdir", "os.path.islink", "os.path.getsize",
    "os.path.getmtime", "os.path.lexists", "zlib.crc32", "zlib.adler32", "binascii.crc32", "hmac.compare_digest",
    "secrets.compare_digest",
})
_SANITIZER_PREFIXES = ("hashlib.", "hmac.", "logging.", "warnings.")
_PREDICATE_METHODS = frozenset({
    "startswith", "endswith", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isidentifier",
    "isnumeric", "isdecimal", "isascii", "count", "find", "rfind", "index", "rindex", "exists", "is_file", "is_dir",
    "is_absolute", "__len__", "__contains__", "__eq__", "__ne__", "__bool__", "__hash__", "hexdigest", "digest",
    "has_key", "issubset", "issuperset", "isdisjoint", "close", "flush",
    "raise_for_status", "status_code", "ok",
})
# Calls whose result carries the taint of their arguments (and receiver).
_TRANSFORM_NAMES = frozenset({
    "builtins.str", "builtins.bytes", "builtins.bytearray", "builtins.repr", "builtins.ascii", "builtins.format",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset", "builtins.sorted",
    "builtins.reversed", "builtins.zip", "builtins.enumerate", "builtins.map", "builtins.filter", "builtins.iter",
    "builtins.next", "builtins.min", "builtins.max", "builtins.getattr", "builtins.memoryview", "builtins.open",
    "io.open", "codecs.open", "os.fspath", "os.fsencode", "os.fsdecode",
    # a folder's listing carries the folder's labels (the files joined onto it are read next); copies and archives
    # of a path carry the path's
    "os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.iglob", "sqlite3.connect",
    "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.make_archive",
    # what a regular expression finds in a text is part of the text (`re.findall(TOKEN, line)`, as the methods are)
    "re.findall", "re.finditer", "re.search", "re.match", "re.fullmatch", "re.sub", "re.split",
})
_TRANSFORM_PREFIXES = (
    "base64.", "binascii.", "zlib.", "gzip.", "bz2.", "lzma.", "json.", "pickle.", "marshal.", "codecs.",
    "urllib.parse.", "copy.", "itertools.", "functools.", "textwrap.", "string.", "struct.", "io.BytesIO",
    "io.StringIO", "pathlib.", "os.path.", "shlex.", "html.escape", "quopri.", "uu.", "yaml.", "toml.", "tomli_w.",
    "simplejson.", "ujson.", "orjson.", "msgpack.", "operator.", "collections.", "cryptography.",
    "email.mime.", "email.message.", "email.message_from_", "email.parser.", "http.cookies.", "html.unescape",
    "xml.etree.ElementTree.fromstring", "xml.etree.ElementTree.XML", "Crypto.Cipher.", "Cryptodome.Cipher.",
    "win32crypt.", "nacl.secret.",
    # a chat message's parts, built before a webhook or bot sends them
    "discord_webhook.DiscordEmbed", "dhooks.Embed", "dhooks.File", "discord.Embed", "discord.File",
)
_TRANSFORM_METHODS = frozenset({
    "format", "format_map", "join", "dumps", "dump", "encode", "decode", "b64encode", "b32encode", "b16encode",
    "b85encode", "a85encode", "urlsafe_b64encode", "encodebytes", "hexlify", "compress", "encrypt", "urlencode",
    "quote", "quote_plus", "pack", "packb", "hex", "to_json", "serialize", "fernet_encrypt", "xor", "translate",
    "findall", "finditer", "search", "match", "fullmatch", "sub", "split", "readlines", "decrypt",
    "from_buffer_copy", "from_buffer",  # a ctypes array over the bytes (`(c_char * n).from_buffer_copy(data)`)
})
# Calls that never carry their arguments' taint into their result (new data comes back).
_OPAQUE_PREFIXES = ("requests.", "httpx.", "aiohttp.", "urllib.request.", "urllib3.", "http.client.", "socket.",
                    "subprocess.", "smtplib.", "ftplib.", "paramiko.", "boto3.", "logging.")
# Method calls that put their arguments into the receiver.
_STORE_METHODS = frozenset({"append", "extend", "update", "insert", "add", "setdefault", "write", "writelines",
                            "put", "put_nowait", "appendleft", "extendleft", "push", "__setitem__", "writestr",
                            "writerow", "writerows", "addfile", "attach", "set_content", "add_attachment",
                            "set_payload", "add_file", "add_embed", "add_embed_field", "add_field", "set_description"})
# Archive and stream writers over a file or buffer (their first argument or `fileobj=`/`file=`), as `module.Name`:
# what is stored into the writer is stored into that file or buffer (`with zipfile.ZipFile(path, "w") as z:
# z.write(f)` ... `open(path)`; `tarfile.open(fileobj=buf)` ... `buf.getvalue()`). Plain `open()` is not one.
# File copies and moves, as written (`shutil.copy2`, or `copy2` imported from shutil): the destination then holds
# what the source path named.
_COPIES = frozenset({f"{module}{name}" for module in ("shutil.", "") for name in ("copy", "copy2", "copyfile", "move")}
                    | {"os.rename", "os.replace"})
_COPY_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in _COPIES)
# Calls that write their first argument into a stream (second argument or a keyword), as written.
_DUMPS = frozenset({"json.dump", "pickle.dump", "marshal.dump", "yaml.dump", "yaml.safe_dump", "toml.dump",
                    "tomli_w.dump", "shutil.copyfileobj", "print"})
_DUMP_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in _DUMPS)
_WRAPPERS = frozenset({"open", "ZipFile", "TarFile", "GzipFile", "BZ2File", "LZMAFile", "TextIOWrapper",
                       "BufferedWriter", "writer", "DictWriter"})
# Calls that call another function: (qualified name, index of the target, index where its args start or
# -1 when they are given by `args=`/`kwargs=` keywords).
INDIRECT_CALLS = {
    "threading.Thread": ("target", None, "args"), "threading.Timer": ("function", 1, "args"),
    "multiprocessing.Process": ("target", None, "args"), "multiprocessing.get_context().Process": ("target", None, "args"),
    "multiprocessing.context.Process": ("target", None, "args"), "atexit.register": (None, 0, "*"),
    "asyncio.to_thread": (None, 0, "*"), "functools.partial": (None, 0, "*"),
}
_INDIRECT_METHODS = {"submit": (None, 0, "*"), "run_in_executor": (None, 1, "*"), "apply_async": (None, 0, "args"),
                     "call_soon": (None, 0, "*"), "call_later": (None, 1, "*"), "start_new_thread": (None, 0, "tuple")}


def _snippet(module: cst.Module, node: cst.CSTNode) -> str:
    try:
        text = module.code_for_node(node)
    except Exception:  # noqa: BLE001  # pragma: no cover - codegen of a detached node
        return type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "..."


def _extend(path: Path, step: Step) -> Path:
    return path if len(path) >= MAX_PATH else path + (step,)


def _merge(into: Labels, new: Labels) -> bool:
    changed = False
    for label, path in new.items():
        old = into.get(label)
        if old is None or len(path) < len(old):
            into[label] = path
            changed = True
    return changed


@dataclass(eq=False)
class _Scope:
    node: cst.CSTNode  # Module, FunctionDef or Lambda-free function
    name: str
    parent: _Scope | None
    index: int
    cls: cst.ClassDef | None = None  # the class a method belongs to
    params: list[tuple[str, cst.Param]] = field(default_factory=list)
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    bindings: list[tuple[str, cst.BaseExpression, cst.CSTNode, str]] = field(default_factory=list)
    returns: list[cst.BaseExpression] = field(default_factory=list)
    is_method: bool = False
    static: bool = False

    def key(self, name: str) -> tuple:
        return (self.index, name)


def _is_static(node: cst.FunctionDef) -> bool:
    return any(dotted(d.decorator) in ("staticmethod",) for d in node.decorators)


def _is_classmethod(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.FunctionDef) and any(dotted(d.decorator) == "classmethod" for d in node.decorators)


class _Suspends(Visitor):
    """Whether a function's body yields (then calling it gives a generator, not what it returns)."""

    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True

    def visit_Await(self, node: cst.Await) -> None:
        self.found = True


class _Collector(Visitor):
    """One walk: scopes, their bindings and returns, calls, and which scope every node is in."""

    def __init__(self) -> None:
        self.scopes: list[_Scope] = []
        self.stack: list[_Scope] = []
        self.classes: list[cst.ClassDef] = []
        self.scope_of: dict[int, _Scope] = {}
        self.functions: dict[str, list[_Scope]] = {}  # plain functions by name
        self.methods: dict[tuple[int, str], list[_Scope]] = {}  # (id(class), name) -> methods
        self.method_names: set[str] = set()  # every method name, a cheap test before resolving `x.name(...)`
        self.class_defs: dict[str, list[cst.ClassDef]] = {}
        self.calls: list[tuple[cst.Call, _Scope]] = []
        self.values: dict[tuple, list[cst.BaseExpression]] = {}  # exact assignments: (scope, name) or field key
        self.inexact: set[tuple] = set()
        self.class_fields: list[tuple[tuple, cst.BaseExpression, cst.CSTNode, str]] = []
        self._saved_classes: list[list[cst.ClassDef]] = []
        self.iterated: dict[tuple[int, str], list[cst.BaseExpression]] = {}  # loop variable -> what it iterates
        self.writers: dict[tuple[int, str], str] = {}  # (scope, writer variable) -> the file/buffer it wraps
        self.files = False  # whether a writer wraps a file named by a literal (then such literals are looked up)
        self.imported: set[str] = set()  # names bound by imports: `requests.put(url, data=x)` is no store

    @property
    def scope(self) -> _Scope:
        return self.stack[-1]

    def record(self, node: cst.CSTNode) -> None:
        """Called on every node before its visit method (`tree.walk_every`)."""
        if self.stack:
            self.scope_of[id(node)] = self.stack[-1]

    def visit_Module(self, node: cst.Module) -> None:
        s = _Scope(node, "<module>", None, 0)
        self.scopes.append(s)
        self.stack.append(s)
        self.scope_of[id(node)] = s

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)
        self.class_defs.setdefault(node.name.value, []).append(node)
        self.scope.locals.add(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.scope
        outer.locals.add(node.name.value)
        in_class = bool(self.classes) and any(node is item for item in _body(self.classes[-1]))
        s = _Scope(node, node.name.value, outer, len(self.scopes), cls=self.classes[-1] if in_class else None,
                   is_method=in_class, static=in_class and _is_static(node))
        p = node.params
        for param in (*p.posonly_params, *p.params, *p.kwonly_params):
            s.params.append((param.name.value, param))
        for star in (p.star_arg, p.star_kwarg):
            if isinstance(star, cst.Param):
                s.params.append((star.name.value, star))
        s.locals |= {n for n, _ in s.params}
        self.scopes.append(s)
        if in_class:
            self.methods.setdefault((id(self.classes[-1]), node.name.value), []).append(s)
            self.method_names.add(node.name.value)
        else:
            self.functions.setdefault(node.name.value, []).append(s)
        self.stack.append(s)
        self.scope_of[id(node)] = s
        # A class nested in a function must not make its methods look like the function's.
        self._saved_classes.append(self.classes)
        self.classes = []

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()
        self.classes = self._saved_classes.pop()

    def visit_Global(self, node: cst.Global) -> None:
        self.scope.globals |= {n.name.value for n in node.names}

    # bindings
    def bind(self, target: cst.BaseExpression, value: cst.BaseExpression, at: cst.CSTNode, how: str,
             exact: bool = True) -> None:
        s = self.scope
        exact = exact and how == "assigned to"
        if isinstance(target, cst.Name):
            s.locals.add(target.value)
            if isinstance(value, cst.Call):
                self._writer(target.value, value)
            s.bindings.append((target.value, value, target, f"{how} `{target.value}`"))
            self._value((s.index, target.value), value, exact)
            if self.classes:  # a class attribute is also what `self.<name>` reads in its methods
                key = ("field", id(self.classes[-1]), target.value)
                self.class_fields.append((key, value, target, f"{how} class attribute `{target.value}`"))
                self._value(key, value, exact)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(elements) and not any(
                    isinstance(e, cst.StarredElement) for e in value.elements):
                for t, v in zip(elements, value.elements):
                    self.bind(t, v.value, at, how, exact)
            else:
                for t in elements:
                    self.bind(t, value, at, how, False)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, value, at, how)
        elif isinstance(target, (cst.Subscript, cst.Attribute)):
            root = self.root(target)
            if root is not None:
                shown = f"self.{root[6:]}" if root.startswith("field:") else root
                store = "stored into" if isinstance(target, cst.Subscript) else "stored as an attribute of"
                if isinstance(target, cst.Attribute) and root.startswith("field:") and isinstance(
                        target.value, cst.Name):
                    store = "assigned to"
                    cls = self._class()
                    self._value(("field", id(cls) if cls is not None else 0, root[6:]), value,
                                exact and how == "assigned to")
                s.bindings.append((root, value, target, f"{store} `{shown}`"))

    def _writer(self, name: str, call: cst.Call) -> None:
        func = call.func
        opener = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if opener == "open" and self._literal_file_opened_for_writing(name, call):
            return
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(
            func, cst.Name) and func.value != "open" else None
        if last not in _WRAPPERS or dotted(func) in ("io.open", "codecs.open", "os.open", "os.fdopen"):
            return  # a plain file is not followed: its path names the file, it does not carry what was written
        inner = next((a.value for a in call.args if a.keyword is not None and a.keyword.value in ("fileobj", "file")),
                     None)
        if inner is None and call.args and call.args[0].keyword is None and not call.args[0].star:
            inner = call.args[0].value
        root = self.root(inner) if isinstance(inner, (cst.Name, cst.Attribute, cst.Subscript)) else None
        if isinstance(inner, cst.SimpleString) and isinstance(inner.evaluated_value, str):
            root = _FILE + inner.evaluated_value  # `ZipFile("out.zip", "w")` ... `open("out.zip")`: the file itself
            self.files = True
        if root is not None and root != name:
            self.writers[(self.scope.index, name)] = root

    def _literal_file_opened_for_writing(self, name: str, call: cst.Call) -> bool:
        """`f = open("env.txt", "w")`: what is written through `f` is in the file that literal names, and a later
        `open("env.txt")` reads it back. (A path held in a variable is not followed: the variable names the file.)"""
        if dotted(call.func) not in ("open", "io.open", "codecs.open") or not call.args or call.args[0].keyword:
            return False
        path = call.args[0].value
        mode = next((a.value for a in call.args[1:2] if a.keyword is None), None) or next(
            (a.value for a in call.args if a.keyword is not None and a.keyword.value == "mode"), None)
        if not (isinstance(mode, cst.SimpleString) and isinstance(mode.evaluated_value, str)
                and any(c in mode.evaluated_value for c in "wax+")):
            return False
        if not (isinstance(path, cst.SimpleString) and isinstance(path.evaluated_value, str)):
            return False
        self.writers[(self.scope.index, name)] = _FILE + path.evaluated_value
        self.files = True
        return True

    def _copy(self, call: cst.Call) -> None:
        """`shutil.copy2(src, dst)`: what the file at `dst` holds is what `src` named (a stealer copies a locked
        browser database before reading it), through the variable `dst` or the file a literal `dst` names."""
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        named = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        source = positional[0] if positional else named.get("src")
        target = positional[1] if len(positional) > 1 else named.get("dst")
        if source is None or target is None:
            return
        if isinstance(target, cst.SimpleString) and isinstance(target.evaluated_value, str):
            root: str | None = _FILE + target.evaluated_value
            self.files = True
        else:
            root = self.root(target) if isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)) else None
        if root is not None:
            shown = root.replace(_FILE, "file ")
            self.scope.bindings.append((root, source, call, f"copied to `{shown}`"))

    def _value(self, key: tuple, value: cst.BaseExpression, exact: bool) -> None:
        if exact:
            self.values.setdefault(key, []).append(value)
        else:
            self.inexact.add(key)

    def _class(self) -> cst.ClassDef | None:
        s: _Scope | None = self.scope
        while s is not None and not s.is_method:
            s = s.parent
        return s.cls if s is not None else None

    def root(self, expr: cst.BaseExpression) -> str | None:
        """The variable a store into `expr` changes: `d` for `d[k]`, `d.x`, `d[k][j]`; `self.attr` as a field."""
        while True:
            if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and self._is_self(expr.value.value):
                return f"field:{expr.attr.value}"
            if isinstance(expr, (cst.Subscript, cst.Attribute)):
                expr = expr.value
                continue
            if isinstance(expr, cst.Name):
                return expr.value
            return None

    def _is_self(self, name: str) -> bool:
        s = self.scope
        while s is not None and not s.is_method:
            s = s.parent
        return s is not None and bool(s.params) and not s.static and s.params[0][0] == name

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self.bind(t.target, node.value, node, "assigned to")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.bind(node.target, node.value, node, "assigned to")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.bind(node.target, node.value, node, "added to")

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind(node.target, node.value, node, "assigned to")

    def visit_For(self, node: cst.For) -> None:
        self._iterate(node.target, node.iter, node)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._iterate(node.target, node.iter, node)

    def _iterate(self, target: cst.BaseAssignTargetExpression, iterable: cst.BaseExpression, at: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.iterated.setdefault((self.scope.index, target.value), []).append(iterable)
        self.bind(target, iterable, at, "iterated into")

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self.bind(node.asname.name, node.item, node, "opened as")

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.scope.returns.append(node.value)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self.scope.returns.append(node.value)

    def visit_Import(self, node: cst.Import) -> None:
        for a in node.names:
            name = a.asname.name.value if a.asname and isinstance(a.asname.name, cst.Name) else (dotted(a.name) or "").split(".")[0]
            self.scope.locals.add(name)
            self.imported.add(name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not isinstance(node.names, cst.ImportStar):
            for a in node.names:
                name = a.asname.name.value if a.asname and isinstance(a.asname.name, cst.Name) else a.name.value
                self.scope.locals.add(str(name))
                self.imported.add(str(name))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append((node, self.scope))
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if last in _COPY_NAMES and dotted(func) in _COPIES:
            self._copy(node)
        if isinstance(func, cst.Attribute) and func.attr.value in _STORE_METHODS:
            root = self.root(func.value)
            # (`api.Screenboard.update(**board)` is a call of a library, not a store into the module `api`)
            if root is not None and not (root in self.imported and dotted(func.value) != "os.environ"):
                self._store(root, [arg.value for arg in node.args], node, f".{func.attr.value}()")
        elif last in _DUMP_NAMES:
            self._dump(node, last)

    def _store(self, root: str, values: list[cst.BaseExpression], node: cst.Call, how: str) -> None:
        """`values` go into the variable `root` and into the file or buffer a writer `root` wraps."""
        roots = [root]
        wrapped = self.writers.get((self.scope.index, root))
        if wrapped is not None:
            roots.append(wrapped)
        for r in roots:
            shown = f"self.{r[6:]}" if r.startswith("field:") else r.replace(_FILE, "file ")
            for value in values:
                self.scope.bindings.append((r, value, node, f"stored into `{shown}` by {how}"))

    def _dump(self, call: cst.Call, last: str) -> None:
        """`json.dump(obj, fh)`, `print(x, file=fh)`, `shutil.copyfileobj(src, fh)`: the object is written to the stream."""
        name = dotted(call.func) or ""
        if name not in _DUMPS and not (name == last and name in {d.rsplit(".", 1)[-1] for d in _DUMPS} - {"dump"}):
            return
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        if last == "print":
            stream, values = keywords.get("file"), positional
        else:
            stream = positional[1] if len(positional) > 1 else next(
                (keywords[k] for k in ("fp", "file", "stream", "fdst", "f") if k in keywords), None)
            values = positional[:1] or [keywords[k] for k in ("obj", "data", "fsrc") if k in keywords][:1]
        root = self.root(stream) if stream is not None else None
        if root is not None and values and not (root in self.imported and isinstance(stream, cst.Name)):
            self._store(root, values, call, f"{last}()")


def _body(cls: cst.ClassDef) -> Iterator[cst.CSTNode]:
    body = cls.body
    if isinstance(body, cst.IndentedBlock):
        yield from body.body
    else:
        yield from body.body


def _callable_key(fn: Callable[..., Any]) -> object:
    """A dictionary key for a callback that holds no reference to a bound method's object (equal bound methods,
    `a.f` taken twice, get the same key)."""
    owner = getattr(fn, "__self__", None)
    return (id(owner), fn.__func__) if owner is not None and hasattr(fn, "__func__") else fn  # type: ignore[attr-defined]


def _weak_callable(fn: Callable[[cst.BaseExpression], Iterable[str]]) -> Callable[[cst.BaseExpression], Iterable[str]]:
    """`fn`, or for a bound method the same call through a weak reference to its object."""
    if getattr(fn, "__self__", None) is None or not hasattr(fn, "__func__"):
        return fn
    method = weakref.WeakMethod(fn)  # type: ignore[arg-type]
    return lambda expr: method()(expr)  # type: ignore[misc]


class _Solver:
    """The fixed point for one classify function over one module."""

    def __init__(self, flow: FlowAnalysis, classify: Callable[[cst.BaseExpression], Iterable[str]]) -> None:
        # A proxy: the analysis keeps its solvers, and a strong reference back would be a cycle holding the tree.
        self.flow = weakref.proxy(flow)
        self.c = flow._collected
        # A rule's bound method (`analyzer.classify`) is held weakly: the analyzer usually keeps this analysis, and
        # a strong reference back would be a cycle holding the whole tree until the cyclic collector runs.
        self.classify_fn = _weak_callable(classify)
        self.env: dict[tuple, Labels] = {}
        self.classified: dict[int, tuple[str, ...]] = {}
        self.source_paths: dict[tuple[int, str], Path] = {}
        self.version = 0
        self.summaries: dict[int, tuple[int, Labels]] = {}
        self.summarizing: set[int] = set()
        self.resolved: dict[tuple[str, int], Labels] = {}

    # -- the fixed point --
    def _solve(self) -> None:
        """Rounds over every binding of every scope until nothing changes (at most MAX_ROUNDS)."""
        for s in self.c.scopes:
            for pname, param in s.params:
                self.env[s.key(pname)] = {f"{_MARK}{s.index}:{pname}": ((param, f"parameter `{pname}` of `{s.name}()`"),)}
        module = self.c.scopes[0]
        for _ in range(MAX_ROUNDS):
            changed = False
            for s in self.c.scopes:
                for name, value, at, how in s.bindings:
                    changed |= self._bind(self.var_key(name, s), value, s, at, how)
            for key, value, at, how in self.c.class_fields:
                changed |= self._bind(key, value, module, at, how)
            if not changed:
                break

    def _bind(self, key: tuple, value: cst.BaseExpression, s: _Scope, at: cst.CSTNode, how: str) -> bool:
        labels = self.eval(value, s)
        if not labels:
            return False
        step = (at, how)
        if _merge(self.env.setdefault(key, {}), {k: _extend(p, step) for k, p in labels.items()}):
            self.version += 1
            return True
        return False

    def var_key(self, name: str, s: _Scope) -> tuple:
        if name.startswith("field:"):
            cls = self._class_of(s)
            return ("field", id(cls), name[6:]) if cls is not None else ("field", 0, name[6:])
        return self._lookup(name, s).key(name)

    def _class_of(self, s: _Scope | None) -> cst.ClassDef | None:
        while s is not None and not s.is_method:
            s = s.parent
        return s.cls if s is not None else None

    def _lookup(self, name: str, s: _Scope) -> _Scope:
        if name in s.globals:
            return self.c.scopes[0]
        cur: _Scope | None = s
        while cur is not None:
            if name in cur.locals:
                return cur
            cur = cur.parent
        return self.c.scopes[0]

    # -- expressions --
    def classify(self, expr: cst.BaseExpression) -> tuple[str, ...]:
        key = id(expr)
        found = self.classified.get(key)
        if found is None:
            try:
                found = tuple(dict.fromkeys(self.classify_fn(expr)))
            except RecursionError:  # pragma: no cover - a pathological expression
                found = ()
            self.classified[key] = found
        return found

    def _source(self, expr: cst.BaseExpression, label: str) -> Path:
        key = (id(expr), label)
        path = self.source_paths.get(key)
        if path is None:
            path = ((expr, f"source ({label}): `{_snippet(self.flow.module, expr)}`"),)
            self.source_paths[key] = path
        return path

    def eval(self, expr: cst.BaseExpression, s: _Scope, depth: int = 0) -> Labels:
        if depth > 40:
            return {}
        labels = self.classify(expr)
        if labels:
            return {label: self._source(expr, label) for label in labels}
        d = depth + 1
        kind = type(expr)  # exact types (concrete libcst classes have no subclasses; ABC `isinstance` is slow)
        if kind is cst.Name:
            if expr.value in ("True", "False", "None"):
                return {}
            return dict(self.env.get(self._lookup(expr.value, s).key(expr.value), {}))
        if kind is cst.Attribute:
            if isinstance(expr.value, cst.Name) and self.c_is_self(expr.value.value, s):
                return dict(self.env.get(self.var_key(f"field:{expr.attr.value}", s), {}))
            if expr.attr.value in _PREDICATE_METHODS:
                return {}
            return self.eval(expr.value, s, d)
        if kind is cst.Subscript:
            return self.eval(expr.value, s, d)
        if kind is cst.Call:
            return self._call(expr, s, d)
        if kind in (cst.Comparison, cst.Lambda):
            return {}
        if kind is cst.SimpleString:
            if self.c.files and isinstance(expr.evaluated_value, str):
                return dict(self.env.get((0, _FILE + expr.evaluated_value), {}))
            return {}
        if kind is cst.UnaryOperation:
            return {} if isinstance(expr.operator, cst.Not) else self.eval(expr.expression, s, d)
        if kind is cst.BinaryOperation:
            return self._union((expr.left, expr.right), s, d)
        if kind is cst.BooleanOperation:
            return self._union((expr.left, expr.right), s, d)
        if kind is cst.IfExp:
            return self._union((expr.body, expr.orelse), s, d)
        if kind in (cst.Await, cst.NamedExpr):
            return self.eval(expr.value if isinstance(expr, cst.NamedExpr) else expr.expression, s, d)
        if kind is cst.FormattedString:
            return self._union([p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression)], s, d)
        if kind is cst.ConcatenatedString:
            return self._union((expr.left, expr.right), s, d)
        if kind in (cst.Tuple, cst.List, cst.Set):
            return self._union([e.value for e in expr.elements], s, d)
        if kind is cst.Dict:
            parts: list[cst.BaseExpression] = []
            for e in expr.elements:
                if isinstance(e, cst.DictElement):
                    parts += [e.key, e.value]
                else:
                    parts.append(e.value)
            return self._union(parts, s, d)
        if kind in (cst.ListComp, cst.SetComp, cst.GeneratorExp):
            return self.eval(expr.elt, s, d)  # its loop variables are bindings of the scope
        if kind is cst.DictComp:
            return self._union([expr.key, expr.value], s, d)
        if kind is cst.StarredElement:
            return self.eval(expr.value, s, d)
        return {}

    def c_is_self(self, name: str, s: _Scope) -> bool:
        cur: _Scope | None = s
        while cur is not None and not cur.is_method:
            cur = cur.parent
        return cur is not None and bool(cur.params) and not cur.static and cur.params[0][0] == name

    def _union(self, exprs: Iterable[cst.BaseExpression], s: _Scope, d: int) -> Labels:
        out: Labels = {}
        for e in exprs:
            _merge(out, self.eval(e, s, d))
        return out

    def _call(self, call: cst.Call, s: _Scope, d: int) -> Labels:
        names = self.flow.call_names(call)
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        if names & _SANITIZER_NAMES or any(n.startswith(_SANITIZER_PREFIXES) for n in names):
            return {}
        targets = self.flow._local_targets(call, s)
        if targets:
            return self._apply_summaries(call, targets, s, d)
        if any(n.startswith(_OPAQUE_PREFIXES) and "(" not in n for n in names):
            return {}  # a network call's result is new data (a method on such a result follows its receiver)
        args = [a.value for a in call.args]
        if names & _TRANSFORM_NAMES or any(n.startswith(_TRANSFORM_PREFIXES) for n in names) or (
                method in _TRANSFORM_METHODS):
            step = (call, f"transformed by `{_callee(call)}()`")
            receiver = [func.value] if isinstance(func, cst.Attribute) else []
            found = self._union([*receiver, *args], s, d)
            return {k: _extend(p, step) for k, p in found.items()}
        buffer = in_memory_buffer(call, self.flow.call_names)
        if buffer is not None:
            step = (call, f"read from memory by `{_callee(call)}()`")
            return {k: _extend(p, step) for k, p in self.eval(buffer, s, d).items()}
        if method is not None:
            if method in _PREDICATE_METHODS:
                return {}
            found = self.eval(func.value, s, d)
            if found:
                step = (call, f"`.{method}()` of tainted value")
                return {k: _extend(p, step) for k, p in found.items()}
        return {}

    def _apply_summaries(self, call: cst.Call, targets: list[tuple[_Scope, int]], s: _Scope, d: int) -> Labels:
        out: Labels = {}
        for target, skip in targets:
            summary = self.summary(target)
            for label, path in summary.items():
                ret = (call, f"returned from `{target.name}()`")
                if label.startswith(_MARK) and label[len(_MARK):].split(":", 1)[0] == str(target.index):
                    pname = label.rsplit(":", 1)[1]
                    arg = self.flow._argument(call, target, pname, skip)
                    if arg is None:
                        continue
                    enter = (call, f"passed to `{target.name}()` as `{pname}`")
                    for alabel, apath in self.eval(arg, s, d).items():
                        full = apath
                        for step in (enter, *path[1:], ret):
                            full = _extend(full, step)
                        _merge(out, {alabel: full})
                else:
                    _merge(out, {label: _extend(path, ret)})
        return out

    def summary(self, f: _Scope) -> Labels:
        cached = self.summaries.get(f.index)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        if f.index in self.summarizing:
            return cached[1] if cached is not None else {}
        self.summarizing.add(f.index)
        try:
            out: Labels = {}
            for r in f.returns:
                _merge(out, self.eval(r, f))
        finally:
            self.summarizing.discard(f.index)
        self.summaries[f.index] = (self.version, out)
        return out

    # -- answering a query --
    def resolve(self, labels: Labels, depth: int, seen: frozenset[int]) -> Labels:
        """Replace parameter markers by what the callers pass; drop markers nobody feeds."""
        out: Labels = {}
        for label, path in labels.items():
            if not label.startswith(_MARK):
                _merge(out, {label: path})
                continue
            if depth >= MAX_CALL_DEPTH:
                continue
            index, pname = label[len(_MARK):].split(":", 1)
            f = self.c.scopes[int(index)]
            if f.index in seen:
                continue
            callers = self.resolved.get((label, depth))
            if callers is None:
                callers = {}
                for call, caller, skip in self.flow._call_sites(f)[:MAX_CALL_SITES]:
                    arg = self.flow._argument(call, f, pname, skip)
                    if arg is None:
                        continue
                    enter = (call, f"passed to `{f.name}()` as `{pname}`")
                    found = self.resolve(self.eval(arg, caller), depth + 1, seen | {f.index})
                    _merge(callers, {alabel: _extend(apath, enter) for alabel, apath in found.items()})
                self.resolved[(label, depth)] = callers
            for alabel, apath in callers.items():
                full = apath
                for step in path:
                    full = _extend(full, step)
                _merge(out, {alabel: full})
        return out


_BUFFERS = frozenset({"io.BytesIO", "io.StringIO"})
_BUFFER_KEYWORDS = ("fileobj", "fp", "file")


def in_memory_buffer(call: cst.Call, call_names: Callable[[cst.Call], frozenset[str]]) -> cst.Call | None:
    """`Image.open(io.BytesIO(data))`, `tarfile.open(fileobj=io.BytesIO(data))`: the in-memory buffer a reader is given
    (what it reads is the buffer's data, not a local file's), if any."""
    args = [a.value for a in call.args if a.keyword is None and not a.star][:1]
    args += [a.value for a in call.args if a.keyword is not None and a.keyword.value in _BUFFER_KEYWORDS]
    return next((a for a in args if type(a) is cst.Call and not call_names(a).isdisjoint(_BUFFERS)), None)


def _callee(call: cst.Call) -> str:
    name = dotted(call.func)
    if name:
        return name
    if isinstance(call.func, cst.Attribute):
        return f"….{call.func.attr.value}"
    return "…"


class FlowAnalysis:
    """Data flow over one module; `taints(expr, classify)` answers which sources reach `expr`."""

    def __init__(self, module: cst.Module, names: NameResolver) -> None:
        self.module = module
        self.names = names
        self._collector: _Collector | None = None
        self._solvers: dict[object, _Solver] = {}
        self._sites: dict[int, list[tuple[cst.Call, _Scope, int]]] | None = None
        self._targets: dict[int, list[tuple[_Scope, int]]] = {}
        self._bound_args: dict[int, list[_Passed]] = {}
        self._call_names: dict[str, frozenset[str]] = {}

    @property
    def _collected(self) -> _Collector:
        if self._collector is None:
            collector = _Collector()
            walk_every(self.module, collector, collector.record)
            self._collector = collector
        return self._collector

    def taints(self, expr: cst.BaseExpression, classify: Callable[[cst.BaseExpression], Iterable[str]]
               ) -> tuple[Taint, ...]:
        """Every source label that may reach `expr`, each with one shortest path, sorted by label."""
        solver = self._solver(classify)
        scope = self._collected.scope_of.get(id(expr), self._collected.scopes[0])
        labels = solver.resolve(solver.eval(expr, scope), 0, frozenset())
        return tuple(Taint(label, path) for label, path in sorted(labels.items()))

    def labels(self, expr: cst.BaseExpression, classify: Callable[[cst.BaseExpression], Iterable[str]]
               ) -> frozenset[str]:
        """Just the labels of `taints`."""
        return frozenset(t.label for t in self.taints(expr, classify))

    def call_names(self, call: cst.Call) -> frozenset[str]:
        """`NameResolver.call_names`, cached by the callee's dotted text (the resolver is module-wide, so
        `d.items` means the same everywhere in the module)."""
        text = dotted(call.func)
        if text is None:
            return self.names.call_names(call)
        found = self._call_names.get(text)
        if found is None:
            found = self.names.call_names(call)
            self._call_names[text] = found
        return found

    def values_of(self, expr: cst.BaseExpression, depth: int = 0) -> tuple[cst.BaseExpression, ...]:
        """What a variable (`x` or `self.x`) may hold: its plain assignments in its scope, or for a parameter
        its default and what the module's call sites pass. Empty when any binding is not a plain assignment
        (loop target, unpacking, augmented assignment) or nothing is known."""
        c = self._collected
        scope = c.scope_of.get(id(expr), c.scopes[0])
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            solver_scope = scope
            while solver_scope is not None and not solver_scope.is_method:
                solver_scope = solver_scope.parent
            if solver_scope is None or not solver_scope.params or solver_scope.params[0][0] != expr.value.value:
                return ()
            assert solver_scope.cls is not None
            key: tuple = ("field", id(solver_scope.cls), expr.attr.value)
            return () if key in c.inexact else tuple(c.values.get(key, ()))
        if not isinstance(expr, cst.Name):
            return ()
        name = expr.value
        owner = scope
        if name not in scope.globals:
            cur: _Scope | None = scope
            while cur is not None and name not in cur.locals:
                cur = cur.parent
            owner = cur or c.scopes[0]
        else:
            owner = c.scopes[0]
        key = (owner.index, name)
        if key in c.inexact:
            return ()
        params = dict(owner.params)
        if name in params:
            found: list[cst.BaseExpression] = []
            if params[name].default is not None:
                found.append(params[name].default)  # type: ignore[arg-type]
            if depth < 2:
                for call, caller, skip in self._call_sites(owner)[:MAX_CALL_SITES]:
                    arg = self._argument(call, owner, name, skip)
                    if arg is None:
                        continue
                    found.append(arg)
            return tuple(found) + tuple(c.values.get(key, ()))
        return tuple(c.values.get(key, ()))

    def bound_values(self, name: cst.Name, limit: int = 8) -> tuple[cst.BaseExpression, ...]:
        """Every value the variable is given in its scope, of any kind of binding (`s = ""`, `s += chr(...)` in a
        loop, a loop target's iterable): what it may be built from, not what it holds."""
        c = self._collected
        scope = c.scope_of.get(id(name), c.scopes[0])
        owner: _Scope | None = scope
        if name.value in scope.globals:
            owner = c.scopes[0]
        else:
            while owner is not None and name.value not in owner.locals:
                owner = owner.parent
        owner = owner or c.scopes[0]
        return tuple(value for bound, value, _, _ in owner.bindings if bound == name.value)[:limit]

    def iterables_of(self, expr: cst.BaseExpression) -> tuple[cst.BaseExpression, ...]:
        """What a loop variable (`for k in KEYS`, `{k: ... for k in KEYS}`) iterates over, in its scope."""
        if not isinstance(expr, cst.Name):
            return ()
        c = self._collected
        scope = c.scope_of.get(id(expr), c.scopes[0])
        cur: _Scope | None = scope
        while cur is not None and expr.value not in cur.locals:
            cur = cur.parent
        return tuple(c.iterated.get(((cur or c.scopes[0]).index, expr.value), ()))

    def single_return(self, call: cst.Call) -> cst.BaseExpression | None:
        """What a call of a module function without arguments returns, when the module defines that function once
        (`def part(): return "aW1w"`), it takes no parameters and has exactly one `return` value."""
        if call.args or not isinstance(call.func, cst.Name) or self.names.call_names(call) != {f"<local>.{call.func.value}"}:
            return None
        found = self._collected.functions.get(call.func.value, [])
        if len(found) != 1 or found[0].params or found[0].parent is not self._collected.scopes[0]:
            return None
        node, returns = found[0].node, found[0].returns
        if len(returns) != 1 or not isinstance(node, cst.FunctionDef) or node.asynchronous is not None:
            return None
        suspends = _Suspends()
        walk(node.body, suspends)
        return None if suspends.found else returns[0]  # (a generator returns no value of its own when called)

    def function_of(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        """The function (or method) a node is in; None at module level."""
        scope = self._collected.scope_of.get(id(node))
        return scope.node if scope is not None and isinstance(scope.node, cst.FunctionDef) else None

    def free_names(self, expr: cst.BaseExpression) -> tuple[str, ...]:
        """The variable names an expression reads (for describing what a dynamic value depends on)."""
        found: list[str] = []

        class _Names(Visitor):
            def visit_Name(self, node: cst.Name) -> None:
                if node.value not in found and node.value not in ("True", "False", "None"):
                    found.append(node.value)

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                name = dotted(node)
                if name:
                    if name not in found:
                        found.append(name)
                    return False
                return True

        walk(expr, _Names())
        return tuple(found)

    def _solver(self, classify: Callable[[cst.BaseExpression], Iterable[str]]) -> _Solver:
        key = _callable_key(classify)
        solver = self._solvers.get(key)
        if solver is None:
            solver = _Solver(self, classify)
            self._solvers[key] = solver  # registered first: a classify that asks for taints gets partial answers
            solver._solve()
        return solver

    # -- calls between functions of the module --
    def _local_targets(self, call: cst.Call, s: _Scope) -> list[tuple[_Scope, int]]:
        """Functions of this module a call may run, each with how many leading parameters it binds itself."""
        key = id(call)
        found = self._targets.get(key)
        if found is None:
            found = self._resolve_targets(call.func, s)
            self._targets[key] = found
        return found

    def _resolve_targets(self, func: cst.BaseExpression, s: _Scope) -> list[tuple[_Scope, int]]:
        c = self._collected
        if isinstance(func, cst.Attribute):
            if isinstance(func.value, cst.Name):
                cur: _Scope | None = s
                while cur is not None and not cur.is_method:
                    cur = cur.parent
                if cur is not None and cur.params and cur.params[0][0] == func.value.value and not cur.static:
                    assert cur.cls is not None
                    return [(m, 0 if m.static else 1) for m in c.methods.get((id(cur.cls), func.attr.value), [])]
            return self._class_method_targets(func)
        if isinstance(func, cst.Subscript) or isinstance(func, cst.Call) and isinstance(
                func.func, cst.Attribute) and func.func.attr.value == "get":
            return self._table_targets(func, s)
        if isinstance(func, cst.Name):
            name = func.value
            if f"<local>.{name}" not in self.names.qualified_names(func):
                return []
            targets = [(f, 0) for f in c.functions.get(name, [])]
            for cls in c.class_defs.get(name, []):
                targets += [(m, 1) for m in c.methods.get((id(cls), "__init__"), [])]
            return targets
        return []

    def _table_targets(self, func: cst.Subscript | cst.Call, s: _Scope) -> list[tuple[_Scope, int]]:
        """`COMMANDS[name](arg)`, `COMMANDS.get(name)(arg)`: every function of this module a dispatch table bound once
        to a dict, list or tuple literal holds (a command table: which entry runs is chosen at run time)."""
        table = func.value if isinstance(func, cst.Subscript) else func.func.value  # type: ignore[attr-defined]
        if not isinstance(table, cst.Name):
            return []
        value = self.names.single_value(table.value)
        if isinstance(value, cst.Dict):
            entries = [e.value for e in value.elements if isinstance(e, cst.DictElement)]
        elif isinstance(value, (cst.List, cst.Tuple)):
            entries = [e.value for e in value.elements if isinstance(e, cst.Element)]
        else:
            return []
        targets: list[tuple[_Scope, int]] = []
        for entry in entries[:64]:
            if isinstance(entry, cst.Name):
                targets += self._resolve_targets(entry, s)
        return targets

    def _class_method_targets(self, func: cst.Attribute) -> list[tuple[_Scope, int]]:
        """`handler.run(x)` with `handler = Handler()`, `Handler().run(x)`, `Handler.run(h, x)`: methods of a class
        of this module (a class defined at any level, named by the resolver `<local>.Handler`)."""
        c = self._collected
        targets: list[tuple[_Scope, int]] = []
        if func.attr.value not in c.method_names:
            return targets
        for qualified in self.names.qualified_names(func):
            owner, _, method = qualified.removeprefix("<local>.").rpartition(".")
            if not qualified.startswith("<local>.") or method != func.attr.value:
                continue
            instance = owner.endswith("()")
            owner = owner.removesuffix("()")
            for cls in c.class_defs.get(owner, []) if owner.isidentifier() else []:
                for m in c.methods.get((id(cls), method), []):
                    bound = not m.static and (instance or _is_classmethod(m.node))
                    targets.append((m, 1 if bound else 0))
        return targets

    def indirect(self, call: cst.Call) -> tuple[cst.BaseExpression, list[_Passed]] | None:
        """`Thread(target=f, args=(x,))` -> (f, [x]); None for a direct call."""
        names = self.call_names(call)
        spec = next((v for k, v in INDIRECT_CALLS.items() if k in names), None)
        if spec is None and isinstance(call.func, cst.Attribute):
            spec = _INDIRECT_METHODS.get(call.func.attr.value)
        if spec is None:
            return None
        keyword, position, args_how = spec
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        target = None
        if keyword is not None:
            target = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)
        if target is None and position is not None and len(positional) > position:
            target = positional[position]
        if target is None:
            return None
        args: list[_Passed] = []
        if args_how == "*":
            args = [("", None, v) for v in positional[(position or 0) + 1:]]
            args += [("", a.keyword.value, a.value) for a in call.args if a.keyword is not None]
        else:
            seq = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == args_how), None)
            if seq is None and args_how == "tuple" and len(positional) > 1:
                seq = positional[1]
            if seq is None and position is not None and len(positional) > position + 1:
                seq = positional[position + 1]
            if isinstance(seq, (cst.Tuple, cst.List)):
                args = [("*" if isinstance(e, cst.StarredElement) else "", None, e.value) for e in seq.elements]
            elif seq is not None:
                args = [("*", None, seq)]
            kw = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "kwargs"), None)
            if isinstance(kw, cst.Dict):
                for e in kw.elements:
                    if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString):
                        key = e.key.evaluated_value
                        args.append(("", key if isinstance(key, str) else None, e.value))
            elif kw is not None:
                args.append(("**", None, kw))
        return target, args

    def _call_sites(self, f: _Scope) -> list[tuple[cst.Call, _Scope, int]]:
        if self._sites is None:
            sites: dict[int, list[tuple[cst.Call, _Scope, int]]] = {}
            for call, scope in self._collected.calls:
                func: cst.BaseExpression = call.func
                indirect = self.indirect(call)
                if indirect is not None:
                    func, args = indirect
                    self._bound_args[id(call)] = args
                    targets = self._resolve_targets(func, scope)
                else:
                    targets = self._local_targets(call, scope)
                for target, skip in targets:
                    sites.setdefault(target.index, []).append((call, scope, skip))
            self._sites = sites
        return self._sites.get(f.index, [])

    def _argument(self, call: cst.Call, f: _Scope, pname: str, skip: int) -> cst.BaseExpression | None:
        """The expression a call passes for parameter `pname` of `f` (None when it passes none we can see)."""
        if self._sites is None:
            self._call_sites(f)
        args = self._bound_args.get(id(call))
        if args is None:
            args = [(str(a.star), a.keyword.value if a.keyword is not None else None, a.value) for a in call.args]
        params = f.params[skip:]
        fdef = f.node
        assert isinstance(fdef, cst.FunctionDef)
        star = fdef.params.star_arg.name.value if isinstance(fdef.params.star_arg, cst.Param) else None
        kwstar = fdef.params.star_kwarg.name.value if fdef.params.star_kwarg is not None else None
        positional_names = [n for n, _ in params if n not in (star, kwstar)]
        positional_names = positional_names[: len(positional_names) - len(fdef.params.kwonly_params)] \
            if fdef.params.kwonly_params else positional_names
        pos = 0
        for how, keyword, value in args:
            if how == "*":
                if pname in positional_names[pos:] or pname == star:
                    return value
                continue
            if how == "**":
                if pname not in positional_names[:pos]:
                    return value
                continue
            if keyword is not None:
                if keyword == pname or (pname == kwstar and keyword not in {n for n, _ in params}):
                    return value
                continue
            if pos < len(positional_names):
                if positional_names[pos] == pname:
                    return value
            elif pname == star:
                return value
            pos += 1
        return None
