import { apiKey, fetchResult, resultUrl, type BatchStatus, type FileStatus } from './api.js';
import { failureSentence, formatBytes } from './messages.js';

const STATE_LABELS: Record<FileStatus['state'], string> = {
  waiting: 'Queued',
  delayed: 'Scheduled',
  active: 'Processing',
  completed: 'Done',
  failed: 'Failed',
  unknown: 'Unknown',
};

const STATUS_LABELS: Record<BatchStatus['status'], string> = {
  scheduled: 'Scheduled for later',
  waiting: 'Queued',
  processing: 'Processing',
  completed: 'All done',
  'completed-with-errors': 'Done, some images failed',
  failed: 'Every image failed',
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  node.append(...children);
  return node;
}

/** The per-file rows of one batch, kept by jobId so live events update them in place. */
export class BatchView {
  private readonly files = new Map<string, FileStatus>();
  private readonly rows = new Map<string, HTMLLIElement>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly summary: HTMLElement,
    private readonly announce: (text: string) => void,
  ) {}

  reset(): void {
    this.files.clear();
    this.rows.clear();
    this.list.replaceChildren();
    this.summary.textContent = '';
  }

  showBatch(batch: BatchStatus): void {
    for (const file of batch.files) this.update(file);
    const { total, completed, failed, active, waiting } = batch.progress;
    const parts = [`${completed} of ${total} done`, failed ? `${failed} failed` : '', active ? `${active} processing` : '', waiting ? `${waiting} waiting` : ''].filter(Boolean);
    const text = `${STATUS_LABELS[batch.status]}: ${parts.join(', ')}.`;
    if (this.summary.textContent !== text && (batch.status === 'completed' || batch.status === 'completed-with-errors' || batch.status === 'failed')) this.announce(text);
    this.summary.textContent = text;
  }

  showProgress(jobId: string, percent: number): void {
    const file = this.files.get(jobId);
    if (file && file.state !== 'completed' && file.state !== 'failed') this.update({ ...file, state: 'active', progress: percent });
  }

  /** Merges what is known of one file and redraws its row; announces a file that finished. */
  update(change: Pick<FileStatus, 'jobId'> & Partial<FileStatus>): void {
    const before = this.files.get(change.jobId);
    const file: FileStatus = { originalName: '', state: 'waiting', progress: 0, result: null, failedReason: null, attemptsMade: 0, ...before, ...change };
    this.files.set(file.jobId, file);
    let row = this.rows.get(file.jobId);
    if (!row) {
      row = el('li', { className: 'file' });
      row.dataset.jobId = file.jobId;
      this.rows.set(file.jobId, row);
      this.list.append(row);
    }
    if (before && before.state === file.state && before.progress === file.progress && before.result === file.result) return;
    this.draw(row, file);
    if (before?.state !== file.state && (file.state === 'completed' || file.state === 'failed')) {
      this.announce(file.state === 'completed' ? `${file.originalName} is done.` : `${file.originalName} failed: ${failureSentence(file.failedReason)}`);
    }
  }

  /** Every finished variant's download link, for "Download all". */
  downloads(): HTMLAnchorElement[] {
    return [...this.list.querySelectorAll<HTMLAnchorElement>('a.download')];
  }

  private draw(row: HTMLLIElement, file: FileStatus): void {
    row.dataset.state = file.state;
    const state = el('p', { className: `state state-${file.state}`, text: STATE_LABELS[file.state] });
    const name = el('p', { className: 'name', text: file.originalName });
    const body: Node[] = [name, state];
    if (file.state === 'active' || file.state === 'waiting' || file.state === 'delayed') {
      const bar = el('progress');
      bar.max = 100;
      bar.value = file.progress;
      bar.setAttribute('aria-label', `Progress of ${file.originalName}`);
      if (file.state === 'delayed' && file.attemptsMade > 0) state.textContent = 'Waiting to try again';
      body.push(bar);
    }
    if (file.state === 'completed' && file.result) {
      const [first] = file.result.variants;
      if (first) {
        const img = el('img', { className: 'preview' });
        showPreview(img, resultUrl(file.jobId, first.name));
        img.alt = `Preview of ${file.originalName}`;
        img.width = 96;
        img.height = Math.max(1, Math.round((96 * first.height) / first.width));
        body.unshift(img);
      }
      const links = el('ul', { className: 'variants' });
      for (const variant of file.result.variants) {
        const link = el('a', { className: 'download', text: `Download ${variant.name}` });
        link.href = resultUrl(file.jobId, variant.name);
        // Empty: save under the name the server gives (its Content-Disposition).
        link.download = '';
        link.addEventListener('click', downloadWithKey);
        links.append(el('li', {}, link, el('span', { className: 'hint', text: ` ${variant.format.toUpperCase()}, ${variant.width}×${variant.height}, ${formatBytes(variant.size)}` })));
      }
      body.push(links);
    }
    if (file.state === 'failed') body.push(el('p', { className: 'reason', text: failureSentence(file.failedReason) }));
    row.replaceChildren(...body);
  }
}

/** Without a key the <img> loads the result itself; with one, the page fetches it (sending the key) and shows a blob URL. */
function showPreview(img: HTMLImageElement, url: string): void {
  if (!apiKey.get()) {
    img.src = url;
    return;
  }
  void fetchResult(url).then(
    ({ blob }) => {
      img.src = URL.createObjectURL(blob);
      img.addEventListener('load', () => URL.revokeObjectURL(img.src), { once: true });
    },
    () => img.remove(),
  );
}

/** A download link, when a key is needed: fetched with the key and saved from a blob URL under the server's file name. */
function downloadWithKey(event: MouseEvent): void {
  const link = event.currentTarget;
  if (!apiKey.get() || !(link instanceof HTMLAnchorElement)) return;
  event.preventDefault();
  void fetchResult(link.href).then(
    ({ blob, fileName }) => {
      const save = document.createElement('a');
      save.href = URL.createObjectURL(blob);
      save.download = fileName ?? '';
      save.click();
      window.setTimeout(() => URL.revokeObjectURL(save.href), 10_000);
    },
    () => link.append(el('span', { className: 'hint', text: ' (could not be downloaded: try again)' })),
  );
}
