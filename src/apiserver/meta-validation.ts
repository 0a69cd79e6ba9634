// ObjectMeta validation done by the API server for every kind (follows k8s.io/apimachinery
// pkg/api/validation/objectmeta.go and pkg/util/validation/validation.go messages).
import type { KObject } from '../api/object.js';
import type { FieldError } from './registry/types.js';

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelValueFmt = `(${qualifiedNameFmt})?`;

const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);
const labelValueRe = new RegExp(`^${labelValueFmt}$`);

/** Which name rule a kind uses. */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'pathSegment';

/** The name rule upstream applies to a resource. */
export function nameRuleFor(group: string, resource: string): NameRule {
  if (group === '' && resource === 'namespaces') return 'label';
  if (group === '' && resource === 'services') return 'dns1035';
  if (group === 'rbac.authorization.k8s.io') return 'pathSegment';
  return 'subdomain';
}

/** Returns the upstream message describing why name fails rule, or undefined when it is valid. */
export function checkName(rule: NameRule, name: string): string[] {
  const out: string[] = [];
  switch (rule) {
    case 'label':
      if (name.length > 63) out.push('must be no more than 63 characters');
      if (!dns1123LabelRe.test(name)) {
        out.push(
          `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${dns1123LabelFmt}')`,
        );
      }
      break;
    case 'dns1035':
      if (name.length > 63) out.push('must be no more than 63 characters');
      if (!dns1035LabelRe.test(name)) {
        out.push(
          `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${dns1035LabelFmt}')`,
        );
      }
      break;
    case 'pathSegment':
      if (name === '.' || name === '..') out.push(`may not be '${name}'`);
      for (const bad of ['/', '%']) if (name.includes(bad)) out.push(`may not contain '${bad}'`);
      break;
    case 'subdomain':
      if (name.length > 253) out.push('must be no more than 253 characters');
      if (!dns1123SubdomainRe.test(name)) {
        out.push(
          `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`,
        );
      }
      break;
  }
  return out;
}

function checkQualifiedName(key: string): string[] {
  const out: string[] = [];
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253) out.push('prefix part must be no more than 253 characters');
      if (!dns1123SubdomainRe.test(prefix)) {
        out.push(
          `prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`,
        );
      }
    }
  } else if (parts.length > 2) {
    return [
      `a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFmt}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else {
    if (name.length > 63) out.push('name part must be no more than 63 characters');
    if (!qualifiedNameRe.test(name)) {
      out.push(
        `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFmt}')`,
      );
    }
  }
  return out;
}

/** Validates metadata.name/generateName/labels/annotations; returns upstream-shaped field errors. */
export function validateObjectMeta(obj: KObject, rule: NameRule): FieldError[] {
  const errs: FieldError[] = [];
  const meta = obj.metadata ?? {};
  const name = meta.name ?? '';
  if (name === '') {
    errs.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      detail: 'name or generateName is required',
    });
  } else {
    for (const msg of checkName(rule, name)) {
      errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: name, detail: msg });
    }
  }
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    for (const msg of checkQualifiedName(k)) {
      errs.push({ type: 'FieldValueInvalid', field: 'metadata.labels', value: k, detail: msg });
    }
    if (typeof v !== 'string') continue;
    if (v.length > 63) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value: v,
        detail: 'must be no more than 63 characters',
      });
    }
    if (!labelValueRe.test(v)) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value: v,
        detail: `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${labelValueFmt}')`,
      });
    }
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    for (const msg of checkQualifiedName(k.toLowerCase())) {
      errs.push({
        type: 'FieldValueInvalid',
        field: 'metadata.annotations',
        value: k,
        detail: msg,
      });
    }
    annotationBytes += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (annotationBytes > 256 * 1024) {
    errs.push({
      type: 'FieldValueTooLong',
      field: 'metadata.annotations',
      detail: 'may not be more than 262144 bytes',
    });
  }
  return errs;
}
