import type { AutoQualityResult } from './auto-quality';
import type { StreamsResult } from './open-streams';
import type { DecodeMemoryRow } from './decode-memory';
import type { DrainSeries } from './drain';
import type { EndToEndResult } from './end-to-end';
import type { EnqueueResult } from './enqueue-rate';
import type { GrayscaleComparison, LimitRow } from './limit';
import type { LongRunResult } from './long-run';
import type { MachineInfo } from './machine';
import type { PresetsResult } from './presets';
import type { FillResult } from './pipeline-fill';
import type { PollCostResult } from './poll-cost';
import type { ProfileSummary } from './cpu-profile-summary';
import type { IngestComparison, ReceiverResult } from './receiver';
import type { RoundTripResult } from './round-trips';
import type { StorageCostResult } from './storage-cost';
import type { LatencyResult } from './upload-latency';

export interface CorpusSummary {
  readonly files: number;
  readonly byFormat: Readonly<Record<string, number>>;
  readonly totalMB: number;
  readonly megapixels: number;
  readonly largestBytes: number;
  readonly maxBytes: number;
  readonly orientation6: number;
  readonly rgba: number;
  readonly digest: string;
  readonly generatedSeconds: number;
  readonly seed: number;
  readonly scale: number;
}

/** Everything one run measured; the report is rendered from this alone. */
export interface BenchResults {
  readonly command: string;
  readonly date: string;
  readonly quick: boolean;
  durationS: number;
  readonly machine: MachineInfo;
  readonly loadBefore: readonly number[];
  loadAfter: readonly number[];
  corpus?: CorpusSummary;
  limit?: { readonly rows: readonly LimitRow[]; readonly best: LimitRow; readonly side: readonly LimitRow[]; readonly grayscale?: GrayscaleComparison };
  decodeMemory?: DecodeMemoryRow[];
  autoQuality?: AutoQualityResult;
  presets?: PresetsResult;
  e2e?: EndToEndResult;
  /** The bare receiver fed by the same client, just before the end-to-end phase (issue 12). */
  receiver?: ReceiverResult;
  /** The API (worker stopped) and the bare receiver taking the same uploads in turn. */
  ingest?: IngestComparison;
  /** The API's --cpu-prof over the end-to-end phase (with --profile). */
  apiProfile?: ProfileSummary;
  /** Requests of one file against requests of ten: what queueing each file's job on arrival would give (issue 12). */
  fill?: FillResult;
  latency?: LatencyResult[];
  drain?: DrainSeries[];
  roundTrips?: RoundTripResult;
  enqueue?: EnqueueResult;
  pollCost?: PollCostResult;
  streams?: StreamsResult;
  longRun?: LongRunResult[];
  /** Multipart to disk and to a bucket, and direct uploads, against an S3 server of the bench's own (issue 9). */
  storage?: StorageCostResult;
  readonly notes: string[];
  readonly failures: string[];
}
