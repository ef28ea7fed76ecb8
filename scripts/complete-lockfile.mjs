// Adds lockfile entries for optional platform binaries that the registry this project is built against does
// not serve (e.g. @biomejs/cli-darwin-arm64, @cloudflare/workerd-windows-64 answer 404 there). `npm install`
// then leaves them out of package-lock.json, and `npm ci` refuses the lock as "out of sync". Each added entry
// names only the version and the platform, so npm skips it on every other platform without fetching it, and a
// machine of that platform resolves it from its own registry. Run after changing dependencies:
//   npm install && node scripts/complete-lockfile.mjs
// Plain JavaScript on purpose: it must run on whatever Node is installed.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

function platformOf(name) {
  const os = /darwin/.test(name)
    ? 'darwin'
    : /win32|windows/.test(name)
      ? 'win32'
      : /android/.test(name)
        ? 'android'
        : /freebsd/.test(name)
          ? 'freebsd'
          : /linux/.test(name)
            ? 'linux'
            : null;
  const cpu = /arm64|aarch64/.test(name) ? 'arm64' : /x64|64$/.test(name) ? 'x64' : null;
  const libc = /musl/.test(name) ? 'musl' : null;
  return { os, cpu, libc };
}

let added = 0;
for (const [path, pkg] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${dep}` : `node_modules/${dep}`;
    if (packages[base] || packages[`node_modules/${dep}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os || !cpu) continue; // not a platform binary: leave it to npm
    if (os === 'linux' && cpu === 'x64' && !libc) continue; // this platform's own binary must really resolve
    packages[`node_modules/${dep}`] = {
      version,
      ...(pkg.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(libc ? { libc: [libc] } : {}),
    };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
