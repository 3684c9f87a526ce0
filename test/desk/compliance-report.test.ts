import { afterEach, describe, expect, it } from 'vitest';
import { reportTable } from '../../src/cli/report-format.ts';
import { reportCsv } from '../../src/domain/sla-report-text.ts';
import { complianceReport, periodBounds, periodProblem } from '../../src/desk/compliance-report.ts';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';

/**
 * The compliance report against figures worked out by hand, over a month of tickets opened,
 * answered, escalated and resolved through the desk on a moving fixed clock.
 *
 * - Norte has a contract with its own calendar (Mon–Fri 08:00–17:00, Mexican holidays) for
 *   severity 3: first response 2 business hours, resolution 8. Its five November tickets are
 *   worked out one by one below, one of them across the Revolución holiday (Monday 16th).
 * - Acme has no contract: severity 2 on the desk's continuous clock (1 h, 8 h). Twenty tickets,
 *   the i-th opened on 1 + i November at noon, answered after 5·i minutes, resolved after 30·i.
 * - One ticket with no organisation, and two of Norte's outside the period.
 */

const MIN = 60_000;
/** Mexico City has had no DST since 2022: UTC−6 all November. */
const local = (isoLocal: string): Date => new Date(`${isoLocal}:00-06:00`);
const AGENT = 'ana.uno@proditmapac.com';

function policy(): DeskPolicy {
  return testPolicy((p) => {
    p.levels[1].people = [{ name: 'Ana Uno', email: AGENT, phone: null }];
    p.levels[2].people = [{ name: 'Beto Dos', email: 'beto.dos@proditmapac.com', phone: null }];
    p.classification.rules = [{ id: 'caida', words: ['caida total'], patterns: [], mailboxes: null, weight: 5, set: { severity: 2 } }];
    p.organisations = [
      {
        id: 'norte', name: 'Norte', match: { domains: ['norte.mx'], addresses: [], phones: [] },
        contract: {
          until: null, customer: null,
          calendar: { timeZone: 'America/Mexico_City', weeklyHours: { 1: [{ start: '08:00', end: '17:00' }], 2: [{ start: '08:00', end: '17:00' }], 3: [{ start: '08:00', end: '17:00' }], 4: [{ start: '08:00', end: '17:00' }], 5: [{ start: '08:00', end: '17:00' }] }, holidayCountry: 'MX', extraClosedDates: [] },
          severities: { 3: { clock: 'business', firstResponseMinutes: 120, resolutionMinutes: 480 } },
        },
      },
      { id: 'acme', name: 'Acme', match: { domains: ['acme.mx'], addresses: [], phones: [] }, contract: null },
    ];
  });
}

describe('a report period', () => {
  it('is two real dates in order, inclusive, in the desk\'s time zone', () => {
    expect(periodProblem({ from: '2026-11-01', to: '2026-11-30' })).toBeNull();
    expect(periodProblem({ to: '2026-11-30' })).toBe('falta --from (YYYY-MM-DD)');
    expect(periodProblem({ from: '2026-11-31', to: '2026-11-30' })).toBe('--from 2026-11-31: se espera una fecha YYYY-MM-DD');
    expect(periodProblem({ from: '2026-12-01', to: '2026-11-30' })).toBe('--from 2026-12-01 es posterior a --to 2026-11-30');
    expect(periodBounds({ from: '2026-11-01', to: '2026-11-30' }, 'America/Mexico_City')).toEqual({ from: Date.parse('2026-11-01T06:00:00Z'), to: Date.parse('2026-12-01T06:00:00Z') });
  });
});

describe('the SLA compliance report', () => {
  let t: TestMesa | null = null;
  afterEach(async () => { await t?.stop(); t = null; });

  it('matches hand-computed figures for a month, on each contract\'s own clock, across a holiday', async () => {
    let now = local('2026-10-30T10:00');
    t = await startTestMesa({ start: false, clock: () => now, policy: policy() });
    const mesa = t.mesa;
    let n = 0;
    const open = async (at: Date, from: string, text = 'No puedo facturar.'): Promise<string> => {
      now = at;
      const r = await mesa.receive(email({ from, to: 'soportetecnico@proditmapac.com', subject: `Caso ${++n}`, messageId: `case-${n}@x` }, text), { kind: 'pipe', mailbox: null });
      return (r as { ticketKey: string }).ticketKey;
    };
    const reply = async (key: string, at: Date, body: string): Promise<void> => {
      now = at;
      const r = await mesa.receive(email({ from: `Ana Uno <${AGENT}>`, to: agentReplyAddress(mesa.env.secret, key, AGENT), subject: `RE: [${key}]`, messageId: `r-${++n}@proditmapac.com` }, body), { kind: 'pipe', mailbox: null });
      expect(r).toMatchObject({ result: 'agent_reply' });
    };
    const answer = (key: string, at: Date) => reply(key, at, 'Lo estamos revisando.');
    const resolve = (key: string, at: Date) => reply(key, at, '#resuelto\nQuedó corregido.');

    // Outside the period: the day before and the day after.
    await open(local('2026-10-31T10:00'), 'fuera1@norte.mx');
    // N1, Fri 13 16:00: 1 h that day, Sat–Sun closed, Mon 16 a holiday, 1 h on Tue 17 → due Tue 09:00.
    // Answered Tue 08:30: 60 + 30 = 90 min, met. Resolved Tue 16:00: 60 + 480 = 540 min > 480, breached.
    const n1 = await open(local('2026-11-13T16:00'), 'n1@norte.mx');
    await answer(n1, local('2026-11-17T08:30'));
    await resolve(n1, local('2026-11-17T16:00'));
    // N2, Mon 2 09:00: answered 12:00 (180 min > 120, breached); resolved 16:00 (420 min, met).
    const n2 = await open(local('2026-11-02T09:00'), 'n2@norte.mx');
    await answer(n2, local('2026-11-02T12:00'));
    await resolve(n2, local('2026-11-02T16:00'));
    // N3, Wed 18 07:00, before opening: the clock starts at 08:00. Answered 08:45 (45 min, met); resolved 11:00 (180, met).
    const n3 = await open(local('2026-11-18T07:00'), 'n3@norte.mx');
    await answer(n3, local('2026-11-18T08:45'));
    await resolve(n3, local('2026-11-18T11:00'));
    // N4, Thu 26 15:00: two hours to 17:00, answered Fri 27 08:10 (130 min, breached); escalated once; still open.
    const n4 = await open(local('2026-11-26T15:00'), 'n4@norte.mx');
    await answer(n4, local('2026-11-27T08:10'));
    await reply(n4, local('2026-11-27T09:00'), '#escalar\nLo revisa Operaciones.');
    // N5, Mon 30 10:00: nothing yet (pending both).
    await open(local('2026-11-30T10:00'), 'n5@norte.mx');
    // No organisation: the desk's severity 3 (4 business hours), answered after 1 h, open.
    const x1 = await open(local('2026-11-10T10:00'), 'rosa@otra.mx');
    await answer(x1, local('2026-11-10T11:00'));
    // Acme, i = 1…20.
    for (let i = 1; i <= 20; i++) {
      const opened = local(`2026-11-${String(1 + i).padStart(2, '0')}T12:00`);
      const key = await open(opened, `c${i}@acme.mx`, 'Caida total del portal.');
      await answer(key, new Date(opened.getTime() + 5 * i * MIN));
      await resolve(key, new Date(opened.getTime() + 30 * i * MIN));
    }
    await open(local('2026-12-01T00:00'), 'fuera2@norte.mx');

    now = local('2026-12-01T09:00');
    const report = await complianceReport(mesa, { from: '2026-11-01', to: '2026-11-30' }, 'organisation');
    const rows = report.rows.map((r) => ({
      name: r.groupName, sev: r.severity, tickets: r.tickets, esc: r.escalations,
      fr: [r.firstResponse.met, r.firstResponse.breached, r.firstResponse.pending, r.firstResponse.medianMinutes, r.firstResponse.p90Minutes],
      res: [r.resolution.met, r.resolution.breached, r.resolution.pending, r.resolution.medianMinutes, r.resolution.p90Minutes],
    }));
    expect(rows).toEqual([
      // Acme: first response met for 5·i ≤ 60 (i ≤ 12); minutes 5…100, median the 10th (50), p90 the 18th (90).
      // Resolution met for 30·i ≤ 480 (i ≤ 16); minutes 30…600, median 300, p90 540.
      { name: 'Acme', sev: 2, tickets: 20, esc: 0, fr: [12, 8, 0, 50, 90], res: [16, 4, 0, 300, 540] },
      { name: 'Acme', sev: null, tickets: 20, esc: 0, fr: [12, 8, 0, 50, 90], res: [16, 4, 0, 300, 540] },
      // Norte: first response [45, 90, 130, 180] → median the 2nd (90), p90 the 4th (180); resolution [180, 420, 540].
      { name: 'Norte', sev: 3, tickets: 5, esc: 1, fr: [2, 2, 1, 90, 180], res: [2, 1, 2, 420, 540] },
      { name: 'Norte', sev: null, tickets: 5, esc: 1, fr: [2, 2, 1, 90, 180], res: [2, 1, 2, 420, 540] },
      { name: 'Sin organización', sev: 3, tickets: 1, esc: 0, fr: [1, 0, 0, 60, 60], res: [0, 0, 1, null, null] },
      { name: 'Sin organización', sev: null, tickets: 1, esc: 0, fr: [1, 0, 0, 60, 60], res: [0, 0, 1, null, null] },
    ]);

    const text = reportTable(report);
    expect(text).toContain('tickets abiertos del 2026-11-01 al 2026-11-30 (America/Mexico_City)');
    expect(text).toMatch(/Norte\s+3\s+5\s+2\s+2\s+1\s+50%\s+1 h 30 min\s+3 h\s+2\s+1\s+2\s+66\.7%\s+7 h\s+9 h\s+1/);
    const csv = reportCsv(report).split('\n');
    expect(csv[0]).toBe('group,group_name,severity,tickets,first_response_met,first_response_breached,first_response_pending,first_response_met_percent,first_response_median_minutes,first_response_p90_minutes,resolution_met,resolution_breached,resolution_pending,resolution_met_percent,resolution_median_minutes,resolution_p90_minutes,escalations');
    expect(csv).toContain('norte,Norte,3,5,2,2,1,50,90,180,2,1,2,66.7,420,540,1');
    expect(csv).toContain(',Sin organización,all,1,1,0,0,100,60,60,0,0,1,,,,0');
    expect(csv).toHaveLength(7);

    expect(reportTable(await complianceReport(mesa, { from: '2027-01-01', to: '2027-01-31' }, 'organisation'))).toContain('Sin tickets en el periodo.');
    // By category: the same tickets, grouped otherwise.
    const byCategory = await complianceReport(mesa, { from: '2026-11-01', to: '2026-11-30' }, 'category');
    expect(byCategory.rows.filter((r) => r.severity === null).reduce((s, r) => s + r.tickets, 0)).toBe(26);
  });
});
