from mmengine.config import read_base
with read_base():
    from ._tmp_helper5_exp_b import *  # noqa
optim_wrapper['clip_grad'] = None
