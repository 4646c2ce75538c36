# The toy model evaluated with an exemplar vocabulary: every class is defined by K example
# segments drawn (seed 0) from the toy training split, no class name or text embedding is
# used; the metrics are the text-vocabulary evaluation's (PQ, mask AP, mIoU).
#   python tools/test.py configs/toy/omg_toy_exemplar_eval.py --checkpoint CKPT \
#       [--cfg-options "custom_hooks.1.examples_per_class=20" "custom_hooks.1.prototype=clip"]
from mmengine.config import read_base

from seg.engine.exemplar_vocabulary_hook import ExemplarVocabularyHook

with read_base():
    from .omg_toy_coco_panoptic import *  # noqa: F401,F403

# The training split read as the test pipeline reads images (same resize, no augmentation).
exemplar_dataset = dict(train_dataloader.dataset, pipeline=test_pipeline, test_mode=True,
                        filter_cfg=None)
custom_hooks = custom_hooks + [
    dict(type=ExemplarVocabularyHook, dataset=exemplar_dataset, examples_per_class=5, seed=0,
         prototype='decoder', min_area=64),
]
del exemplar_dataset
