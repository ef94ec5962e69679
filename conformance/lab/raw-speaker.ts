// A scripted BGP speaker for the hostile-peer suite: a child process run inside a lab namespace
// (`ip netns exec ... node raw-speaker.js`), driven by JSON lines on stdin and reporting on stdout.
// It knows just enough BGP to bring a session up (OPEN, KEEPALIVE by hand, RFC 4271 §4.2-4.4)
// and then writes whatever bytes the test hands it. It deliberately imports nothing from Tern's
// codec: what it reports about Tern's messages (type, NOTIFICATION code/subcode) is read from
// the raw octets, so Tern's own decoder is not the oracle of its own behaviour.
//
// Commands (one JSON object a line):
//   {"op":"listen","id":"c1","addr":"198.18.x.y","as":65066,"routerId":"...","as4":true,
//    "extended":false,"v6":false,"openHex":"..."}   accept Tern's connection on addr:179 and bring it up
//   {"op":"send","id":"c1","hex":"ffff..."}   write raw bytes on the session's socket
// Events: {"ev":"listening"|"established"|"closed"|"error","id":...}, and
//   {"ev":"msg","id":...,"type":N,"len":L,"hex":"..."} for every message Tern sends but KEEPALIVE
//   (UPDATE bodies over 512 bytes are cut to their header, to keep the pipe small).

import * as net from 'node:net';
import type { RawSession } from './raw.js';

/** The session the test asks for (raw.ts, the test's side), as a command. */
interface ListenCmd extends RawSession {
  op: 'listen';
}
interface SendCmd {
  op: 'send';
  id: string;
  hex: string;
}
type Cmd = ListenCmd | SendCmd;

const say = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

const MARKER = Buffer.alloc(16, 0xff);

function message(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(19);
  MARKER.copy(h);
  h.writeUInt16BE(19 + body.length, 16);
  h[18] = type;
  return Buffer.concat([h, body]);
}

/** A plain OPEN: version 4, hold time 60, IPv4 unicast, route refresh, optionally IPv6 unicast, AS4 and RFC 8654. */
export function openOf(c: { as: number; routerId: string; as4?: boolean; extended?: boolean; v6?: boolean }): Buffer {
  const caps: number[][] = [
    [1, 4, 0, 1, 0, 1], // RFC 4760 MP: AFI 1 SAFI 1
    [2, 0], // RFC 2918 route refresh
  ];
  if (c.v6) caps.push([1, 4, 0, 2, 0, 1]); // RFC 4760 MP: AFI 2 SAFI 1
  if (c.as4 !== false) caps.push([65, 4, (c.as >>> 24) & 255, (c.as >>> 16) & 255, (c.as >>> 8) & 255, c.as & 255]);
  if (c.extended) caps.push([6, 0]);
  const params = caps.flatMap((cap) => [2, cap.length, ...cap]);
  const myAs = c.as > 0xffff ? 23456 : c.as; // RFC 6793 §4.2.1 AS_TRANS
  const body = Buffer.from([4, myAs >> 8, myAs & 255, 0, 60, ...c.routerId.split('.').map(Number), params.length, ...params]);
  return message(1, body);
}

const KEEPALIVE = message(4, Buffer.alloc(0));

class Conn {
  private buf = Buffer.alloc(0);
  private gotOpen = false;
  private up = false;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly id: string,
    readonly sock: net.Socket,
    cmd: ListenCmd,
  ) {
    sock.on('data', (d) => this.data(d));
    sock.on('close', () => {
      clearInterval(this.timer);
      say({ ev: 'closed', id });
    });
    sock.on('error', (e) => say({ ev: 'error', id, error: String(e) }));
    sock.write(cmd.openHex !== undefined ? Buffer.from(cmd.openHex, 'hex') : openOf(cmd));
    // Our hold time is 60 s: keep the session up however long the test takes.
    this.timer = setInterval(() => sock.writable && sock.write(KEEPALIVE), 5000);
  }

  private data(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 19) {
      const len = this.buf.readUInt16BE(16);
      if (len < 19 || this.buf.length < len) return;
      const m = this.buf.subarray(0, len);
      this.buf = this.buf.subarray(len);
      const type = m[18];
      if (type === 1 && !this.gotOpen) {
        this.gotOpen = true;
        this.sock.write(KEEPALIVE);
      } else if (type === 4 && this.gotOpen && !this.up) {
        this.up = true;
        say({ ev: 'established', id: this.id });
      }
      if (type !== 4) say({ ev: 'msg', id: this.id, type, len, hex: (type === 2 && len > 512 ? m.subarray(0, 23) : m).toString('hex') });
    }
  }

  send(hex: string): void {
    this.sock.write(Buffer.from(hex, 'hex'));
  }
}

const conns = new Map<string, Conn>();

function listen(cmd: ListenCmd): void {
  const srv = net.createServer((sock) => {
    // One session per case: a reconnect after a NOTIFICATION is a new Conn under the same id.
    conns.set(cmd.id, new Conn(cmd.id, sock, cmd));
    say({ ev: 'accepted', id: cmd.id });
  });
  srv.on('error', (e) => say({ ev: 'error', id: cmd.id, error: String(e) }));
  srv.listen({ host: cmd.addr, port: 179 }, () => say({ ev: 'listening', id: cmd.id }));
}

function handle(line: string): void {
  if (!line.trim()) return;
  const cmd = JSON.parse(line) as Cmd;
  if (cmd.op === 'listen') listen(cmd);
  else if (cmd.op === 'send') {
    const c = conns.get(cmd.id);
    if (!c) say({ ev: 'error', id: cmd.id, error: 'no session' });
    else c.send(cmd.hex);
  }
}

if (require.main === module) {
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      handle(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  process.stdin.on('end', () => process.exit(0));
}
