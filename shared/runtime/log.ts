/** Plain line logging to stderr with a role prefix; stdout is kept for Keras-style training output. */

/** A logger bound to one role, e.g. "coordinator" or "worker 1". */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Creates a logger; `quiet` drops info lines (warnings and errors always print). */
export function createLogger(role: string, quiet = false): Logger {
  const line = (level: string, msg: string) => process.stderr.write(`[tensorfleet ${role}] ${level}${msg}\n`);
  return {
    info: (msg) => {
      if (!quiet) line('', msg);
    },
    warn: (msg) => line('warning: ', msg),
    error: (msg) => line('error: ', msg),
  };
}
