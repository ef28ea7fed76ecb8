// Plain JavaScript so it runs on any Node (postinstall may run before the pinned Node 24 is in place).
// Copies the browser libraries the player and dashboard load into public/vendor/ (run by `postinstall`), so
// the Worker's static assets hold exactly the versions package-lock.json pins. public/vendor/ is not committed.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'public', 'vendor');
mkdirSync(out, { recursive: true });
for (const [from, to] of [['node_modules/hls.js/dist/hls.min.js', 'hls.min.js']]) {
  copyFileSync(join(root, from), join(out, to));
}
