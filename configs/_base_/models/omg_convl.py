# The paper's model (upstream seg/configs/m2ov_*): frozen CLIP ConvNeXt-L, deformable pixel
# decoder (6 layers), 9-layer masked-attention decoder with 300 queries, CLIP-text classifier.
# The width (feat_channels) is written once: the head passes it to every attention, FFN and
# positional-encoding block below that does not set its own.
from seg.models.backbones import OpenCLIPBackbone
from seg.models.data_preprocessor import SegDataPreprocessor
from seg.models.heads import OMGHead, SetCriterion
from seg.models.layers import Mask2FormerTransformerDecoder
from seg.models.pixel_decoders import MSDeformAttnPixelDecoder
from seg.models.postprocess import QueryPostprocessor
from seg.models.segmentor import OMGSegmentor

feat_channels = 256
num_queries = 300

data_preprocessor = dict(
    type=SegDataPreprocessor,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=32,
    pad_value=0)

model = dict(
    type=OMGSegmentor,
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type=OpenCLIPBackbone,
        model_name='convnext_large_d_320',
        pretrained='laion2b_s29b_b131k_ft_soup',
        frozen=True),
    vocabulary=None,  # set by the dataset config: dict(ann_file=...) or class lists + name
    text_embeddings=dict(cache_dir=None, generate_if_missing=False),
    panoptic_head=dict(
        type=OMGHead,
        feat_channels=feat_channels,
        out_channels=feat_channels,
        num_queries=num_queries,
        num_transformer_feat_level=3,
        pixel_decoder=dict(
            type=MSDeformAttnPixelDecoder,
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32),
            act_cfg=dict(type='ReLU'),
            encoder=dict(  # DeformableDetrTransformerEncoder
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(num_heads=8, num_levels=3, num_points=4, dropout=0.0,
                                       batch_first=True),
                    ffn_cfg=dict(feedforward_channels=1024, num_fcs=2, ffn_drop=0.0,
                                 act_cfg=dict(type='ReLU', inplace=True)))),
            positional_encoding=dict(normalize=True)),  # SinePositionalEncoding
        enforce_decoder_input_project=False,
        positional_encoding=dict(normalize=True),  # SinePositionalEncoding3D
        transformer_decoder=dict(
            type=Mask2FormerTransformerDecoder,
            return_intermediate=True,
            num_layers=9,
            layer_cfg=dict(
                self_attn_cfg=dict(num_heads=8, dropout=0.0, batch_first=True),
                cross_attn_cfg=dict(num_heads=8, dropout=0.0, batch_first=True),
                ffn_cfg=dict(feedforward_channels=2048, num_fcs=2, ffn_drop=0.0,
                             act_cfg=dict(type='ReLU', inplace=True))))),
    criterion=dict(
        type=SetCriterion,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                      reduction='mean'),
        no_object_weight=0.1,
        loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                       loss_weight=5.0),
        loss_dice=dict(type='DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                       naive_dice=True, eps=1.0, loss_weight=5.0),
        loss_objectness=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                             loss_weight=2.0)),
    postprocessor=dict(type=QueryPostprocessor),
    train_cfg=dict(  # SetCriterion's: point sampling and matching
        num_points=12544,
        oversample_ratio=3.0,
        importance_sample_ratio=0.75,
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='ClassificationCost', weight=2.0),
                dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)])),
    test_cfg=dict(  # QueryPostprocessor's (PostprocessConfig)
        panoptic_on=True,
        semantic_on=True,
        instance_on=True,
        max_per_image=100,
        iou_thr=0.8,
        filter_low_score=True,
        object_mask_thr=0.0),
    init_cfg=None)
