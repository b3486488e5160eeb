import type { Request, Response } from 'express';

// Long enough for an answer to cross a network and be read by a client that is busy sending
// (on loopback a client writes megabytes before its event loop gets to the answer), short
// enough that a client that never reads answers is not read on for long.
const LINGER_MS = 750;
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Answers with `Connection: close` while the client is still sending its body. Node would then
 * destroy the socket as soon as the answer is written, and the kernel answers the unread body
 * bytes with a reset, which can reach the client before it reads the answer: it sees ECONNRESET
 * instead of the 413. So the connection is half-closed instead (FIN after the answer) and what
 * still arrives is discarded, for at most LINGER_MS and LINGER_BYTES, before it is destroyed.
 */
export function closeAfterAnswer(req: Request, res: Response): void {
  res.set('Connection', 'close');
  const socket = req.socket;
  // Node's HTTP server calls this once a `Connection: close` answer is finished.
  socket.destroySoon = () => {
    socket.end();
    socket.removeAllListeners('data'); // the HTTP parser has nothing left to read here
    const stop = () => socket.destroy();
    const timer = setTimeout(stop, LINGER_MS);
    timer.unref();
    let discarded = 0;
    const discard = (chunk: Buffer) => {
      if ((discarded += chunk.length) > LINGER_BYTES) stop();
    };
    // The body may still reach the request through Node's HTTP parser, which reads the socket
    // itself; a paused request would stop it reading, and the client could not finish sending.
    req.on('data', discard);
    req.resume();
    socket.on('data', discard);
    socket.once('end', stop);
    socket.once('close', () => clearTimeout(timer));
    socket.resume();
  };
}
