import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLogsWanted } from '../src/log.ts';

function capture(): { stream: Writable; text: () => string } {
  let out = '';
  return { stream: new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } }), text: () => out };
}

describe('logs', () => {
  it('are one JSON object a line, with secrets and message content redacted however deep', () => {
    const c = capture();
    const log = createLogger({ level: 'info', pretty: false, destination: c.stream });
    log.info({ event: 'x', env: { smtp: { password: 'pw-smtp-123' }, twilio: { authToken: 'tok-456' }, mailboxes: { a: { password: 'pw-imap' } } } }, 'uno');
    log.info({ event: 'y', mail: { text: 'cuerpo del mensaje', html: '<p>cuerpo</p>' }, token: 'reply-token', headers: { authorization: 'Basic abc' } }, 'dos');
    const lines = c.text().trim().split('\n');
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a.env.smtp.password).toBe('[redacted]');
    expect(a.env.twilio.authToken).toBe('[redacted]');
    expect(b.mail.text).toBe('[redacted]');
    expect(b.headers.authorization).toBe('[redacted]');
    for (const s of ['pw-smtp-123', 'tok-456', 'cuerpo', 'reply-token', 'Basic abc']) expect(c.text()).not.toContain(s);
    // Three objects down (env.mailboxes.a.password) is still redacted.
    expect(c.text()).not.toContain('"pw-imap"');
  });

  it('are pretty only when asked: MESA_LOG_PRETTY, else NODE_ENV=development', () => {
    expect(prettyLogsWanted({})).toBe(false);
    expect(prettyLogsWanted({ NODE_ENV: 'development' })).toBe(true);
    expect(prettyLogsWanted({ NODE_ENV: 'development', MESA_LOG_PRETTY: '0' })).toBe(false);
    expect(prettyLogsWanted({ NODE_ENV: 'production', MESA_LOG_PRETTY: '1' })).toBe(true);
    const c = capture();
    createLogger({ level: 'info', pretty: true, destination: c.stream }).info({ event: 'mesa.started', password: 'secreto-99' }, 'Mesa iniciada');
    expect(c.text()).toMatch(/INFO.*Mesa iniciada/);
    expect(c.text()).not.toContain('secreto-99');
    expect(() => JSON.parse(c.text())).toThrow();
  });
});
