"""A NaN injected into the real model's loss during training: skipped or stopped, and the
weights never see it."""
import torch
from mmengine.hooks import Hook

from seg.engine.runner_setup import build_runner


class InjectNaNLoss(Hook):
    """Makes the loss of one iteration NaN and records the weights around it."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration
        self.before = self.after = None
        self.paths = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx != self.iteration:
            return
        self.before = {name: value.clone() for name, value in runner.model.state_dict().items()}
        self.paths = [sample.img_path for sample in data_batch['data_samples']]
        criterion = runner.model.criterion
        plain_loss = criterion.single_prediction_losses

        def nan_loss(*args, **kwargs):
            losses = plain_loss(*args, **kwargs)
            return {name: value * float('nan') for name, value in losses.items()}

        criterion.single_prediction_losses = nan_loss  # removed after this iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if batch_idx == self.iteration:
            del runner.model.criterion.single_prediction_losses
            self.after = {name: value.clone() for name, value in runner.model.state_dict().items()}


def test_nan_loss_step_is_skipped_and_training_goes_on(tmp_path, toy_data_root, toy_runner_cfg):
    cfg = toy_runner_cfg(tmp_path / 'work', toy_data_root,
                         **{'optim_wrapper.on_non_finite': 'skip'})
    runner = build_runner(cfg)
    injector = InjectNaNLoss(iteration=1)
    runner.register_hook(injector, priority='LOWEST')
    runner.train()
    assert runner.iter == 3
    assert runner.optim_wrapper.skipped_steps == 1
    for name, value in injector.before.items():
        assert torch.equal(value, injector.after[name]), name  # the NaN step changed nothing
    assert all(torch.isfinite(value).all() for value in runner.model.state_dict().values()
               if value.is_floating_point())
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'skipping the optimizer step: non-finite loss (nan) at iteration 2' in log
    assert all(path in log for path in injector.paths)

