import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Three projects: `worker` runs inside workerd with real Durable Object and R2 bindings; `relay` runs the
// ingest relay's units in Node; `e2e` starts the real stack (wrangler dev + relay) and drives it with
// ffmpeg, srt-live-transmit and hls.js in Chromium.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                API_TOKEN: 'test-api-token',
                INGEST_TOKEN: 'test-ingest-token',
                // Seals SRT passphrases and webhook secrets at rest (src/registry/secrets.ts).
                SECRETS_KEY: 'test-secrets-key-current',
                SECRETS_KEY_PREVIOUS: 'test-secrets-key-previous',
                // Lets tests step a stream object's clock (StreamDO.advanceClock) instead of sleeping.
                TEST_CLOCK: '1',
                // As under npm start: the x-edge-live-region header picks a replica region (src/fanout/regions.ts).
                DEV_MODE: '1',
              },
            },
          }),
        ],
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'] },
      },
      {
        test: { name: 'relay', include: ['test/relay/**/*.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/e2e-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
