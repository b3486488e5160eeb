// Preloaded into the API by the streams phase (node --require): its event-loop delay, measured
// inside the process, since nothing outside it can see the loop. On SIGUSR2 it writes the
// delay since the last signal to IMGFLOW_LOOP_DELAY_FILE and starts a new window.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
process.on('SIGUSR2', () => {
  const ms = (ns) => ns / 1e6;
  const window = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean) };
  writeFileSync(process.env.IMGFLOW_LOOP_DELAY_FILE, JSON.stringify(window));
  histogram.reset();
});
