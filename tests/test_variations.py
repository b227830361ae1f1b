"""Tests for robustrank.variations and robustrank.query_types (fast, no data needed)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from robustrank.query_types import (
    LONG_MIN_WORDS,
    SHORT_MAX_WORDS,
    classify_queries,
    length_bucket,
    question_type,
    slices,
)
from robustrank.seeds import variant_rng
from robustrank.text import stopwords
from robustrank.variations import (
    QWERTY_NEIGHBOURS,
    VARIATIONS,
    CharTypo,
    Combined,
    QueryVariant,
    StopwordDrop,
    StopwordInsert,
    SynonymSubstitution,
    Variation,
    WordShuffle,
    build_variation,
    edit_count,
    generate_variants,
)

LONG_QUERY = (
    "measurement of atmospheric pressure changes during thunderstorms "
    "across coastal mountain regions and desert plateaus"
)


class Synonym(NamedTuple):
    word: str
    similarity: float


class FakeLexicon:
    """Minimal stand-in for robustrank.lexicon: fixed synonym table."""

    TABLE = {
        "car": (("automobile", 0.9), ("vehicle", 0.8), ("auto", 0.6)),
        "cheap": (("inexpensive", 0.85), ("affordable", 0.7)),
        "buy": (("purchase", 0.9),),
        "the": (("teh", 0.99),),  # a stopword: must never be substituted
    }

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None, float]] = []

    def synonyms(self, word, k=None, min_similarity=0.0):
        self.calls.append((word, k, min_similarity))
        found = [Synonym(w, s) for w, s in self.TABLE.get(word, ()) if s >= min_similarity]
        return tuple(found if k is None else found[:k])


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


# --------------------------------------------------------------------------- rounding / seeds


def test_edit_count_rule():
    assert edit_count(0.0, 10) == 0
    assert edit_count(0.3, 10) == 3  # no float-noise extra edit
    assert edit_count(0.01, 10) == 1  # at least one edit
    assert edit_count(0.25, 10) == 3  # ceil
    assert edit_count(1.0, 7) == 7
    assert edit_count(0.5, 0) == 0


def _first(*args):
    return int(variant_rng(*args).integers(2**31))


def test_variant_stream_stable_distinct_and_pinned():
    assert _first(1, "typo", "q1") == _first(1, "typo", "q1")
    assert _first(1, "typo", "q1") != _first(2, "typo", "q1")
    assert _first(1, "typo", "q1") != _first(1, "shuffle", "q1")
    assert _first(1, "a", "bc") != _first(1, "ab", "c")
    # pinned to the values of earlier versions: T2's variants must not change across releases
    assert (_first(13, "typo", "1"), _first(1, "typo", "q1")) == (192596233, 322142650)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_output_and_dict_order_independent():
    queries = {"q1": LONG_QUERY, "q2": "cheap car insurance", "q3": "what is the best way"}
    var = build_variation("combined", 0.5, lexicon=FakeLexicon())
    a = generate_variants(queries, var, seed=7)
    b = generate_variants(queries, var, seed=7)
    c = generate_variants(dict(reversed(list(queries.items()))), var, seed=7)
    assert a == b
    assert {k: c[k] for k in a} == a
    assert list(a) == list(queries)


def test_different_seed_differs_on_long_query():
    texts = {
        generate_variants({"q": LONG_QUERY}, CharTypo(0.5), seed=s)["q"].text for s in range(5)
    }
    assert len(texts) > 1


def test_independent_of_pythonhashseed():
    root = Path(__file__).resolve().parents[1]
    code = (
        "from robustrank.variations import generate_variants, build_variation\n"
        f"q = {{'a': {LONG_QUERY!r}, 'b': 'the cat sat on the mat'}}\n"
        "for n in ('typo', 'shuffle', 'stopword_drop', 'stopword_insert'):\n"
        "    v = generate_variants(q, build_variation(n, 0.5), seed=3)\n"
        "    print(n, v['a'].text, '|', v['b'].text)\n"
    )
    outs = []
    for hs in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hs)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        res = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outs.append(res.stdout)
    assert outs[0] == outs[1] and outs[0]


def test_variant_fields():
    v = generate_variants({"q1": "hello   world"}, WordShuffle(1.0), seed=0)["q1"]
    assert isinstance(v, QueryVariant)
    assert (v.query_id, v.original, v.variation) == ("q1", "hello   world", "shuffle")
    assert v.text == "world hello"
    assert v.changed and len(v.edits) == 1


def test_rate_zero_only_normalises_whitespace():
    for name in ("typo", "shuffle", "stopword_drop", "stopword_insert"):
        v = generate_variants({"q": "  the  cat sat "}, build_variation(name, 0.0), seed=1)["q"]
        assert v.text == "the cat sat"
        assert v.edits == ()
        assert not v.changed


# --------------------------------------------------------------------------- CharTypo


@pytest.mark.parametrize("rate,expected", [(0.3, 3), (0.05, 1), (1.0, 10), (0.5, 5)])
def test_typo_changes_expected_number_of_words(rate, expected):
    q = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"
    for seed in range(5):
        text, edits = CharTypo(rate).apply(q, _rng(seed))
        new, old = text.split(), q.split()
        assert len(new) == len(old)
        assert sum(a != b for a, b in zip(old, new)) == expected
        assert len(edits) == expected


def test_typo_prefers_long_words():
    q = "an ox is in it barnyard"
    for seed in range(10):
        text, _ = CharTypo(0.01).apply(q, _rng(seed))
        new = text.split()
        assert new[:5] == q.split()[:5] and new[5] != "barnyard"


def test_typo_falls_back_to_short_words():
    text, edits = CharTypo(1.0).apply("a ox", _rng(0))
    assert len(text.split()) == 2
    assert all(a != b for a, b in zip("a ox".split(), text.split()))
    assert len(edits) == 2


def test_typo_kinds_each():
    word = "measurement"
    for seed in range(20):
        swapped, log = CharTypo(1.0, kinds=("swap",)).apply(word, _rng(seed))
        assert sorted(swapped) == sorted(word) and swapped != word
        assert sum(a != b for a, b in zip(swapped, word)) == 2
        assert log == (f"swap: {word!r} -> {swapped!r}",)

        dropped, _ = CharTypo(1.0, kinds=("drop",)).apply(word, _rng(seed))
        assert len(dropped) == len(word) - 1 and _is_subsequence(list(dropped), list(word))

        inserted, _ = CharTypo(1.0, kinds=("insert",)).apply(word, _rng(seed))
        assert len(inserted) == len(word) + 1 and _is_subsequence(list(word), list(inserted))

        keyed, _ = CharTypo(1.0, kinds=("keyboard",)).apply(word, _rng(seed))
        diffs = [(a, b) for a, b in zip(word, keyed) if a != b]
        assert len(keyed) == len(word) and len(diffs) == 1
        assert diffs[0][1] in QWERTY_NEIGHBOURS[diffs[0][0]]


def test_typo_swap_needs_distinct_adjacent_letters():
    # "aaa" has no swap that changes it, so it is not eligible; only "abc" can change.
    text, edits = CharTypo(1.0, kinds=("swap",)).apply("aaa abc", _rng(0))
    assert text.split()[0] == "aaa" and text.split()[1] != "abc"
    assert len(edits) == 1


def test_typo_keeps_punctuation_and_case_of_untouched():
    text, _ = CharTypo(0.01, kinds=("keyboard",)).apply("What IS Measurement?", _rng(0))
    assert text.endswith("?")
    untouched = [a == b for a, b in zip("What IS Measurement?".split(), text.split())]
    assert sum(untouched) == 2


def test_keyboard_map_complete_and_symmetric():
    assert set(QWERTY_NEIGHBOURS) == set("abcdefghijklmnopqrstuvwxyz")
    for ch, neighbours in QWERTY_NEIGHBOURS.items():
        assert neighbours and ch not in neighbours
        for n in neighbours:
            assert ch in QWERTY_NEIGHBOURS[n]


def test_typo_kinds_validation():
    with pytest.raises(ValueError, match="kinds"):
        CharTypo(0.5, kinds=())
    with pytest.raises(ValueError, match="kinds"):
        CharTypo(0.5, kinds=("swap", "teleport"))
    assert CharTypo(0.5, kinds=["swap"]).kinds == ("swap",)


# --------------------------------------------------------------------------- synonyms


def test_synonym_only_uses_lexicon_synonyms():
    lex = FakeLexicon()
    q = "buy the cheap car online"
    allowed = {w for w, _ in lex.TABLE["car"]} | {w for w, _ in lex.TABLE["cheap"]} | {"purchase"}
    for seed in range(10):
        text, edits = SynonymSubstitution(1.0, lex).apply(q, _rng(seed))
        new = text.split()
        assert new[1] == "the" and new[4] == "online"  # stopword / no synonyms: untouched
        assert all(w in allowed for w in (new[0], new[2], new[3]))
        assert len(edits) == 3


def test_synonym_top_k_and_min_similarity_passed():
    lex = FakeLexicon()
    for seed in range(10):
        text, _ = SynonymSubstitution(1.0, lex, k=1).apply("car", _rng(seed))
        assert text == "automobile"
    assert ("car", 1, 0.0) in lex.calls
    lex2 = FakeLexicon()
    text, edits = SynonymSubstitution(1.0, lex2, min_similarity=0.95).apply("cheap car", _rng(0))
    assert text == "cheap car" and edits == ()
    assert all(ms == 0.95 for _, _, ms in lex2.calls)


def test_synonym_rate_and_punctuation():
    lex = FakeLexicon()
    text, edits = SynonymSubstitution(0.01, lex).apply("Cheap car?", _rng(3))
    assert len(edits) == 1
    toks = text.split()
    assert toks[-1].endswith("?")
    assert sum(a != b for a, b in zip("Cheap car?".split(), toks)) == 1


def test_synonym_requires_lexicon():
    with pytest.raises(ValueError, match="lexicon"):
        SynonymSubstitution(0.5, None)
    with pytest.raises(ValueError, match="k"):
        SynonymSubstitution(0.5, FakeLexicon(), k=0)


# --------------------------------------------------------------------------- shuffle


def test_shuffle_keeps_multiset():
    for seed in range(10):
        for rate in (0.2, 0.5, 1.0):
            text, _ = WordShuffle(rate).apply(LONG_QUERY, _rng(seed))
            assert Counter(text.split()) == Counter(LONG_QUERY.split())
            assert text != LONG_QUERY


def test_shuffle_moves_at_most_chosen_positions():
    q = "a b c d e f g h i j"
    for seed in range(10):
        text, _ = WordShuffle(0.3).apply(q, _rng(seed))
        moved = sum(x != y for x, y in zip(q.split(), text.split()))
        assert 2 <= moved <= 3


def test_shuffle_small_rate_still_changes_two_word_query():
    text, edits = WordShuffle(0.01).apply("hello world", _rng(0))
    assert text == "world hello" and len(edits) == 1
    assert WordShuffle(1.0).apply("single", _rng(0)) == ("single", ())
    assert WordShuffle(1.0).apply("same same", _rng(0)) == ("same same", ())


# --------------------------------------------------------------------------- stopwords


def test_stopword_drop_removes_only_stopwords():
    sw = stopwords()
    q = "what is the capital of France and why"
    for seed in range(10):
        text, edits = StopwordDrop(0.5).apply(q, _rng(seed))
        new, old = text.split(), q.split()
        assert _is_subsequence(new, old)
        removed = Counter(old) - Counter(new)
        assert all(w.lower() in sw for w in removed.elements())
        n_sw = sum(w.lower() in sw for w in old)
        assert sum(removed.values()) == math.ceil(0.5 * n_sw) == len(edits)
    text, _ = StopwordDrop(1.0).apply(q, _rng(0))
    assert text == "capital France"


def test_all_stopword_query_becomes_empty_and_is_kept():
    out = generate_variants({"q1": "what is the", "q2": ""}, StopwordDrop(1.0), seed=0)
    assert set(out) == {"q1", "q2"}
    assert out["q1"].text == "" and len(out["q1"].edits) == 3
    assert out["q2"].text == "" and out["q2"].edits == ()


def test_stopword_insert():
    sw = stopwords()
    q = "capital France population"
    for seed in range(10):
        text, edits = StopwordInsert(0.5).apply(q, _rng(seed))
        new = text.split()
        assert len(new) == 3 + math.ceil(0.5 * 3) == 5
        assert _is_subsequence(q.split(), new)
        added = Counter(new) - Counter(q.split())
        assert all(w in sw for w in added.elements())
        assert len(edits) == 2
    assert StopwordInsert(1.0).apply("", _rng(0)) == ("", ())


# --------------------------------------------------------------------------- combined / registry


def test_combined_applies_parts_in_order():
    class Tag:
        def __init__(self, tag):
            self.name = tag

        def apply(self, text, rng):
            return f"{text} {self.name}", (f"tag: {self.name}",)

    comb = Combined((Tag("x"), Tag("y")))
    assert comb.name == "combined"
    assert comb.apply("q", _rng(0)) == ("q x y", ("tag: x", "tag: y"))
    assert isinstance(comb, Variation)


def test_registry_and_build_variation():
    assert set(VARIATIONS) == {
        "typo", "synonym", "shuffle", "stopword_drop", "stopword_insert", "combined"
    }
    lex = FakeLexicon()
    for name in VARIATIONS:
        var = build_variation(name, 0.4, lexicon=lex)
        assert var.name == name
        assert isinstance(var, Variation)
    comb = build_variation("combined", 0.4, lexicon=lex)
    assert [type(p) for p in comb.parts] == [SynonymSubstitution, CharTypo, WordShuffle]
    assert all(p.rate == 0.4 for p in comb.parts)
    for name in ("synonym", "combined"):
        with pytest.raises(ValueError, match="lexicon"):
            build_variation(name, 0.4)
    with pytest.raises(ValueError, match="known: combined, shuffle, stopword_drop"):
        build_variation("paraphrase", 0.4)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), True, "0.5", None])
@pytest.mark.parametrize(
    "make",
    [
        lambda r: CharTypo(r),
        lambda r: SynonymSubstitution(r, FakeLexicon()),
        lambda r: WordShuffle(r),
        lambda r: StopwordDrop(r),
        lambda r: StopwordInsert(r),
        lambda r: build_variation("typo", r),
    ],
)
def test_rate_validation(make, bad):
    with pytest.raises(ValueError, match="rate"):
        make(bad)


# --------------------------------------------------------------------------- query types


@pytest.mark.parametrize(
    "text,label",
    [
        ("what is the capital of france", "what"),
        ("What's a bond?", "what"),
        ("how long to boil an egg", "how"),
        ("why is the sky blue", "why"),
        ("when did ww2 end", "when"),
        ("where is the eiffel tower", "where"),
        ("which planet is largest", "which"),
        ("who wrote hamlet", "who"),
        ("whose dog is this", "who"),
        ("is coffee bad for you", "yes_no"),
        ("Does aspirin thin blood", "yes_no"),
        ("can dogs eat grapes?", "yes_no"),
        ("tell me about paris?", "other_question"),
        ("cost of concrete flooring", "keyword"),
        ("definition of what", "keyword"),
        ("", "keyword"),
    ],
)
def test_question_type(text, label):
    assert question_type(text) == label


def test_length_bucket():
    assert (SHORT_MAX_WORDS, LONG_MIN_WORDS) == (3, 9)
    assert length_bucket("") == "short"
    assert length_bucket("a b c") == "short"
    assert length_bucket("a b c ?") == "short"
    assert length_bucket("a b c d") == "medium"
    assert length_bucket("a b c d e f g h") == "medium"
    assert length_bucket("a b c d e f g h i") == "long"


def test_classify_and_slices():
    queries = {
        "3": "what is a lobster roll made of",
        "1": "lobster roll",
        "2": "is a lobster a crustacean or an insect or a spider",
    }
    cls = classify_queries(queries)
    assert cls == {
        "question_type": {"3": "what", "1": "keyword", "2": "yes_no"},
        "length": {"3": "medium", "1": "short", "2": "long"},
    }
    assert slices(queries) == {
        "question_type=what": ["3"],
        "question_type=yes_no": ["2"],
        "question_type=keyword": ["1"],
        "length=short": ["1"],
        "length=medium": ["3"],
        "length=long": ["2"],
    }
    assert slices({"b": "x", "a": "y"}) == {
        "question_type=keyword": ["a", "b"],
        "length=short": ["a", "b"],
    }
