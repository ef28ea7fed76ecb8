import { createApp } from './api/app.ts';

export { StreamReplica } from './fanout/replica-do.ts';
export { StreamRegistry } from './registry/registry-do.ts';
export { StreamDO } from './stream/stream-do.ts';

const app = createApp();

export default app satisfies ExportedHandler<import('./env.ts').Env>;
