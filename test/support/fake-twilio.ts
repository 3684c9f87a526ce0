import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTwilioRequest {
  to: string | null;
  from: string | null;
  messagingServiceSid: string | null;
  body: string | null;
  /** Whether the request carried the right Basic credentials (AccountSid:AuthToken). */
  auth: boolean;
}

export interface FakeTwilio {
  /** Base URL to give TwilioSettings.apiBaseUrl. */
  url: string;
  requests: FakeTwilioRequest[];
  /** Queues a scripted answer for the next Messages.json request (FIFO); `delayMs` holds it back. */
  respondNext(status: number, body: object, opts?: { delayMs?: number }): void;
  /** Numbers Twilio refuses as landlines (error 21614, HTTP 400), whatever the order of requests. */
  landlines: Set<string>;
  stop(): Promise<void>;
}

/**
 * A real HTTP server on loopback speaking the shape of Twilio's REST API for one resource:
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` or
 * `MessagingServiceSid`, `Body`, Basic auth AccountSid:AuthToken. It answers 201 with a message
 * resource, or Twilio's error JSON `{ code, message, more_info, status }` — wrong credentials get
 * 401/20003 as Twilio gives them; scripted answers come first.
 */
export async function startFakeTwilio(creds: { accountSid: string; authToken: string }): Promise<FakeTwilio> {
  const requests: FakeTwilioRequest[] = [];
  const scripted: Array<{ status: number; body: object; delayMs: number }> = [];
  const landlines = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const messagesPath = `/2010-04-01/Accounts/${creds.accountSid}/Messages.json`;
  const expectedAuth = `Basic ${Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64')}`;

  const server = createServer((req, res) => {
    readBody(req).then((raw) => {
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      if (req.method !== 'POST' || path !== messagesPath) {
        reply(res, 404, twilioError(20404, `The requested resource ${path} was not found`, 404));
        return;
      }
      const form = new URLSearchParams(raw);
      const auth = req.headers.authorization === expectedAuth;
      const rec: FakeTwilioRequest = { to: form.get('To'), from: form.get('From'), messagingServiceSid: form.get('MessagingServiceSid'), body: form.get('Body'), auth };
      requests.push(rec);
      if (!auth) {
        reply(res, 401, twilioError(20003, 'Authenticate', 401));
        return;
      }
      if (rec.to !== null && landlines.has(rec.to)) {
        reply(res, 400, twilioError(21614, `'To' number ${rec.to} is not a valid mobile number`, 400));
        return;
      }
      const next = scripted.shift();
      if (next) {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) reply(res, next.status, next.body);
        }, next.delayMs);
        timers.add(t);
        return;
      }
      reply(res, 201, messageResource(creds.accountSid, rec));
    }, () => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    landlines,
    respondNext(status, body, opts = {}) {
      scripted.push({ status, body, delayMs: opts.delayMs ?? 0 });
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // The SDK keeps connections alive; drop them so a "server down" test sees a refused connect.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Twilio's legacy error body, as `RestException` in the SDK parses it. */
export function twilioError(code: number, message: string, status: number): object {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function messageResource(accountSid: string, r: FakeTwilioRequest): object {
  const sid = `SM${randomBytes(16).toString('hex')}`;
  const now = new Date().toUTCString().replace('GMT', '+0000');
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: r.body,
    date_created: now,
    date_sent: null,
    date_updated: now,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: r.from,
    messaging_service_sid: r.messagingServiceSid,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid,
    status: 'queued',
    subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    to: r.to,
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
  };
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
