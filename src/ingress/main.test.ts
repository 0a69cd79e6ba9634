// Tests of the add-on's bind-address choice: INGRESS_BIND_ADDRESS wins, else loopback plus the pod
// bridge address from the Node's podCIDR, else loopback alone; the whole-answer bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeClient } from '../client/rest.js';
import { createLogger } from '../lib/log.js';
import { bindAddresses, bridgeAddress, wholeAnswerBytes } from './main.js';

const log = createLogger({ component: 'ingress-main-test' });

function clientWithNode(podCIDR: string | undefined, fail = false): KubeClient {
  return {
    get: async () => {
      if (fail) throw new Error('forbidden');
      return { spec: { podCIDR } };
    },
  } as unknown as KubeClient;
}

test('bridgeAddress is the first host of the pod CIDR', () => {
  assert.equal(bridgeAddress('10.244.0.0/16'), '10.244.0.1');
  assert.equal(bridgeAddress('10.231.7.0/24'), '10.231.7.1');
  assert.equal(bridgeAddress(undefined), undefined);
  assert.equal(bridgeAddress('fd00::/64'), undefined);
});

test('the flag or env wins, comma-separated', async () => {
  const c = clientWithNode('10.244.0.0/16');
  assert.deepEqual(await bindAddresses('0.0.0.0', c, 'skiff', log), ['0.0.0.0']);
  assert.deepEqual(await bindAddresses(' 127.0.0.1, 10.1.0.1 ', c, 'skiff', log), [
    '127.0.0.1',
    '10.1.0.1',
  ]);
});

test('default: loopback plus the pod bridge; loopback alone when the Node is unknown', async () => {
  assert.deepEqual(await bindAddresses(undefined, clientWithNode('10.244.0.0/16'), 'skiff', log), [
    '127.0.0.1',
    '10.244.0.1',
  ]);
  assert.deepEqual(await bindAddresses('', clientWithNode(undefined), 'skiff', log), ['127.0.0.1']);
  assert.deepEqual(await bindAddresses(undefined, clientWithNode('x', true), 'skiff', log, 1), [
    '127.0.0.1',
  ]);
  assert.deepEqual(await bindAddresses(undefined, clientWithNode('10.0.0.0/8'), undefined, log), [
    '127.0.0.1',
  ]);
});

test('--whole-answer-bytes takes whole byte counts (0: stream all); anything else keeps the default', () => {
  assert.equal(wholeAnswerBytes(undefined, log), undefined);
  assert.equal(wholeAnswerBytes('0', log), 0);
  assert.equal(wholeAnswerBytes('131072', log), 131072);
  for (const bad of ['-1', '1.5', 'lots', '1e12'])
    assert.equal(wholeAnswerBytes(bad, log), undefined);
});
