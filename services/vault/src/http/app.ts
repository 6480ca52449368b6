/**
 * The express application: request ids and one log line per request, body limits, the
 * per-IP and per-user limits, authentication, admission to HSM work, routes and errors.
 * Routes stay thin: parse, call a use case, answer.
 */
import { createHash } from 'node:crypto';
import {
  BkvError,
  commitRequest,
  pendingId,
  pointRequests,
  recoveryFinishRequest,
} from '@bkv/protocol';
import { isCompressedPoint } from '@bkv/hsm';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth';
import type { VaultMetrics } from '../metrics';
import type { UseCaseDeps } from '../use-cases/deps';
import { commitEnrollment, startEnrollment } from '../use-cases/enroll';
import { describeRealm } from '../use-cases/realm';
import { describeRecord, forgetRecord } from '../use-cases/record';
import { finishRecovery, startRecovery } from '../use-cases/recovery';
import { admitted, type Admission } from './admission';
import { cors, type CorsConfig } from './cors';
import { errorHandler, notFound } from './errors';
import type { RequestLimits } from './limits';
import { requestLog, type RequestLogLocals } from './request-log';

export interface AppParts {
  deps: UseCaseDeps;
  logger: Logger;
  authenticate: Authenticator;
  limits: RequestLimits;
  admission: Admission;
  metrics: VaultMetrics;
  bodyBytes: number;
  /** express "trust proxy": whose X-Forwarded-For names the client for the per-IP limit. */
  trustProxy: boolean | number | string[];
  /** Web app origins answered with CORS headers on `/v1`; none when absent. */
  cors?: CorsConfig;
  /** Readiness: resolves when the HSM and the store answer. */
  ready: () => Promise<void>;
}

/** What a request carries between middlewares. */
interface VaultLocals extends RequestLogLocals {
  userId?: string;
  code?: string;
  route?: string;
}

function locals(res: Response): VaultLocals {
  return res.locals as VaultLocals;
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void> | void;

/** The wire's point check done by OpenSSL: the same points as noble's, in less of the loop. */
const { enrollRequest, recoveryStartRequest } = pointRequests(isCompressedPoint);

export function createApp(parts: AppParts): express.Express {
  const { deps, metrics } = parts;
  // Use cases log through the request's child logger, so their lines carry its request id.
  const scoped = (res: Response): UseCaseDeps => ({ ...deps, log: locals(res).log });
  const app = express();
  app.disable('x-powered-by');
  // Answers carry one-time ids and sealed keys: nothing to validate against, nothing to keep.
  app.disable('etag');
  app.set('trust proxy', parts.trustProxy);

  app.use(
    requestLog(parts.logger, {
      describe: (_req, res) => outcome(res),
      quietUrls: ['/healthz', '/metrics'],
    }),
  );
  app.use(observe(metrics));

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', at('/readyz'), async (_req, res) => {
    try {
      await parts.ready();
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: (err as BkvError).code ?? 'INTERNAL' });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const v1 = express.Router();
  v1.use(parts.limits.perIp);
  // After CORS and the headers above, so that a body refused here still carries them (a web
  // app can read the error), and after the per-IP limit, so that a limited client's body is
  // never parsed.
  v1.use(express.json({ limit: parts.bodyBytes, strict: true, type: 'application/json' }));
  v1.get('/realm', at('/v1/realm'), (_req, res) => void res.json(describeRealm(deps)));

  // Everything else needs the account and is counted per user.
  const user: Handler = async (req, res, next) => {
    locals(res).userId = await parts.authenticate(req.get('authorization'));
    next();
  };
  const hsmWork = (handler: Handler) => admitted(parts.admission, handler);
  const authed = [user, parts.limits.perUser];

  v1.post(
    '/enrollments',
    at('/v1/enrollments'),
    ...authed,
    hsmWork(async (req, res) => {
      const body = enrollRequest.parse(req.body);
      res.status(201).json(await startEnrollment(scoped(res), uid(res), body));
    }),
  );
  v1.post(
    '/enrollments/:id/commit',
    at('/v1/enrollments/:id/commit'),
    ...authed,
    hsmWork(async (req, res) => {
      const id = idParam(req, 'ENROLLMENT_NOT_FOUND');
      const body = commitRequest.parse(req.body);
      res.status(201).json(await commitEnrollment(scoped(res), uid(res), id, body));
    }),
  );
  v1.get('/record', at('/v1/record'), ...authed, async (req, res) => {
    res.json(await describeRecord(scoped(res), uid(res)));
  });
  v1.delete('/record', at('/v1/record'), ...authed, async (req, res) => {
    await forgetRecord(scoped(res), uid(res));
    res.status(204).end();
  });
  v1.post(
    '/recoveries',
    at('/v1/recoveries'),
    ...authed,
    hsmWork(async (req, res) => {
      const body = recoveryStartRequest.parse(req.body);
      res.status(201).json(await startRecovery(scoped(res), uid(res), body));
    }),
  );
  v1.post(
    '/recoveries/:id/finish',
    at('/v1/recoveries/:id/finish'),
    ...authed,
    hsmWork(async (req, res) => {
      const id = idParam(req, 'RECOVERY_NOT_FOUND');
      const body = recoveryFinishRequest.parse(req.body);
      res.json(await finishRecovery(scoped(res), uid(res), id, body));
    }),
  );

  // Every /v1 answer, a CORS preflight's included, tells caches to keep nothing.
  app.use('/v1', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use('/v1', cors(parts.cors ?? { origins: [] }));
  app.use('/v1', v1);
  app.use(notFound());
  app.use(errorHandler);
  return app;
}

function uid(res: Response): string {
  return locals(res).userId!;
}

/** Ids that could never have been issued are simply unknown. */
function idParam(req: Request, code: 'ENROLLMENT_NOT_FOUND' | 'RECOVERY_NOT_FOUND'): string {
  const id = req.params.id;
  if (!pendingId.safeParse(id).success) throw new BkvError(code, 'not found');
  return id as string;
}

/** What the request line says of the outcome: route, code and the user's pseudonym. */
function outcome(res: Response) {
  const { code = 'OK', userId } = locals(res);
  return { route: routeOf(res), code, ...(userId ? { user: hashUser(userId) } : {}) };
}

/** Labels the request with its route pattern, for the log line and the metrics. */
function at(route: string): Handler {
  return (_req, res, next) => {
    locals(res).route = route;
    next();
  };
}

function routeOf(res: Response): string {
  return locals(res).route ?? 'unmatched';
}

/** Requests by route and outcome code, and latency by route. */
function observe(metrics: VaultMetrics): Handler {
  return (_req, res, next) => {
    const stop = metrics.requestSeconds.startTimer();
    res.once('finish', () => {
      const route = routeOf(res);
      stop({ route });
      metrics.requests.inc({ route, code: locals(res).code ?? 'OK' });
    });
    next();
  };
}

/** A short, stable pseudonym of a user id for logs: SHA-256, first 16 hex digits. */
export function hashUser(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 16);
}
