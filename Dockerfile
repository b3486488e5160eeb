# syntax=docker/dockerfile:1
# One image for both processes: the API by default (CMD), the worker with
# `node dist/worker/main.js` (docker-compose.yml does that for the worker service).

# Node 26, the Active LTS line since October 2026 (Node 20 reached its end of life in April 2026,
# 24 is in maintenance). package.json's engines stays at >=20.9: the code is also tested on 20,
# what the development machines and CI run. sharp and the other native parts use Node-API, whose
# binaries do not depend on the Node version.
# Production dependencies only; sharp's prebuilt libvips for this platform comes with them.
FROM node:26-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Compile src/ to dist/ with the dev dependencies (TypeScript), which stay in this stage.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json tsconfig.web.json ./
COPY src ./src
RUN npm run build

FROM node:26-slim
ENV NODE_ENV=production
WORKDIR /app
# Over 1,000 images the worker's RSS stayed flat after warm-up with jemalloc in every benchmark
# run and kept growing with glibc's default allocator, at the same throughput (BENCHMARKS.md).
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/*
ENV LD_PRELOAD=libjemalloc.so.2
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Code stays owned by root (read-only to the app); only the data directories are writable
# (tus-uploads: the API's partial resumable uploads). Named volumes mounted there start with this ownership.
RUN mkdir -p uploads processed tus-uploads && chown node:node uploads processed tus-uploads
USER node
# 3000: the API; 9464: a worker's GET /metrics (WORKER_METRICS_PORT).
EXPOSE 3000 9464
# node:26-slim has no curl; Node's own fetch asks /healthz. The worker has no /healthz (its one
# HTTP port serves metrics), so docker-compose.yml disables this check for it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node directly, not npm: signals reach the process, which shuts down gracefully on SIGTERM.
# The flag: src/launch/api-node-flags.ts.
CMD ["node", "--single-threaded-gc", "dist/api/main.js"]
