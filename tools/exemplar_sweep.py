"""Compare the text vocabulary with exemplar vocabularies (K examples per class, each prototype
kind) on one checkpoint, in one process: the model is built and loaded once, then evaluated
with the test loop of the config once per vocabulary. Writes <work_dir>/exemplar_sweep.json.

    python tools/exemplar_sweep.py configs/toy/omg_toy_exemplar_eval.py --checkpoint CKPT \
        [--work-dir DIR] [--examples 1 5 20] [--prototypes decoder clip mix] [--cfg-options ...]

The config must hold an ``ExemplarVocabularyHook`` (its dataset, seed and min_area are used;
its K and prototype are swept). Each exemplar row equals
``tools/test.py CONFIG --cfg-options custom_hooks.N.examples_per_class=K
custom_hooks.N.prototype=KIND``.
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper

from seg.engine.exemplar_vocabulary_hook import (draw_dataset_examples, embed_dataset_examples,
                                                 install_example_embeddings)
from seg.engine.runner_setup import build_runner, setup_config
from seg.registry import DATASETS
from seg.vocab.exemplar_bank import PROTOTYPE_KINDS

REPORTED = ('coco_panoptic/PQ', 'coco_panoptic/PQ_th', 'coco_panoptic/PQ_st',
            'coco_instance/segm_mAP', 'sem_seg/mIoU')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a config with an ExemplarVocabularyHook')
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--work-dir', default='work_dirs/exemplar_sweep')
    parser.add_argument('--examples', type=int, nargs='+', default=[1, 5, 20])
    parser.add_argument('--prototypes', nargs='+', default=list(PROTOTYPE_KINDS),
                        choices=PROTOTYPE_KINDS)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='config overrides, as tools/test.py takes them')
    return parser.parse_args(argv)


def _pop_exemplar_hook(cfg: Config) -> dict:
    hooks = list(cfg.get('custom_hooks', []))
    names = [getattr(h['type'], '__name__', h['type']) for h in hooks]
    if 'ExemplarVocabularyHook' not in names:
        raise ValueError(f'{cfg.filename} has no ExemplarVocabularyHook in custom_hooks')
    hook = hooks.pop(names.index('ExemplarVocabularyHook'))
    cfg.custom_hooks = hooks  # the first evaluation uses the text vocabulary
    return hook


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'--checkpoint not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    hook = _pop_exemplar_hook(cfg)
    setup_config(cfg, args.config, work_dir=args.work_dir)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg)
    rows = {'text': runner.test()}
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    dataset = DATASETS.build(hook['dataset'])
    # The draws are nested (k examples = the first k of a larger draw): embed the largest once.
    drawn = draw_dataset_examples(model, dataset, max(args.examples), hook.get('seed', 0),
                                  hook.get('min_area', 64))
    embeddings = embed_dataset_examples(model, dataset, drawn)
    for prototype in args.prototypes:
        for examples in args.examples:
            install_example_embeddings(model, embeddings, examples, prototype)
            rows[f'{prototype}_{examples}'] = runner.test_loop.run()
    rows = {name: {key: float(metrics[key]) for key in REPORTED if key in metrics}
            for name, metrics in rows.items()}
    path = osp.join(cfg.work_dir, 'exemplar_sweep.json')
    with open(path, 'w') as file:
        json.dump(dict(checkpoint=args.checkpoint, seed=hook.get('seed', 0), results=rows),
                  file, indent=2)
    text_pq = rows['text'].get('coco_panoptic/PQ')
    print(f'{"vocabulary":<14}' + ''.join(f'{key.split("/")[-1]:>10}' for key in REPORTED)
          + f'{"PQ/text":>10}')
    for name, metrics in rows.items():
        ratio = metrics.get('coco_panoptic/PQ', 0) / text_pq if text_pq else float('nan')
        print(f'{name:<14}' + ''.join(f'{metrics.get(key, float("nan")):>10.4f}'
                                      for key in REPORTED) + f'{ratio:>10.3f}')
    print(f'written to {path}')


if __name__ == '__main__':
    main()
