// Where the control socket is: `--control-socket`, else `control_socket` in [daemon], else the
// pid file's path with `.sock` for `.pid` (so the default pid file /run/ninetd.pid gives the
// default socket /run/ninetd.sock, and a daemon started with `-p FILE` is found by
// `ninetd status -p FILE`); no pid file and nothing set means no control socket. Pure.
import path from 'node:path';

/** The control socket's absolute path, or null for none. `''` in the flag or the setting means none. */
export function controlSocketPath(flag: string | undefined, setting: string | undefined, pidfile: string): string | null {
  const chosen = flag ?? setting;
  if (chosen !== undefined) return chosen === '' ? null : path.resolve(chosen);
  if (pidfile === '') return null;
  const abs = path.resolve(pidfile);
  return `${abs.endsWith('.pid') ? abs.slice(0, -'.pid'.length) : abs}.sock`;
}
