from .constants import INSTANCE_OFFSET, VOID_LABEL
from .paths import CACHE_ENV_VAR, cache_root, embedding_cache_dir

__all__ = ['INSTANCE_OFFSET', 'VOID_LABEL', 'CACHE_ENV_VAR', 'cache_root', 'embedding_cache_dir']
