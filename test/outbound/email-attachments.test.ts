import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSender, loadAttachments, SendError } from '../../src/outbound/email-senders.ts';
import { toMailOptions, type OutgoingEmail } from '../../src/outbound/outgoing-email.ts';
import { FileBlobStore, type BlobStore } from '../../src/store/blob-store.ts';

/** Attachments travel through the outbox by reference and are read from the blob store at send time. */
describe('email attachments by reference', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'mesa-att-')); dirs.push(d); return d; };

  const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) % 256)), Buffer.from('\n%%EOF\n')]);
  const base: OutgoingEmail = {
    from: { name: 'PRODITMA Mesa de Ayuda', address: 'soportetecnico@proditmapac.com' }, to: 'carla@cliente.mx',
    replyTo: 'soportetecnico+mda-000001.x@proditmapac.com', subject: '[MDA-000001] Respuesta a su reporte', text: 'Hola Carla.', html: null,
    messageId: 'mda-000001.agent-reply.1@mesa.proditmapac.com', inReplyTo: null, references: [], headers: { 'Auto-Submitted': 'auto-generated' },
  };
  const withBlob = async (blobs: BlobStore, content: Buffer, filename: string | null = 'reporte.pdf'): Promise<OutgoingEmail> => {
    const sha256 = await blobs.put(content);
    return { ...base, attachments: [{ sha256, filename, contentType: 'application/pdf', size: content.length }] };
  };

  it('writes the .eml with the attachment, bytes identical (FileSender)', async () => {
    const blobs = new FileBlobStore(join(tmp(), 'blobs'));
    const out = tmp();
    await new FileSender(out, blobs).send(await withBlob(blobs, PDF));
    const [file] = readdirSync(out);
    const parsed = await simpleParser(readFileSync(join(out, file!)));
    expect(parsed.text?.trim()).toBe('Hola Carla.');
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.contentDisposition, a.content.equals(PDF)])).toEqual([['reporte.pdf', 'application/pdf', 'attachment', true]]);
  });

  it('adds nothing to a message without attachments', () => {
    expect(toMailOptions(base)).not.toHaveProperty('attachments');
    expect(toMailOptions({ ...base, attachments: [] })).not.toHaveProperty('attachments');
  });

  it('refuses for good a blob that is gone or no longer matches its address', async () => {
    const blobs = new FileBlobStore(join(tmp(), 'blobs'));
    const gone = await withBlob(blobs, PDF);
    rmSync(blobs.pathOf(gone.attachments![0]!.sha256));
    await expect(loadAttachments(gone, blobs)).rejects.toThrow(SendError);
    await expect(loadAttachments(gone, blobs)).rejects.toThrow(expect.objectContaining({ permanent: true, message: expect.stringContaining('ENOENT') }));
    const altered = await withBlob(blobs, Buffer.from('otro contenido'));
    writeFileSync(blobs.pathOf(altered.attachments![0]!.sha256), 'alterado');
    await expect(loadAttachments(altered, blobs)).rejects.toThrow(expect.objectContaining({ permanent: true, message: expect.stringContaining('does not match its content address') }));
  });
});
