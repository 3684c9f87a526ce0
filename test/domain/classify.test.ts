import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { classify, type ClassificationInput } from '../../src/domain/classify.ts';
import type { ClassificationRule, MailboxPolicy } from '../../src/domain/policy.ts';

/** The real rules shipped in config/default.yaml. */
const policy = loadConfig(join(import.meta.dirname, '../../config'));
const RULES = policy.classification.rules;
const MIN = policy.classification.minimumScore;
const mailbox = (id: string): MailboxPolicy => {
  const m = policy.mailboxes.find((x) => x.id === id);
  if (!m) throw new Error(`no mailbox ${id} in default.yaml`);
  return m;
};
const MESA = mailbox('mesadeayuda'); // defaults 4 / solicitud / general
const SOPORTE = mailbox('soportetecnico'); // defaults 3 / incidente / tecnico

function real(subject: string, text = '', over: Partial<ClassificationInput> = {}) {
  return classify({ subject, text, mailbox: MESA, ...over }, RULES, MIN);
}

const firedRules = (c: ReturnType<typeof classify>): string[] => c.reasons.map((r) => r.rule);

/** A hand-made rule for the arithmetic tests (words already normalised, as load-config does). */
function rule(id: string, words: string[], weight: number, set: ClassificationRule['set'], extra: Partial<ClassificationRule> = {}): ClassificationRule {
  return { id, words, patterns: [], mailboxes: null, weight, set, ...extra };
}

describe('classify with the rules of config/default.yaml', () => {
  it.each([
    // [subject, text, severity, type, category]
    ['El portal está caído', 'Nadie puede entrar desde esta mañana, no funciona para nadie.', 1, 'incidente', 'disponibilidad'],
    ['Portal down', 'The customer portal is down for everyone, looks like an outage.', 1, 'incidente', 'disponibilidad'],
    ['Sitio caído', 'Al entrar sale Error 503 Service Unavailable', 1, 'incidente', 'disponibilidad'],
    ['Creo que nos hackearon', 'Hay accesos no reconocidos, posible acceso no autorizado a la cuenta.', 1, 'incidente', 'seguridad'],
    ['Se borraron los pedidos', 'Desaparecieron todos los registros de ayer.', 1, 'incidente', 'datos'],
    ['Falla en reportes', 'A muchos usuarios les marca error al exportar y no hay alternativa para sacar el reporte.', 2, 'incidente', 'tecnico'],
    ['Export broken', 'Many users get an error when exporting; we have no workaround.', 2, 'incidente', 'tecnico'],
    ['Error al guardar', 'Cuando intento guardar una orden me marca error. A mis compañeros sí les funciona.', 3, 'incidente', 'tecnico'],
    ['Cannot save', 'When I save an order it does not work for me.', 3, 'incidente', 'tecnico'],
    ['Olvidé mi contraseña', 'Necesito restablecer la contraseña de mi usuario.', 3, 'solicitud', 'cuenta'],
    ['¿Cómo puedo exportar a Excel?', 'Quisiera saber cómo hago para descargar el reporte.', 4, 'solicitud', 'consulta'],
    ['Question', 'How do I export the monthly report?', 4, 'solicitud', 'consulta'],
    ['Detalle visual', 'El botón se ve mal y hay un typo en el menú.', 4, 'incidente', 'cosmetico'],
  ] as const)('%s → severity %i, %s, %s', (subject, text, severity, type, category) => {
    const c = real(subject, text);
    expect({ severity: c.severity, type: c.type, category: c.category }).toEqual({ severity, type, category });
    expect(c.level).toBe(1);
  });

  it('ignores accents and case on both sides', () => {
    for (const s of ['PORTAL CAÍDO', 'portal caido', 'Portal Caído', 'PORTAL  CAIDO']) {
      const c = real(s);
      expect(c.severity, s).toBe(1);
      expect(c.reasons[0]?.matched, s).toEqual(['portal caido']);
    }
    // ñ folds to n: the config word is "contrasena".
    expect(firedRules(real('CONTRASEÑA bloqueada'))).toContain('acceso-cuenta');
  });

  it('matches across line breaks and runs of whitespace inside a phrase', () => {
    expect(firedRules(real('Aviso', 'hoy el portal\n\n   caido otra vez'))).toContain('portal-caido');
  });

  it('treats the typographic apostrophe like the ASCII one', () => {
    expect(real('Export', 'It doesn’t work').reasons.find((r) => r.rule === 'falla-funcion')?.matched).toEqual(["doesn't work"]);
  });

  it('matches words on word boundaries only: "errores", "fallas", "terror" do not fire "error"/"falla"', () => {
    // Word boundaries are deliberate (the rule words are whole words); plurals must be listed in
    // the config to count. Here nothing fires and the mailbox decides.
    const c = real('Errores', 'Me salen errores y fallas; qué terror');
    expect(c.reasons).toEqual([]);
    expect(c.severity).toBe(MESA.defaultSeverity);
    // …but punctuation around a word is a boundary.
    expect(real('¡Error!').reasons.map((r) => r.matched)).toEqual([['error']]);
    expect(real('(error)').severity).toBe(3);
  });

  it('a word refused for its left boundary does not hide one that starts inside it', () => {
    // "xno puedo entrar": "no puedo" is glued to the x; "puedo entrar", two characters further
    // on, starts after a space and counts. Likewise "terrores 500" holds no "error", but "500".
    const r = rule('r', ['no puedo', 'puedo entrar', 'error', '500'], 1, { severity: 2 });
    const c = classify({ subject: '', text: 'xno puedo entrar; terrores 500 y 𝒳error', mailbox: MESA }, [r], 1);
    expect(c.reasons.map((x) => x.matched)).toEqual([['puedo entrar', '500']]);
    expect(classify({ subject: 'error', text: '', mailbox: MESA }, [r], 1).reasons.map((x) => x.matched)).toEqual([['error']]);
  });

  it('a number glued to a phrase does not count ("error 5000" is not "error 500")', () => {
    const c = real('error 5000 en la factura');
    expect(firedRules(c)).not.toContain('portal-caido');
    expect(firedRules(c)).not.toContain('patron-codigo-error');
    expect(c.severity).toBe(3);
  });

  it('patterns run on the raw text and fire together with words, listed as /source/', () => {
    const c = real('HTTP 502 al entrar');
    const reason = c.reasons.find((r) => r.rule === 'patron-codigo-error');
    expect(reason?.matched).toEqual(['/\\b(?:HTTP|error)\\s*5\\d\\d\\b/']);
    expect(c.severity).toBe(2);
    expect(c.category).toBe('disponibilidad');
  });

  it('counts a rule once however often its words repeat', () => {
    const once = real('error');
    const many = real('error error error', 'error falla fallo no funciona marca error bug '.repeat(50));
    expect(once.severity).toBe(3);
    expect(many.severity).toBe(3);
    expect(many.reasons).toHaveLength(1);
    expect(many.reasons[0]?.weight).toBe(1);
    // A flood of level-3 words does not outweigh one weight-2 mass-failure phrase.
    const flood = real('muchos usuarios', 'error falla fallo no funciona no puedo bug broken '.repeat(100));
    expect(flood.severity).toBe(2);
    expect(flood.decidedBy.severity).toBe('rules falla-masiva (score 2)');
  });

  it('ties go to the more severe value (urgente 2 vs error 3, both weight 1)', () => {
    const c = real('URGENTE', 'me marca error al imprimir');
    expect(c.severity).toBe(2);
    expect(real('urgente', '¿cómo puedo cambiar mi foto?').severity).toBe(2);
  });

  it('falls back to the mailbox of arrival when nothing matches', () => {
    const m = real('Hola', 'Buenos días, gracias.');
    expect({ severity: m.severity, type: m.type, category: m.category, level: m.level }).toEqual({ severity: 4, type: 'solicitud', category: 'general', level: 1 });
    expect(m.reasons).toEqual([]);
    expect(m.decidedBy.severity).toBe('mailbox mesadeayuda default');
    const s = real('Hola', 'Buenos días, gracias.', { mailbox: SOPORTE });
    expect({ severity: s.severity, type: s.type, category: s.category }).toEqual({ severity: 3, type: 'incidente', category: 'tecnico' });
    expect(s.decidedBy.type).toBe('mailbox soportetecnico default');
  });

  it('takes only the undecided dimensions from the mailbox (urgente sets severity only)', () => {
    const c = real('Urgente', 'favor de llamarme', { mailbox: SOPORTE });
    expect(c.severity).toBe(2);
    expect(c.type).toBe('incidente');
    expect(c.category).toBe('tecnico');
    expect(c.decidedBy.type).toBe('mailbox soportetecnico default');
    expect(c.decidedBy.severity).toContain('urgente');
  });

  it('a category-only rule (facturación) sets the category and leaves the rest to the others', () => {
    const c = real('Urgente: mi factura', 'necesito la factura de marzo');
    expect({ severity: c.severity, type: c.type, category: c.category }).toEqual({ severity: 2, type: 'solicitud', category: 'facturacion' });
    expect(c.decidedBy.category).toBe('rules facturacion');
    expect(c.decidedBy.type).toBe('mailbox mesadeayuda default');
  });

  it('a tie on type or category goes to the rule listed first in the config', () => {
    // falla-funcion (tecnico, weight 1) is listed before facturacion (weight 1).
    const c = real('Mi factura', 'no puedo descargar la factura');
    expect(c.category).toBe('tecnico');
    expect(firedRules(c)).toEqual(['falla-funcion', 'facturacion']);
  });

  it('lists every fired rule with its weight, the values it sets and the words that matched', () => {
    const c = real('Portal caído', 'Nadie puede entrar, es urgente');
    expect(c.reasons).toEqual([
      { rule: 'portal-caido', weight: 3, matched: ['portal caido', 'nadie puede entrar'], sets: { severity: 1, type: 'incidente', category: 'disponibilidad' } },
      { rule: 'urgente', weight: 1, matched: ['urgente'], sets: { severity: 2 } },
    ]);
    expect(c.decidedBy.severity).toBe('rules portal-caido (score 3)');
  });

  it('never throws on hostile text and stays fast on 1 MB of it', () => {
    const junk = '\u0000\uFFFF\uD800 <script> ((((a+)+)+)+ ' + 'ñ́'.repeat(1000) + 'x'.repeat(1_000_000);
    const t0 = performance.now();
    const c = real(junk, junk);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(c.severity).toBe(4);
  });
});

describe('classify arithmetic (hand-made rules)', () => {
  const mb = { id: 'mb', defaultSeverity: 4, defaultType: 'solicitud', defaultCategory: 'general' } as const;
  const run = (text: string, rules: ClassificationRule[], min = 1, hint?: ClassificationInput['severityHint']) =>
    classify({ subject: '', text, mailbox: mb, severityHint: hint }, rules, min);

  it('sums weights per value across rules: two weight-1 rules for 3 beat one weight-1 rule for 2', () => {
    const rules = [rule('a', ['alfa'], 1, { severity: 3 }), rule('b', ['beta'], 1, { severity: 3 }), rule('c', ['gamma'], 1, { severity: 2 })];
    const c = run('alfa beta gamma', rules);
    expect(c.severity).toBe(3);
    expect(c.decidedBy.severity).toBe('rules a, b (score 2)');
  });

  it('a tie on severity goes to the more severe value whatever the rule order', () => {
    const r3 = rule('tres', ['tres'], 2, { severity: 3 });
    const r1 = rule('uno', ['uno'], 2, { severity: 1 });
    expect(run('uno tres', [r3, r1]).severity).toBe(1);
    expect(run('uno tres', [r1, r3]).severity).toBe(1);
  });

  it('a tie on level goes to the higher level', () => {
    const rules = [rule('l2', ['dos'], 1, { level: 2 }), rule('l3', ['tres'], 1, { level: 3 })];
    expect(run('dos tres', rules).level).toBe(3);
    expect(run('dos', rules).level).toBe(2);
    expect(run('nada', rules).decidedBy.level).toBe('level 1 makes first contact');
  });

  it('a value whose total is below minimumScore does not decide', () => {
    const rules = [rule('debil', ['debil'], 1, { severity: 1, category: 'x' })];
    const c = run('debil', rules, 2);
    expect(c.severity).toBe(4);
    expect(c.category).toBe('general');
    // …but the rule still fired and is reported.
    expect(c.reasons.map((r) => r.rule)).toEqual(['debil']);
  });

  it('skips a rule restricted to other mailboxes', () => {
    const rules = [rule('solo-otro', ['caido'], 5, { severity: 1 }, { mailboxes: ['otro'] })];
    expect(run('caido', rules).severity).toBe(4);
    expect(run('caido', [{ ...rules[0]!, mailboxes: ['mb'] }]).severity).toBe(1);
  });

  it('escapes regex metacharacters in words', () => {
    const rules = [rule('cpp', ['c++ (beta)'], 1, { severity: 2 })];
    expect(run('falla en c++ (beta) hoy', rules).severity).toBe(2);
    expect(run('falla en cc (beta)', rules).severity).toBe(4);
  });

  describe('severityHint', () => {
    const rules = [rule('pregunta', ['duda'], 1, { severity: 4 }), rule('caido', ['caido'], 3, { severity: 1 })];

    it('raises the severity above what the text shows and says why', () => {
      const c = run('tengo una duda', rules, 1, { severity: 2, reason: 'IVR: opción 2' });
      expect(c.severity).toBe(2);
      expect(c.decidedBy.severity).toBe('IVR: opción 2');
    });

    it('raises the mailbox default too', () => {
      expect(run('hola', rules, 1, { severity: 1, reason: 'web: urgente' }).severity).toBe(1);
    });

    it('never lowers it', () => {
      const c = run('todo caido', rules, 1, { severity: 4, reason: 'web: baja' });
      expect(c.severity).toBe(1);
      expect(c.decidedBy.severity).toBe('rules caido (score 3)');
    });

    it('an equal hint keeps the rules as the reason', () => {
      expect(run('todo caido', rules, 1, { severity: 1, reason: 'hint' }).decidedBy.severity).toBe('rules caido (score 3)');
    });
  });
});
