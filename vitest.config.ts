import { defineConfig } from 'vitest/config';

// Integration tests start real processes and train real models on 2 cores: run files one at a time
// so timings stay sane, and give each test room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
