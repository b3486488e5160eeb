/**
 * Node options the API is started with, wherever it is started: `npm start` (launch.ts),
 * `npm run start:api` and the Dockerfile (both checked against this list by a test), and the
 * bench. They cannot be set from inside the process: V8 reads them before the heap exists, and
 * setting --single-threaded-gc at run time aborts the process at its next collection.
 *
 * --single-threaded-gc: an upload's socket reads are 64 KB buffers of external memory, and V8
 * answers their churn with a scavenge every 20–40 MB. In parallel, each scavenge wakes four
 * helper threads that, with two cores, mostly wait on each other: they cost the API 0.4–1.9 ms
 * of CPU per uploaded MB, against 0.05–0.3 on one thread, while the API's own heap (about 30 MB)
 * keeps every pause under 10 ms (BENCHMARKS.md, issue 12).
 */
export const API_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
