"""Check a model file before handing it to the server, so a bad path fails fast and clearly."""

from __future__ import annotations

from pathlib import Path

from rl_pipeline.mistral.errors import ModelFileError

GGUF_MAGIC = b"GGUF"


def check_model_file(model_path: str | Path) -> Path:
    """Return the absolute path of a readable GGUF file, or raise ``ModelFileError``."""
    try:
        path = Path(model_path).expanduser().resolve()
        exists, is_file = path.exists(), path.is_file()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise ModelFileError(f"model path is unusable: {str(model_path)[:200]!r} ({exc})") from exc
    if not exists:
        raise ModelFileError(f"model file not found: {path}")
    if not is_file:
        raise ModelFileError(f"model path is not a regular file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelFileError(f"model file is not readable: {path} ({exc.strerror})") from exc
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"model file is not a GGUF file: {path} (starts with {magic!r}, expected "
            f"{GGUF_MAGIC!r}; llama-server needs a .gguf model)"
        )
    return path
