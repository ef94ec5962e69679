// Capabilities advertisement (RFC 5492) inside OPEN optional parameter type 2: decode and
// encode side by side, one case per capability. Unknown capabilities are kept raw (RFC 5492 §5:
// a speaker ignores capabilities it does not understand, and Tern can still show them).
// A known capability with a malformed value is a structural error: OPEN Message Error 2/0.

import { SmartBuffer } from 'smart-buffer';
import { BgpError, CapCode, type Capability } from './types.js';
import { capabilityName } from './names.js';
import type { Reader } from './reader.js';

const openError = (what: string): BgpError => new BgpError(2, 0, `OPEN Message Error: ${what}`);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function utf8(b: Buffer): string | undefined {
  try {
    return strictUtf8.decode(b);
  } catch {
    return undefined;
  }
}

/** Decodes the capabilities in one optional parameter's value. */
export function decodeCapabilities(r: Reader, out: Capability[]): void {
  while (r.remaining > 0) {
    const code = r.u8('a capability code');
    const len = r.u8(`the length of capability ${code}`);
    const v = r.sub(len, `the ${len}-byte value of capability ${capabilityName(code)} (${code})`);
    out.push(decodeCapability(code, v));
  }
}

function decodeCapability(code: number, v: Reader): Capability {
  const name = `${capabilityName(code)} capability (${code})`;
  const len = v.remaining;
  const wantLen = (ok: boolean, rule: string): void => {
    if (!ok) throw openError(`${name} has length ${len}, ${rule}`);
  };
  switch (code) {
    case CapCode.MULTIPROTOCOL: {
      // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
      wantLen(len === 4, 'must be 4');
      const afi = v.u16('AFI');
      v.u8('reserved');
      return { code, afi, safi: v.u8('SAFI') };
    }
    case CapCode.ROUTE_REFRESH:
    case CapCode.ENHANCED_ROUTE_REFRESH:
    case CapCode.EXTENDED_MESSAGE:
      // RFC 2918 §2, RFC 7313 §3.1, RFC 8654 §3: no value.
      wantLen(len === 0, 'must be 0');
      return { code } as Capability;
    case CapCode.AS4:
      // RFC 6793 §3: the 4-octet AS number.
      wantLen(len === 4, 'must be 4');
      return { code, asn: v.u32('the AS number') };
    case CapCode.GRACEFUL_RESTART: {
      // RFC 4724 §3: flags(4 bits) + restart time(12 bits), then 4 bytes per AFI/SAFI.
      wantLen(len >= 2 && (len - 2) % 4 === 0, 'must be 2 + 4 per address family');
      const w = v.u16('restart flags and time');
      const families = [];
      while (v.remaining > 0) {
        const afi = v.u16('AFI');
        const safi = v.u8('SAFI');
        families.push({ afi, safi, forwardingPreserved: (v.u8('AFI flags') & 0x80) !== 0 });
      }
      return {
        code,
        restarting: (w & 0x8000) !== 0,
        notification: (w & 0x4000) !== 0, // RFC 8538 §2
        restartTime: w & 0x0fff,
        families,
      };
    }
    case CapCode.ADD_PATH: {
      // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1) per family.
      wantLen(len > 0 && len % 4 === 0, 'must be a non-zero multiple of 4');
      const families = [];
      while (v.remaining > 0) {
        const afi = v.u16('AFI');
        const safi = v.u8('SAFI');
        const sr = v.u8('Send/Receive');
        if (sr < 1 || sr > 3) throw openError(`${name} has Send/Receive value ${sr}, must be 1, 2 or 3`);
        families.push({ afi, safi, sendReceive: sr as 1 | 2 | 3 });
      }
      return { code, families };
    }
    case CapCode.LLGR: {
      // RFC 9494 §3.1: AFI (2), SAFI (1), flags (1), long-lived stale time (3) per family.
      wantLen(len % 7 === 0, 'must be a multiple of 7');
      const families = [];
      while (v.remaining > 0) {
        const afi = v.u16('AFI');
        const safi = v.u8('SAFI');
        const flags = v.u8('flags');
        families.push({ afi, safi, forwardingPreserved: (flags & 0x80) !== 0, staleTime: v.u24('stale time') });
      }
      return { code, families };
    }
    case CapCode.FQDN: {
      // draft-walton-bgp-hostname-capability §3: hostname length, hostname, domain length, domain.
      const host = v.bytes(v.u8('hostname length'), 'the hostname');
      const dom = v.bytes(v.u8('domain name length'), 'the domain name');
      if (v.remaining !== 0) throw openError(`${name} has ${v.remaining} bytes after the domain name`);
      const hostname = utf8(host);
      const domain = utf8(dom);
      // Informational only: names that are not UTF-8 are kept as raw bytes, not an error.
      if (hostname === undefined || domain === undefined) return { code, raw: Buffer.from(v.buf.subarray(v.end - len, v.end)), unknown: true };
      return { code, hostname, domain };
    }
    case CapCode.ROLE:
      // RFC 9234 §4.1: one octet.
      wantLen(len === 1, 'must be 1');
      return { code, role: v.u8('role') };
    default:
      return { code, raw: Buffer.from(v.bytes(len, 'value')), unknown: true };
  }
}

/**
 * Encodes one capability as code, length, value. A cold path (once per OPEN), written with
 * smart-buffer's running offset; the UPDATE path stays on hand-indexed Buffers (docs/architecture.md).
 */
export function encodeCapability(c: Capability): Buffer {
  const out = new SmartBuffer();
  out.writeUInt8(c.code).writeUInt8(0); // the length octet is filled in once the value is written
  if ('unknown' in c) {
    out.writeBuffer(c.raw);
  } else {
    switch (c.code) {
      case CapCode.MULTIPROTOCOL:
        out.writeUInt16BE(c.afi).writeUInt8(0).writeUInt8(c.safi); // RFC 4760 §8: AFI, reserved, SAFI
        break;
      case CapCode.ROUTE_REFRESH:
      case CapCode.ENHANCED_ROUTE_REFRESH:
      case CapCode.EXTENDED_MESSAGE:
        break;
      case CapCode.AS4:
        out.writeUInt32BE(c.asn >>> 0);
        break;
      case CapCode.GRACEFUL_RESTART:
        // RFC 4724 §3: R and N flags, 12-bit restart time, then AFI, SAFI, flags per family.
        out.writeUInt16BE((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff));
        for (const f of c.families)
          out
            .writeUInt16BE(f.afi)
            .writeUInt8(f.safi)
            .writeUInt8(f.forwardingPreserved ? 0x80 : 0);
        break;
      case CapCode.ADD_PATH:
        for (const f of c.families) out.writeUInt16BE(f.afi).writeUInt8(f.safi).writeUInt8(f.sendReceive);
        break;
      case CapCode.LLGR:
        // RFC 9494 §3: AFI, SAFI, flags, 24-bit long-lived stale time.
        for (const f of c.families) {
          const stale = f.staleTime & 0xffffff;
          out
            .writeUInt16BE(f.afi)
            .writeUInt8(f.safi)
            .writeUInt8(f.forwardingPreserved ? 0x80 : 0);
          out.writeUInt8(stale >>> 16).writeUInt16BE(stale & 0xffff);
        }
        break;
      case CapCode.FQDN: {
        const h = Buffer.from(c.hostname, 'utf8').subarray(0, 255);
        const d = Buffer.from(c.domain, 'utf8').subarray(0, 255);
        out.writeUInt8(h.length).writeBuffer(h).writeUInt8(d.length).writeBuffer(d);
        break;
      }
      case CapCode.ROLE:
        out.writeUInt8(c.role);
        break;
      default:
        throw new RangeError(`capability ${(c as { code: number }).code} has no encoder`);
    }
  }
  const valueLen = out.length - 2;
  if (valueLen > 255) throw new RangeError(`${capabilityName(c.code)} capability value of ${valueLen} bytes exceeds 255`);
  return out.writeUInt8(valueLen, 1).toBuffer();
}
