import { randomBytes } from 'node:crypto';

// Every test file gets Redis keys of its own (jest gives each file its own process.env), so
// files and overlapping runs never share a queue. Child processes a test spawns inherit it.
process.env.REDIS_PREFIX = `accord-test-${randomBytes(6).toString('hex')}`;
