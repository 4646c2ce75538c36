"""CocoPanopticInteractiveDataset: every segment promptable, training and evaluation pipelines."""
import numpy as np

from seg.datasets import CocoPanopticInteractiveDataset


def build(root, split, pipeline, **kwargs):
    return CocoPanopticInteractiveDataset(
        data_root=str(root), ann_file=f'annotations/panoptic_{split}2017.json',
        data_prefix=dict(img=f'{split}2017/', seg=f'annotations/panoptic_{split}2017/'),
        pipeline=pipeline, **kwargs)


def test_training_samples_prompt_every_kind_of_segment(toy_root):
    np.random.seed(0)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                dict(type='AddStuffInstances'),
                dict(type='GeneratePrompts', num_prompts=6, mode='mix'),
                dict(type='PackInteractiveInputs')]
    dataset = build(toy_root, 'train', pipeline)
    num_things = dataset.metainfo['num_things_classes']
    labels = set()
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        assert len(sample.prompts) == len(sample.gt_instances) == 6
        labels.update(sample.gt_instances.labels.tolist())
        for box, point, mask in zip(sample.prompts.boxes, sample.prompts.is_point,
                                    sample.gt_instances.masks):
            if point:
                assert mask[int(box[1]), int(box[0])]
    assert any(label < num_things for label in labels)
    assert any(label >= num_things for label in labels)


def test_evaluation_clicks_land_inside_their_original_size_masks(toy_root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                dict(type='LoadPanopticAnnotations'), dict(type='AddStuffInstances'),
                dict(type='GenerateEvalClicks'), dict(type='PackInteractiveInputs')]
    sample = build(toy_root, 'val', pipeline, test_mode=True)[0]['data_samples']
    w_scale, h_scale = sample.scale_factor
    assert sample.gt_instances.masks.shape[-2:] == sample.ori_shape
    for box, mask in zip(sample.prompts.boxes, sample.gt_instances.masks):
        x, y = round(float(box[0]) / w_scale), round(float(box[1]) / h_scale)
        assert mask[y, x]


def test_images_with_only_stuff_are_kept_for_training(toy_copy, load_json, save_json):
    content = load_json(toy_copy)
    things = {c['id'] for c in content['categories'] if c['isthing']}
    first = content['annotations'][0]
    first['segments_info'] = [s for s in first['segments_info']
                              if s['category_id'] not in things]
    save_json(toy_copy, content)
    kept = build(toy_copy, 'train', [], filter_cfg=dict(filter_empty_gt=True))
    assert len(kept) == len(content['images'])
    assert kept.get_data_info(0)['num_things_classes'] == len(things)
