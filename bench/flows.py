"""Multi-step browser-like flows for bench/run.sh (stdlib only).

wrk cannot follow a login form or carry a cookie from one request to the next, so the two
interactive scenarios are driven from here with ``http.client`` keep-alive connections, one per
worker thread, and timed in-process with ``time.perf_counter``:

``authcode``
    Each thread first logs in once (password + consent) to get its own SSO session cookie.
    Then one iteration is: GET /authorize with the session cookie (expect a redirect straight
    to the redirect_uri with ``code``, ``state`` and ``iss``), then POST /token exchanging the
    code with the PKCE verifier and HTTP Basic client authentication (expect 200 with
    ``access_token`` and ``id_token``).

``login``
    One iteration is a fresh interaction with an empty cookie jar: GET /authorize (expect a
    redirect to the login page), GET the login page, take its ``csrf_token`` and form
    ``action``, POST username/password, follow redirects (answering a consent form with
    ``decision=allow`` if one is shown) until the redirect_uri is reached with a code.

The result is printed and written as JSON (``--out``): iterations per second over the
measured window, p50/p99 of the whole iteration and of each step, and the errors seen
(request, status and the start of the body). The exit status is 1 if any error occurred.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import secrets
import sys
import threading
import time
import urllib.parse
from html.parser import HTMLParser


class FlowError(Exception):
    """An unexpected response; carries what is needed to report it precisely."""

    def __init__(self, step: str, method: str, url: str, status: int, body: str, why: str):
        super().__init__(f"{step}: {method} {url} -> {status}: {why}")
        self.info = {
            "step": step,
            "request": f"{method} {url}",
            "status": status,
            "why": why,
            "body": visible_text(body)[:600],
        }


class TextParser(HTMLParser):
    """The visible text of an HTML page (error pages put their message after the CSS)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(body: str) -> str:
    if "<html" not in body[:200].lower() and "<!doctype" not in body[:200].lower():
        return body
    parser = TextParser()
    parser.feed(body)
    return "[html] " + " | ".join(parser.parts)


class FormParser(HTMLParser):
    """Collects every <form> with its inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "inputs": {},
                "buttons": [],
            }
            self.forms.append(self._current)
        elif self._current is not None and tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image"):
                self._current["buttons"].append((a["name"], a.get("value", "")))
            elif kind not in ("checkbox", "radio") or "checked" in a:
                self._current["inputs"][a["name"]] = a.get("value", "")
        elif self._current is not None and tag == "button" and a.get("name"):
            self._current["buttons"].append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Client:
    """One keep-alive connection and one cookie jar; records per-step latencies."""

    def __init__(self, host: str, port: int, record) -> None:
        self.host = host
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}
        self.record = record

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, step: str, method: str, url: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = {"Accept": "text/html,application/json", "User-Agent": "idp-bench/1"}
        if headers:
            hdrs.update(headers)
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        for attempt in (0, 1):
            conn = self._connect()
            t0 = time.perf_counter()
            try:
                conn.request(method, target, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server had already closed: reconnect once.
                self.close()
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - t0
            break
        self.record(step, t0, elapsed)
        if resp.will_close:
            self.close()
        for raw in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            low = raw.lower()
            if not value or "max-age=0" in low or "expires=thu, 01 jan 1970" in low:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        headers_out = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers_out, data.decode("utf-8", "replace")


class Flows:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.issuer = args.issuer.rstrip("/")
        parts = urllib.parse.urlsplit(self.issuer)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        disco = self._discovery()
        self.authorize_url = disco["authorization_endpoint"]
        self.token_url = disco["token_endpoint"]
        basic = f"{urllib.parse.quote(args.client_id, safe='')}:" \
                f"{urllib.parse.quote(args.client_secret, safe='')}"
        self.basic = "Basic " + base64.b64encode(basic.encode()).decode()

    def _discovery(self) -> dict:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("GET", urllib.parse.urlsplit(self.issuer).path
                     + "/.well-known/openid-configuration")
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != 200:
            raise SystemExit(f"discovery: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data)

    # -- building blocks -------------------------------------------------------------------

    def new_authorize(self) -> tuple[str, str, str]:
        verifier = b64url(secrets.token_bytes(32))
        state = b64url(secrets.token_bytes(12))
        params = {
            "response_type": "code",
            "client_id": self.args.client_id,
            "redirect_uri": self.args.redirect_uri,
            "scope": self.args.scope,
            "state": state,
            "nonce": b64url(secrets.token_bytes(12)),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        sep = "&" if "?" in self.authorize_url else "?"
        return self.authorize_url + sep + urllib.parse.urlencode(params), state, verifier

    def code_from_redirect(self, step: str, url: str, location: str, state: str) -> str:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        if "code" not in query:
            raise FlowError(step, "GET", url, 302, location, "redirect_uri without code")
        if query.get("state", [None])[0] != state:
            raise FlowError(step, "GET", url, 302, location, "state mismatch")
        iss = query.get("iss", [None])[0]
        if iss is not None and iss.rstrip("/") != self.issuer:
            raise FlowError(step, "GET", url, 302, location, f"iss mismatch: {iss}")
        return query["code"][0]

    def interactive_login(self, c: Client) -> str:
        """Fresh login from an empty (or expired) session; returns the authorization code."""
        url, state, _ = self.new_authorize()
        status, headers, body = c.request("authorize", "GET", url)
        if status not in (302, 303) or "location" not in headers:
            raise FlowError("authorize", "GET", url, status, body, "expected redirect to login")
        nxt = urllib.parse.urljoin(url, headers["location"])
        if nxt.startswith(self.args.redirect_uri):
            raise FlowError("authorize", "GET", url, status, nxt, "no login asked (session?)")
        step = "login_page"
        method, data = "GET", None
        for _ in range(10):
            status, headers, body = c.request(step, method, nxt, data)
            if status in (301, 302, 303, 307, 308) and "location" in headers:
                loc = urllib.parse.urljoin(nxt, headers["location"])
                if loc.startswith(self.args.redirect_uri):
                    return self.code_from_redirect(step, nxt, loc, state)
                nxt, method, data, step = loc, "GET", None, "follow"
                continue
            if status != 200:
                raise FlowError(step, method, nxt, status, body, "unexpected status")
            parser = FormParser()
            parser.feed(body)
            forms = [f for f in parser.forms if f["method"] == "post"]
            login = next((f for f in forms if "password" in f["inputs"]
                          or "username" in f["inputs"]), None)
            consent = next((f for f in forms
                            if any(n == "decision" for n, _ in f["buttons"])), None)
            if login is not None and step != "login_post":
                fields = dict(login["inputs"])
                if "csrf_token" not in fields:
                    raise FlowError(step, method, nxt, status, body, "login form: no csrf_token")
                fields["username"] = self.args.username
                fields["password"] = self.args.password
                action = urllib.parse.urljoin(nxt, login["action"] or nxt)
                nxt, method, data, step = action, "POST", urllib.parse.urlencode(fields), \
                    "login_post"
                continue
            if consent is not None:
                fields = dict(consent["inputs"])
                fields["decision"] = "allow"
                action = urllib.parse.urljoin(nxt, consent["action"] or nxt)
                nxt, method, data, step = action, "POST", urllib.parse.urlencode(fields), \
                    "consent_post"
                continue
            why = ("the login form is shown again after the POST (credentials or csrf refused?)"
                   if login is not None else "page with neither a login nor a consent form")
            raise FlowError(step, method, nxt, status, body, why)
        raise FlowError(step, method, nxt, 0, "", "too many steps")

    def sso_authorize_and_token(self, c: Client) -> None:
        url, state, verifier = self.new_authorize()
        status, headers, body = c.request("authorize_sso", "GET", url)
        loc = urllib.parse.urljoin(url, headers.get("location", ""))
        if status not in (302, 303) or not loc.startswith(self.args.redirect_uri):
            raise FlowError("authorize_sso", "GET", url, status, loc if status < 400 else body,
                            "expected redirect to redirect_uri with a code")
        code = self.code_from_redirect("authorize_sso", url, loc, state)
        self.exchange(c, code, verifier)

    def exchange(self, c: Client, code: str, verifier: str) -> None:
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.args.redirect_uri,
            "code_verifier": verifier,
        })
        saved, c.cookies = c.cookies, {}  # the token endpoint is not a browser request
        try:
            status, _, body = c.request("token_code", "POST", self.token_url, form,
                                        {"Authorization": self.basic,
                                         "Accept": "application/json"})
        finally:
            c.cookies = saved
        if status != 200:
            raise FlowError("token_code", "POST", self.token_url, status, body, "not 200")
        tokens = json.loads(body)
        if "access_token" not in tokens or "id_token" not in tokens:
            raise FlowError("token_code", "POST", self.token_url, status, body,
                            "missing access_token/id_token")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def run(args: argparse.Namespace) -> dict:
    flows = Flows(args)
    lock = threading.Lock()
    steps: dict[str, list[float]] = {}
    iterations: list[float] = []
    errors: list[dict] = []
    error_count = 0
    measure_from = measure_to = float("inf")  # set once every thread is ready
    ready = threading.Barrier(args.concurrency + 1)
    go = threading.Event()
    setup_lock = threading.Lock()
    done_all = [0]  # completed iterations including the warm-up

    def record(step: str, t0: float, elapsed: float) -> None:
        if measure_from <= t0 < measure_to:
            with lock:
                steps.setdefault(step, []).append(elapsed)

    def worker() -> None:
        nonlocal error_count
        c = Client(flows.host, flows.port, record)
        try:
            if args.scenario == "authcode":
                # Establishes this thread's SSO session. One at a time: the first login of a
                # user at a client also records the consent.
                with setup_lock:
                    flows.interactive_login(c)
        except FlowError as exc:
            with lock:
                error_count += 1
                errors.append({"setup": True, **exc.info})
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        go.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= measure_to:
                break
            try:
                if args.scenario == "authcode":
                    flows.sso_authorize_and_token(c)
                else:
                    c.cookies = {}
                    flows.interactive_login(c)
            except FlowError as exc:
                with lock:
                    error_count += 1
                    if len(errors) < 5:
                        errors.append(exc.info)
                time.sleep(0.05)
                continue
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    error_count += 1
                    if len(errors) < 5:
                        errors.append({"step": "transport", "why": repr(exc)})
                c.close()
                time.sleep(0.05)
                continue
            t1 = time.perf_counter()
            with lock:
                done_all[0] += 1
                if measure_from <= t0 and t1 <= measure_to:
                    iterations.append(t1 - t0)
        c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    # The clock starts when every thread is ready (setup logins are not measured).
    measure_from = time.perf_counter() + args.warmup
    measure_to = measure_from + args.duration
    go.set()
    for t in threads:
        t.join(timeout=args.warmup + args.duration + 60)

    ms = 1000.0
    return {
        "scenario": args.scenario,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "iterations": len(iterations),
        "iterations_incl_warmup": done_all[0],
        "rate": len(iterations) / args.duration,
        "p50_ms": percentile(iterations, 50) * ms,
        "p99_ms": percentile(iterations, 99) * ms,
        "steps": {
            name: {
                "count": len(v),
                "rate": len(v) / args.duration,
                "p50_ms": percentile(v, 50) * ms,
                "p99_ms": percentile(v, 99) * ms,
            }
            for name, v in sorted(steps.items())
        },
        "errors": error_count,
        "error_samples": errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", choices=["authcode", "login"])
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--scope", default="openid")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--out", help="write the JSON result here")
    args = ap.parse_args(argv)

    result = run(args)
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(f"{args.scenario}: {result['rate']:.1f} iterations/s, "
          f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
          f"errors {result['errors']}")
    for name, s in result["steps"].items():
        print(f"  {name:14s} {s['rate']:8.1f}/s  p50 {s['p50_ms']:7.1f} ms  "
              f"p99 {s['p99_ms']:7.1f} ms")
    for e in result["error_samples"]:
        print("  ERROR " + json.dumps(e), file=sys.stderr)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
