"""The web demo's click objects without a browser (seg.apis.web_demo.DemoApp): refining clicks
go into one multi-point prompt when the model takes them, else their regions are combined."""
import io

import numpy as np
import pytest
from PIL import Image

from seg.apis import Predictor
from seg.apis.web_demo import DemoApp
from seg.apis.web_demo.codec import DemoError
from .conftest import tiny_predictor


def demo(tiny_cfg, multi_point):
    predictor = (tiny_predictor(tiny_cfg, frame='padded', content_seed='mask_features',
                                multi_point=True) if multi_point else tiny_predictor(tiny_cfg))
    app = DemoApp(predictor, random_weights=True)
    session = app.new_session()['session']
    rng = np.random.RandomState(0)
    image = rng.randint(0, 255, (40, 56, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    app.upload_image(session, buffer.getvalue(), 'scene.png')
    return app, session, predictor, image


def test_a_multi_point_model_decodes_all_clicks_of_an_object_as_one_prompt(tiny_cfg):
    app, session, predictor, image = demo(tiny_cfg, multi_point=True)
    sent = []
    original = predictor.predict_prompts
    predictor.predict_prompts = lambda **kw: sent.append(kw) or original(**kw)
    app.prompt(session, dict(action='point', coords=[10, 10]))
    app.prompt(session, dict(action='point', coords=[30, 20], refine=True))
    view = app.prompt(session, dict(action='point', coords=[50, 35], positive=False))
    assert len(view['objects']) == 1
    assert view['objects'][0]['added'] == 1 and view['objects'][0]['negatives'] == 1
    assert sent[-1] == dict(prompts=[dict(points=[[10.0, 10.0], [30.0, 20.0], [50.0, 35.0]],
                                          labels=[1, 1, 0])])
    reference = Predictor.predict_prompts(predictor, image=image, prompts=sent[-1]['prompts'])
    assert view['objects'][0]['area'] == int(reference.masks[0].sum())
    # Undo goes back to the object as it was after the added click.
    view = app.prompt(session, dict(action='undo'))
    after_two = Predictor.predict_prompts(predictor, image=image, prompts=[
        dict(points=[[10.0, 10.0], [30.0, 20.0]], labels=[1, 1])])
    assert view['objects'][0]['area'] == int(after_two.masks[0].sum())
    # A new positive click starts a second object.
    assert len(app.prompt(session, dict(action='point', coords=[5, 30]))['objects']) == 2


def test_without_multi_point_prompts_refining_clicks_combine_regions(tiny_cfg):
    app, session, predictor, image = demo(tiny_cfg, multi_point=False)
    single = [Predictor.predict_prompts(predictor, image=image, points=[point]).masks[0]
              for point in ([10, 10], [30, 20], [50, 35])]
    app.prompt(session, dict(action='point', coords=[10, 10]))
    app.prompt(session, dict(action='point', coords=[30, 20], refine=True))
    view = app.prompt(session, dict(action='point', coords=[50, 35], positive=False))
    expected = (single[0] | single[1]) & ~single[2]
    assert view['objects'][0]['area'] == int(expected.sum())


def test_refining_needs_an_object_and_a_click(tiny_cfg):
    app, session, _, _ = demo(tiny_cfg, multi_point=True)
    with pytest.raises(DemoError, match='add a positive click or box first'):
        app.prompt(session, dict(action='point', coords=[10, 10], refine=True))
    app.prompt(session, dict(action='point', coords=[10, 10]))
    with pytest.raises(DemoError, match='only clicks are added'):
        app.prompt(session, dict(action='box', coords=[5, 5, 20, 20], refine=True))
    with pytest.raises(DemoError, match='"refine" must be true or false'):
        app.prompt(session, dict(action='point', coords=[10, 10], refine='yes'))
    with pytest.raises(DemoError, match='outside the image'):
        app.prompt(session, dict(action='point', coords=[500, 10], refine=True))
    assert app.prompt(session, dict(action='view'))['actions'] == 1  # the failed click is gone
