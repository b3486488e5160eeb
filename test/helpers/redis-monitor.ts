import { connect } from 'node:net';
import { createInterface } from 'node:readline';

export interface MonitoredCommand {
  /** The command and its arguments, as the client sent them. */
  readonly args: readonly string[];
  /** The sending client's address, as CLIENT INFO gives it (`addr=`). */
  readonly source: string;
}

const LINE = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/;
const ARG = /"((?:[^"\\]|\\.)*)"/g;
const unescape = (arg: string) => arg.replace(/\\x([0-9a-f]{2})|\\(.)/g, (_, hex: string | undefined, c: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c] ?? c));

/**
 * Every command Redis runs, from MONITOR on a plain socket. ioredis's monitor() can take the
 * first lines for replies when they arrive with MONITOR's own OK (on a Redis other suites keep
 * busy, they do), and then fails with "Command queue state error".
 */
export async function monitorRedis(url: string, onCommand: (command: MonitoredCommand) => void): Promise<{ close(): void }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port || 6379), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === '+OK') return resolve();
      if (line.startsWith('-')) return reject(new Error(`MONITOR refused: ${line}`));
      const match = LINE.exec(line);
      if (match) onCommand({ source: match[1] as string, args: [...(match[2] as string).matchAll(ARG)].map((m) => unescape(m[1] as string)) });
    });
  });
  socket.write('MONITOR\r\n');
  await ready;
  return { close: () => socket.destroy() };
}
