// RFC 8538 §3: a Hard Reset (Cease 6/9) carries the NOTIFICATION it hardens: its data is that
// message's error code, subcode and data. FRR 8.4 sends `neighbor X shutdown message "maintenance"` this way
// (seen in the conformance lab), and the text must reach the log and bgpctl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../bgp/codec/index.js';
import { DEFAULT_CONTEXT, MsgType, type NotificationMessage } from '../../bgp/codec/types.js';

const text = 'maintenance';
const frrBytes = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19 + 2 + 3 + text.length, 3, 6, 9, 6, 2, text.length]), Buffer.from(text)]);

test('RFC 8538 §3: the shutdown communication inside a Hard Reset is decoded', () => {
  const n = decodeMessage(frrBytes, DEFAULT_CONTEXT) as NotificationMessage;
  assert.equal(n.type, MsgType.NOTIFICATION);
  assert.equal(n.subcode, 9);
  assert.deepEqual(n.hardResetOf, { code: 6, subcode: 2 });
  assert.equal(n.shutdownMessage, 'maintenance');
});

test('RFC 8538 §3: Tern encodes a Hard Reset with the encapsulated Cease and its text', () => {
  const out = encodeMessage(
    { type: MsgType.NOTIFICATION, code: 6, subcode: 9, data: Buffer.alloc(0), hardResetOf: { code: 6, subcode: 2 }, shutdownMessage: text },
    DEFAULT_CONTEXT,
  );
  assert.deepEqual(out, frrBytes);
  const texted = encodeMessage({ type: MsgType.NOTIFICATION, code: 6, subcode: 9, data: Buffer.alloc(0), shutdownMessage: 'x' }, DEFAULT_CONTEXT);
  assert.deepEqual([...texted.subarray(19)], [6, 9, 6, 4, 1, 0x78], 'text without a subcode: inside an Administrative Reset');
  const bare = encodeMessage({ type: MsgType.NOTIFICATION, code: 6, subcode: 9, data: Buffer.alloc(0) }, DEFAULT_CONTEXT);
  assert.deepEqual([...bare.subarray(19)], [6, 9], 'nothing to encapsulate: no data, so decode and encode stay inverse');
});
