// Keeps what start-up and reloads use once from staying resident: gives back V8's heap pages and
// glibc's freed malloc memory afterwards, and keeps V8's optimizing compiler out of both (the one
// place that turns it on and off). It decides nothing; the command line and the daemon call it
// once started and around each reload.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as native from './native/index.js';

/**
 * One full collection that compacts every page, then malloc_trim(3). Parsing a configuration
 * and building its services leaves the old generation well above its live size (5000
 * services: some 13 MiB more), which V8's memory reducer would give back only some ten seconds
 * later, and only if nothing else happened. It takes some 50 ms with 5000 services.
 */
export function giveBackMemory(): void {
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    collector()();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  // Loading the modules and the configuration left freed malloc memory resident (1-3 MiB).
  native.trimMemory();
}

/**
 * The `gc` of --expose-gc: the `#!` line's, else one from a context made for the call (the `gc`
 * that the flag puts into new contexts; about 0.1 MiB more stays resident, and 10 ms more).
 */
function collector(): () => void {
  const own = (globalThis as { gc?: () => void }).gc;
  if (own) return own;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * Start-up is over: V8's optimizing compiler on from now. The #! line starts Node with it off:
 * start-up's one-off work (the module loader, the configuration) would otherwise wake it, and
 * the compiler's pages would stay resident for good (about 4 MiB). From here on the hot paths
 * are optimized as usual.
 */
export function optimizeFromNow(): void {
  setFlagsFromString('--turbofan');
}

/**
 * Runs `work` with V8's optimizing compiler off, as start-up runs: a reload's one-off work over
 * every line would wake it, and what it touches would stay resident for good (with 5000
 * services, 5.5 MiB of the node binary and 2 MiB of heap). Code already optimized stays so;
 * the compiler is on again afterwards.
 */
export async function unoptimized<T>(work: () => Promise<T>): Promise<T> {
  setFlagsFromString('--no-turbofan');
  try {
    return await work();
  } finally {
    optimizeFromNow();
  }
}
