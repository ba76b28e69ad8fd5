// The log levels, by name: what the command line and the settings file accept. Apart from the
// logger so that the command line's process (cli-args.ts) names them without loading pino.

/** Log levels the command line accepts, least to most verbose. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
