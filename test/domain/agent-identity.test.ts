import { describe, expect, it } from 'vitest';
import { identifyAgent } from '../../src/domain/agent-identity.ts';
import { signToken } from '../../src/domain/reply-token.ts';

const SECRET = 'secreto-de-prueba-0123456789';
const ANA = { name: 'Ana', email: 'ana@proditmapac.com', aliases: ['ana.movil@gmail.com'], phone: null };
const BETO = { name: 'Beto', email: 'beto@proditmapac.com', phone: null };
const DIRECTORY = [{ person: ANA, level: 1 as const }, { person: BETO, level: 2 as const }];
const tokenFor = (key: string, address: string) => ({ ticketKey: key, token: signToken(SECRET, key, { kind: 'agent', address }) });

describe('identifyAgent: the signed token AND the From it was issued to', () => {
  it('accepts the agent the token was signed for, from their address or an alias', () => {
    for (const from of ['ana@proditmapac.com', 'ANA@proditmapac.com', 'ana.movil@gmail.com']) {
      expect(identifyAgent({ from, tokens: [tokenFor('MDA-000001', ANA.email)], directory: DIRECTORY, secret: SECRET }))
        .toMatchObject({ kind: 'agent', ticketKey: 'MDA-000001', level: 1, person: { email: ANA.email } });
    }
  });

  it("refuses an agent's From without a token, or with another agent's token", () => {
    expect(identifyAgent({ from: ANA.email, tokens: [], directory: DIRECTORY, secret: SECRET })).toMatchObject({ kind: 'rejected', reason: 'token_missing_or_wrong' });
    expect(identifyAgent({ from: ANA.email, tokens: [tokenFor('MDA-000001', BETO.email)], directory: DIRECTORY, secret: SECRET })).toMatchObject({ kind: 'rejected', reason: 'token_missing_or_wrong' });
  });

  it("refuses a stranger holding an agent's token, naming the agent to warn", () => {
    expect(identifyAgent({ from: 'intruso@otro.example', tokens: [tokenFor('MDA-000007', BETO.email)], directory: DIRECTORY, secret: SECRET }))
      .toEqual({ kind: 'rejected', reason: 'foreign_from', ticketKey: 'MDA-000007', person: BETO });
  });

  it('is nobody in particular for customers and forged tokens', () => {
    expect(identifyAgent({ from: 'cliente@x.mx', tokens: [], directory: DIRECTORY, secret: SECRET })).toEqual({ kind: 'none' });
    expect(identifyAgent({ from: 'cliente@x.mx', tokens: [{ ticketKey: 'MDA-000001', token: 'aaaaaaaaaaaaaaaa' }], directory: DIRECTORY, secret: SECRET })).toEqual({ kind: 'none' });
    expect(identifyAgent({ from: null, tokens: [tokenFor('MDA-000001', ANA.email)], directory: DIRECTORY, secret: SECRET })).toMatchObject({ kind: 'rejected', reason: 'foreign_from' });
  });
});
