"""Tests for robustrank.lexicon: the bundled lexicon and the file format."""

import gzip
import hashlib
import json
import re
import time

import pytest

from robustrank.lexicon import (
    FORMAT_MAGIC,
    Lexicon,
    LexiconError,
    Synonym,
    default_lexicon_path,
)

HEADER = FORMAT_MAGIC + "\t1\t" + json.dumps({"name": "toy", "version": 3, "note": "test"})
BODY = [
    "car\tauto:0.9000 automobile:0.8500 machine:0.4000",
    "# a comment line",
    "",
    "Fast\tquick:0.7589 rapid:0.6000 firm:-0.1000",
    "lonely\t",
]


def write(path, lines, *, gz=False):
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bundled():
    return Lexicon.load()


# -- bundled lexicon ---------------------------------------------------------------------


def test_bundled_loads_fast_and_is_cached():
    start = time.perf_counter()
    lex = Lexicon.load()
    assert time.perf_counter() - start < 1.5
    assert Lexicon.load() is lex
    assert default_lexicon_path().name == "lexicon-wordnet-glove-v1.tsv.gz"
    assert default_lexicon_path().is_file()


def test_bundled_has_sensible_entries(bundled):
    assert len(bundled) > 15_000
    assert "information" in bundled and "INFORMATION" in bundled
    assert "data" in [s.word for s in bundled.synonyms("information")]
    assert bundled.synonyms("quickly")[0] == Synonym("rapidly", 0.776)
    # inflected words get re-inflected synonyms
    assert "calculated" in [s.word for s in bundled.synonyms("measured")]
    assert "calculators" in [s.word for s in bundled.synonyms("computers")]
    # antonyms and the word itself are excluded
    good = [s.word for s in bundled.synonyms("good")]
    assert "bad" not in good and "good" not in good
    assert bundled.synonyms("the") == ()  # stopwords have no entry


def test_bundled_entries_are_well_formed(bundled):
    for word in list(bundled)[:2000]:
        syns = bundled.synonyms(word)
        assert 1 <= len(syns) <= 50
        sims = [s.similarity for s in syns]
        assert sims == sorted(sims, reverse=True)
        assert all(0.5 <= x <= 1.0 for x in sims)
        assert all(s.word.isalpha() and s.word != word for s in syns)


def test_bundled_info(bundled):
    info = bundled.info
    assert info["name"] == "wordnet-glove"
    assert info["version"] == 1
    assert info["format_version"] == 1
    assert info["entries"] == len(bundled) == info["counts"]["entries"]
    assert info["thresholds"]["min_similarity"] == 0.5
    assert len(info["sha256"]) == 64
    assert info["path"].endswith("lexicon-wordnet-glove-v1.tsv.gz")
    assert "build_command" in info and "sources" in info
    json.dumps(info)  # goes into results.json


# -- file format -------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip(tmp_path, gz):
    path = write(tmp_path / ("toy.tsv.gz" if gz else "toy.tsv"), [HEADER, *BODY], gz=gz)
    lex = Lexicon.load(path)
    assert len(lex) == 2  # "lonely" has no synonyms and is no entry
    assert "car" in lex and "fast" in lex and "FAST" in lex and "lonely" not in lex
    assert lex.synonyms("CAR") == (
        Synonym("auto", 0.9),
        Synonym("automobile", 0.85),
        Synonym("machine", 0.4),
    )
    assert lex.synonyms("fast") == (Synonym("quick", 0.7589), Synonym("rapid", 0.6))
    assert lex.synonyms("fast", min_similarity=-1.0)[-1] == Synonym("firm", -0.1)
    assert lex.synonyms("unknown") == ()
    info = lex.info
    assert info["name"] == "toy" and info["version"] == 3 and info["note"] == "test"
    assert info["path"] == str(path) and info["entries"] == 2
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_gz_and_plain_give_the_same_table(tmp_path):
    plain = Lexicon.load(write(tmp_path / "a.tsv", [HEADER, *BODY]))
    packed = Lexicon.load(str(write(tmp_path / "b.tsv.gz", [HEADER, *BODY], gz=True)))
    for word in ("car", "fast"):
        assert plain.synonyms(word, min_similarity=-1) == packed.synonyms(word, min_similarity=-1)


def test_unsorted_synonyms_are_sorted(tmp_path):
    lex = Lexicon.load(write(tmp_path / "u.tsv", [HEADER, "x\ta:0.1 b:0.9 c:0.5"]))
    assert [s.word for s in lex.synonyms("x")] == ["b", "c", "a"]


def test_k_and_min_similarity(tmp_path):
    lex = Lexicon.load(write(tmp_path / "t.tsv", [HEADER, *BODY]))
    assert [s.word for s in lex.synonyms("car", k=2)] == ["auto", "automobile"]
    assert lex.synonyms("car", k=0) == ()
    assert len(lex.synonyms("car", k=10)) == 3
    assert [s.word for s in lex.synonyms("car", min_similarity=0.85)] == ["auto", "automobile"]
    assert lex.synonyms("car", min_similarity=0.95) == ()
    assert [s.word for s in lex.synonyms("car", k=1, min_similarity=0.5)] == ["auto"]
    with pytest.raises(ValueError):
        lex.synonyms("car", k=-1)


def test_coverage_is_exact(tmp_path):
    lex = Lexicon.load(write(tmp_path / "t.tsv", [HEADER, *BODY]))
    tokens = ["car", "Car", "the", "fast", "lonely", "car", "x", "y"]
    assert lex.coverage(tokens) == 4 / 8
    assert lex.coverage(iter(tokens)) == 0.5
    assert lex.coverage([]) == 0.0


# -- malformed files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("nosynonyms here", "no tab"),
        ("word\tx:abc", "not a number"),
        ("word\tx:1.5", "outside [-1, 1]"),
        ("word\tx:-1.01", "outside [-1, 1]"),
        ("word\tx:nan", "outside [-1, 1]"),
        ("word\tnocolon", "synonym:similarity"),
        ("word\t:0.5", "synonym:similarity"),
        ("car\tauto:0.5", "duplicate"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_malformed_line_names_file_and_line(tmp_path, bad_line, message, gz):
    path = write(tmp_path / ("bad.tsv.gz" if gz else "bad.tsv"), [HEADER, *BODY, bad_line], gz=gz)
    with pytest.raises(LexiconError) as err:
        Lexicon.load(path)
    assert str(err.value).startswith(f"{path}:{len(BODY) + 2}: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    "header",
    [
        "car\tauto:0.9",  # header missing
        "#robustrank-lexicon\t2\t{}",  # unsupported version
        "#robustrank-lexicon\tone\t{}",  # version not an integer
        "#robustrank-lexicon\t1",  # no metadata
        "#robustrank-lexicon\t1\t{not json",
        "#robustrank-lexicon\t1\t[1, 2]",  # not an object
        "#something-else\t1\t{}",
    ],
)
def test_bad_header(tmp_path, header):
    path = write(tmp_path / "h.tsv", [header, "fast\tquick:0.7"])
    with pytest.raises(LexiconError, match="^" + re.escape(f"{path}:1: ")):
        Lexicon.load(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("")
    with pytest.raises(LexiconError, match="^" + re.escape(f"{path}:1: ")):
        Lexicon.load(path)


def test_lexicon_error_is_value_error():
    assert issubclass(LexiconError, ValueError)
