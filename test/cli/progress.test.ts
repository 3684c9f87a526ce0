import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startProgress } from '../../src/cli/progress.ts';

/** A stream that records what is written, passing for a terminal or not. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string } {
  const s = new Writable({ write(chunk: Buffer, _enc, cb) { s.written += chunk.toString(); cb(); } }) as Writable & { written: string } & Record<string, unknown>;
  s.written = '';
  Object.assign(s, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true });
  return s as unknown as NodeJS.WriteStream & { written: string };
}

describe('progress of long commands', () => {
  it('draws a bar on a terminal', () => {
    const tty = fakeStream(true);
    const p = startProgress('Reintentando', 4, tty);
    for (let i = 0; i < 4; i++) p.tick();
    p.stop();
    expect(tty.written).toContain('Reintentando [');
    expect(tty.written).toContain('4/4 (100 %)');
  });

  it('prints a count line at each tenth and at the end when not on a terminal', () => {
    const plain = fakeStream(false);
    const p = startProgress('Reintentando', 25, plain);
    for (let i = 0; i < 25; i++) p.tick();
    p.stop();
    expect(plain.written.trim().split('\n')).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 25].map((n) => `Reintentando: ${n}/25`));
    const few = fakeStream(false);
    const q = startProgress('X', 2, few);
    q.tick();
    q.tick();
    q.stop();
    expect(few.written).toBe('X: 1/2\nX: 2/2\n');
  });
});
