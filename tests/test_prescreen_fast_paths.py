"""The pre-screens' fast paths (word sets from `bytes.translate`, literal-first regexes, positions checked in Python)
agree with the plain regex definitions they replace, on generated text full of the awkward characters."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rules import _credential_calls as calls
from rules import _outbound as outbound
from rules import _prescreen as ps

# Pieces that make the regexes' edge cases likely: names, dots, assignment and comparison signs, brackets,
# quotes, line breaks and continuations, comments, and non-ASCII letters, digits and look-alikes
# (full-width letters, the Kelvin sign that lowers to `k`, a capital that lowers to two characters).
PIECES = ("name", "x", "as", "with", "import", "globals", "vars", "key", "api", "Key", "API_KEY", "token", "pass",
          "password", "secret", ".", ",", "=", "==", ":", "(", ")", "[", "]", " ", "\t", "\n", "\\\n", "#", "'", '"',
          "_", "1", "é", "ｅｘｅｃ", "\u212a", "\u0130", "—", "\u3000", "getattr")
source = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def _forms(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text)
    return [text] if folded == text else [text, folded]


@settings(max_examples=400, deadline=None)
@given(source)
@example("ｅｘｅｃ(x) \u212aey é—x")
def test_words_are_the_identifier_tokens_of_every_form(text: str) -> None:
    view = ps.View(text)
    assert view.words == {w for form in _forms(text) for w in re.findall(r"\w+", form)}


@settings(max_examples=400, deadline=None)
@given(source)
def test_bare_words_are_those_not_written_after_a_dot(text: str) -> None:
    dotted = {tok for form in _forms(text) for tok in re.findall(r"[\w.]+", form)}
    expected = {tok.split(".", 1)[0] for tok in dotted if not tok.startswith(".")} - {""}
    assert ps.View(text).bare == expected


@settings(max_examples=400, deadline=None)
@given(source)
@example("API_\u212aEY = 1")
@example("\u0130 API_KEY = 1")
def test_ascii_lowering_keeps_every_character_in_place(text: str) -> None:
    assert calls._ascii_lower(text) == text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                                    "abcdefghijklmnopqrstuvwxyz"))


def _bound_by_regex(text: str, name: str) -> bool:
    name = re.escape(name)
    return re.search(rf"(?<![.\w]){name}[ \t\f]*(?:=(?!=)|:)|^[ \t\f(\[]*{name}[ \t\f]*,|"
                     rf"(?<![.\w]){name}[ \t\f]*,[^\r\n]*?(?<![=!<>])=(?!=)|\bas[ \t\f\\(\[]+{name}\b",
                     text, re.MULTILINE) is not None


@settings(max_examples=600, deadline=None)
@given(source, st.sampled_from(("name", "x", "key", "token", "as")))
@example("with open(p) as name:\n", "name")
@example("import x as \\\n (name\n", "name")
@example("alias as name", "name")
@example("has name", "name")
@example("(name, y) = 1, 2\n", "name")
@example("  [name,\n", "name")
@example("f(name, y == 2)\n", "name")
@example("a.name = 1\nname2 = 2\n", "name")
@example("name: int\n", "name")
@example("name == 1\n", "name")
def test_binding_check_matches_its_regex_definition(text: str, name: str) -> None:
    assert outbound._may_be_bound(text, name) == _bound_by_regex(text, name)


@settings(max_examples=400, deadline=None)
@given(source)
@example("x = vars(o)")
@example("o.vars()")
@example("d['globals']")
@example("locals = 1")
@example("_globals()")
def test_namespace_call_matches_its_regex_definition(text: str) -> None:
    expected = re.search(r"(?<![.\w'\"])(?:globals|locals|vars)\b(?![ \t\f]*=(?!=))", text) is not None
    assert outbound._namespace_call(text) == expected


def _secret_name_by_scan(text: str) -> bool:
    """The screen as first written: every secret word and every `key` in the lowered text, judged one by one."""
    from rules._credentials import KEY_QUALIFIERS, SECRET_COMPOUND_ENDINGS, SECRET_WORDS

    words = re.compile("(?:" + "|".join(sorted(SECRET_WORDS | set(SECRET_COMPOUND_ENDINGS),
                                                key=lambda w: (-len(w), w))) + ")(?![a-z0-9])")
    lower = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    for view in calls.text_views(text, strings=True):
        low = view.translate(lower)
        if "authorization" in low:
            return True
        for m in words.finditer(low):
            start, end = m.span()
            piece = view[start:end]
            if not calls._one_piece(piece):
                continue
            if m.group() not in SECRET_COMPOUND_ENDINGS and start:
                before = view[start - 1]
                if (piece.islower() and before.isascii() and before.isalpha()) or (
                        piece.isupper() and "A" <= before <= "Z"):
                    continue
            if calls._is_name_end(view, start, end):
                return True
        for m in re.finditer(r"key(?![a-z0-9])", low):
            cut = m.start()
            while cut and not ("a" <= low[cut - 1] <= "z" or "0" <= low[cut - 1] <= "9"):
                cut -= 1
            if low.endswith(tuple(KEY_QUALIFIERS), max(0, cut - 11), cut) and calls._is_name_end(view, m.start(), m.end()):
                return True
    return False


@settings(max_examples=600, deadline=None)
@given(source)
def test_secret_name_screen_lets_through_all_the_plain_scan_does(text: str) -> None:
    if _secret_name_by_scan(text):
        assert calls.may_name_secret(text)


def test_counted_words_match_whole_word_counts() -> None:
    text = "x = 1\nprint(x.x, xx, x_)\n"
    words = calls._Words(text)
    assert words.bound("x") and not words.bound("xx") and not words.bound("x_") and not words.bound("None")
