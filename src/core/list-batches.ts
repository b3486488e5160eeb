import type { BatchIndex, IndexPosition } from '../queue/batch-index';
import type { BatchStore } from '../queue/batch-store';
import type { BatchStatus } from '../queue/batch-summary';
import { readBatchSummaries, type BatchSummary } from '../queue/job-status';
import type { ImageQueue } from '../queue/jobs';

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
 * cursor to go on from), never by how many batches the owner ever made: an unfiltered page is
 * one read of the index, one of the records (readBatchSummaries) and one of the unfinished files'
 * states, whatever its length.
 */
export async function listBatches(deps: ListDeps, owner: string | undefined, request: BatchListRequest): Promise<BatchListPage> {
  const { limit, status } = request;
  const budget = status === undefined ? limit : limit * FILTER_SCAN_FACTOR;
  const items: BatchSummary[] = [];
  let after = request.after;
  let scanned = 0;
  while (items.length < limit && scanned < budget) {
    const want = status === undefined ? limit - items.length : Math.min(limit, budget - scanned);
    const entries = await deps.index.page(owner, after, want);
    const summaries = await readBatchSummaries(deps.queue, deps.batches, entries.map((e) => e.batchId));
    const gone: string[] = [];
    let looked = 0;
    for (const [i, entry] of entries.entries()) {
      scanned++;
      looked++;
      after = entry;
      const summary = summaries[i];
      // Expired and not pruned yet: the workers prune the rest (an undone enqueue removes its own entry, REMOVE_BATCH).
      if (!summary) gone.push(entry.batchId);
      else if (status === undefined || summary.status === status) items.push(summary);
      if (items.length === limit) break;
    }
    if (gone.length > 0) await deps.index.forget(owner, gone);
    // Exhausted only if every entry it gave was looked at: a filtered page may fill before its
    // last one, and the entries after that are the next page's.
    if (entries.length < want && looked === entries.length) return { items, next: undefined };
  }
  return { items, next: after };
}
