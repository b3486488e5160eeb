import { Presets, SingleBar } from 'cli-progress';

/** How the CLI talks to the person: human lines, a progress bar, and (with --json) one JSON document. */
export interface Terminal {
  /** A human line: on stdout, or on stderr when stdout carries --json; none with --quiet. */
  info(text: string): void;
  /** A problem the person should see even with --quiet, on stderr. */
  warn(text: string): void;
  /** The machine-readable result, the only thing on stdout with --json. */
  json(value: unknown): void;
  /** A bar when the human stream is a terminal, plain lines otherwise, nothing with --quiet. */
  progress(totals: { files: number; bytes: number }): Progress;
}

export interface Progress {
  /** File bytes handed to the connection. */
  sent(bytes: number): void;
  /** A file reached the end the command waits for (uploaded, or processed with --wait); `line` is its plain-line report. */
  fileDone(line: string): void;
  stop(): void;
}

export interface TerminalOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
}

const MB = 1024 * 1024;

export function createTerminal({ json, quiet, stdout = process.stdout, stderr = process.stderr }: TerminalOptions): Terminal {
  const human = json ? stderr : stdout;
  const info = (text: string) => {
    if (!quiet) human.write(`${text}\n`);
  };
  return {
    info,
    warn: (text) => stderr.write(`${text}\n`),
    json: (value) => stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    progress: (totals) => (quiet ? SILENT : human.isTTY ? progressBar(human, totals) : progressLines(info)),
  };
}

const SILENT: Progress = { sent: () => undefined, fileDone: () => undefined, stop: () => undefined };

function progressLines(info: (text: string) => void): Progress {
  return { sent: () => undefined, fileDone: info, stop: () => undefined };
}

/** files done/total, MB uploaded, the upload rate (then the file rate once everything is sent) and cli-progress's ETA. */
function progressBar(stream: NodeJS.WriteStream, totals: { files: number; bytes: number }): Progress {
  const bar = new SingleBar(
    {
      stream,
      format: '{bar} {value}/{total} files | {sentMb}/{totalMb} MB up | {rate} | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 20,
      fps: 10,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  let bytes = 0;
  let files = 0;
  const payload = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = bytes < totals.bytes ? `${(bytes / MB / seconds).toFixed(1)} MB/s` : `${(files / seconds).toFixed(1)} files/s`;
    return { sentMb: (bytes / MB).toFixed(1), totalMb: (totals.bytes / MB).toFixed(1), rate };
  };
  bar.start(totals.files, 0, payload());
  return {
    sent(n) {
      bytes += n;
      bar.update(files, payload());
    },
    fileDone() {
      files += 1;
      bar.update(files, payload());
    },
    stop: () => bar.stop(),
  };
}
