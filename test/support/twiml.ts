import { XMLParser } from 'fast-xml-parser';

/** One TwiML verb or noun, as Twilio would read it. */
export interface TwimlNode { name: string; attrs: Record<string, string>; text: string; children: TwimlNode[] }

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, parseAttributeValue: false, parseTagValue: false, trimValues: false });

/** The verbs inside <Response>, parsed structurally (TwiML is checked as XML, never as a string). */
export function parseTwiml(xml: string): TwimlNode[] {
  const doc = parser.parse(xml) as Array<Record<string, unknown>>;
  const response = doc.find((n) => 'Response' in n);
  if (!response) throw new Error(`not TwiML: ${xml.slice(0, 200)}`);
  return toNodes(response.Response as Array<Record<string, unknown>>);
}

function toNodes(list: Array<Record<string, unknown>>): TwimlNode[] {
  const out: TwimlNode[] = [];
  for (const item of list) {
    const name = Object.keys(item).find((k) => k !== ':@' && k !== '#text');
    if (!name) continue;
    const children = item[name] as Array<Record<string, unknown>>;
    out.push({
      name,
      attrs: (item[':@'] ?? {}) as Record<string, string>,
      text: children.filter((c) => '#text' in c).map((c) => String(c['#text'])).join(''),
      children: toNodes(children),
    });
  }
  return out;
}

/** All spoken text, in order, including inside <Gather>. */
export function spoken(nodes: TwimlNode[]): string {
  return nodes.map((n) => (n.name === 'Say' ? n.text : spoken(n.children))).filter(Boolean).join(' ');
}
