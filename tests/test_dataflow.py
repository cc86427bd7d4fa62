"""The rule-agnostic data flow: propagation, sanitizers, summaries across functions, bounds."""

from __future__ import annotations

import textwrap

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from datasec_scan.semantics.dataflow import MAX_PATH, FlowAnalysis
from datasec_scan.semantics.names import NameResolver


def _analyze(source: str) -> tuple[cst.Module, FlowAnalysis, NameResolver]:
    module = cst.parse_module(textwrap.dedent(source))
    names = NameResolver(module)
    return module, FlowAnalysis(module, names), names


def _classifier(names: NameResolver):
    def classify(expr: cst.BaseExpression):
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
                "getenv", "get") and names.call_names(expr) & {"os.getenv", "os.environ.get"}:
            return ("env",)
        if isinstance(expr, cst.Attribute) and expr.attr.value == "environ" and "os.environ" in names.qualified_names(
                expr):
            return ("env",)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == (
                "gethostname") and "socket.gethostname" in names.call_names(expr):
            return ("host",)
        if isinstance(expr, cst.SimpleString) and ".ssh/" in expr.value:
            return ("ssh",)
        return ()

    return classify


def _sink_labels(source: str, sink: str = "sink") -> list[set[str]]:
    """Labels reaching the first argument of every call of `sink(...)`, in order."""
    module, flow, names = _analyze(source)
    classify = _classifier(names)
    found: list[set[str]] = []

    class _Sinks(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == sink and node.args:
                found.append({t.label for t in flow.taints(node.args[0].value, classify)})

    module.visit(_Sinks())
    return found


@pytest.mark.parametrize("code", [
    "x = os.environ['A']\nsink(x)",
    "x = os.getenv('A')\ny = x\nz = y\nsink(z)",
    "a, b = os.getenv('A'), 1\nsink(a)",
    "a, b = pair = os.getenv('A')\nsink(b)",
    "x = ''\nx += os.getenv('A')\nsink(x)",
    "d = {}\nd['k'] = os.getenv('A')\nsink(d)",
    "d = {}\nd.update(os.environ)\nsink(d)",
    "l = []\nl.append(os.getenv('A'))\nsink(l)",
    "l = []\nl.extend([os.getenv('A')])\nsink(l)",
    "sink({'k': os.getenv('A')})",
    "sink([v for v in os.environ.values()])",
    "sink({k: v for k, v in os.environ.items()})",
    "sink(f'token={os.getenv(\"A\")}')",
    "sink('%s' % os.getenv('A'))",
    "sink('{}'.format(os.getenv('A')))",
    "sink('a' + os.getenv('A'))",
    "sink(os.getenv('A').encode())",
    "sink(base64.b64encode(json.dumps(dict(os.environ)).encode()))",
    "sink(urllib.parse.urlencode({'e': os.getenv('A')}))",
    "sink(zlib.compress(str(os.environ).encode()))",
    "for k, v in os.environ.items():\n    sink(v)",
    "x = os.environ.copy()\nsink(x)",
    "if (t := os.getenv('A')):\n    sink(t)",
    "import io\nbuf = io.StringIO()\nbuf.write(os.getenv('A'))\nsink(buf.getvalue())",
    "from re import findall\nfor t in findall('[a-z]+', os.getenv('A')):\n    sink(t)",
])
def test_intraprocedural_propagation(code: str) -> None:
    assert _sink_labels("import os, json, base64, zlib, urllib.parse\n" + code) == [{"env"}]


@pytest.mark.parametrize("code", [
    "sink(len(os.environ))",
    "sink(bool(os.getenv('A')))",
    "sink(int(os.getenv('PORT')))",
    "sink(os.getenv('A') == 'x')",
    "sink(not os.getenv('A'))",
    "sink(isinstance(os.getenv('A'), str))",
    "sink(hashlib.sha256(os.getenv('A').encode()).hexdigest())",
    "sink(os.getenv('A').startswith('x'))",
    "x = os.getenv('A')\nsink('constant')",
    "client = Client(os.getenv('A'))\nsink(client.fetch())",
    "def f():\n    x = os.getenv('A')\ndef g():\n    x = 1\n    sink(x)",
])
def test_sanitizers_and_non_flows(code: str) -> None:
    assert _sink_labels("import os, hashlib\n" + code) == [set()]


def test_with_open_of_a_source_path() -> None:
    code = """
    import os
    with open(os.path.expanduser('~/.ssh/id_rsa')) as fh:
        key = fh.read()
    sink(key)
    """
    assert _sink_labels(code) == [{"ssh"}]


def test_summaries_across_functions() -> None:
    code = """
    import os, socket

    def collect():
        data = {}
        for k, v in os.environ.items():
            data[k] = v
        data['host'] = socket.gethostname()
        return data

    def wrap(x):
        return {'payload': x}

    def main():
        sink(wrap(collect()))
        sink(wrap('constant'))
    """
    assert _sink_labels(code) == [{"env", "host"}, set()]


def test_sink_inside_a_helper_follows_call_sites() -> None:
    code = """
    import os, threading, atexit

    def send(data):
        sink(data)

    def later(data, extra):
        sink(extra)

    def main():
        send(os.getenv('TOKEN'))
        threading.Thread(target=later, args=(1, os.getenv('A'))).start()

    atexit.register(send, socket.gethostname())
    import socket
    """
    assert _sink_labels(code) == [{"env", "host"}, {"env"}]


def test_methods_and_fields_of_one_class() -> None:
    code = """
    import os

    class Reporter:
        def __init__(self, token):
            self.token = token

        def headers(self):
            return {'Authorization': self.token}

        def send(self):
            sink(self.headers())

        def send_other(self, value):
            sink(value)

        def run(self):
            self.send_other(os.environ)

    Reporter(os.getenv('TOKEN'))
    """
    assert _sink_labels(code) == [{"env"}, {"env"}]


def test_methods_called_through_instances_and_the_class() -> None:
    code = """
    import os, socket

    class Handler:
        def shell(self, command):
            def run():
                sink(command)
            return run()

        @staticmethod
        def direct(value):
            sink(value)

        @classmethod
        def build(cls, value):
            sink(value)

        def unused(self, value):
            sink(value)

    handler = Handler()
    handler.shell(os.getenv('CMD'))
    Handler().direct(os.environ)
    Handler.build(socket.gethostname())
    Handler.unused(handler, 'fixed')
    """
    assert _sink_labels(code) == [{"env"}, {"env"}, {"host"}, set()]


def test_functions_called_through_a_dispatch_table() -> None:
    code = """
    import os, socket

    def run(value):
        sink(value)

    def show(value):
        sink(value)

    def quiet(value):
        sink(value)

    COMMANDS = {"run": run, "show": show}
    HANDLERS = [quiet]
    name = socket.gethostname()
    COMMANDS[name](os.getenv("CMD"))
    COMMANDS.get(name)(socket.gethostname())
    """
    assert _sink_labels(code) == [{"env", "host"}, {"env", "host"}, set()]


def test_calls_on_imported_names_store_nothing_into_them() -> None:
    code = """
    import os
    from dashboards import api

    board = {"description": os.getenv("HOST")}
    api.Screenboard.update(**board)
    sink(api)
    settings = {}
    settings.update(board)
    sink(settings)
    """
    assert _sink_labels(code) == [set(), {"env"}]


def test_unfed_parameter_is_not_a_source() -> None:
    code = """
    def send(data):
        sink(data)
    """
    assert _sink_labels(code) == [set()]


def test_paths_carry_steps_from_source_to_expression() -> None:
    module, flow, names = _analyze("""
    import os, base64
    def collect():
        return dict(os.environ)
    blob = base64.b64encode(str(collect()).encode())
    sink(blob)
    """)
    call = module.body[-1].body[0].value
    (taint,) = flow.taints(call.args[0].value, _classifier(names))
    messages = [m for _, m in taint.steps]
    assert taint.label == "env"
    assert messages[0].startswith("source (env)")
    assert any("returned from `collect()`" in m for m in messages)
    assert messages[-1] == "assigned to `blob`"
    assert all(isinstance(node, cst.CSTNode) for node, _ in taint.steps)


def test_results_are_deterministic_and_cached_per_classifier() -> None:
    code = "import os\nx = os.getenv('A')\ny = x\nsink(y)\n"
    first = [_sink_labels(code) for _ in range(3)]
    assert first[0] == first[1] == first[2] == [{"env"}]


def test_recursion_and_cycles_terminate() -> None:
    code = """
    import os
    def a(x):
        return b(x) + os.getenv('A')
    def b(y):
        return a(y)
    x = y = z = None
    x = y
    y = z
    z = x + os.getenv('B')
    sink(x)
    sink(a(1))
    """
    assert _sink_labels(code) == [{"env"}, {"env"}]


def test_long_chains_are_capped() -> None:
    lines = ["import os", "v0 = os.getenv('A')"] + [f"v{i} = v{i - 1}" for i in range(1, 200)] + ["sink(v199)"]
    module, flow, names = _analyze("\n".join(lines))
    call = module.body[-1].body[0].value
    (taint,) = flow.taints(call.args[0].value, _classifier(names))
    assert taint.label == "env" and len(taint.steps) <= MAX_PATH


def test_generated_5000_line_module_is_bounded() -> None:
    lines = ["import os, json, base64, requests", "G = {}"]
    for i in range(500):
        j = (i * 7919) % max(i, 1)
        lines += [
            f"def f{i}(a, b=None):",
            "    x = a + str(b)",
            "    y = [x, a]",
            f"    G['k{i}'] = y",
            f"    z = f{j}(y, x) if a else os.environ.get('V{i}')",
            "    d = {'a': z, 'b': json.dumps(y)}",
            "    for k, v in d.items():",
            "        d[k] = base64.b64encode(v)",
            "    sink(d)",
            f"    return f{(i * 31) % 500}(d, z)",
        ]
    found = _sink_labels("\n".join(lines))
    assert len(lines) >= 5000
    assert len(found) == 500 and all(labels == {"env"} for labels in found)


def test_values_of_follows_plain_assignments_defaults_and_call_sites() -> None:
    module, flow, _ = _analyze("""
    URL = "https://a.example.com"
    def send(url="https://b.example.com"):
        target = url
        sink(target)
    send("https://c.example.com")
    class C:
        def __init__(self):
            self.host = "d.example.com"
        def go(self):
            sink(self.host)
    for loop_var in range(3):
        sink(loop_var)
    """)
    calls = []

    class _Sinks(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "sink":
                calls.append(node.args[0].value)

    module.visit(_Sinks())

    def texts(expr: cst.BaseExpression) -> list[str]:
        return [module.code_for_node(v) for v in flow.values_of(expr)]

    assert texts(calls[0]) == ["url"]
    (url_name,) = flow.values_of(calls[0])
    assert sorted(texts(url_name)) == ['"https://b.example.com"', '"https://c.example.com"']
    assert texts(calls[1]) == ['"d.example.com"']
    assert texts(calls[2]) == []  # a loop variable has no single plain value


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_never_crashes_on_generated_programs(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except Exception:  # noqa: BLE001  libcst rejects some grammar-valid programs; not our concern here
        return
    names = NameResolver(module)
    flow = FlowAnalysis(module, names)
    classify = _classifier(names)

    class _All(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            for arg in node.args:
                flow.taints(arg.value, classify)

    module.visit(_All())


def test_class_attributes_are_fields() -> None:
    code = """
    import os

    class Client:
        DATA = dict(os.environ)

        def send(self):
            sink(self.DATA)
    """
    assert _sink_labels(code) == [{"env"}]


@pytest.mark.parametrize("code", [
    # a folder's listing, copies and archives carry the folder's labels
    "d = os.getenv('A')\nfor root, dirs, files in os.walk(d):\n    for f in files:\n        sink(open(os.path.join(root, f)))",
    "for p in glob.glob(os.getenv('A') + '/*'):\n    sink(p)",
    "sink([n for n in os.listdir(os.getenv('A'))])",
    "sink(open(shutil.make_archive('x', 'zip', os.getenv('A')), 'rb'))",
    "c = sqlite3.connect(os.getenv('A')).cursor()\nsink(c.fetchall())",
    # mail messages, decryption
    "from email.mime.text import MIMEText\nm = MIMEText(os.getenv('A'))\nsink(m.as_string())",
    "from email.message import EmailMessage\nm = EmailMessage()\nm.set_content(os.getenv('A'))\nsink(m.as_string())",
    "sink(cipher.decrypt(os.getenv('A')))",
    # what is stored into an archive or stream writer is stored into the file or buffer it wraps
    "with zipfile.ZipFile(path, 'w') as z:\n    z.write(os.getenv('A'))\nsink(open(path, 'rb'))",
    "buf = io.BytesIO()\nwith tarfile.open(fileobj=buf, mode='w') as t:\n    t.add(os.getenv('A'))\nsink(buf.getvalue())",
    "buf = io.StringIO()\nw = csv.writer(buf)\nw.writerow([os.getenv('A')])\nsink(buf.getvalue())",
])
def test_listings_archives_and_writers(code: str) -> None:
    assert _sink_labels("import os, glob, shutil, sqlite3, zipfile, tarfile, io, csv\n" + code) == [{"env"}]


@pytest.mark.parametrize("code", [
    # a plain file's path is not what was written into it (a downloader writes, then runs the path)
    "with open(path, 'w') as f:\n    f.write(os.getenv('A'))\nsink(path)",
    # calling a module's `put`/`update` is not a store into the module
    "requests.put('https://example.net', data=os.getenv('A'))\nsink(requests.codes)",
    "with zipfile.ZipFile(path, 'w') as z:\n    z.write('README.md')\nsink(open(path, 'rb'))",
])
def test_writers_without_flows(code: str) -> None:
    assert _sink_labels("import os, zipfile, requests\n" + code) == [set()]


def test_iterables_of_loop_variables() -> None:
    module, flow, _ = _analyze("KEYS = ['A', 'B']\ndef f():\n    return {k: 1 for k in KEYS}\nfor j in (1, 2):\n    pass\n")
    found: dict[str, list[str]] = {}

    class _Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value in ("k", "j"):
                found.setdefault(node.value, []).extend(module.code_for_node(e) for e in flow.iterables_of(node))

    module.visit(_Names())
    assert set(found["k"]) == {"KEYS"} and set(found["j"]) == {"(1, 2)"}


def test_single_return_of_argument_less_module_helpers() -> None:
    module, flow, _ = _analyze('''
        import os
        def head():
            return "aW1w"
        def twice():
            if os.sep:
                return "a"
            return "b"
        def with_param(x="p"):
            return x
        def shadowed():
            return "first"
        def shadowed():
            return "second"
        class C:
            def head(self):
                return "method"
        def outer():
            def inner():
                return "nested"
            return inner()
        def pieces():
            yield "aW1w"
        async def later():
            return "aW1w"
        r = [head(), twice(), with_param(), shadowed(), C().head(), outer(), head(1), pieces(), later()]
    ''')
    found: dict[str, str | None] = {}

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            value = flow.single_return(node)
            found[module.code_for_node(node)] = None if value is None else module.code_for_node(value)

    module.visit(_Calls())
    assert found["head()"] == '"aW1w"'
    for call in ("twice()", "with_param()", "shadowed()", "C().head()", "head(1)", "inner()", "pieces()", "later()"):
        assert found[call] is None, call
    assert found["outer()"] == "inner()"


def test_file_copies_carry_the_source_into_the_destination() -> None:
    code = '''
        import os, shutil
        from shutil import copy2
        key = os.path.expanduser('~/.ssh/id_rsa')
        shutil.copyfile(key, "k.tmp")
        sink(open("k.tmp").read())
        dst = "/tmp/x"
        copy2(key, dst)
        sink(open(dst).read())
        shutil.copy("notes.txt", "n.tmp")
        sink(open("n.tmp").read())
        sink(open("other.tmp").read())
    '''
    assert _sink_labels(code) == [{"ssh"}, {"ssh"}, set(), set()]


def test_file_copies_named_by_keyword() -> None:
    code = '''
        import os, shutil
        key = os.path.expanduser('~/.ssh/id_rsa')
        shutil.copyfile(dst="k.tmp", src=key)
        sink(open("k.tmp").read())
    '''
    assert _sink_labels(code) == [{"ssh"}]


def test_what_is_written_to_a_literal_file_is_read_back_from_it() -> None:
    code = '''
        import os
        with open("loot.txt", "w") as out:
            out.write(open(os.path.expanduser('~/.ssh/id_rsa')).read())
        sink(open("loot.txt", "rb").read())
        log = open("notes.txt", "a")
        log.write("started")
        sink(open("notes.txt").read())
        sink(open("other.txt").read())
    '''
    assert _sink_labels(code) == [{"ssh"}, set(), set()]


def test_what_is_dumped_or_printed_into_a_stream_is_in_its_file() -> None:
    code = '''
        import json, os, pickle, shutil
        with open("env.json", "w") as out:
            json.dump(dict(os.environ), out)
        sink(open("env.json").read())
        with open("keys.txt", "w") as keys:
            print(open(os.path.expanduser('~/.ssh/id_rsa')).read(), file=keys)
        sink(open("keys.txt").read())
        with open("copy.bin", "wb") as dst:
            shutil.copyfileobj(open(os.path.expanduser('~/.ssh/id_ed25519'), "rb"), dst)
        sink(open("copy.bin", "rb").read())
        with open("notes.txt", "w") as notes:
            json.dump({"started": True}, notes)
            print("started", file=notes)
        sink(open("notes.txt").read())
    '''
    assert _sink_labels(code) == [{"env"}, {"ssh"}, {"ssh"}, set()]


def test_readers_of_an_in_memory_buffer_carry_the_buffers_data() -> None:
    code = '''
        import io, os, tarfile, zipfile
        from PIL import Image
        img = Image.open(io.BytesIO(os.getenv("BLOB").encode())).convert("RGB")
        sink(img.getdata())
        sink(tarfile.open(fileobj=io.BytesIO(os.environ["T"].encode())).extractfile("x").read())
        sink(zipfile.ZipFile(io.BytesIO(b"PK")).read("x"))
        sink(Image.open("photo.png"))
    '''
    assert _sink_labels(code) == [{"env"}, {"env"}, set(), set()]
