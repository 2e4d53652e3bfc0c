import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';

/**
 * Runs a service's main: validated configuration, one logger, and a graceful stop on SIGTERM/SIGINT
 * (the returned stop function drains and flushes; a second signal forces the exit).
 */
export function runService(name: string, main: (config: Config, logger: Logger) => Promise<() => Promise<void>>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL, name);
  logger.info({ node: process.version }, 'starting');
  let stopping = false;
  main(config, logger).then(
    (stop) => {
      const onSignal = (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        logger.info({ signal }, 'stopping');
        setTimeout(() => {
          logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'did not stop in time; exiting');
          process.exit(1);
        }, config.SHUTDOWN_TIMEOUT_MS).unref();
        stop().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
    },
    (err: unknown) => {
      logger.fatal(
        { err: { message: (err as Error).message, code: (err as { code?: string }).code } },
        'failed to start',
      );
      // A setting checked only when the service starts (the relay's audit keys) is a configuration error like the others.
      if (err instanceof ConfigError) process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(err instanceof ConfigError ? 78 : 1);
    },
  );
}
