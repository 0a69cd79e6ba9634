// Label and field selectors as the API server parses them (follows k8s.io/apimachinery
// pkg/labels/selector.go and pkg/fields/selector.go): =, ==, !=, in, notin, exists, !key, gt, lt.

/** One label requirement. */
export interface LabelRequirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists' | 'gt' | 'lt';
  values: string[];
}

/** A parsed label selector; an empty list matches everything. */
export type LabelSelector = LabelRequirement[];

/** A parsed field selector term. */
export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const keyRe =
  /^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const valueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  if (!keyRe.test(key) || key.length > 316) {
    throw new SyntaxError(`unable to parse requirement: invalid label key "${key}"`);
  }
}
function checkValue(v: string): void {
  if (!valueRe.test(v) || v.length > 63) {
    throw new SyntaxError(`unable to parse requirement: invalid label value: "${v}"`);
  }
}

/** Parses a label selector string; throws SyntaxError with upstream-like text when malformed. */
export function parseLabelSelector(s: string | undefined | null): LabelSelector {
  if (!s || s.trim() === '') return [];
  const reqs: LabelSelector = [];
  for (const rawTerm of splitTop(s)) {
    const term = rawTerm.trim();
    if (term === '') throw new SyntaxError(`found '', expected: identifier`);
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (set) {
      const key = set[1]!;
      checkKey(key);
      const values = set[3]!.split(',').map((v) => v.trim());
      for (const v of values) checkValue(v);
      reqs.push({ key, op: set[2] === 'in' ? 'in' : 'notin', values });
      continue;
    }
    const m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(term);
    if (m) {
      const key = m[1]!;
      const value = m[3]!.trim();
      checkKey(key);
      const op = m[2]!;
      if (op === '<' || op === '>') {
        if (!/^-?\d+$/.test(value)) {
          throw new SyntaxError(
            `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
          );
        }
        reqs.push({ key, op: op === '<' ? 'lt' : 'gt', values: [value] });
        continue;
      }
      checkValue(value);
      reqs.push({ key, op: op === '!=' ? 'neq' : 'eq', values: [value] });
      continue;
    }
    if (term.startsWith('!')) {
      const key = term.slice(1).trim();
      checkKey(key);
      reqs.push({ key, op: 'notexists', values: [] });
      continue;
    }
    checkKey(term);
    reqs.push({ key: term, op: 'exists', values: [] });
  }
  return reqs;
}

/** True when the labels satisfy every requirement. */
export function matchLabels(
  sel: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  for (const r of sel) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = has ? labels![r.key]! : undefined;
    switch (r.op) {
      case 'eq':
        if (v !== r.values[0]) return false;
        break;
      case 'neq':
        if (v === r.values[0]) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        if (r.op === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

/** Parses a field selector such as "metadata.name=x,status.phase!=Running" (backslash escapes). */
export function parseFieldSelector(s: string | undefined | null): FieldRequirement[] {
  if (!s || s.trim() === '') return [];
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (ch === ',') {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) throw new SyntaxError(`invalid selector: '${s}'; can't understand '${term}'`);
    return { field: m[1]!.trim(), op: m[2] === '!=' ? 'neq' : 'eq', value: unescapeValue(m[3]!) };
  });
}

/**
 * Unescapes a field selector value (fields.UnescapeValue): only \\, \, and \= are escapes, and
 * an unescaped , or = is an error.
 */
function unescapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (ch === '\\') {
      const next = v[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=') {
        throw new SyntaxError(`invalid field selector: invalid escape sequence: \\${next ?? ''}`);
      }
      out += next;
      i++;
    } else if (ch === '=' || ch === ',') {
      throw new SyntaxError(
        `invalid field selector: unescaped character in value: ${ch.codePointAt(0)}`,
      );
    } else out += ch;
  }
  return out;
}

/** True when the object's selectable field values satisfy every term. */
export function matchFields(sel: FieldRequirement[], fields: Record<string, string>): boolean {
  for (const r of sel) {
    const v = fields[r.field] ?? '';
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
