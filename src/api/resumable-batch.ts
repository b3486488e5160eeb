import { randomUUID } from 'node:crypto';
import { checkStoredUploads, type StoredUploadLimits } from '../core/check-stored-uploads';
import type { BatchRequest, Imgflow, IncomingImage, Submitter } from '../core/imgflow';
import type { ScheduleRequest } from '../core/schedule';
import type { ApiMetrics } from '../metrics/api-metrics';
import type { EnqueuedBatch } from '../queue/enqueue-batch';
import type { FileStore } from '../storage/file-store';
import { HttpError } from './errors';
import type { ResumableStore } from './resumable-store';
import { claimIdsOf, type UploadClaims } from './upload-claims';

/** What completing tus uploads into a batch works with. */
export interface ResumableDeps {
  readonly store: ResumableStore;
  readonly claims: UploadClaims;
  /** The store multipart uploads are written to, which the workers read. */
  readonly uploads: FileStore;
  /** maxFileSizeBytes is MAX_RESUMABLE_SIZE_MB here; pixels and SVG as for multipart. */
  readonly limits: StoredUploadLimits;
  /** Uploads per completion, as files per multipart request (MAX_FILES). */
  readonly maxFiles: number;
}

/**
 * Queues finished tus uploads as one batch, all or nothing. Each id is claimed first, so it joins
 * one batch only; then each upload is checked as a multipart file would be (a refused one is
 * removed) and handed to the upload store under a new name. Anything refused or failed releases
 * the claims and removes the copies, leaving the good uploads to be completed again; once the
 * batch is queued the claims are kept for the uploads' lifetime and the tus uploads removed. An
 * API killed before queueing holds its claims only for a request's time; one killed between
 * queueing and confirming (one Redis reply) lets a completion after that create a second batch.
 */
export async function submitResumableBatch(
  deps: { readonly resumable: ResumableDeps; readonly imgflow: Pick<Imgflow, 'submitBatch'>; readonly metrics?: Pick<ApiMetrics, 'acceptFiles'> | undefined },
  submitter: Submitter,
  ids: readonly string[],
  request: BatchRequest,
  schedule: ScheduleRequest,
): Promise<EnqueuedBatch> {
  const { store, claims, uploads, limits } = deps.resumable;
  const claimed = claimIdsOf(ids, submitter.owner);
  const token = await claims.claim(claimed);
  if (token === undefined) throw new HttpError('UPLOAD_ALREADY_USED', `One of the uploads (${ids.join(', ')}) is already in a batch, or being completed by another request; each upload joins one batch`);
  const imported: string[] = [];
  try {
    const finished = await Promise.all(ids.map((id) => store.finished(id, submitter.owner)));
    const checked = await checkStoredUploads(store.files, finished.map((f) => ({ storedName: f.id, originalName: f.originalName })), limits);
    const images: IncomingImage[] = [];
    // One at a time: after a failure no import is still running to leave a copy behind.
    for (const image of checked) {
      const storedName = randomUUID();
      await uploads.importFile(storedName, store.pathOf(image.storedName));
      imported.push(storedName);
      images.push({ ...image, storedName });
    }
    const batch = await deps.imgflow.submitBatch(submitter, images, request, schedule);
    deps.metrics?.acceptFiles(images.map((image) => image.size));
    // Queued: the copies are the uploads now. Confirmed before the tus uploads go, so an API
    // killed in between leaves uploads that are still claimed (and swept at their expiry).
    await claims.confirm(claimed, token).catch(() => undefined);
    await Promise.all(ids.map((id) => store.remove(id))).catch(() => undefined);
    return batch;
  } catch (err) {
    // A copy that cannot be removed now (the bucket down) is an orphan no job names, which the
    // workers' orphan sweep removes; it must not keep the claims, or the retry would be refused.
    await Promise.all(imported.map((name) => uploads.remove(name).catch(() => undefined)));
    await claims.release(claimed, token).catch(() => undefined);
    throw err;
  }
}
