import type { BatchIndex, IndexPosition } from '../queue/batch-index';
import type { BatchStore } from '../queue/batch-store';
import type { BatchStatus } from '../queue/batch-summary';
import { readBatchStatus, type BatchStatusView } from '../queue/job-status';
import type { ImageQueue } from '../queue/jobs';

export type BatchSummary = Omit<BatchStatusView, 'files'>;

export interface BatchListRequest {
  readonly limit: number;
  /** The position the previous page ended at. */
  readonly after?: IndexPosition | undefined;
  readonly status?: BatchStatus | undefined;
}

export interface BatchListPage {
  readonly items: BatchSummary[];
  /** Where the next page starts; undefined once the index is exhausted. */
  readonly next: IndexPosition | undefined;
}

/** How many index entries a filtered page may look at, per item it asks for. */
const FILTER_SCAN_FACTOR = 4;

export interface ListDeps {
  readonly index: BatchIndex;
  readonly queue: ImageQueue;
  readonly batches: BatchStore;
}

/**
 * One page of an owner's batches, newest first. Its cost is bounded by `limit` (a filtered page
 * looks at no more than FILTER_SCAN_FACTOR × limit batches and may hold fewer items, with a
 * cursor to go on from), never by how many batches the owner ever made.
 */
export async function listBatches(deps: ListDeps, owner: string | undefined, request: BatchListRequest): Promise<BatchListPage> {
  // Retention's share of the work: each expired batch's entry is removed once, by whichever request comes first.
  await deps.index.prune();
  const { limit, status } = request;
  const budget = status === undefined ? limit : limit * FILTER_SCAN_FACTOR;
  const items: BatchSummary[] = [];
  let after = request.after;
  let scanned = 0;
  while (items.length < limit && scanned < budget) {
    const want = status === undefined ? limit - items.length : Math.min(limit, budget - scanned);
    const entries = await deps.index.page(owner, after, want);
    const views = await Promise.all(entries.map((e) => readBatchStatus(deps.queue, deps.batches, e.batchId)));
    for (const [i, entry] of entries.entries()) {
      scanned++;
      after = entry;
      const view = views[i];
      // Expired since the prune above, or left by an upload whose enqueue was undone.
      if (!view) await deps.index.forget(owner, entry.batchId);
      else if (status === undefined || view.status === status) items.push(summaryOf(view));
      if (items.length === limit) break;
    }
    if (entries.length < want) return { items, next: undefined };
  }
  return { items, next: after };
}

function summaryOf({ files: _files, ...summary }: BatchStatusView): BatchSummary {
  return summary;
}
