import { ApiProblem, apiKey, getLimits, getPresets, uploadImages, type Presets } from './api.js';
import { BatchView } from './batch-view.js';
import { checkFile, type UploadLimits } from './check-files.js';
import { followBatch } from './follow-batch.js';
import { formatBytes, problemSentence } from './messages.js';
import { readOptions } from './read-options.js';

const BATCH_PATH = /^\/b\/([0-9a-f-]{36})$/;

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

const form = byId<HTMLFormElement>('upload-form');
const fileInput = byId<HTMLInputElement>('file-input');
const dropzone = byId('dropzone');
const selectionBox = byId('selection-box');
const selectionList = byId<HTMLUListElement>('selection');
const outputList = byId('output-list');
const formMessage = byId('form-message');
const uploadButton = byId<HTMLButtonElement>('upload-button');
const batchSection = byId('batch');
const batchTitle = byId('batch-title');
const batchMessage = byId('batch-message');
const batchLink = byId<HTMLAnchorElement>('batch-link');
const downloadAll = byId<HTMLButtonElement>('download-all');
const announcer = byId('announcer');
const keySection = byId('api-key');
const keyForm = byId<HTMLFormElement>('api-key-form');
const keyInput = byId<HTMLInputElement>('api-key-input');
const keyMessage = byId('api-key-message');

const announce = (text: string) => {
  announcer.textContent = text;
};
const view = new BatchView(byId<HTMLOListElement>('files'), byId('batch-summary'), announce);

let limits: UploadLimits | undefined;
let chosen: File[] = [];
let stopFollowing: (() => void) | undefined;

/** Adds picked, dropped or pasted files; each is checked at once and the refused ones say why. */
function choose(files: Iterable<File>): void {
  chosen = [...chosen, ...files];
  drawSelection();
}

function accepted(): File[] {
  return limits ? chosen.filter((f) => checkFile(f, limits as UploadLimits).ok) : chosen;
}

function drawSelection(): void {
  selectionBox.hidden = chosen.length === 0;
  selectionList.replaceChildren(
    ...chosen.map((file) => {
      const item = document.createElement('li');
      const verdict = limits ? checkFile(file, limits) : { ok: true as const };
      item.className = verdict.ok ? 'chosen' : 'chosen refused';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = `${file.name} (${formatBytes(file.size)})`;
      const note = document.createElement('span');
      note.className = 'note';
      note.textContent = verdict.ok ? 'Ready' : `Not sent: ${problemSentence(verdict.code, limits)}`;
      item.append(name, ' ', note);
      return item;
    }),
  );
  const ready = accepted();
  const refused = chosen.length - ready.length;
  let message = '';
  if (limits && ready.length > limits.maxFiles) message = `${ready.length} images are chosen; one upload takes at most ${limits.maxFiles}. Clear some and upload the rest in another go.`;
  else if (refused > 0) message = `${refused === 1 ? 'One file' : `${refused} files`} will not be sent: see why in the list.`;
  formMessage.textContent = message;
  if (chosen.length > 0) announce(`${ready.length} of ${chosen.length} files ready to upload.`);
}

function drawOutputs(presets: Presets): void {
  outputList.replaceChildren(
    ...Object.entries(presets).map(([name, spec]) => {
      const id = `output-${name}`;
      const wrap = document.createElement('div');
      wrap.className = 'choice';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.id = id;
      box.name = 'output';
      box.value = name;
      box.checked = name === 'default';
      const label = document.createElement('label');
      label.htmlFor = id;
      const size = spec.width && spec.height ? `${spec.width}×${spec.height}` : spec.width ? `${spec.width} px wide` : 'original size';
      label.textContent = `${name} (${spec.format.toUpperCase()}, ${size})`;
      wrap.append(box, label);
      return wrap;
    }),
  );
}

async function upload(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const files = accepted();
  const outputs = [...outputList.querySelectorAll<HTMLInputElement>('input[name=output]:checked')].map((b) => b.value);
  const options = readOptions(form);
  const refuse = (text: string, focus: HTMLElement) => {
    formMessage.textContent = text;
    focus.focus();
  };
  if (files.length === 0) return refuse(problemSentence('NO_FILES'), fileInput);
  if (limits && files.length > limits.maxFiles) return refuse(problemSentence('TOO_MANY_FILES', limits), fileInput);
  if (outputs.length === 0) return refuse('Tick at least one output.', outputList.querySelector('input') ?? fileInput);
  if (options && outputs.length > 1) return refuse('Advanced settings change one output: tick only one, or clear the advanced settings.', outputList.querySelector('input') ?? fileInput);

  const body = new FormData();
  if (outputs.length === 1) body.append('preset', outputs[0] as string);
  else body.append('variants', outputs.join(','));
  if (options) body.append('options', JSON.stringify(options));
  for (const file of files) body.append('images', file, file.name);

  uploadButton.disabled = true;
  formMessage.textContent = '';
  announce(`Uploading ${files.length} ${files.length === 1 ? 'image' : 'images'}…`);
  try {
    const batch = await uploadImages(body);
    chosen = [];
    drawSelection();
    form.reset();
    history.pushState({ batchId: batch.batchId }, '', `/b/${batch.batchId}`);
    showBatch(batch.batchId, batch.jobs);
  } catch (err) {
    const problem = err instanceof ApiProblem ? err : new ApiProblem('INTERNAL_ERROR', 0, String(err));
    if (problem.code === 'UNAUTHENTICATED') askForKey();
    const sentence = problem.code === 'NETWORK' ? 'The server did not answer. Check your connection and try again.' : problemSentence(problem.code, limits);
    refuse(`Nothing was uploaded. ${sentence} (${problem.message})`, fileInput);
  } finally {
    uploadButton.disabled = false;
  }
}

/** Shows one batch and follows it live; the same for a fresh upload, a reload and a shared link. */
function showBatch(batchId: string, jobs: readonly { jobId: string; originalName: string }[] = []): void {
  stopFollowing?.();
  view.reset();
  batchMessage.textContent = '';
  for (const job of jobs) view.update({ ...job, state: 'waiting' });
  batchSection.hidden = false;
  batchLink.href = `/b/${batchId}`;
  batchTitle.textContent = `Batch ${batchId.slice(0, 8)}`;
  batchTitle.focus();
  stopFollowing = followBatch(batchId, {
    batch: (batch) => {
      view.showBatch(batch);
      downloadAll.hidden = view.downloads().length === 0;
    },
    progress: (jobId, percent) => view.showProgress(jobId, percent),
    file: (file) => {
      view.update(file);
      downloadAll.hidden = view.downloads().length === 0;
    },
    problem: (problem) => {
      batchMessage.textContent = problemSentence(problem.code, limits);
      if (problem.code === 'UNAUTHENTICATED') askForKey();
    },
  });
}

function route(): void {
  const batchId = BATCH_PATH.exec(location.pathname)?.[1];
  if (batchId) return showBatch(batchId);
  stopFollowing?.();
  batchSection.hidden = true;
}

/** One download after another: browsers drop downloads started in the same instant. */
async function downloadEverything(): Promise<void> {
  const links = view.downloads();
  announce(`Downloading ${links.length} files…`);
  for (const link of links) {
    link.click();
    await new Promise((r) => window.setTimeout(r, 400));
  }
}

/** The server asked for a key (401): show the key form, saying so when the one given was refused. */
function askForKey(): void {
  const refused = apiKey.get() !== null;
  apiKey.clear();
  // Several requests can be refused at once: only a refused key changes what the form says.
  if (refused) keyMessage.textContent = 'The server did not accept that key. Check it and enter it again.';
  keySection.hidden = false;
  keyInput.focus();
}

async function useKey(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (key === '') {
    keyMessage.textContent = 'Enter your API key.';
    keyInput.focus();
    return;
  }
  apiKey.set(key);
  keyForm.reset();
  keySection.hidden = true;
  announce('Key saved for this tab.');
  await loadSettings();
  route();
}

/** What one upload may hold and the outputs on offer, from the server; the first requests that can need a key. */
async function loadSettings(): Promise<void> {
  try {
    const [serverLimits, presets] = await Promise.all([getLimits(), getPresets()]);
    limits = serverLimits;
    formMessage.textContent = '';
    byId('limits-hint').textContent = `Drop images here, choose them, or paste them: up to ${limits.maxFiles} at a time, ${formatBytes(limits.maxFileSizeBytes)} each; JPEG, PNG, WebP, GIF, AVIF or TIFF.`;
    drawOutputs(presets);
    drawSelection();
  } catch (err) {
    if (err instanceof ApiProblem && err.code === 'UNAUTHENTICATED') return askForKey();
    formMessage.textContent = `The server's settings could not be read. ${err instanceof ApiProblem ? problemSentence(err.code) : ''}`;
  }
}

async function start(): Promise<void> {
  keyForm.addEventListener('submit', (e) => void useKey(e));
  form.addEventListener('submit', (e) => void upload(e));
  fileInput.addEventListener('change', () => {
    if (fileInput.files) choose(fileInput.files);
    fileInput.value = '';
  });
  byId('clear-selection').addEventListener('click', () => {
    chosen = [];
    drawSelection();
    fileInput.focus();
  });
  dropzone.addEventListener('dragover', (e) => {
    e.preventDefault();
    dropzone.classList.add('dragging');
  });
  dropzone.addEventListener('dragleave', () => dropzone.classList.remove('dragging'));
  dropzone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropzone.classList.remove('dragging');
    if (e.dataTransfer?.files) choose(e.dataTransfer.files);
  });
  document.addEventListener('paste', (e) => {
    const files = e.clipboardData?.files;
    if (files && files.length > 0) choose(files);
  });
  downloadAll.addEventListener('click', () => void downloadEverything());
  window.addEventListener('popstate', route);
  route();
  await loadSettings();
}

void start();
