import type { ProcessGroup, ManagedProcess } from './process-group';
import { createInspector, createServiceWorld, startApi, startWorker, type Inspector, type RunningApi, type ServiceWorld, type WorkerLaunch } from './stack';

/** One deployment on the private Redis: its own prefix and directories, an API and a worker that come and go. */
export interface World {
  readonly world: ServiceWorld;
  readonly inspector: Inspector;
  api(): RunningApi;
  /** `env`: added to the API's environment; `nodeArgs`: before its script. */
  startApi(env?: Record<string, string>, nodeArgs?: readonly string[]): Promise<RunningApi>;
  worker(): ManagedProcess | undefined;
  /** Stops a running worker first, so there is only ever one. */
  startWorker(launch?: WorkerLaunch): Promise<ManagedProcess>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export function openWorld(group: ProcessGroup, options: { dataRoot: string; logRoot: string; redisUrl: string; name: string; logLevel: string; workerEnv: Record<string, string> }): World {
  const world = createServiceWorld(options, options.redisUrl, options.name, options.logLevel);
  const inspector = createInspector(world);
  let api: RunningApi | undefined;
  let worker: ManagedProcess | undefined;
  let workers = 0;
  const stopWorker = async () => {
    await worker?.stop();
    worker = undefined;
  };
  return {
    world,
    inspector,
    api: () => {
      if (!api) throw new Error(`${options.name}: the API is not running`);
      return api;
    },
    startApi: async (env, nodeArgs) => (api = await startApi(group, world, 'api', env, nodeArgs)),
    worker: () => worker,
    startWorker: async (launch = {}) => {
      await stopWorker();
      worker = await startWorker(group, world, inspector, { ...launch, env: { ...options.workerEnv, ...launch.env } }, `worker-${++workers}`);
      return worker;
    },
    stopWorker,
    close: async () => {
      await stopWorker();
      await api?.process.stop();
      await inspector.close();
    },
  };
}
