"""Dispatch a dataset entry of the config to the reader of its format."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from robustrank.config.data import DatasetConfig
from robustrank.data.beir import load_beir
from robustrank.data.collection import Collection
from robustrank.data.irds import load_irds
from robustrank.data.trec import load_trec
from robustrank.errors import DataError

__all__ = ["load_dataset"]

log = logging.getLogger(__name__)


def load_dataset(cfg: DatasetConfig, resolve: Callable[[str], Path] = Path) -> Collection:
    """Load the collection a config entry describes.

    Args:
        cfg: The dataset entry.
        resolve: Maps a path string from the config to a file system path.

    Returns:
        The collection.

    Raises:
        DataError: Missing files or malformed content (with file and line).
    """
    name = cfg.display_name
    if cfg.format == "beir":

        coll = load_beir(resolve(cfg.path), name=name, split=cfg.split)
    elif cfg.format == "trec":

        coll = load_trec(resolve(cfg.corpus), resolve(cfg.topics), resolve(cfg.qrels), name=name)
    else:

        coll = load_irds(cfg.id, name=name)
    if not coll.judged_query_ids():
        raise DataError(f"{name}: no query has a relevance judgment (qrels: {coll.files[-1] if coll.files else coll.source}); nothing to evaluate")
    missing = sum(1 for q in coll.qrels.values() for d in q if d not in coll.documents)
    if missing:
        log.warning("%s: %d judged document ids are not in the corpus", name, missing)
    log.info("loaded %s: %d docs, %d queries (%d judged)", name, len(coll.documents), len(coll.queries), len(coll.judged_query_ids()))
    return coll
