"""Test one checkpoint on several datasets in one run (one ``metrics.json`` for every task).

MMEngine's ``TestLoop`` takes one dataloader and one evaluator. A jointly trained model is
evaluated on images, videos and prompts, each with its own data and metrics; this loop runs
the runner's ``test_dataloader`` / ``test_evaluator`` first and then every entry of
``extra_tasks``, and returns all metrics in one dict (a key reported by two tasks is an error:
give one of the metrics a ``prefix``).

A task's ``vocabulary``: ``'model'`` (default) predicts in the model's vocabulary (the
training datasets' merged classes); ``'dataset'`` predicts in the task dataset's own classes
(``OMGSegmentor.selected_vocabulary``: each of them must name a model class; their text
prototypes are reused), so the dataset's labels, category ids and metrics apply unchanged.
"""
import contextlib
from typing import Dict, Mapping, Sequence, Union

from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from torch.utils.data import DataLoader

from seg.registry import LOOPS
from seg.vocab.dataset_vocabulary import Vocabulary

TASK_KEYS = ('dataloader', 'evaluator')
VOCABULARY_MODES = ('model', 'dataset')


@LOOPS.register_module()
class MultiTaskTestLoop(TestLoop):
    """``TestLoop`` over the main test data plus ``extra_tasks``.

    Args:
        runner, dataloader, evaluator, fp16: as ``TestLoop`` (the main task).
        vocabulary: the main task's vocabulary mode (see the module doc).
        extra_tasks: ``dict(dataloader=..., evaluator=..., vocabulary='model')`` configs,
            run in order.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, list], fp16: bool = False,
                 vocabulary: str = 'model', extra_tasks: Sequence[Mapping] = ()) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.tasks = [(self.dataloader, self.evaluator, self._mode(vocabulary, 'vocabulary'))]
        for index, task in enumerate(extra_tasks):
            missing = [key for key in TASK_KEYS if key not in task]
            unknown = sorted(set(task) - set(TASK_KEYS) - {'vocabulary'})
            if missing or unknown:
                raise KeyError(f'test_cfg.extra_tasks[{index}] needs exactly {TASK_KEYS}; '
                               f'missing {missing}, unknown {unknown}')
            task_loader = runner.build_dataloader(task['dataloader'], seed=runner.seed)
            task_evaluator = runner.build_evaluator(task['evaluator'])
            task_evaluator.dataset_meta = getattr(task_loader.dataset, 'metainfo', None)
            mode = self._mode(task.get('vocabulary', 'model'),
                              f'extra_tasks[{index}].vocabulary')
            self.tasks.append((task_loader, task_evaluator, mode))

    @staticmethod
    def _mode(value: str, where: str) -> str:
        if value not in VOCABULARY_MODES:
            raise ValueError(f'test_cfg.{where}={value!r}; expected one of {VOCABULARY_MODES}')
        return value

    def _vocabulary_scope(self, dataloader, mode: str):
        """Context in which the model predicts in the task's label space."""
        if mode == 'model':
            return contextlib.nullcontext()
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        meta = dataloader.dataset.metainfo
        return model.selected_vocabulary(Vocabulary(
            tuple(meta['thing_classes']), tuple(meta['stuff_classes']),
            meta.get('dataset_name', type(dataloader.dataset).__name__)))

    def run(self) -> dict:
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        metrics: Dict[str, float] = {}
        for task_index, (dataloader, evaluator, mode) in enumerate(self.tasks):
            # run_iter() feeds self.evaluator: point it at this task's data and metrics.
            self.dataloader, self.evaluator = dataloader, evaluator
            with self._vocabulary_scope(dataloader, mode):
                for index, data_batch in enumerate(dataloader):
                    self.run_iter(index, data_batch)
            task_metrics = evaluator.evaluate(len(dataloader.dataset))
            repeated = sorted(set(task_metrics) & set(metrics))
            if repeated:
                raise ValueError(f'test task {task_index} reports metrics {repeated} that an '
                                 'earlier task reported too: give its metric a prefix')
            metrics.update(task_metrics)
        self.dataloader, self.evaluator = self.tasks[0][:2]
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics
