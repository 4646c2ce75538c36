"""Test one checkpoint on several datasets in one run (one ``metrics.json`` for every task).

MMEngine's ``TestLoop`` takes one dataloader and one evaluator. A jointly trained model is
evaluated on images, videos and prompts, each with its own data and metrics; this loop runs
the runner's ``test_dataloader`` / ``test_evaluator`` first and then every entry of
``extra_tasks``, and returns all metrics in one dict (a key reported by two tasks is an error:
give one of the metrics a ``prefix``).

Per task:

* ``vocabulary``: ``'model'`` (default) predicts in the model's vocabulary (the training
  datasets' merged classes); ``'dataset'`` in the task dataset's own classes; a vocabulary
  config (``Vocabulary.build``, e.g. a synonym-list file) in those names, which must be the
  dataset's classes in its order. Every class must name a model class: the model's text
  prototypes are reused (``OMGSegmentor.selected_vocabulary``), so labels, category ids and
  metrics of the dataset apply unchanged.
* ``model_settings``: ``dict(test_cfg=..., video_cfg=..., interactive_test_cfg=...)`` for this
  task only (``OMGSegmentor.inference_settings``), e.g. the clip length of its own eval config.

Each task's metrics may ask for the click protocol (``SegTestLoop``).
"""
import contextlib
from typing import Dict, Mapping, Optional, Sequence, Union

from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from seg.registry import LOOPS
from seg.vocab.dataset_vocabulary import Vocabulary
from .test_loops import SegTestLoop

TASK_KEYS = ('dataloader', 'evaluator')
OPTIONAL_TASK_KEYS = ('vocabulary', 'model_settings')
VOCABULARY_MODES = ('model', 'dataset')


@LOOPS.register_module()
class MultiTaskTestLoop(SegTestLoop):
    """``SegTestLoop`` over the main test data plus ``extra_tasks``.

    Args:
        runner, dataloader, evaluator, fp16: as ``TestLoop`` (the main task).
        vocabulary, model_settings: the main task's (see the module doc).
        extra_tasks: ``dict(dataloader=..., evaluator=..., vocabulary='model',
            model_settings=None)`` configs, run in order.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, list], fp16: bool = False,
                 vocabulary: Union[str, dict] = 'model', model_settings: Optional[dict] = None,
                 extra_tasks: Sequence[Mapping] = ()) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.tasks = [dict(dataloader=self.dataloader, evaluator=self.evaluator,
                           vocabulary=self._checked_vocabulary(vocabulary, 'vocabulary'),
                           model_settings=dict(model_settings or {}))]
        for index, task in enumerate(extra_tasks):
            missing = [key for key in TASK_KEYS if key not in task]
            unknown = sorted(set(task) - set(TASK_KEYS) - set(OPTIONAL_TASK_KEYS))
            if missing or unknown:
                raise KeyError(f'test_cfg.extra_tasks[{index}] needs {TASK_KEYS} (optional '
                               f'{OPTIONAL_TASK_KEYS}); missing {missing}, unknown {unknown}')
            task_loader = runner.build_dataloader(task['dataloader'], seed=runner.seed)
            task_evaluator = runner.build_evaluator(task['evaluator'])
            task_evaluator.dataset_meta = getattr(task_loader.dataset, 'metainfo', None)
            self.tasks.append(dict(
                dataloader=task_loader, evaluator=task_evaluator,
                vocabulary=self._checked_vocabulary(task.get('vocabulary', 'model'),
                                                    f'extra_tasks[{index}].vocabulary'),
                model_settings=dict(task.get('model_settings') or {})))

    @staticmethod
    def _checked_vocabulary(value: Union[str, Mapping], where: str) -> Union[str, Mapping]:
        if not isinstance(value, Mapping) and value not in VOCABULARY_MODES:
            raise ValueError(f'test_cfg.{where}={value!r}; expected one of {VOCABULARY_MODES} '
                             'or a vocabulary config')
        return value

    @property
    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def _task_scope(self, task: dict) -> contextlib.ExitStack:
        """Context in which the model predicts with the task's vocabulary and settings."""
        stack = contextlib.ExitStack()
        if task['model_settings']:
            stack.enter_context(self._model.inference_settings(**task['model_settings']))
        vocabulary = task['vocabulary']
        if vocabulary == 'model':
            return stack
        meta = task['dataloader'].dataset.metainfo
        dataset_vocabulary = Vocabulary(tuple(meta['thing_classes']),
                                        tuple(meta['stuff_classes']),
                                        meta.get('dataset_name', 'test_dataset'))
        if vocabulary != 'dataset':
            named = Vocabulary.build(vocabulary)
            if (named.num_things, named.num_stuff) != (dataset_vocabulary.num_things,
                                                       dataset_vocabulary.num_stuff):
                raise ValueError(f'test vocabulary {named.name!r} has {named.num_things} things '
                                 f'/ {named.num_stuff} stuff, its dataset '
                                 f'{dataset_vocabulary.num_things} / '
                                 f'{dataset_vocabulary.num_stuff}')
            dataset_vocabulary = named
        stack.enter_context(self._model.selected_vocabulary(dataset_vocabulary))
        return stack

    def run(self) -> dict:
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        metrics: Dict[str, float] = {}
        for task_index, task in enumerate(self.tasks):
            # run_iter() feeds self.evaluator: point it at this task's data and metrics.
            self.dataloader, self.evaluator = task['dataloader'], task['evaluator']
            with self._task_scope(task):
                for index, data_batch in enumerate(self.dataloader):
                    self.run_iter(index, data_batch)
            task_metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
            repeated = sorted(set(task_metrics) & set(metrics))
            if repeated:
                raise ValueError(f'test task {task_index} reports metrics {repeated} that an '
                                 'earlier task reported too: give its metric a prefix')
            metrics.update(task_metrics)
        self.dataloader, self.evaluator = self.tasks[0]['dataloader'], self.tasks[0]['evaluator']
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics
