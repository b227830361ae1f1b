"""Test collections: BEIR folders, TREC files and (optionally) ir_datasets ids."""

from robustrank.data.collection import Collection
from robustrank.data.loader import load_dataset
from robustrank.data.trec import read_trec_run

__all__ = ["Collection", "load_dataset", "read_trec_run"]
