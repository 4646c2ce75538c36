"""Where derived files (text embeddings, dataset caches) live when a config does not say."""
import os
from pathlib import Path

CACHE_ENV_VAR = 'OMGSEG_CACHE'


def cache_root() -> Path:
    """Root of every cache this package writes: `$OMGSEG_CACHE`, else `~/.cache/omgseg`."""
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / '.cache' / 'omgseg'


def embedding_cache_dir() -> Path:
    """Default folder of text-embedding files (`<cache_root>/embeddings`)."""
    return cache_root() / 'embeddings'
