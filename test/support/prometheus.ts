/** One sample of Prometheus' text format: `name{label="value",...} number`. */
export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the text exposition format (enough of it for tests: no escapes beyond \" and \\). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * The value of the one sample with exactly these labels, or undefined when there is none (a
 * counter never incremented is not exposed). `mesa_instance`, on every series, is not compared.
 */
export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const own = (s: Sample) => Object.keys(s.labels).filter((k) => k !== 'mesa_instance');
  const found = samples.filter((s) => s.name === name && own(s).length === Object.keys(labels).length
    && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}
