// The exit codes of ninetd's commands, one table for the command line and the run it starts.

/** sysexits(3) codes ninetd exits with. */
export const EXIT = { ok: 0, usage: 64, software: 70, oserr: 71, config: 78 } as const;
