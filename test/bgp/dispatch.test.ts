// Received bytes -> RFC 4271 §8.1 events: which event (and so which NOTIFICATION) each kind of
// bad input becomes. Real encoded messages, corrupted byte by byte.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '../../bgp/codec/index.js';
import { eventOfMessage, messageTypeOf } from '../../bgp/fsm/dispatch.js';
import { BgpError, DEFAULT_CONTEXT, MsgType } from '../../bgp/codec/types.js';
import { rawKeepalive, rawOpen } from './session-helpers.js';

const ev = (b: Buffer) => eventOfMessage(b, DEFAULT_CONTEXT);
const err = (b: Buffer) => {
  const e = ev(b);
  assert.ok('error' in e && e.error instanceof BgpError, `${e.type} carries no BgpError`);
  return [e.type, e.error.code, e.error.subcode];
};

test('RFC 4271 §6.1 / §8.1 event 21: a bad marker is BGPHeaderErr 1/1 whatever the type', () => {
  const k = rawKeepalive();
  k[3] = 0;
  assert.deepEqual(err(k), ['BGPHeaderErr', 1, 1]);
});

test('RFC 4271 §6.2 / §8.1 event 22: an OPEN with version 3 is BGPOpenMsgErr 2/1', () => {
  const o = rawOpen(65002, '10.0.0.2', 90);
  o[19] = 3;
  assert.deepEqual(err(o), ['BGPOpenMsgErr', 2, 1]);
});

test('RFC 4271 §6.3 / §8.1 event 28: an UPDATE whose withdrawn length overruns is UpdateMsgErr 3/1', () => {
  const u = Buffer.from('ffffffffffffffffffffffffffffffff' + '0017' + '02' + '00ff' + '0000', 'hex');
  assert.deepEqual(err(u), ['UpdateMsgErr', 3, 1]);
});

test('RFC 4271 §8.1 events 24/25: NOTIFICATION 2/1 is NotifMsgVerErr, anything else NotifMsg', () => {
  const n = (code: number, subcode: number) => encodeMessage({ type: MsgType.NOTIFICATION, code, subcode, data: Buffer.alloc(0) }, DEFAULT_CONTEXT);
  assert.equal(ev(n(2, 1)).type, 'NotifMsgVerErr');
  assert.equal(ev(n(6, 2)).type, 'NotifMsg');
  assert.equal(messageTypeOf(ev(n(6, 2))), MsgType.NOTIFICATION);
});

test('RFC 4271 §8.1 events 19/26: OPEN and KEEPALIVE', () => {
  const o = ev(rawOpen(65002, '10.0.0.2', 90));
  assert.equal(o.type, 'BGPOpen');
  assert.equal(o.type === 'BGPOpen' && o.open.bgpId, '10.0.0.2');
  assert.equal(ev(rawKeepalive()).type, 'KeepAliveMsg');
  assert.equal(messageTypeOf(ev(rawKeepalive())), MsgType.KEEPALIVE);
});
