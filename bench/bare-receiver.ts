// The floor for receiving uploads in Node on this machine (issue 12): a node:http server that
// parses multipart bodies with busboy, the parser multer uses, and streams each file to disk
// with fs.createWriteStream, or with `sync` the API's own writer (writeSync as chunks arrive),
// nothing else. Run by receiver.ts: node --import tsx bench/bare-receiver.ts <dir> [sync]
// Prints {"port":N} once listening; answers each request as the API does (202 and a small JSON).
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { createSyncFileWriter } from '../src/storage/sync-file-writer';

const dir = process.argv[2] ?? '';
const open = process.argv[3] === 'sync' ? createSyncFileWriter : (file: string) => createWriteStream(file, { flags: 'wx' });

function receive(req: IncomingMessage, res: ServerResponse): void {
  const writes: Promise<void>[] = [];
  const parser = busboy({ headers: req.headers });
  parser.on('file', (_field, stream) => {
    writes.push(pipeline(stream, open(path.join(dir, randomUUID()))));
  });
  const answer = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  parser.on('close', () => {
    Promise.all(writes).then(
      () => answer(202, { batchId: 'bare', totalFiles: writes.length, jobs: [] }),
      (err: unknown) => answer(500, { detail: String(err) }),
    );
  });
  parser.on('error', (err) => answer(400, { detail: String(err) }));
  req.pipe(parser);
}

const server = createServer(receive);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
