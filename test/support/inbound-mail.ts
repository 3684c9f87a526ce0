import type { InboundMail } from '../../src/domain/mail.ts';

/**
 * An `InboundMail` built by hand for pure unit tests: a plain customer message with every field
 * present; each test overrides the few fields it is about.
 */
export function inboundMail(over: Partial<InboundMail> = {}): InboundMail {
  return {
    messageId: 'm1@cliente.example',
    messageIdSynthesized: false,
    from: { address: 'cliente@cliente.example', name: 'Cliente' },
    replyTo: [],
    to: [{ address: 'soporte@mesa.example.mx', name: '' }],
    cc: [],
    subject: '',
    date: null,
    inReplyTo: [],
    references: [],
    headers: {},
    contentType: 'text/plain',
    contentTypeParams: {},
    text: '',
    html: null,
    attachments: [],
    rawSize: 100,
    ...over,
  };
}
