"""First-stage retrieval beyond BM25: dense (bi-encoder + faiss) and hybrid (reciprocal rank fusion).

Modules are imported lazily by :mod:`robustrank.context` only when ``candidates.source`` is
``dense`` or ``hybrid`` (they pull in faiss).
"""
