import type { Limits } from './api-types';
import type { FoundImage, SkippedFile } from './find-images';

/**
 * Splits images into requests the server takes: at most `maxFiles` each, and only files within
 * `maxFileSizeBytes` of a type it accepts; the rest are refused here, with the reason, rather
 * than sent to be refused with a whole request.
 */
export function planRequests(images: readonly FoundImage[], limits: Limits): { requests: FoundImage[][]; refused: SkippedFile[] } {
  const refused: SkippedFile[] = [];
  const sendable = images.filter((image) => {
    if (!limits.acceptedTypes.includes(image.mimeType)) {
      refused.push({ path: image.path, reason: `UNSUPPORTED_MEDIA_TYPE: the server does not accept ${image.mimeType}` });
      return false;
    }
    if (image.size > limits.maxFileSizeBytes) {
      refused.push({ path: image.path, reason: `FILE_TOO_LARGE: ${image.size} bytes, over the server's ${limits.maxFileSizeBytes}` });
      return false;
    }
    return true;
  });
  const requests: FoundImage[][] = [];
  for (let i = 0; i < sendable.length; i += limits.maxFiles) requests.push(sendable.slice(i, i + limits.maxFiles));
  return { requests, refused };
}
