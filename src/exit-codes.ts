/**
 * A worker cut off from Redis for REDIS_LOST_EXIT_S exits with this: sysexits' EX_TEMPFAIL,
 * "try again later". Supervisors restart on it (the launcher in src/launch, a container's
 * restart policy), and a fresh process starts with fresh connections.
 */
export const EXIT_REDIS_LOST = 75;
