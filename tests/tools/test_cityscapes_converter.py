"""tools/dataset_converters/cityscapes_to_panoptic.py: default output place, options, errors."""
import importlib.util
import json
from pathlib import Path

from seg.datasets import CityscapesPanopticDataset
from seg.testing.miniature.cityscapes_gtfine import write_miniature_gtfine

REPO = Path(__file__).resolve().parents[2]


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'cityscapes_to_panoptic', REPO / 'tools' / 'dataset_converters' /
        'cityscapes_to_panoptic.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_where_the_dataset_looks(tmp_path, capsys):
    write_miniature_gtfine(tmp_path, cities=('aachen', 'bremen'), frames_per_city=1)
    tool = load_tool()
    assert tool.main(['--cityscapes-root', str(tmp_path), '--splits', 'train', 'val']) == 0
    output = capsys.readouterr().out
    assert 'val: converting 2 instanceIds files' in output and 'val: 2/2 files' in output
    for split in ('train', 'val'):
        dataset = CityscapesPanopticDataset(
            data_root=str(tmp_path), test_mode=True,
            ann_file=f'annotations/cityscapes_panoptic_{split}_trainId.json',
            data_prefix=dict(img=f'leftImg8bit/{split}/',
                             seg=f'annotations/cityscapes_panoptic_{split}_trainId/'))
        assert len(dataset) == 2
        assert Path(dataset.get_data_info(1)['seg_map_path']).is_file()
        assert Path(dataset.get_data_info(1)['img_path']).is_file()


def test_cli_label_ids_out_dir_and_jobs(tmp_path):
    write_miniature_gtfine(tmp_path, splits=('val',), frames_per_city=2)
    tool = load_tool()
    out = tmp_path / 'elsewhere'
    assert tool.main(['--cityscapes-root', str(tmp_path), '--splits', 'val', '--out-dir',
                      str(out), '--use-label-id']) == 0
    single = json.loads((out / 'cityscapes_panoptic_val.json').read_text())
    assert 26 in {cat['id'] for cat in single['categories']}
    assert tool.main(['--cityscapes-root', str(tmp_path), '--splits', 'val', '--out-dir',
                      str(out / 'parallel'), '--use-label-id', '--jobs', '2']) == 0
    assert json.loads((out / 'parallel' / 'cityscapes_panoptic_val.json').read_text()) == single
    assert not (tmp_path / 'annotations').exists()


def test_cli_reports_missing_gtfine(tmp_path, capsys):
    assert load_tool().main(['--cityscapes-root', str(tmp_path / 'nothing')]) == 1
    error = capsys.readouterr().err
    assert 'gtFine folder not found' in error and 'nothing/gtFine/train' in error
