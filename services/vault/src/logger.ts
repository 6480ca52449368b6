import pino, { type Logger } from 'pino';

/**
 * The service's pino logger. Secrets never reach it by construction (request lines carry no
 * headers or bodies, secrets are redacted types); these redact paths are the second line.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bkv-vault' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.pin',
          '*.passphrase',
          '*.token',
          '*.unlockTag',
          '*.sealedKey',
          '*.blindedElement',
          '*.evaluatedElement',
        ],
        censor: '[REDACTED]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
