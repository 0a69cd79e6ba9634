// Label selectors: parse the string form, convert metav1.LabelSelector, match label sets.
// Semantics follow apimachinery pkg/labels/selector.go and metav1 LabelSelectorAsSelector.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

/** One requirement of a selector (upstream labels.Requirement). */
export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

/**
 * A parsed selector: all requirements must hold. `null` means "matches nothing" (upstream
 * labels.Nothing(), what a nil LabelSelector converts to); an empty list matches everything.
 */
export type Selector = Requirement[] | null;

/** A set of labels. */
export type Labels = Readonly<Record<string, string>> | undefined;

/**
 * Converts a metav1.LabelSelector into requirements (nil → matches nothing, {} → everything).
 * @example
 * labelSelectorAsSelector({ matchLabels: { app: 'web' } }) // [{ key: 'app', operator: 'In', values: ['web'] }]
 */
export function labelSelectorAsSelector(ls: LabelSelector | null | undefined): Selector {
  if (!ls) return null;
  const out: Requirement[] = [];
  for (const [key, value] of Object.entries(ls.matchLabels ?? {})) {
    out.push({ key, operator: 'In', values: [value] });
  }
  for (const expr of ls.matchExpressions ?? []) {
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        out.push({ key: expr.key, operator: expr.operator, values: [...(expr.values ?? [])] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        out.push({ key: expr.key, operator: expr.operator, values: [] });
        break;
      default:
        throw new TypeError(`"${expr.operator}" is not a valid label selector operator`);
    }
  }
  return out;
}

/**
 * Parses the string form of a selector ("app=web,tier!=db,env in (a,b),!legacy").
 * @example
 * parseSelector('app=web,env in (prod,dev)')
 */
export function parseSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  const src = text.trim();
  let i = 0;
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const readToken = (): string => {
    skipWs();
    const start = i;
    while (i < src.length && !/[\s,=!()]/.test(src[i]!)) i++;
    return src.slice(start, i);
  };
  while (i < src.length) {
    skipWs();
    if (i >= src.length) break;
    let negated = false;
    if (src[i] === '!') {
      negated = true;
      i++;
    }
    const key = readToken();
    if (!key) throw new SyntaxError(`Cannot parse label selector "${text}": expected a key`);
    skipWs();
    if (negated) {
      out.push({ key, operator: 'DoesNotExist', values: [] });
    } else if (i >= src.length || src[i] === ',') {
      out.push({ key, operator: 'Exists', values: [] });
    } else if (src.startsWith('!=', i)) {
      i += 2;
      out.push({ key, operator: 'NotIn', values: [readToken()] });
    } else if (src.startsWith('==', i) || src[i] === '=') {
      i += src.startsWith('==', i) ? 2 : 1;
      out.push({ key, operator: 'In', values: [readToken()] });
    } else {
      const word = readToken();
      if (word !== 'in' && word !== 'notin') {
        throw new SyntaxError(`Cannot parse label selector "${text}": unexpected "${word}"`);
      }
      skipWs();
      if (src[i] !== '(')
        throw new SyntaxError(`Cannot parse label selector "${text}": expected "("`);
      i++;
      const values: string[] = [];
      for (;;) {
        const v = readToken();
        if (v) values.push(v);
        skipWs();
        if (src[i] === ',') {
          i++;
          continue;
        }
        if (src[i] === ')') {
          i++;
          break;
        }
        throw new SyntaxError(`Cannot parse label selector "${text}": expected ")"`);
      }
      out.push({ key, operator: word === 'in' ? 'In' : 'NotIn', values });
    }
    skipWs();
    if (i < src.length) {
      if (src[i] !== ',') throw new SyntaxError(`Cannot parse label selector "${text}"`);
      i++;
    }
  }
  return out;
}

function matchesRequirement(r: Requirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return has && r.values.includes(value!);
    case 'NotIn':
      return !has || !r.values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/**
 * True when labels satisfy the selector, given as a LabelSelector object, a string, or parsed
 * requirements. A null/undefined LabelSelector matches nothing, as upstream.
 * @example
 * matchesSelector({ matchLabels: { app: 'web' } }, { app: 'web', pod: 'x' }) // true
 */
export function matchesSelector(
  selector: LabelSelector | Selector | string | undefined,
  labels: Labels,
): boolean {
  const reqs =
    typeof selector === 'string'
      ? parseSelector(selector)
      : Array.isArray(selector) || selector === null
        ? selector
        : labelSelectorAsSelector(selector);
  if (reqs === null) return false;
  return reqs.every((r) => matchesRequirement(r, labels));
}

/**
 * Renders a LabelSelector (or requirements) in the string form used in `?labelSelector=` and in
 * the scale subresource status ("app=web,env in (a,b)"), keys sorted as upstream.
 * @example
 * selectorToString({ matchLabels: { app: 'web' } }) // "app=web"
 */
export function selectorToString(selector: LabelSelector | Selector | undefined): string {
  const reqs =
    Array.isArray(selector) || selector === null ? selector : labelSelectorAsSelector(selector);
  if (!reqs) return '';
  const sorted = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return sorted
    .map((r): string => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1
            ? `${r.key}=${r.values[0]}`
            : `${r.key} in (${[...r.values].sort().join(',')})`;
        case 'NotIn':
          return r.values.length === 1
            ? `${r.key}!=${r.values[0]}`
            : `${r.key} notin (${[...r.values].sort().join(',')})`;
        case 'Exists':
          return r.key;
        default:
          return `!${r.key}`;
      }
    })
    .join(',');
}
