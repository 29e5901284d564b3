// JSON-RPC 2.0 over the daemon's /ws, with login, reconnection and state reporting.
//
// Credentials: a one-time login ticket from the address bar's fragment (#login=…), spent by
// system.hello and traded for a session token (system.session), which is kept in this tab's
// sessionStorage and used to reconnect, also after a daemon restart. The admin token is
// never seen here.

const SESSION_KEY = "gnomon.session";
const MAX_BACKOFF_MS = 5000;

/** Take the login ticket out of the address bar (and out of the history). */
export function takeTicket() {
  const match = /(?:^#|&)login=([^&]+)/.exec(window.location.hash);
  if (!match) return null;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return decodeURIComponent(match[1]);
}

export class RpcError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
    this.data = error.data;
  }
}

/**
 * A connection that logs in, reconnects with backoff and reports its state:
 * "connecting" | "live" | "reconnecting" | "login" (no usable credential).
 * onReady(hello) runs after each successful login; onNotify(method, params) for
 * notifications.
 */
export class Connection {
  constructor({ ticket, onState, onReady, onNotify }) {
    this.ticket = ticket;
    this.onState = onState;
    this.onReady = onReady;
    this.onNotify = onNotify;
    this.nextId = 1;
    this.pending = new Map();
    this.ws = null;
    this.backoff = 250;
    this.closedForGood = false;
  }

  get session() {
    return sessionStorage.getItem(SESSION_KEY);
  }

  start() {
    this.open(false);
  }

  open(again) {
    this.onState(again ? "reconnecting" : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => this.login().catch((err) => this.loginFailed(err));
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = () => this.lost(ws);
  }

  async login() {
    const token = this.ticket || this.session;
    if (!token) throw new RpcError({ code: -32003, message: "no login" });
    const hello = await this.call("system.hello", {
      token,
      client: "gnomon-dashboard",
    });
    if (this.ticket) {
      this.ticket = null;
      const grant = await this.call("system.session", {});
      sessionStorage.setItem(SESSION_KEY, grant.session);
    }
    this.backoff = 250;
    this.onState("live", hello);
    await this.onReady(hello);
  }

  loginFailed(err) {
    if (err instanceof RpcError && err.code === -32003) {
      this.ticket = null;
      sessionStorage.removeItem(SESSION_KEY);
      this.closedForGood = true;
      this.onState("login");
      this.ws.close();
      return;
    }
    console.error("login failed", err);
    this.ws.close();
  }

  lost(ws) {
    if (ws !== this.ws) return;
    for (const { reject } of this.pending.values()) reject(new Error("connection lost"));
    this.pending.clear();
    if (this.closedForGood) return;
    this.onState("reconnecting");
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    setTimeout(() => this.open(true), delay);
  }

  receive(text) {
    const message = JSON.parse(text);
    for (const one of Array.isArray(message) ? message : [message]) {
      if (one.id !== undefined && one.id !== null && this.pending.has(one.id)) {
        const { resolve, reject } = this.pending.get(one.id);
        this.pending.delete(one.id);
        if (one.error) reject(new RpcError(one.error));
        else resolve(one.result);
      } else if (one.method) {
        this.onNotify(one.method, one.params);
      }
    }
  }

  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }
}
