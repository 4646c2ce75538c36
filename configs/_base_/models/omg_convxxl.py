# OMG-Seg with the frozen CLIP ConvNeXt-XXL backbone (the released `omg_seg_convxxl.pth`).
# The reference ships no XXL config (its seg/configs/ are ConvNeXt-L only); everything but the
# backbone is the ConvNeXt-L model: the head takes the XXL stage widths [384, 768, 1536, 3072] and
# compares its class embeddings with D = 1024 CLIP text embeddings (both read from the backbone).
from mmengine.config import read_base

with read_base():
    from .omg_convl import *  # noqa: F401,F403

# open_clip's `convnext_xxlarge` (CLIP projection: one linear layer 3072 -> 1024). The CLIP
# weights the OMG-Seg authors started from are not documented; this LAION tag is an assumption
# and only matters for text embeddings and training (checkpoints carry the image tower).
model.backbone.update(model_name='convnext_xxlarge', pretrained='laion2b_s34b_b82k_augreg_soup')
