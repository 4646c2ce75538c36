"""Class vocabularies, synonym parsing, prompt templates and CLIP text-embedding files."""
from .dataset_vocabulary import Vocabulary
from .merge import (CLASS_AGNOSTIC, MergedVocabulary, apply_label_map, merge_vocabularies,
                    seen_class_flags)
from .runtime_vocabulary import read_class_names_file, vocabulary_from_names
from .synonyms import class_synonyms, normalize_class_name, split_synonyms
from .templates import VILD_TEMPLATES, check_templates
from .text_embeddings import (EMBEDDING_FILE_FORMAT, embedding_file_path, gen_cls_command,
                              generate_text_embeddings, get_or_create_text_embeddings,
                              load_text_embeddings, save_text_embeddings)

__all__ = [
    'Vocabulary', 'class_synonyms', 'normalize_class_name', 'split_synonyms', 'VILD_TEMPLATES',
    'check_templates', 'EMBEDDING_FILE_FORMAT', 'embedding_file_path', 'gen_cls_command',
    'generate_text_embeddings', 'get_or_create_text_embeddings', 'load_text_embeddings',
    'save_text_embeddings', 'CLASS_AGNOSTIC', 'MergedVocabulary', 'apply_label_map',
    'merge_vocabularies', 'seen_class_flags', 'read_class_names_file', 'vocabulary_from_names'
]
