"""The comparisons behind tools/reference_check.py fail when outputs differ beyond tolerance."""
import torch

from seg.testing.case_checks import CheckList, canonical_order, relabel_segments


def test_close_and_identical_checks_apply_the_tolerances():
    checks = CheckList()
    reference = torch.zeros(2, 3)
    assert checks.close('a', reference + 1e-4, reference, atol=2e-4).passed
    assert not checks.close('b', reference + 3e-4, reference, atol=2e-4).passed
    assert not checks.close('c', torch.zeros(3, 2), reference, atol=1.0).passed  # shape
    mask = torch.tensor([True, False])
    assert checks.identical('d', mask, mask).passed
    assert not checks.identical('e', ~mask, mask).passed
    assert not checks.passed
    assert 'FAIL b' in checks.report() and '2 of 5 checks passed, 3 FAILED' in checks.report()


def test_pixel_maps_can_be_compared_up_to_instance_numbering():
    reference = torch.tensor([[1001, 1001, 2001], [3, 3, 2001]])
    renumbered = torch.tensor([[2001, 2001, 1001], [3, 3, 1001]])
    checks = CheckList()
    assert not checks.pixels('exact', renumbered, reference, 0.01).passed
    assert checks.pixels('ids', renumbered, reference, 0.01, up_to_instance_ids=True).passed
    relabelled_wrong_class = torch.tensor([[2002, 2002, 1001], [3, 3, 1001]])
    assert not checks.pixels('label', relabelled_wrong_class, reference, 0.01,
                             up_to_instance_ids=True).passed
    assert torch.equal(relabel_segments(renumbered, reference), reference)


def test_instances_are_compared_in_canonical_order():
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[0, :2] = masks[1, 2:] = masks[2, :, :1] = True
    ours = dict(scores=torch.tensor([0.2, 0.9, 0.5]), labels=torch.tensor([1, 0, 2]),
                bboxes=torch.tensor([[0., 0, 4, 2], [0, 2, 4, 4], [0, 0, 1, 4]]), masks=masks)
    permutation = torch.tensor([2, 0, 1])  # the reference stores another order
    reference = {key: value[permutation] for key, value in ours.items()}
    reference['mask_area'] = masks[permutation].flatten(1).sum(1)
    reference['canonical_order'] = canonical_order(reference['scores'], reference['labels'],
                                                   reference['mask_area'])
    checks = CheckList()
    assert checks.instances('same', ours, reference, 1e-3, 0.001).passed
    wrong = dict(reference, labels=reference['labels'].flip(0))
    assert not checks.instances('labels', ours, wrong, 1e-3, 0.001).passed
    fewer = {key: value[:2] for key, value in reference.items()}
    fewer['canonical_order'] = canonical_order(fewer['scores'], fewer['labels'],
                                               fewer['mask_area'])
    assert not checks.instances('count', ours, fewer, 1e-3, 0.001).passed
