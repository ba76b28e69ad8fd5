// Which file a path leads to now: its device and inode, symlinks followed. For comparing a path a
// client gave (a datagram sender's address) with files ninetd made, without trusting the name.
import { statSync } from 'node:fs';

/** `dev:ino` of the file at the absolute `path` (symlinks followed), or null when there is none. */
export function fileId(path: string): string | null {
  if (!path.startsWith('/')) return null;
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}
