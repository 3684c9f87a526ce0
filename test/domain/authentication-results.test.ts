import { describe, expect, it } from 'vitest';
import { aligned, authenticationVerdict, parseAuthenticationResults, requiresAuthentication } from '../../src/domain/authentication-results.ts';

/** Header values as mail servers write them (folded lines already unfolded by the parser, or not). */
const GMAIL = 'mx.google.com; dkim=pass header.i=@proditmapac.com header.s=google header.b=Xk3Lm9qP; '
  + 'spf=pass (google.com: domain of ana.n1@proditmapac.com designates 209.85.220.41 as permitted sender) smtp.mailfrom=ana.n1@proditmapac.com; '
  + 'dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=proditmapac.com';
const M365 = 'spf=pass (sender IP is 40.107.236.70) smtp.mailfrom=proditmapac.com; dkim=pass (signature was verified) header.d=proditmapac.com;dmarc=pass action=none header.from=proditmapac.com;compauth=pass reason=100';
const POSTFIX_OPENDKIM = 'mx.proditmapac.com;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=proditmapac.com header.i=@proditmapac.com header.a=rsa-sha256 header.s=mesa2026 header.b=QWx5cGhh;\r\n\tdkim-atps=neutral';
const POSTFIX_SPF = 'mx.proditmapac.com; spf=pass (sender SPF authorized) smtp.mailfrom=mail.proditmapac.com (client-ip=201.148.7.20; helo=mail.proditmapac.com; envelope-from=ana.n1@mail.proditmapac.com; receiver=<UNKNOWN>)';
const RSPAMD_DOVECOT = 'imap.proditmapac.com 1; dkim=fail reason="signature verification failed" header.d=proditmapac.com header.s=mesa2026 header.b=abc; '
  + 'spf=softfail (imap.proditmapac.com: 203.0.113.9 is neither permitted nor denied by domain of ana.n1@proditmapac.com) smtp.mailfrom=ana.n1@proditmapac.com; dmarc=fail reason="SPF not aligned (relaxed)" header.from=proditmapac.com (policy=none)';

describe('parseAuthenticationResults', () => {
  it('reads Gmail: authserv-id, methods, results, properties; comments dropped', () => {
    const h = parseAuthenticationResults(GMAIL)!;
    expect(h.authservId).toBe('mx.google.com');
    expect(h.results.map((r) => `${r.method}=${r.result}`)).toEqual(['dkim=pass', 'spf=pass', 'dmarc=pass']);
    expect(h.results[0]!.properties).toMatchObject({ 'header.i': '@proditmapac.com', 'header.s': 'google' });
    expect(h.results[1]!.properties['smtp.mailfrom']).toBe('ana.n1@proditmapac.com');
    expect(JSON.stringify(h)).not.toContain('designates');
  });

  it('reads Microsoft 365: no authserv-id, non-standard "action", compauth with a reason', () => {
    const h = parseAuthenticationResults(M365)!;
    expect(h.authservId).toBeNull();
    expect(h.results.map((r) => r.method)).toEqual(['spf', 'dkim', 'dmarc', 'compauth']);
    expect(h.results[2]!.properties).toMatchObject({ action: 'none', 'header.from': 'proditmapac.com' });
    expect(h.results[3]).toMatchObject({ result: 'pass', reason: '100' });
  });

  it('reads folded Postfix + OpenDKIM headers, with a method name containing a dash', () => {
    const h = parseAuthenticationResults(POSTFIX_OPENDKIM)!;
    expect(h.authservId).toBe('mx.proditmapac.com');
    expect(h.results).toEqual([
      { method: 'dkim', result: 'pass', reason: null, properties: { 'header.d': 'proditmapac.com', 'header.i': '@proditmapac.com', 'header.a': 'rsa-sha256', 'header.s': 'mesa2026', 'header.b': 'QWx5cGhh' } },
      { method: 'dkim-atps', result: 'neutral', reason: null, properties: {} },
    ]);
  });

  it('reads an rspamd/Dovecot style header with a version and quoted reasons', () => {
    const h = parseAuthenticationResults(RSPAMD_DOVECOT)!;
    expect(h.authservId).toBe('imap.proditmapac.com');
    expect(h.results[0]).toMatchObject({ method: 'dkim', result: 'fail', reason: 'signature verification failed' });
    expect(h.results[2]).toMatchObject({ method: 'dmarc', result: 'fail', reason: 'SPF not aligned (relaxed)' });
  });

  it('understands "none", quoted ids, nested comments, CFWS around = and .', () => {
    expect(parseAuthenticationResults('mx.example.org 1; none')).toEqual({ authservId: 'mx.example.org', results: [] });
    expect(parseAuthenticationResults('"mx.example.org"; spf=pass smtp.mailfrom=example.org')?.authservId).toBe('mx.example.org');
    const h = parseAuthenticationResults('mx.example.org (a (nested) comment); dkim = pass (ok) header . d = example.org')!;
    expect(h.results[0]).toMatchObject({ method: 'dkim', result: 'pass', properties: { 'header.d': 'example.org' } });
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   \t '],
    ['only a comment', '(nothing here)'],
    ['an id with spaces and junk', 'this is not; a header'],
    ['unbalanced quote', '"mx.example.org; dkim=pass header.d=example.org'],
    ['unbalanced comment', 'mx.example.org; dkim=pass (header.d=example.org'],
    ['binary noise', '\u0000\u0001=;;;===((("'],
    ['a huge value', `mx.example.org; ${'dkim=pass header.d=x.example.org; '.repeat(5000)}`],
  ])('never throws on garbage: %s', (_name, value) => {
    expect(() => parseAuthenticationResults(value)).not.toThrow();
    const h = parseAuthenticationResults(value);
    if (h) expect(h.results.length).toBeLessThanOrEqual(64);
  });

  it('skips what it cannot read inside an otherwise good header', () => {
    // Seen in the wild: a stray domain between results.
    const h = parseAuthenticationResults('spf=none smtp.mailfrom=example.net; hotmail.com; dkim=none header.d=example.net;hotmail.com; dmarc=none action=none header.from=example.net;compauth=fail reason=001')!;
    expect(h.results.map((r) => `${r.method}=${r.result}`)).toEqual(['spf=none', 'dkim=none', 'dmarc=none', 'compauth=fail']);
  });
});

describe('authenticationVerdict', () => {
  const OURS = ['mx.proditmapac.com'];

  it('passes on an aligned dkim=pass from our server', () => {
    expect(authenticationVerdict([POSTFIX_OPENDKIM], 'proditmapac.com', OURS)).toEqual({ pass: true, method: 'dkim', domain: 'proditmapac.com', authservId: 'mx.proditmapac.com' });
  });

  it('passes on an aligned spf=pass when DKIM is missing; a parent domain is aligned', () => {
    expect(authenticationVerdict([POSTFIX_SPF], 'mail.proditmapac.com', OURS)).toMatchObject({ pass: true, method: 'spf', domain: 'mail.proditmapac.com' });
    const parent = 'mx.proditmapac.com; spf=pass smtp.mailfrom=bounces@proditmapac.com';
    expect(authenticationVerdict([parent], 'soporte.proditmapac.com', OURS)).toMatchObject({ pass: true, method: 'spf', domain: 'proditmapac.com' });
  });

  it('reads several headers of our server (one per milter)', () => {
    const dkimFail = 'mx.proditmapac.com; dkim=fail (bad signature) header.d=proditmapac.com';
    expect(authenticationVerdict([dkimFail, POSTFIX_SPF], 'mail.proditmapac.com', OURS)).toMatchObject({ pass: true, method: 'spf' });
  });

  it('trusts Gmail only when the desk lists mx.google.com (Google Workspace mailboxes)', () => {
    expect(authenticationVerdict([GMAIL], 'proditmapac.com', OURS)).toEqual({ pass: false, reason: 'no_trusted_results', seen: [] });
    expect(authenticationVerdict([GMAIL], 'proditmapac.com', ['MX.Google.com'])).toMatchObject({ pass: true, method: 'dkim', domain: 'proditmapac.com' });
  });

  it('refuses a pass for another domain: the signer is not the From domain, nor its parent', () => {
    const other = 'mx.proditmapac.com; dkim=pass header.d=sendgrid.net; spf=pass smtp.mailfrom=bounces@sendgrid.net';
    const v = authenticationVerdict([other], 'proditmapac.com', OURS);
    expect(v).toEqual({ pass: false, reason: 'no_aligned_pass', seen: ['dkim=pass header.d=sendgrid.net', 'spf=pass smtp.mailfrom=sendgrid.net'] });
    // A child of the From domain is not a parent of it.
    expect(authenticationVerdict(['mx.proditmapac.com; dkim=pass header.d=x.proditmapac.com'], 'proditmapac.com', OURS).pass).toBe(false);
  });

  it('refuses failures and softfails', () => {
    expect(authenticationVerdict([RSPAMD_DOVECOT], 'proditmapac.com', ['imap.proditmapac.com'])).toMatchObject({
      pass: false, reason: 'no_aligned_pass', seen: ['dkim=fail header.d=proditmapac.com', 'spf=softfail smtp.mailfrom=proditmapac.com'],
    });
  });

  it('ignores a forged header below a foreign one, even when it claims our id', () => {
    // The sender wrote the bottom header; its own provider (a foreign id) added the middle one;
    // our server added nothing that passes.
    const ourFail = 'mx.proditmapac.com; dkim=none; spf=fail smtp.mailfrom=proditmapac.com';
    const theirs = 'mx.atacante.example; spf=pass smtp.mailfrom=atacante.example';
    const forged = 'mx.proditmapac.com; dkim=pass header.d=proditmapac.com';
    expect(authenticationVerdict([ourFail, theirs, forged], 'proditmapac.com', OURS)).toMatchObject({ pass: false, reason: 'no_aligned_pass' });
    // Nothing from our server on top: the forged one is never reached.
    expect(authenticationVerdict([theirs, forged], 'proditmapac.com', OURS)).toMatchObject({ pass: false, reason: 'no_trusted_results' });
  });

  it('never trusts Microsoft 365 headers (they carry no authserv-id)', () => {
    expect(authenticationVerdict([M365], 'proditmapac.com', OURS)).toMatchObject({ pass: false, reason: 'no_trusted_results' });
  });

  it('fails closed on a missing or garbled header', () => {
    expect(authenticationVerdict([], 'proditmapac.com', OURS)).toMatchObject({ pass: false, reason: 'no_trusted_results' });
    expect(authenticationVerdict(['(((garbage'], 'proditmapac.com', OURS)).toMatchObject({ pass: false, reason: 'no_trusted_results' });
    expect(authenticationVerdict([POSTFIX_OPENDKIM], 'proditmapac.com', [])).toMatchObject({ pass: false, reason: 'no_trusted_results' });
    expect(authenticationVerdict(['mx.proditmapac.com; dkim=pass header.d=no_es_dominio!'], 'proditmapac.com', OURS)).toMatchObject({ pass: false, reason: 'no_aligned_pass' });
  });
});

describe('alignment and scope', () => {
  it.each([
    ['proditmapac.com', 'proditmapac.com', true],
    ['PRODITMAPAC.COM.', 'proditmapac.com', true],
    ['proditmapac.com', 'mx.soporte.proditmapac.com', true],
    ['mx.proditmapac.com', 'proditmapac.com', false],
    ['com', 'proditmapac.com', false],
    ['ditmapac.com', 'proditmapac.com', false],
    ['', 'proditmapac.com', false],
  ])('aligned(%s, %s) = %s', (d, from, expected) => {
    expect(aligned(d, from)).toBe(expected);
  });

  it('applies to the listed domains and their subdomains, or to all when none are listed', () => {
    expect(requiresAuthentication('proditmapac.com', { enabled: false, domains: [] })).toBe(false);
    expect(requiresAuthentication('proditmapac.com', { enabled: true, domains: [] })).toBe(true);
    expect(requiresAuthentication('mx.proditmapac.com', { enabled: true, domains: ['proditmapac.com'] })).toBe(true);
    expect(requiresAuthentication('gmail.com', { enabled: true, domains: ['proditmapac.com'] })).toBe(false);
  });
});
