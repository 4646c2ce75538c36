"""JointDataset: repeats, merged vocabulary, vectorised relabelling of image / clip / prompt
samples, data tags, and its errors."""
import pytest
import torch

from seg.datasets import (CocoPanopticDataset, CocoPanopticInteractiveDataset, JointDataset,
                          VIPSegDataset)
from seg.testing.toy_video_data import generate_toy_video_dataset
from seg.utils.constants import VOID_LABEL
from seg.vocab import CLASS_AGNOSTIC, Vocabulary

IMAGE_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                  dict(type='PackSegInputs')]
PROMPT_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                   dict(type='AddStuffInstances'), dict(type='GenerateEvalClicks'),
                   dict(type='PackInteractiveInputs')]
CLIP_PIPELINE = [dict(type='VideoClipSample', num_frames=None),
                 dict(type='ClipTransform', transforms=[dict(type='LoadImageFromFile'),
                                                        dict(type='LoadVideoAnnotations')]),
                 dict(type='PackVideoInputs')]


@pytest.fixture(scope='module')
def toy_video_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_video_joint')
    generate_toy_video_dataset(root, num_train=2, num_val=1, num_frames=(3, 4), seed=5,
                               overwrite=True, log=None)
    return root


def coco(root, dataset_type=CocoPanopticDataset, pipeline=IMAGE_PIPELINE):
    return dict(type=dataset_type, data_root=str(root),
                ann_file='annotations/panoptic_val2017.json',
                data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
                test_mode=True, pipeline=pipeline, dataset_name='toy_coco')


def vipseg(root):
    return dict(type=VIPSegDataset, data_root=str(root / 'vipseg'), ann_file='train.txt',
                test_mode=True, pipeline=CLIP_PIPELINE, dataset_name='toy_video')


@pytest.fixture(scope='module')
def joint(toy_data_root, toy_video_root):
    # Video first: its 3 things / 2 stuff come first, so COCO's extra classes get new labels
    # and the video's stuff labels move (local 3 'sky' -> merged 4).
    return JointDataset(
        datasets=[vipseg(toy_video_root), coco(toy_data_root),
                  coco(toy_data_root, CocoPanopticInteractiveDataset, PROMPT_PIPELINE)],
        data_tags=['video', 'panoptic', 'interactive'], repeats=[3, 1, 2])


def test_lengths_sources_and_merged_vocabulary(joint):
    video, image, prompt = joint.datasets
    assert len(joint) == 3 * len(video) + len(image) + 2 * len(prompt)
    assert joint.source_ranges[1] == (3 * len(video), 3 * len(video) + len(image))
    assert joint.locate(len(video) + 1) == (0, 1)  # second repeat of the video source
    meta = joint.metainfo
    assert meta['thing_classes'] == ('ball', 'box', 'tent', 'ring')
    assert meta['stuff_classes'] == ('sky', 'grass', 'water')
    assert meta['dataset_name'] == 'Concat_toy_video_toy_coco'
    assert meta['label_maps'] == ((0, 1, 2, 4, 5), (0, 1, 2, 3, 4, 5, 6), ())
    assert meta['data_tags'] == ('video', 'panoptic', 'interactive')
    # The model side builds the same vocabulary from the same sources.
    model_vocabulary = Vocabulary.build(dict(merge=[
        dict(thing_classes=['ball', 'box', 'tent'], stuff_classes=['sky', 'grass'],
             name='toy_video'),
        dict(ann_file=f'{image.data_root}/annotations/panoptic_val2017.json', name='toy_coco'),
        None]))
    assert model_vocabulary.classes == meta['classes']
    assert model_vocabulary.name == meta['dataset_name']


def test_clip_frames_are_relabelled_with_the_label_map(joint):
    own = joint.datasets[0][0]['data_samples']
    mapped = joint[len(joint.datasets[0])]['data_samples']  # same video, second repeat
    assert mapped.metainfo['data_tag'] == 'video'
    lookup = torch.tensor([0, 1, 2, 4, 5])
    checked = 0
    for before, after in zip(own.video_data_samples, mapped.video_data_samples):
        assert torch.equal(after.gt_instances.labels, lookup[before.gt_instances.labels])
        sem_before, sem_after = before.gt_sem_seg.sem_seg, after.gt_sem_seg.sem_seg
        void = sem_before == VOID_LABEL
        assert torch.equal(sem_after[void], sem_before[void])
        assert torch.equal(sem_after[~void], lookup[sem_before[~void]])
        checked += int((sem_before == 3).sum())  # 'sky' moved from 3 to 4
    assert checked > 0


def test_image_labels_keep_and_prompt_samples_become_class_agnostic(joint):
    start = joint.source_ranges[1][0]
    image = joint[start]['data_samples']
    assert image.metainfo['data_tag'] == 'panoptic'
    assert torch.equal(image.gt_instances.labels,
                       joint.datasets[1][0]['data_samples'].gt_instances.labels)
    prompt = joint[joint.source_ranges[2][0]]['data_samples']
    assert prompt.metainfo['data_tag'] == 'interactive' and 'prompts' in prompt
    assert len(prompt.gt_instances) > 0
    assert (prompt.gt_instances.labels == CLASS_AGNOSTIC).all()


def test_bad_configurations_are_named(toy_data_root, toy_video_root):
    sources = [coco(toy_data_root), vipseg(toy_video_root)]
    with pytest.raises(ValueError, match=r"data_tags\[1\]='sam'"):
        JointDataset(sources, data_tags=['panoptic', 'sam'])
    with pytest.raises(ValueError, match=r'repeats\[0\]=0'):
        JointDataset(sources, data_tags=['panoptic', 'video'], repeats=[0, 1])
    with pytest.raises(ValueError, match='repeats has 1 entries for 2'):
        JointDataset(sources, data_tags=['panoptic', 'video'], repeats=[1])
    with pytest.raises(ValueError, match='has 2 things / 0 stuff, the dataset 4 / 3'):
        JointDataset(sources, data_tags=['panoptic', 'video'], vocabularies=[
            dict(thing_classes=['a', 'b'], name='wrong'), None])
    unpacked = coco(toy_data_root, pipeline=[dict(type='LoadImageFromFile')])
    dataset = JointDataset([unpacked], data_tags=['panoptic'])
    with pytest.raises(TypeError, match='Pack'):
        dataset[0]
    with pytest.raises(IndexError, match='out of range'):
        dataset.locate(len(dataset))
