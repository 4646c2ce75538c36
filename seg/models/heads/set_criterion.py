"""Set-prediction losses of the mask decoder: Hungarian matching, then class / mask losses.

Every prediction (query initialisation and each decoder layer) is matched to the ground truth
independently and gets the same loss weights (as the reference's
``Mask2FormerVideoHead.loss_by_feat``, ``seg/models/heads/mask2former_vid.py``). Masks are compared
on sampled points: uniformly random points for matching, uncertainty-guided points for the
losses, as Mask2Former.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import get_world_size, all_reduce

from seg.registry import MODELS, TASK_UTILS
from seg.models.matching import get_uncertain_point_coords_with_randomness, point_sample
from seg.utils.config_keys import check_known_keys
from .outputs import QueryPredictions

DEFAULT_LOSS_CLS = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                        reduction='mean')
DEFAULT_LOSS_MASK = dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                         loss_weight=5.0)
DEFAULT_LOSS_DICE = dict(type='DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                         naive_dice=True, eps=1.0, loss_weight=5.0)
DEFAULT_LOSS_OBJECTNESS = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                               loss_weight=2.0)
DEFAULT_TRAIN_CFG = dict(
    num_points=12544, oversample_ratio=3.0, importance_sample_ratio=0.75,
    assigner=dict(type='HungarianAssigner', match_costs=[
        dict(type='ClassificationCost', weight=2.0),
        dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
        dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)]))


def _mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """Average a scalar over distributed ranks (identity when not distributed)."""
    if get_world_size() > 1:
        value = value.clone()
        all_reduce(value, op='mean')
    return value


@MODELS.register_module()
class SetCriterion:
    """Computes the per-layer losses (``d{i}.loss_*`` for all but the last prediction).

    Owned by the segmentor (the head only predicts). The class count K is read from the
    predictions, so the criterion follows the vocabulary the model is trained with.

    Args:
        loss_cls: softmax cross-entropy config; without ``class_weight`` the weights are
            ``[1] * K + [no_object_weight]``.
        loss_mask / loss_dice: point-wise BCE and Dice configs.
        loss_objectness: sigmoid focal loss on the objectness logit (target: matched or not);
            None disables it.
        train_cfg: ``num_points``, ``oversample_ratio``, ``importance_sample_ratio`` and the
            ``assigner`` config.
    """

    def __init__(self, loss_cls: Optional[dict] = None,
                 loss_mask: Optional[dict] = None, loss_dice: Optional[dict] = None,
                 loss_objectness: Optional[dict] = None,
                 no_object_weight: float = 0.1,
                 train_cfg: Optional[dict] = None) -> None:
        loss_cls = copy.deepcopy(dict(loss_cls or DEFAULT_LOSS_CLS))
        configured = loss_cls.get('class_weight')
        self.configured_class_weight = None if configured is None else list(configured)
        self.no_object_weight = float(no_object_weight)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask or DEFAULT_LOSS_MASK)
        self.loss_dice = MODELS.build(loss_dice or DEFAULT_LOSS_DICE)
        self.loss_objectness = (MODELS.build(loss_objectness)
                                if loss_objectness is not None else None)
        train_cfg = dict(train_cfg or DEFAULT_TRAIN_CFG)
        check_known_keys(train_cfg, DEFAULT_TRAIN_CFG, 'train_cfg')
        self.num_points = int(train_cfg.get('num_points', 12544))
        self.oversample_ratio = float(train_cfg.get('oversample_ratio', 3.0))
        self.importance_sample_ratio = float(train_cfg.get('importance_sample_ratio', 0.75))
        self.assigner = TASK_UTILS.build(train_cfg.get('assigner', DEFAULT_TRAIN_CFG['assigner']))

    def class_weight(self, num_classes: int) -> torch.Tensor:
        """(K + 1,) weights of the softmax classes, no-object last."""
        if self.configured_class_weight is None:
            return torch.tensor([1.0] * num_classes + [self.no_object_weight])
        if len(self.configured_class_weight) != num_classes + 1:
            raise ValueError(f'loss_cls.class_weight has {len(self.configured_class_weight)} '
                             f'entries, expected num_classes + 1 = {num_classes + 1}')
        return torch.tensor(self.configured_class_weight, dtype=torch.float32)

    def __call__(self, predictions: Sequence[QueryPredictions],
                 batch_targets: List[Dict[str, torch.Tensor]],
                 paired: bool = False) -> Dict[str, torch.Tensor]:
        """Losses of every prediction. ``batch_targets`` holds ``labels`` (M,) and ``masks``
        (M, H, W) per sample at the padded input size (clips: masks (M, T*H, W), matching
        the "film" layout of clip mask logits flattened the same way). ``paired``: prediction
        i is supervised by target i (location prompts): no matching, only mask BCE + Dice
        (``loss_cls`` = 0)."""
        losses = {}
        last = len(predictions) - 1
        for index, prediction in enumerate(predictions):
            prefix = '' if index == last else f'd{index}.'
            mask_logits = prediction.mask_logits
            if mask_logits.dim() == 5:  # tubes are matched and supervised as (T*h, w) maps
                mask_logits = mask_logits.flatten(2, 3)
            layer_losses = self.single_prediction_losses(
                prediction.class_logits, prediction.objectness, mask_logits, batch_targets,
                paired=paired)
            for name, value in layer_losses.items():
                losses[prefix + name] = value
        return losses

    # ------------------------------------------------------------------ matching
    @torch.no_grad()
    def match(self, class_logits: torch.Tensor, mask_pred: torch.Tensor,
              batch_targets: List[Dict[str, torch.Tensor]]
              ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """Hungarian assignment per sample: list of (query indices, target indices)."""
        assignments = []
        num_queries = mask_pred.shape[1]
        for sample, targets in enumerate(batch_targets):
            gt_masks = targets['masks']
            points = torch.rand((1, self.num_points, 2), device=mask_pred.device)
            pred_points = point_sample(mask_pred[sample].unsqueeze(1).float(),
                                       points.expand(num_queries, -1, -1)).squeeze(1)
            gt_points = point_sample(gt_masks.unsqueeze(1).float(),
                                     points.expand(gt_masks.shape[0], -1, -1)).squeeze(1)
            pred = dict(scores=class_logits[sample].float(), masks=pred_points)
            gt = dict(labels=targets['labels'], masks=gt_points)
            query_indices, target_indices = self.assigner.assign(pred, gt)
            assignments.append((query_indices.to(mask_pred.device),
                                target_indices.to(mask_pred.device)))
        return assignments

    @staticmethod
    def paired_assignment(mask_pred: torch.Tensor, batch_targets: List[Dict[str, torch.Tensor]]
                          ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """Prediction i <-> target i for every sample (prompt batches)."""
        num_predictions = mask_pred.shape[1]
        for sample, targets in enumerate(batch_targets):
            if targets['masks'].shape[0] != num_predictions:
                raise ValueError(f'paired supervision needs one target mask per prompt: sample '
                                 f'{sample} has {targets["masks"].shape[0]} masks for '
                                 f'{num_predictions} prompts')
        indices = torch.arange(num_predictions, device=mask_pred.device)
        return [(indices, indices) for _ in batch_targets]

    # ------------------------------------------------------------------ losses
    def single_prediction_losses(self, class_logits: torch.Tensor, objectness: torch.Tensor,
                                 mask_pred: torch.Tensor,
                                 batch_targets: List[Dict[str, torch.Tensor]],
                                 paired: bool = False) -> Dict[str, torch.Tensor]:
        assignments = (self.paired_assignment(mask_pred, batch_targets) if paired
                       else self.match(class_logits, mask_pred, batch_targets))
        batch_size, num_queries, num_columns = class_logits.shape
        num_classes = num_columns - 1
        device = class_logits.device

        labels = torch.full((batch_size, num_queries), num_classes, dtype=torch.long,
                            device=device)
        matched_samples, matched_queries, matched_targets = [], [], []
        for sample, (query_indices, target_indices) in enumerate(assignments):
            if not paired:
                labels[sample, query_indices] = (
                    batch_targets[sample]['labels'][target_indices].long())
            matched_samples.append(torch.full_like(query_indices, sample))
            matched_queries.append(query_indices)
            matched_targets.append(batch_targets[sample]['masks'][target_indices])

        # One gather for the batch: its backward writes the matched rows into one zero
        # gradient, where mask_pred[sample, queries] per sample zero-filled a full-size
        # gradient per sample (and per index) and summed them.
        matched_pred = mask_pred[torch.cat(matched_samples), torch.cat(matched_queries)]
        matched_target = torch.cat(matched_targets)
        # Both normalisers in one collective, issued by prompt and semantic batches alike, so
        # ranks taking different batch kinds in one step still pair their collectives (a
        # prompt batch adds no class-loss terms: 0 to the class normaliser's mean).
        class_weight = self.class_weight(num_classes).to(device)
        class_count = (torch.zeros((), device=device) if paired
                       else class_weight[labels.flatten()].sum())
        num_masks, cls_avg_factor = (_mean_over_ranks(torch.stack([
            torch.tensor(float(matched_pred.shape[0]), device=device), class_count.float()]))
            .clamp(min=1).tolist())
        if paired:
            # Prompts are class-agnostic: no class or objectness loss. A constant, not
            # 0 * logits: zero gradients would still let AdamW's momentum and weight decay move
            # the class head on prompt batches; absent ones leave it alone.
            loss_cls = class_logits.new_zeros(())
        else:
            loss_cls = self._class_loss(class_logits, objectness, labels, class_weight,
                                        cls_avg_factor)
        if matched_pred.shape[0] == 0:
            zero = mask_pred.sum() * 0
            return dict(loss_cls=loss_cls, loss_mask=zero, loss_dice=zero)

        with torch.no_grad():
            points = get_uncertain_point_coords_with_randomness(
                matched_pred.unsqueeze(1).float(), self.num_points, self.oversample_ratio,
                self.importance_sample_ratio)
            target_points = point_sample(matched_target.unsqueeze(1).float(), points).squeeze(1)
        pred_points = point_sample(matched_pred.unsqueeze(1).float(), points).squeeze(1)
        loss_dice = self.loss_dice(pred_points, target_points, avg_factor=num_masks)
        loss_mask = self.loss_mask(pred_points.reshape(-1), target_points.reshape(-1),
                                   avg_factor=num_masks * self.num_points)
        return dict(loss_cls=loss_cls, loss_mask=loss_mask, loss_dice=loss_dice)

    def _class_loss(self, class_logits: torch.Tensor, objectness: torch.Tensor,
                    labels: torch.Tensor, class_weight: torch.Tensor,
                    cls_avg_factor: float) -> torch.Tensor:
        """Softmax CE over K+1 (+ objectness focal loss) of (B, Q) matched labels, averaged
        by ``cls_avg_factor`` (the class-weighted label count, mean over ranks)."""
        num_classes = class_logits.shape[-1] - 1
        self.loss_cls.class_weight = class_weight.tolist()
        flat_labels = labels.flatten()
        loss_cls = self.loss_cls(class_logits.flatten(0, 1).float(), flat_labels,
                                 avg_factor=cls_avg_factor)
        if self.loss_objectness is not None:
            unmatched = (flat_labels == num_classes).long()
            loss_cls = loss_cls + self.loss_objectness(objectness.flatten(0, 1).float(),
                                                       unmatched, avg_factor=cls_avg_factor)
        return loss_cls
