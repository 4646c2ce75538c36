"""Label conventions shared by datasets, models, post-processing and metrics."""

# Panoptic predictions encode a thing pixel as `label + instance_id * INSTANCE_OFFSET`
# (mmdet's convention; stuff pixels are their label, unassigned pixels are `num_classes`).
INSTANCE_OFFSET = 1000

# Void value of ground-truth semantic maps. Larger than any vocabulary (the merged co-training
# vocabularies exceed 255 classes), as the reference's NO_OBJ.
VOID_LABEL = 65535
