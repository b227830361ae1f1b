"""Synonym lexicon shared by robustrank's word-substitution attacks and certification.

robustrank ships one lexicon, ``resources/lexicon-wordnet-glove-v1.tsv.gz``: WordNet 3.0
synonyms re-inflected to each word's form and ranked by GloVe 6B-50d cosine similarity (a
stand-in for the counter-fitted GloVe neighbours of PRADA and CertDR; see ``docs/lexicon.md``
and ``tools/build_lexicon.py``). Any file in the same format can be loaded instead.

File format (UTF-8, optionally gzip-compressed; detected from the content, not the name):

* Line 1, the header: ``#robustrank-lexicon<TAB>1<TAB>{json}``, where ``1`` is the format
  version and ``{json}`` a JSON object of metadata (e.g. ``name``, ``version``, ``sources``,
  ``thresholds``, ``build_command``, ``counts``).
* Then one line per word: ``word<TAB>syn1:0.8123 syn2:0.7511 ...``, synonyms separated by
  single spaces, each ``synonym:similarity`` with a similarity in [-1, 1] (the shipped file
  writes 4 decimals and sorts by descending similarity; the loader sorts if needed). Words are
  matched case-insensitively; a word may appear once. A line with no synonyms is allowed and
  adds nothing.
* Lines starting with ``#`` after the header are comments; blank lines are ignored.

Example::

    from robustrank.lexicon import Lexicon

    lex = Lexicon.load()                 # the bundled lexicon, cached
    lex.synonyms("measured", k=3)        # (Synonym(word='calculated', similarity=0.7945), ...)
    lex.info                             # provenance for results.json
"""

import copy
import dataclasses
import functools
import gzip
import hashlib
import json
import logging
import math
import os
import pathlib
import time
from collections.abc import Iterable
from importlib import resources

__all__ = [
    "BUNDLED_LEXICON",
    "FORMAT_MAGIC",
    "FORMAT_VERSION",
    "Lexicon",
    "LexiconError",
    "Synonym",
    "default_lexicon_path",
]

LOG = logging.getLogger(__name__)

FORMAT_MAGIC = "#robustrank-lexicon"
FORMAT_VERSION = 1
BUNDLED_LEXICON = "lexicon-wordnet-glove-v1.tsv.gz"
_RESOURCE_PACKAGE = "robustrank.resources"


@dataclasses.dataclass(frozen=True, slots=True)
class Synonym:
    """One synonym of a word.

    Attributes:
        word: The synonym, as written in the lexicon file.
        similarity: Its similarity to the looked-up word, in [-1, 1].
    """

    word: str
    similarity: float


class LexiconError(ValueError):
    """A lexicon file is malformed; the message reads ``path:LINE: what is wrong``."""


def default_lexicon_path() -> pathlib.Path:
    """Return the path of the lexicon bundled with robustrank.

    Returns:
        The path of ``robustrank/resources/lexicon-wordnet-glove-v1.tsv.gz``.
    """
    return pathlib.Path(str(resources.files(_RESOURCE_PACKAGE).joinpath(BUNDLED_LEXICON)))


def _fail(path: str, line: int, what: str) -> LexiconError:
    return LexiconError(f"{path}:{line}: {what}")


def _parse_header(line: str, path: str) -> tuple[int, dict]:
    parts = line.rstrip("\r\n").split("\t", 2)
    if parts[0] != FORMAT_MAGIC:
        raise _fail(path, 1, f"not a robustrank lexicon: line 1 must start with {FORMAT_MAGIC!r}")
    if len(parts) != 3:
        raise _fail(path, 1, "header must be '#robustrank-lexicon<TAB>VERSION<TAB>{json}'")
    try:
        version = int(parts[1])
    except ValueError:
        raise _fail(path, 1, f"format version {parts[1]!r} is not an integer") from None
    if version != FORMAT_VERSION:
        raise _fail(path, 1, f"unsupported format version {version} (supported: {FORMAT_VERSION})")
    try:
        metadata = json.loads(parts[2])
    except json.JSONDecodeError as exc:
        raise _fail(path, 1, f"header metadata is not valid JSON: {exc}") from None
    if not isinstance(metadata, dict):
        raise _fail(path, 1, "header metadata must be a JSON object")
    return version, metadata


def _parse_entries(lines: list[str], path: str) -> dict[str, tuple[tuple[str, float], ...]]:
    table: dict[str, tuple[tuple[str, float], ...]] = {}
    seen: set[str] = set()
    isfinite = math.isfinite
    for lineno, line in enumerate(lines[1:], start=2):
        if not line or line[0] == "#" or line.isspace():
            continue
        word, tab, rest = line.partition("\t")
        if not tab:
            raise _fail(path, lineno, "expected 'word<TAB>synonym:similarity ...' (no tab found)")
        word = word.strip().lower()
        if not word or " " in word:
            raise _fail(path, lineno, f"invalid word {word!r}")
        if word in seen:
            raise _fail(path, lineno, f"duplicate entry for {word!r}")
        seen.add(word)
        rest = rest.strip()
        if not rest:
            continue
        pairs = []
        for item in rest.split():
            syn, colon, sim_text = item.rpartition(":")
            if not colon or not syn:
                raise _fail(path, lineno, f"expected 'synonym:similarity', got {item!r}")
            try:
                sim = float(sim_text)
            except ValueError:
                what = f"similarity {sim_text!r} of {syn!r} is not a number"
                raise _fail(path, lineno, what) from None
            if not (isfinite(sim) and -1.0 <= sim <= 1.0):
                raise _fail(path, lineno, f"similarity {sim_text} of {syn!r} is outside [-1, 1]")
            pairs.append((syn, sim))
        if any(pairs[i][1] < pairs[i + 1][1] for i in range(len(pairs) - 1)):
            pairs.sort(key=lambda p: -p[1])  # stable: ties keep file order
        table[word] = tuple(pairs)
    return table


class Lexicon:
    """A read-only word -> ranked synonyms table.

    Build one with :meth:`Lexicon.load`. Lookups are case-insensitive on the queried word.
    Only words with at least one synonym count as entries (``in``, ``len``).
    """

    def __init__(
        self,
        table: dict[str, tuple[tuple[str, float], ...]],
        *,
        metadata: dict | None = None,
        path: str = "<memory>",
        sha256: str | None = None,
        format_version: int = FORMAT_VERSION,
    ) -> None:
        """Wrap an already parsed table; most callers want :meth:`load`.

        Args:
            table: Lowercase word -> ``((synonym, similarity), ...)`` sorted by descending
                similarity.
            metadata: The header metadata.
            path: Where the table came from.
            sha256: Hex SHA-256 of the file bytes, if loaded from a file.
            format_version: The file format version.
        """
        self._table = {w: syns for w, syns in table.items() if syns}
        self._metadata = dict(metadata or {})
        self._path = path
        self._sha256 = sha256
        self._format_version = format_version
        self._cache: dict[str, tuple[Synonym, ...]] = {}

    @classmethod
    def load(cls, path: "str | os.PathLike[str] | None" = None) -> "Lexicon":
        """Load a lexicon file (gzip-compressed or plain text).

        Args:
            path: The file to read; ``None`` loads the bundled lexicon (cached, so repeated
                calls return the same instance).

        Returns:
            The lexicon.

        Raises:
            LexiconError: If the file is malformed; the message names the file and line.
            OSError: If the file cannot be read.
        """
        if path is None:
            return _bundled_lexicon()
        path_text = os.fspath(path)
        with open(path_text, "rb") as fh:
            data = fh.read()
        return cls._from_bytes(data, path_text)

    @classmethod
    def _from_bytes(cls, data: bytes, path: str) -> "Lexicon":
        start = time.perf_counter()
        sha256 = hashlib.sha256(data).hexdigest()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise _fail(path, 1, f"corrupt gzip data: {exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise _fail(path, line, "not valid UTF-8") from None
        lines = text.split("\n")
        if not lines or not lines[0].strip():
            raise _fail(path, 1, f"empty file or missing {FORMAT_MAGIC!r} header")
        if lines[-1] == "":
            lines.pop()
        if text.find("\r") >= 0:
            lines = [ln.rstrip("\r") for ln in lines]
        version, metadata = _parse_header(lines[0], path)
        table = _parse_entries(lines, path)
        lexicon = cls(table, metadata=metadata, path=path, sha256=sha256, format_version=version)
        LOG.debug("loaded lexicon %s: %d entries in %.3f s", path, len(lexicon),
                  time.perf_counter() - start)  # fmt: skip
        return lexicon

    def synonyms(
        self, word: str, *, k: int | None = None, min_similarity: float = 0.0
    ) -> tuple[Synonym, ...]:
        """Return the synonyms of ``word``, most similar first.

        Args:
            word: The word to look up (case-insensitive).
            k: Return at most this many synonyms; ``None`` for all.
            min_similarity: Drop synonyms whose similarity is below this value.

        Returns:
            The synonyms sorted by descending similarity; ``()`` for an unknown word.

        Raises:
            ValueError: If ``k`` is negative.
        """
        if k is not None and k < 0:
            raise ValueError(f"k must be >= 0 or None, got {k}")
        key = word.lower()
        found = self._cache.get(key)
        if found is None:
            pairs = self._table.get(key)
            if pairs is None:
                return ()
            found = tuple(Synonym(s, sim) for s, sim in pairs)
            self._cache[key] = found
        if min_similarity > -1.0:
            cut = len(found)
            while cut and found[cut - 1].similarity < min_similarity:
                cut -= 1
            found = found[:cut]
        return found if k is None else found[:k]

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` (case-insensitive) has at least one synonym."""
        return isinstance(word, str) and word.lower() in self._table

    def __len__(self) -> int:
        """The number of words with at least one synonym."""
        return len(self._table)

    def __iter__(self):
        """Iterate over the (lowercase) words that have synonyms, in sorted order."""
        return iter(sorted(self._table))

    def __repr__(self) -> str:
        return f"Lexicon(path={self._path!r}, entries={len(self)})"

    def coverage(self, tokens: Iterable[str]) -> float:
        """Share of tokens that have at least one synonym.

        Args:
            tokens: Tokens, counted with repetition (lookup is case-insensitive).

        Returns:
            The covered share in [0, 1]; 0.0 for no tokens.
        """
        table = self._table
        total = covered = 0
        for tok in tokens:
            total += 1
            if tok.lower() in table:
                covered += 1
        return covered / total if total else 0.0

    @property
    def info(self) -> dict:
        """Provenance of the lexicon, for results files.

        Returns:
            The header metadata plus ``name``, ``version``, ``format_version``, ``sha256`` (of
            the file bytes as stored, compressed or not), ``path`` and ``entries`` (words with
            at least one synonym, as loaded).
        """
        info = copy.deepcopy(self._metadata)
        info.update(
            name=self._metadata.get("name", pathlib.Path(self._path).name),
            version=self._metadata.get("version"),
            format_version=self._format_version,
            sha256=self._sha256,
            path=self._path,
            entries=len(self),
        )
        return info


@functools.cache
def _bundled_lexicon() -> Lexicon:
    resource = resources.files(_RESOURCE_PACKAGE).joinpath(BUNDLED_LEXICON)
    return Lexicon._from_bytes(resource.read_bytes(), str(default_lexicon_path()))
