import { isIPv4 } from 'node:net';
import type { Request } from 'express';

/**
 * Whether a request came from this machine and from nothing in front of it: the socket's peer is a loopback
 * address (IPv4 `127.0.0.0/8`, IPv6 `::1`, or IPv4-mapped `::ffff:127.x.y.z`, which is how Express on `::`
 * reports IPv4 clients) and no forwarder header is present. A reverse proxy on the same host connects from
 * loopback too, so a request that says it was forwarded (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`) is
 * never local, whatever Express's `trust proxy` setting makes of `req.ip`.
 *
 * Made for `authorize` options: `dashboardRouter({ store, authorize: loopbackOnly })`.
 */
export function loopbackOnly(req: Request): boolean {
  const headers = req.headers;
  if (
    headers.forwarded !== undefined ||
    headers['x-forwarded-for'] !== undefined ||
    headers['x-real-ip'] !== undefined
  ) {
    return false;
  }
  return isLoopbackAddress(req.socket.remoteAddress);
}

/** A loopback peer address as Node reports it; anything else, or no address, is not. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) && v4.startsWith('127.');
}
