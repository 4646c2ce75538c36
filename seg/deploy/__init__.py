"""Deployment: export of the image path (``seg.deploy.export``, ``seg.deploy.exportable``;
``tools/export.py``) and torch-free post-processing of the exported outputs
(``seg.deploy.postprocess_numpy``, numpy only). Nothing is imported here, so importing the
numpy module does not import torch. Notes: docs/EXPORT.md."""
