import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  labelSelectorAsSelector,
  matchesSelector,
  parseSelector,
  selectorToString,
} from './labels.js';

describe('matchesSelector', () => {
  const labels = { app: 'web', env: 'prod' };
  const cases: { name: string; selector: Parameters<typeof matchesSelector>[0]; want: boolean }[] =
    [
      { name: 'undefined LabelSelector matches nothing', selector: undefined, want: false },
      { name: 'empty LabelSelector matches everything', selector: {}, want: true },
      { name: 'matchLabels subset matches', selector: { matchLabels: { app: 'web' } }, want: true },
      { name: 'matchLabels mismatch', selector: { matchLabels: { app: 'db' } }, want: false },
      {
        name: 'matchExpressions In/NotIn/Exists/DoesNotExist',
        selector: {
          matchExpressions: [
            { key: 'env', operator: 'In', values: ['prod', 'dev'] },
            { key: 'app', operator: 'NotIn', values: ['db'] },
            { key: 'app', operator: 'Exists' },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
        want: true,
      },
      { name: 'string equality', selector: 'app=web', want: true },
      { name: 'string double-equals and inequality', selector: 'app==web,env!=dev', want: true },
      { name: 'string set', selector: 'env in (dev, qa)', want: false },
      { name: 'string notin and not-exists', selector: 'env notin (dev),!legacy', want: true },
      { name: 'string exists of missing key', selector: 'tier', want: false },
      { name: 'empty string matches everything', selector: '', want: true },
    ];
  for (const c of cases) {
    it(c.name, () => assert.equal(matchesSelector(c.selector, labels), c.want));
  }
});

describe('parseSelector and selectorToString', () => {
  it('round-trips through the string form with sorted keys', () => {
    assert.equal(selectorToString(parseSelector('z=1, a in (y,x),!b, c')), 'a in (x,y),!b,c,z=1');
  });
  it('renders matchLabels as key=value', () => {
    assert.equal(
      selectorToString({ matchLabels: { app: 'web', 'pod-template-hash': 'abc' } }),
      'app=web,pod-template-hash=abc',
    );
  });
  it('rejects malformed selectors', () => {
    assert.throws(() => parseSelector('a in b'), SyntaxError);
    assert.throws(() => parseSelector('=x'), SyntaxError);
  });
  it('rejects unknown operators in LabelSelector', () => {
    assert.throws(
      () => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Gt' }] }),
      TypeError,
    );
  });
});
