"""Prompt templates that turn a class name into CLIP text prompts.

The reference's ``tools/gen_cls.py`` expands every synonym with these templates.
"""
from typing import Sequence, Tuple

# The 14 ViLD prompts, worded (and punctuated) exactly as the reference's ext/templates/vild.py so
# text embeddings match the published models'.
VILD_TEMPLATES: Tuple[str, ...] = (
    'a photo of a {}.',
    'This is a photo of a {}',
    'There is a {} in the scene',
    'There is the {} in the scene',
    'a photo of a {} in the scene',
    'a photo of a small {}.',
    'a photo of a medium {}.',
    'a photo of a large {}.',
    'This is a photo of a small {}.',
    'This is a photo of a medium {}.',
    'This is a photo of a large {}.',
    'There is a small {} in the scene.',
    'There is a medium {} in the scene.',
    'There is a large {} in the scene.',
)


def check_templates(templates: Sequence[str]) -> Tuple[str, ...]:
    """Return ``templates`` as a tuple after checking each has exactly one ``{}`` slot.

    Raises:
        ValueError: no templates, or a template without exactly one ``{}``.
    """
    if isinstance(templates, str) or len(templates) == 0:
        raise ValueError('templates must be a non-empty list of strings with one "{}" each')
    for template in templates:
        if not isinstance(template, str) or template.count('{}') != 1 or template.count('{') != 1:
            raise ValueError(f'prompt template {template!r} must contain exactly one "{{}}" slot')
    return tuple(templates)
