/**
 * The timed loops' HTTP client: keep-alive HTTP/1.1 over `node:net`, one request at a time on
 * one connection per closed-loop lane, request bytes built before the clock starts. On a machine
 * whose cores the load generator shares with the server, `fetch` (undici) cost about 1 ms of
 * CPU per recovery, CPU the HSM ceiling and the raw peer never pay; this client reads only what
 * the checks need (status, Content-Length, body). The untimed preparation keeps `fetch`.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** Said in the benchmark's header. */
export const TIMED_CLIENT = 'keep-alive HTTP/1.1 over node:net, one connection per loop and server';

/** What the checks read of an answer. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** A path segment filled in at send time; ids the server issued are base64url. */
const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
/** No answer of these servers has a head this long: past it, the bytes are not HTTP. */
const MAX_HEAD = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * A POST of a fixed JSON body to `origin`, its bytes built once. A `{}` in `path` is a segment
 * known only at send time (a recovery id); everything else is sent as prepared.
 */
export class PreparedPost {
  private readonly head: Buffer;
  private readonly tail: Buffer;

  constructor(origin: string, path: string, body: string, headers: Record<string, string> = {}) {
    const { host } = new URL(origin);
    const [before, after = ''] = path.split('{}');
    const lines = [
      `Host: ${host}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
    ];
    this.head = Buffer.from(`POST ${before}`);
    this.tail = Buffer.from(`${after} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
  }

  /** The request's bytes, with `segment` in the path's `{}`. */
  bytes(segment = ''): Buffer {
    if (segment !== '' && !SEGMENT.test(segment)) throw new Error('not a path segment');
    return Buffer.concat([this.head, Buffer.from(segment), this.tail]);
  }
}

/** The answer's JSON body if its status is `expected`; any other answer throws with its body. */
export function expectJson(answer: HttpAnswer, expected: number, what: string) {
  if (answer.status !== expected) throw new Error(`${what}: ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as Record<string, unknown>;
}

interface Waiting {
  resolve(answer: HttpAnswer): void;
  reject(err: Error): void;
}

/**
 * One keep-alive connection, opened on first use and again whenever the server closed it or is
 * about to: node's server drops a connection idle past its `Keep-Alive: timeout`, so one idle
 * for most of that time is replaced rather than raced. One request at a time; no pipelining.
 */
export class HttpConnection {
  private socket: net.Socket | undefined;
  private waiting: Waiting | undefined;
  private received: Buffer = EMPTY;
  private idleSince = 0;
  private idleLimitMs = Infinity;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Sends one request's bytes; resolves with its answer, rejects if the connection fails. */
  send(request: Buffer): Promise<HttpAnswer> {
    if (this.waiting !== undefined) throw new Error('one request at a time per connection');
    if (this.socket !== undefined && performance.now() - this.idleSince > this.idleLimitMs) {
      this.drop();
    }
    const socket = this.socket ?? this.connect();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(request);
    });
  }

  close(): void {
    this.drop();
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    // A connection given up on may still report; only the current one speaks for a request.
    const current = () => this.socket === socket;
    socket.on('data', (chunk: Buffer) => {
      if (current()) this.receive(chunk);
    });
    socket.on('error', (err) => {
      if (current()) this.fail(err);
    });
    socket.on('close', () => {
      if (current()) this.fail(new Error('the server closed the connection before answering'));
    });
    this.socket = socket;
    this.received = EMPTY;
    this.idleLimitMs = Infinity;
    return socket;
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Rejects the request in flight, if any, and gives up the connection. */
  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    this.drop();
    waiting?.reject(err);
  }

  private receive(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    try {
      this.parse();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Answers the request in flight once its whole answer is in. */
  private parse(): void {
    const data = this.received;
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      if (data.length > MAX_HEAD) throw new Error('an answer head past 16 KiB');
      return;
    }
    const head = parseHead(data.toString('latin1', 0, headEnd));
    const bodyStart = headEnd + 4;
    if (data.length < bodyStart + head.contentLength) return;
    if (data.length > bodyStart + head.contentLength) throw new Error('bytes past the answer');
    if (this.waiting === undefined) throw new Error('an answer to no request');

    // Complete: the connection is idle again, or closed if the server said it would close it.
    const waiting = this.waiting;
    this.waiting = undefined;
    this.received = EMPTY;
    this.idleSince = performance.now();
    if (head.keepAliveMs !== undefined) this.idleLimitMs = head.keepAliveMs;
    if (head.close) this.drop();
    waiting.resolve({ status: head.status, body: data.toString('utf8', bodyStart) });
  }
}

interface AnswerHead {
  status: number;
  contentLength: number;
  close: boolean;
  /** How long the connection may idle before this client replaces it, from `Keep-Alive`. */
  keepAliveMs?: number;
}

/** Headroom below the server's keep-alive timeout for a request already on its way. */
const KEEP_ALIVE_MARGIN_MS = 1000;

/**
 * RFC 9112 §4 status line, §6.3 body length. These servers answer with Content-Length only
 * (express's `res.json`): a chunked answer stops the run instead of being read wrong.
 */
function parseHead(text: string): AnswerHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
  if (status === null) throw new Error(`not an HTTP/1.1 answer: ${lines[0]}`);
  const head: AnswerHead = { status: Number(status[1]), contentLength: -1, close: false };
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      head.contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      throw new Error(`a ${value} answer: this client reads Content-Length bodies only`);
    } else if (name === 'connection') {
      head.close = value.toLowerCase() === 'close';
    } else if (name === 'keep-alive') {
      const timeout = /timeout=(\d+)/.exec(value);
      if (timeout !== null) head.keepAliveMs = Number(timeout[1]) * 1000 - KEEP_ALIVE_MARGIN_MS;
    }
  }
  if (!Number.isSafeInteger(head.contentLength) || head.contentLength < 0) {
    throw new Error(`an answer without a valid Content-Length: ${lines[0]}`);
  }
  return head;
}

/** One connection per closed-loop lane to one server, each opened on its lane's first use. */
export class HttpLanes {
  private readonly connections = new Map<number, HttpConnection>();
  private readonly host: string;
  private readonly port: number;

  constructor(origin: string) {
    const url = new URL(origin);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port);
  }

  lane(index: number): HttpConnection {
    let connection = this.connections.get(index);
    if (connection === undefined) {
      connection = new HttpConnection(this.host, this.port);
      this.connections.set(index, connection);
    }
    return connection;
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
  }
}

/** The untimed preparation's POST, through `fetch`: the answer's JSON if its status is right. */
export async function fetchJson(
  url: string,
  path: string,
  body: string,
  expected: number,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
  });
  const answer = { status: response.status, body: await response.text() };
  return expectJson(answer, expected, `POST ${path}`);
}
