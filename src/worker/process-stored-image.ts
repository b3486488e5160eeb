import { InvalidImageError, transformImage, type PipelineSpec } from '../pipeline';
import { isErrno } from '../errno';
import type { ImageJobResult } from '../queue/jobs';
import type { FileStore } from '../storage/file-store';
import { outputNameOf } from '../storage/output-name';

export interface ImageFiles {
  readonly uploads: FileStore;
  readonly outputs: FileStore;
}

export type ProgressReporter = (percent: number) => void | Promise<void>;

/** The first variant's output (names in the outputs store), then every variant's. */

/**
 * One job's file work around the pure transform: read the upload, make every variant, write
 * each under the job's name and the variant's. File-system failures are passed on as they are
 * (a full disk may have room on the next attempt); only a missing upload is permanent.
 */
export async function processStoredImage(
  files: ImageFiles,
  job: { readonly jobId: string; readonly inputFile: string; readonly spec: PipelineSpec },
  onProgress?: ProgressReporter,
  onInput?: (input: Buffer) => void,
): Promise<ImageJobResult> {
  let input: Buffer;
  try {
    input = await files.uploads.read(job.inputFile);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new InvalidImageError('INPUT_MISSING', 'The uploaded file no longer exists (removed by retention?)', { cause: err });
    }
    throw err;
  }
  onInput?.(input);
  await onProgress?.(10);
  return processImageBytes(files.outputs, { jobId: job.jobId, spec: job.spec }, input);
}

/** Makes every variant of an image already in memory and writes each under the job's name and the variant's. */
export async function processImageBytes(outputs: FileStore, job: { readonly jobId: string; readonly spec: PipelineSpec }, input: Buffer): Promise<ImageJobResult> {
  const results = await transformImage(input, job.spec);
  const variants = await Promise.all(
    results.map(async ({ name, data, info }) => {
      const outputPath = outputNameOf(job.jobId, info.format, name);
      await outputs.write(outputPath, data);
      return { name, outputPath, ...info };
    }),
  );
  const [first] = variants;
  if (!first) throw new Error('a spec has at least one variant');
  return { outputPath: first.outputPath, width: first.width, height: first.height, format: first.format, size: first.size, variants };
}
