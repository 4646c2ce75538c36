// The OMG-Seg web demo page: plain JavaScript over the json API of seg/apis/web_demo/server.py.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {session: null, hasImage: false, hasResult: false, hasObjects: false,
               video: null, job: null, frames: [], playing: null, pending: 0};

// ------------------------------------------------------------------ requests and messages
function showError(message) {
  $('error-text').textContent = message;
  $('error').hidden = false;
}
function clearError() { $('error').hidden = true; }

function busy(delta, text) {
  state.pending += delta;
  if (text) { $('busy-text').textContent = text; }
  $('busy').hidden = state.pending <= 0;
}

async function api(path, options = {}, text = 'working…') {
  busy(1, text);
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new Error('cannot reach the demo server (is it still running?)');
  } finally {
    busy(-1);
  }
  let content = null;
  try { content = await response.json(); } catch (error) { content = null; }
  if (!response.ok) {
    throw new Error(content && content.error ? content.error
                    : `the server answered HTTP ${response.status}`);
  }
  if (content === null) { throw new Error('the server answered something that is not json'); }
  return content;
}

function postJson(path, body, text) {
  return api(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify(Object.assign({session: state.session}, body))}, text);
}

function guarded(action) {
  return async (...args) => {
    clearError();
    try { await action(...args); } catch (error) { showError(error.message); }
  };
}

// ------------------------------------------------------------------ start
function setVocabulary(vocabulary) {
  $('things').value = vocabulary.things.join('\n');
  $('stuff').value = vocabulary.stuff.join('\n');
  $('vocabulary-status').textContent =
    `${vocabulary.things.length} thing and ${vocabulary.stuff.length} stuff classes in use`;
}

async function start() {
  const info = await api('/api/session', {method: 'POST'}, 'connecting…');
  state.session = info.session;
  $('model-description').textContent = info.description;
  $('random-warning').hidden = !info.random_weights;
  setVocabulary(info.vocabulary);
  const limits = info.limits;
  $('image-info').textContent =
    `Up to ${limits.max_image_mb} MB and ${limits.max_image_side} pixels a side.`;
  $('video-info').textContent = `A clip (MP4, AVI, WebM…) or frame images: up to ` +
    `${limits.max_video_frames} frames, ${limits.max_video_side} pixels a side.`;
  document.body.dataset.ready = 'true';
}

// ------------------------------------------------------------------ tabs
for (const button of document.querySelectorAll('#tabs button')) {
  button.addEventListener('click', () => {
    for (const other of document.querySelectorAll('#tabs button')) {
      other.classList.toggle('active', other === button);
      $('tab-' + other.dataset.tab).hidden = other !== button;
    }
  });
}

// ------------------------------------------------------------------ image and segmentation
$('image-file').addEventListener('change', guarded(async () => {
  const file = $('image-file').files[0];
  if (!file) { return; }
  const form = new FormData();
  form.append('session', state.session);
  form.append('file', file, file.name);
  const answer = await api('/api/image', {method: 'POST', body: form}, 'reading the image…');
  state.hasImage = true;
  state.hasResult = false;
  state.hasObjects = false;
  $('image-info').textContent = `${answer.name}: ${answer.width}×${answer.height}`;
  for (const id of ['overlay', 'prompt-view']) {
    $(id).src = answer.image;
    $(id).hidden = false;
    $(id).dataset.kind = 'image';
  }
  $('segments').hidden = true;
  $('objects').innerHTML = '';
  setDownloads(false);
}));

function setDownloads(enabled) {
  for (const [id, what] of [['download-png', 'panoptic.png'], ['download-json', 'segments.json']]) {
    const link = $(id);
    link.classList.toggle('disabled', !enabled);
    link.href = enabled ? `/api/download/${what}?session=${state.session}` : '#';
  }
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.appendChild(td);
  return td;
}

async function segment() {
  const task = $('task').value;
  const answer = await postJson('/api/segment', {task, score_thr: Number($('score-thr').value)},
                                `${task} segmentation…`);
  $('overlay').src = answer.overlay;
  $('overlay').hidden = false;
  $('overlay').dataset.kind = 'overlay';
  $('overlay').dataset.task = answer.task;
  const body = $('segments').querySelector('tbody');
  body.innerHTML = '';
  answer.rows.forEach((row, index) => {
    const tr = document.createElement('tr');
    cell(tr, index + 1);
    cell(tr, row.class_name).className = 'segment-class';
    cell(tr, row.kind);
    cell(tr, row.instance === null ? '' : row.instance);
    cell(tr, row.score === null ? '–' : row.score.toFixed(2)).className = 'segment-score';
    cell(tr, row.area);
    body.appendChild(tr);
  });
  $('segments').hidden = false;
  $('segments').dataset.task = answer.task;
  state.hasResult = true;
  setDownloads(true);
}
$('run-segment').addEventListener('click', guarded(segment));

// ------------------------------------------------------------------ vocabulary
const lines = (text) => text.split('\n').map((line) => line.trim()).filter((line) => line);

async function vocabularyChanged(answer) {
  setVocabulary(answer.vocabulary);
  $('vocabulary-status').textContent += ' (applied)';
  if (state.hasResult) { await segment(); }
  if (state.hasObjects) { await promptAction(stages.image, {action: 'view'}); }
  if (state.video && state.video.hasObjects) { await promptAction(stages.video, {action: 'view'}); }
}
$('apply-vocabulary').addEventListener('click', guarded(async () => {
  const answer = await postJson('/api/vocabulary',
                                {things: lines($('things').value), stuff: lines($('stuff').value)},
                                'computing text embeddings…');
  await vocabularyChanged(answer);
}));
$('reset-vocabulary').addEventListener('click', guarded(async () => {
  await vocabularyChanged(await postJson('/api/vocabulary', {reset: true},
                                         'computing text embeddings…'));
}));

// ------------------------------------------------------------------ click / box / paint stages
function renderObjects(list, objects) {
  list.innerHTML = '';
  for (const object of objects) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = object.color;
    item.appendChild(swatch);
    const name = document.createElement('span');
    name.className = 'object-class';
    name.textContent = object.class_name;
    item.appendChild(name);
    const score = object.score === null ? '' : ` ${object.score.toFixed(2)}`;
    const added = object.added ? `, ${object.added} added` : '';
    const negatives = object.negatives ? `, ${object.negatives} negative` : '';
    item.appendChild(document.createTextNode(
      `${score} · ${object.kind} · ${object.area} px${added}${negatives}`));
    item.dataset.area = object.area;
    item.dataset.coords = object.coords.join(',');
    list.appendChild(item);
  }
}

const stages = {
  image: {stage: $('prompt-stage'), img: $('prompt-view'), list: $('objects'),
          endpoint: '/api/prompt', mode: () => document.querySelector(
            'input[name="click-mode"]:checked').value},
  video: {stage: $('vos-stage'), img: $('vos-view'), list: $('vos-objects'),
          canvas: $('vos-canvas'), endpoint: '/api/video/prompt', mode: () =>
            document.querySelector('input[name="vos-mode"]:checked').value},
};

async function promptAction(stage, body) {
  const answer = await postJson(stage.endpoint, body, 'predicting the mask…');
  stage.img.src = answer.overlay;
  stage.img.dataset.kind = 'overlay';
  stage.img.dataset.actions = answer.actions;
  renderObjects(stage.list, answer.objects);
  const hasObjects = answer.objects.length > 0;
  if (stage === stages.image) { state.hasObjects = hasObjects; }
  else if (state.video) { state.video.hasObjects = hasObjects; $('video-vos').checked = hasObjects; }
}

function imagePoint(stage, event) {
  const rect = stage.img.getBoundingClientRect();
  const width = stage.img.naturalWidth, height = stage.img.naturalHeight;
  const x = (event.clientX - rect.left) * width / rect.width;
  const y = (event.clientY - rect.top) * height / rect.height;
  return {x: Math.min(Math.max(x, 0), width), y: Math.min(Math.max(y, 0), height),
          cssX: event.clientX - rect.left, cssY: event.clientY - rect.top};
}

function attachStage(stage) {
  const rubber = stage.stage.querySelector('.rubber');
  let down = null;
  const brush = () => Math.max(3, Math.round(stage.img.naturalWidth / 50));
  const paint = (point) => {
    const context = stage.canvas.getContext('2d');
    context.fillStyle = '#ff3030';
    context.beginPath();
    context.arc(point.x, point.y, brush(), 0, 2 * Math.PI);
    context.fill();
  };
  stage.stage.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || !stage.img.naturalWidth) { return; }
    event.preventDefault();
    stage.stage.setPointerCapture(event.pointerId);
    down = imagePoint(stage, event);
    if (stage.mode() === 'paint') {
      stage.canvas.width = stage.img.naturalWidth;
      stage.canvas.height = stage.img.naturalHeight;
      paint(down);
    }
  });
  stage.stage.addEventListener('pointermove', (event) => {
    if (!down) { return; }
    const point = imagePoint(stage, event);
    if (stage.mode() === 'paint') { paint(point); return; }
    if (Math.hypot(point.cssX - down.cssX, point.cssY - down.cssY) < 5) { return; }
    rubber.hidden = false;
    rubber.style.left = Math.min(point.cssX, down.cssX) + 'px';
    rubber.style.top = Math.min(point.cssY, down.cssY) + 'px';
    rubber.style.width = Math.abs(point.cssX - down.cssX) + 'px';
    rubber.style.height = Math.abs(point.cssY - down.cssY) + 'px';
  });
  stage.stage.addEventListener('pointerup', guarded(async (event) => {
    if (!down) { return; }
    const start = down;
    down = null;
    rubber.hidden = true;
    const point = imagePoint(stage, event);
    const mode = stage.mode();
    if (mode === 'paint') {
      const mask = stage.canvas.toDataURL('image/png');
      stage.canvas.getContext('2d').clearRect(0, 0, stage.canvas.width, stage.canvas.height);
      await promptAction(stage, {action: 'drawn', mask});
      return;
    }
    const positive = mode !== 'negative';
    const refine = mode === 'add';
    if (Math.hypot(point.cssX - start.cssX, point.cssY - start.cssY) < 5) {
      const width = stage.img.naturalWidth, height = stage.img.naturalHeight;
      await promptAction(stage, {action: 'point', positive, refine,
                                 coords: [Math.min(start.x, width - 0.01),
                                          Math.min(start.y, height - 0.01)]});
    } else {
      await promptAction(stage, {action: 'box', positive, refine,
                                 coords: [Math.min(start.x, point.x), Math.min(start.y, point.y),
                                          Math.max(start.x, point.x), Math.max(start.y, point.y)]});
    }
  }));
  stage.stage.addEventListener('pointercancel', () => { down = null; rubber.hidden = true; });
}
attachStage(stages.image);
attachStage(stages.video);

// The current (last) object's mask defines a class by example ("segment everything like this").
$('add-exemplar').addEventListener('click', guarded(async () => {
  const answer = await postJson('/api/exemplar', {name: $('exemplar-name').value,
                                                  thing: !$('exemplar-stuff').checked},
                                'embedding the example…');
  $('exemplar-status').textContent = 'Classes by example: ' + Object.entries(answer.exemplars)
    .map(([name, count]) => `${name} (${count} example${count === 1 ? '' : 's'})`).join(', ');
  await vocabularyChanged(answer);
}));
$('undo').addEventListener('click', guarded(() => promptAction(stages.image, {action: 'undo'})));
$('clear').addEventListener('click', guarded(() => promptAction(stages.image, {action: 'clear'})));
$('vos-undo').addEventListener('click', guarded(() => promptAction(stages.video, {action: 'undo'})));
$('vos-clear').addEventListener('click', guarded(() => promptAction(stages.video, {action: 'clear'})));

// ------------------------------------------------------------------ video
async function uploadVideo(input) {
  const files = Array.from(input.files);
  if (!files.length) { return; }
  const form = new FormData();
  form.append('session', state.session);
  for (const file of files) { form.append('file', file, file.name); }
  const answer = await api('/api/video', {method: 'POST', body: form}, 'reading the video…');
  stopPlaying();
  state.video = {hasObjects: false, ...answer};
  $('video-info').textContent =
    `${answer.name}: ${answer.num_frames} frames of ${answer.width}×${answer.height}`;
  $('video-info').dataset.frames = answer.num_frames;
  $('vos-view').src = answer.first_frame;
  $('vos-view').dataset.kind = 'image';
  $('vos-objects').innerHTML = '';
  $('video-vos').checked = false;
  $('video-first').hidden = false;
  $('video-player').hidden = true;
  $('video-progress').hidden = true;
}
$('video-file').addEventListener('change', guarded(() => uploadVideo($('video-file'))));
$('video-folder').addEventListener('change', guarded(() => uploadVideo($('video-folder'))));

function showProgress(status) {
  const bar = $('video-progress-bar');
  if (status.state === 'drawing' || status.state === 'done') {
    bar.max = Math.max(status.total, 1);
    bar.value = status.state === 'done' ? bar.max : status.done;
  } else {
    bar.removeAttribute('value');  // indeterminate: the model reports no per-frame progress
  }
  const counter = status.state === 'drawing' ? ` (${status.done}/${status.total})` : '';
  $('video-progress-text').textContent = `${status.message}${counter} · ${status.elapsed} s`;
  $('video-progress').dataset.state = status.state;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

$('run-video').addEventListener('click', guarded(async () => {
  stopPlaying();
  $('run-video').disabled = true;
  try {
    let status = await postJson('/api/video/run', {task: $('video-task').value,
                                                   vos: $('video-vos').checked,
                                                   score_thr: Number($('score-thr').value)},
                                'starting…');
    $('video-progress').hidden = false;
    $('video-player').hidden = true;
    showProgress(status);
    while (status.state !== 'done' && status.state !== 'error') {
      await sleep(300);
      status = await api(`/api/video/job?session=${state.session}&job=${status.job}`, {},
                         'segmenting the video…');
      showProgress(status);
    }
    if (status.state === 'error') { throw new Error(status.error); }
    showPlayer(status);
  } finally {
    $('run-video').disabled = false;
  }
}));

function showPlayer(status) {
  state.job = status;
  const select = $('video-view');
  select.innerHTML = '';
  for (const view of status.views) {
    const option = document.createElement('option');
    option.value = view;
    option.textContent = view === 'objects' ? 'objects (VOS)' : `${status.task} segmentation`;
    select.appendChild(option);
  }
  if (status.views.includes('objects')) { select.value = 'objects'; }
  $('video-slider').max = status.num_frames - 1;
  $('video-slider').value = 0;
  $('video-download').href = `/api/video/download.zip?session=${state.session}&job=${status.job}`;
  loadView();
  $('video-player').hidden = false;
}

function loadView() {
  const view = $('video-view').value;
  const job = state.job;
  state.frames = [];
  for (let index = 0; index < job.num_frames; index++) {
    const image = new Image();
    image.src = `/api/video/frame?session=${state.session}&job=${job.job}&view=${view}&index=${index}`;
    state.frames.push(image);
  }
  showFrame(Number($('video-slider').value));
}

function showFrame(index) {
  const job = state.job;
  const view = $('video-view').value;
  $('video-frame').src = state.frames[index].src;
  $('video-frame').dataset.index = index;
  $('video-frame-label').textContent = `frame ${index + 1} / ${job.num_frames}`;
  const legend = $('video-legend');
  legend.innerHTML = '';
  for (const entry of job.legends[view][index]) {
    const item = document.createElement('li');
    item.textContent = entry;
    legend.appendChild(item);
  }
}

function stopPlaying() {
  if (state.playing !== null) { clearInterval(state.playing); }
  state.playing = null;
  $('video-play').textContent = 'Play';
}

$('video-view').addEventListener('change', loadView);
$('video-slider').addEventListener('input', () => showFrame(Number($('video-slider').value)));
$('video-play').addEventListener('click', () => {
  if (state.playing !== null) { stopPlaying(); return; }
  $('video-play').textContent = 'Pause';
  state.playing = setInterval(() => {
    const next = (Number($('video-slider').value) + 1) % state.job.num_frames;
    $('video-slider').value = next;
    showFrame(next);
  }, 200);
});

$('error-close').addEventListener('click', clearError);
guarded(start)();
