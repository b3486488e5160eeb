import type { Readable, Writable } from 'node:stream';
import type { Request } from 'express';
import type { MultipartGuard } from './multipart-guard';

/**
 * One request's upload while it is received: the storage engine's work, the files it wrote and
 * the streams it was handed, so a request refused early can stop and clean up without waiting
 * for multer, which answers an error only once the whole body has been read.
 */
export class UploadSession {
  readonly work: Promise<void>[] = [];
  readonly stored = new Set<string>();
  readonly streams = new Set<Readable>();
  private refused?: (err: unknown) => void;
  private stopReading: (err: Error) => void = () => {};

  constructor(readonly boundary: string | undefined) {}

  /** Called once per request, with how to reject it and how to stop feeding the parser. */
  start(reject: (err: unknown) => void): void {
    this.refused = reject;
  }

  /** Records how the request reaches busboy, so a refusal can cut it off. */
  feeds(req: Request, busboy: Writable, guard: MultipartGuard): void {
    this.stopReading = (err) => {
      req.unpipe(guard);
      req.pause();
      // Destroys busboy's open file stream with the error too, so its write fails and its file is removed.
      busboy.destroy(err);
    };
  }

  /** Refuses the request now: stop reading, and reject; the caller cleans up before answering. */
  refuse(err: Error): void {
    const reject = this.refused;
    if (!reject) return;
    this.refused = undefined;
    // Called from inside busboy's own events ('limit', 'filesLimit'); destroying it there would
    // pull its state from under the code that emitted them.
    process.nextTick(() => {
      this.stopReading(err);
      reject(err);
    });
  }

  settle(): void {
    this.refused = undefined;
  }

  /** Waits for every file the engine started, then removes every file it stored. */
  async discard(remove: (name: string) => Promise<void>): Promise<void> {
    for (let seen = -1; seen !== this.work.length; ) {
      seen = this.work.length;
      await Promise.allSettled(this.work);
    }
    await Promise.all([...this.stored].map((name) => remove(name).catch(() => undefined)));
  }

  /** Ends any stream the request left open, so no write waits on it. */
  close(): void {
    for (const stream of this.streams) if (!stream.readableEnded) stream.destroy(new Error('The upload ended before this file did'));
  }
}

