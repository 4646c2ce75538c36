"""Minimal transform base class (mmcv's ``BaseTransform`` without the mmcv dependency)."""
from typing import Optional


class BaseTransform:
    """A pipeline step: takes the results dict, returns it updated (or ``None`` to reject it).

    Returning ``None`` from a training pipeline makes the mmengine dataset draw another sample.
    """

    def transform(self, results: dict) -> Optional[dict]:
        raise NotImplementedError

    def __call__(self, results: dict) -> Optional[dict]:
        return self.transform(results)

    def __repr__(self) -> str:
        fields = ', '.join(f'{key}={value!r}' for key, value in vars(self).items()
                           if not key.startswith('_'))
        return f'{type(self).__name__}({fields})'
