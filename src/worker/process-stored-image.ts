import { InvalidImageError, transformImage, type ImageResult, type PipelineSpec } from '../pipeline';
import { isErrno } from '../errno';
import type { FileStore } from '../storage/file-store';
import { outputNameOf } from '../storage/output-name';

export interface ImageFiles {
  readonly uploads: FileStore;
  readonly outputs: FileStore;
}

export type ProgressReporter = (percent: number) => void | Promise<void>;

export interface StoredImageResult extends ImageResult {
  /** Name of the output in the outputs store. */
  readonly outputPath: string;
}

/**
 * One job's file work around the pure transform: read the upload, transform it, write the
 * output under the job's name. File-system failures are passed on as they are (a full disk
 * may have room on the next attempt); only a missing upload is permanent.
 */
export async function processStoredImage(
  files: ImageFiles,
  job: { readonly jobId: string; readonly inputFile: string; readonly spec: PipelineSpec },
  onProgress?: ProgressReporter,
): Promise<StoredImageResult> {
  let input: Buffer;
  try {
    input = await files.uploads.read(job.inputFile);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new InvalidImageError('INPUT_MISSING', 'The uploaded file no longer exists (removed by retention?)', { cause: err });
    }
    throw err;
  }
  await onProgress?.(10);
  const { data, info } = await transformImage(input, job.spec);
  const outputPath = outputNameOf(job.jobId, info.format);
  await files.outputs.write(outputPath, data);
  return { outputPath, ...info };
}
