// The floor of a direct upload's check: one ranged GET of a file's first 64 KB from the bucket,
// with nothing but node:http (keep-alive, 10 at a time), in a process of its own so that its
// CPU is its own. Reads presigned URLs, one a line, from the file named by argv[2]; prints its
// CPU in ms per GET as JSON.
const http = require('node:http');
const { readFileSync } = require('node:fs');

const urls = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
const get = (url) =>
  new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { range: 'bytes=0-65535' } }, (res) => {
        if (res.statusCode !== 206) reject(new Error(`GET answered ${res.statusCode}`));
        res.on('data', () => {}).on('end', resolve).on('error', reject);
      })
      .on('error', reject);
  });
const run = async (list) => {
  for (let i = 0; i < list.length; i += 10) await Promise.all(list.slice(i, i + 10).map(get));
};

(async () => {
  await run(urls.slice(0, 20));
  const before = process.cpuUsage();
  await run(urls);
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ gets: urls.length, cpuMsPerGet: (used.user + used.system) / 1000 / urls.length }));
  agent.destroy();
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
