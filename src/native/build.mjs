// Builds the C addon with npm's own node-gyp, offline.
// node-gyp downloads Node's headers unless told where they are; the running Node ships them
// under <prefix>/include/node on Debian and in the official tarballs, so point --nodedir there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const prefix = path.resolve(path.dirname(process.execPath), '..');
const args = ['rebuild'];
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const npmDir = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  const candidate = path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(candidate)) return candidate;
  return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
}

const r = spawnSync(process.execPath, [nodeGyp(), ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
