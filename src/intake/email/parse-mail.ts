import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { InboundMail, MailAddress } from '../../domain/mail.ts';

/** A bound on repeated headers (Received can repeat hundreds of times in a mail loop). */
const MAX_HEADER_VALUES = 200;

/**
 * Step 1 of the pipeline: the raw RFC 5322 source into an `InboundMail`.
 * mailparser does the MIME work; this adapter only flattens its output into plain data and
 * gives a message without a Message-ID a deterministic one (so a re-read dedupes).
 */
export async function parseMail(raw: Buffer, idDomain: string): Promise<InboundMail> {
  // keepDeliveryStatus: DSN `message/delivery-status` parts become attachments, where the bounce
  // parser reads their per-recipient fields, instead of being folded into the text.
  const options = { skipImageLinks: true, skipTextToHtml: true, keepDeliveryStatus: true } as Parameters<typeof simpleParser>[1];
  const parsed: ParsedMail = await simpleParser(raw, options);
  const headersMap = collectHeaders(parsed);
  const ct = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const rawId = cleanId(parsed.messageId);
  const messageId = rawId ?? `sin-id.${createHash('sha256').update(raw).digest('hex').slice(0, 32)}@${idDomain}`;
  return {
    messageId,
    messageIdSynthesized: rawId === undefined,
    from: firstAddress(parsed.from),
    replyTo: addresses(parsed.replyTo),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    subject: (parsed.subject ?? '').trim(),
    date: validDate(parsed),
    inReplyTo: idList(parsed.inReplyTo),
    references: idList(parsed.references),
    headers: headersMap,
    contentType: (ct?.value ?? 'text/plain').toLowerCase(),
    contentTypeParams: lowerKeys(ct?.params ?? {}),
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : null,
    attachments: parsed.attachments.map((a) => ({
      filename: a.filename ?? null,
      contentType: (a.contentType ?? 'application/octet-stream').toLowerCase(),
      size: a.size ?? a.content.length,
      content: a.content,
      related: Boolean(a.related),
    })),
    rawSize: raw.length,
  };
}

function collectHeaders(parsed: ParsedMail): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { key, line } of parsed.headerLines) {
    const colon = line.indexOf(':');
    const value = unfold(line.slice(colon + 1));
    const list = (out[key.toLowerCase()] ??= []);
    if (list.length < MAX_HEADER_VALUES) list.push(decodeWords(value));
  }
  return out;
}

function unfold(v: string): string {
  return v.replace(/\r?\n[ \t]+/g, ' ').trim();
}

/** RFC 2047 encoded words in unstructured headers (Subject-like values we inspect). */
function decodeWords(v: string): string {
  if (!v.includes('=?')) return v;
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (whole, charset: string, enc: string, text: string) => {
    try {
      const bytes = enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      return new TextDecoder(charset.toLowerCase(), { fatal: false }).decode(bytes);
    } catch {
      return whole;
    }
  });
}

function cleanId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const m = /<([^<>\s]+)>/.exec(id);
  const v = (m ? m[1] : id.replace(/[<>\s]/g, '')) ?? '';
  return v.length > 0 && v.length <= 998 ? v : undefined;
}

function idList(v: string | string[] | undefined): string[] {
  if (!v) return [];
  const joined = Array.isArray(v) ? v.join(' ') : v;
  const ids = [...joined.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1] as string);
  if (ids.length > 0) return ids;
  return joined.replace(/\([^()]*\)/g, ' ').split(/[\s<>,]+/).filter((s) => s.includes('@'));
}

function addresses(v: AddressObject | AddressObject[] | undefined): MailAddress[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: MailAddress[] = [];
  const walk = (entries: AddressObject['value']): void => {
    for (const e of entries) {
      if (e.group) walk(e.group);
      else if (e.address) out.push({ address: e.address.toLowerCase(), name: (e.name ?? '').trim() });
    }
  };
  for (const o of list) walk(o.value);
  return out;
}

function firstAddress(v: AddressObject | AddressObject[] | undefined): MailAddress | null {
  return addresses(v)[0] ?? null;
}

function lowerKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
}

/** mailparser substitutes the current time for an unparseable Date header; we want null. */
function validDate(parsed: ParsedMail): Date | null {
  const line = parsed.headerLines.find((h) => h.key === 'date')?.line;
  if (!line || !parsed.date) return null;
  return Number.isNaN(new Date(line.slice(line.indexOf(':') + 1).trim()).getTime()) ? null : parsed.date;
}
