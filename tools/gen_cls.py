"""Generate the CLIP text-embedding (classifier) file a config needs.

    python tools/gen_cls.py CONFIG [--cache-dir DIR] [--out FILE] [--batch-size N]
                                   [--cfg-options KEY=VALUE ...] [--device cpu|cuda]

Builds only ``cfg.model.backbone`` (for its CLIP text tower). Class names and the vocabulary name
come from, in this order: ``cfg.CLASSES`` + ``cfg.DATASET_NAME``; ``cfg.model.vocabulary`` (see
``seg.vocab.Vocabulary.build``); the metainfo (``classes``, ``dataset_name``) of
``cfg.train_dataloader.dataset``. The file goes to ``--out``, else ``model.text_embeddings.file``,
else ``<cache dir>/<model_name>_<vocabulary name>.pth`` with the cache dir from ``--cache-dir``,
``model.text_embeddings.cache_dir``, ``$OMGSEG_CACHE/embeddings`` or
``~/.cache/omgseg/embeddings`` -- the file the model loads. The written path is printed.
"""
import argparse
import inspect
import sys
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import barrier, get_rank, init_dist

import seg.models.backbones  # noqa: F401  (registers OpenCLIPBackbone)
from seg.registry import DATASETS, MODELS
from seg.vocab import (Vocabulary, embedding_file_path, generate_text_embeddings,
                       save_text_embeddings)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate CLIP text embeddings of a vocabulary')
    parser.add_argument('config', help='config file')
    parser.add_argument('--cache-dir',
                        help='folder of embedding files (default: '
                        '$OMGSEG_CACHE/embeddings or ~/.cache/omgseg/embeddings)')
    parser.add_argument('--out',
                        help='write exactly this file instead of '
                        '<cache dir>/<model_name>_<dataset_name>.pth')
    parser.add_argument('--batch-size', type=int, default=256, help='prompts per text-encoder call')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='override config entries, e.g. train_dataloader.dataset.data_root=DIR')
    parser.add_argument('--device',
                        choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='device of the text encoder (default: cuda when available)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none',
                        help='accepted so tools/dist.sh and tools/slurm.sh can launch it; '
                        'rank 0 writes the file, the other ranks wait for it')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def _dataset_accepts_lazy_init(dataset_cfg: ConfigDict) -> bool:
    dataset_type = dataset_cfg.get('type')
    dataset_class = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    return (inspect.isclass(dataset_class)
            and 'lazy_init' in inspect.signature(dataset_class.__init__).parameters)


def vocabulary_from_config(cfg: Config) -> Tuple[List[str], str]:
    """(class names, vocabulary name) of a config: ``CLASSES``/``DATASET_NAME``, else
    ``model.vocabulary``, else the training dataset's metainfo."""
    classes = cfg.get('CLASSES')
    if classes is not None:
        dataset_name = cfg.get('DATASET_NAME')
        if not dataset_name:
            raise KeyError(f'{cfg.filename}: CLASSES is set but DATASET_NAME is not; '
                           'the embedding file is named after DATASET_NAME')
        return list(classes), str(dataset_name)

    vocabulary_cfg = cfg.model.get('vocabulary')
    if vocabulary_cfg is not None:
        vocabulary = Vocabulary.build(vocabulary_cfg)
        return list(vocabulary.classes), vocabulary.name

    dataset_cfg = cfg.get('train_dataloader', {}).get('dataset')
    if dataset_cfg is None:
        raise KeyError(f'{cfg.filename}: defines neither CLASSES, model.vocabulary nor '
                       'train_dataloader.dataset, so the class names are unknown')
    dataset_cfg = dataset_cfg.copy()
    if _dataset_accepts_lazy_init(dataset_cfg):
        dataset_cfg['lazy_init'] = True  # metainfo only; the samples are not needed
    dataset = DATASETS.build(dataset_cfg)
    metainfo = dataset.metainfo
    if not metainfo.get('classes'):
        raise KeyError(f'{cfg.filename}: the training dataset {type(dataset).__name__} has no '
                       "metainfo['classes']")
    dataset_name = metainfo.get('dataset_name') or type(dataset).__name__
    return list(metainfo['classes']), str(dataset_name)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda given but CUDA is not available')

    if 'model' not in cfg or 'backbone' not in cfg.model:
        raise KeyError(f'{args.config}: no model.backbone to take the CLIP text tower from')
    if args.launcher != 'none':
        init_dist(args.launcher, backend='nccl' if torch.cuda.is_available() else 'gloo')
    class_names, dataset_name = vocabulary_from_config(cfg)
    if get_rank() != 0:
        barrier()  # rank 0 generates; the vocabulary is small enough for one process
        return ''
    backbone = MODELS.build(cfg.model.backbone)
    model_name = backbone.model_name
    # Same file the model loads (seg.models.segmentor: model.text_embeddings file / cache_dir).
    embeddings_cfg = cfg.model.get('text_embeddings') or {}
    out_path = args.out or embeddings_cfg.get('file') or embedding_file_path(
        model_name, dataset_name, args.cache_dir or embeddings_cfg.get('cache_dir'))
    print(f'{len(class_names)} classes of {dataset_name}, CLIP model {model_name}', flush=True)

    text_encoder = backbone.get_text_encoder().to(args.device)
    del backbone  # only the text tower is needed from here on
    embeddings = generate_text_embeddings(text_encoder,
                                          class_names,
                                          batch_size=args.batch_size,
                                          progress=True)
    written = save_text_embeddings(out_path, embeddings, class_names, model_name)
    print(f'text embeddings {tuple(embeddings.shape)} written to {written}', flush=True)
    if args.launcher != 'none':
        barrier()
    return str(written)


if __name__ == '__main__':
    main(sys.argv[1:])
