import { Agent as HttpAgent } from 'node:http';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

/**
 * The SDK's own RequestClient with the origin swapped: every URI the SDK builds
 * (https://api.twilio.com/2010-04-01/…) goes to `baseUrl` instead, so request building, Basic
 * auth, form encoding and error parsing are the SDK's real code. For tests against a local fake.
 */
export class RedirectingRequestClient extends twilio.RequestClient {
  private readonly base: URL;

  constructor(baseUrl: string, timeout: number) {
    super({ timeout });
    this.base = new URL(baseUrl);
    // The parent only configures an https agent; a plain-http fake gets its own, closable one.
    this.axios.defaults.httpAgent = new HttpAgent({ keepAlive: true, timeout });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = new URL(opts.uri);
    uri.protocol = this.base.protocol;
    uri.host = this.base.host;
    const prefix = this.base.pathname.replace(/\/$/, '');
    if (prefix) uri.pathname = prefix + uri.pathname;
    return super.request<TData>({ ...opts, uri: uri.href });
  }
}
