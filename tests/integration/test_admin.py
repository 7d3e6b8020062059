#!/usr/bin/env python3
"""The operator interface end to end: smppctl and the admin HTTP API against
a running smppd with traffic through smppsim, then smppctl's read-only
commands on the store after smppd stopped.

At night by the test clock, a 2FA message goes out (receipt back) and an
account notification waits for the morning (quiet hours): the queue, the
message's history, retry and cancel, campaign pause and resume, opt-outs and
consent (imports with bad rows, line numbers checked across batches), the
audit log, auth failures, not-found and usage exit codes, and hostile HTTP.

    test_admin.py SMPPD SMPPCTL SMPPSIM SOURCE_ROOT
"""
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402
import smpp_client as sc  # noqa: E402

TWOFA, NOTIFY, HANDSET = "12025550101", "12025550111", "12125550100"
TOKEN = "admin-token-0123456789abcdef"


BUSY = "13105550199"  # the carrier answers submits to it 0x64 (temporary)


def run(tmp):
    smppd, smppctl, smppsim, root = sys.argv[1:5]
    conf = harness.copy_conf(root, tmp)
    token_file = os.path.join(tmp, "admin.token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    sim = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--dst", BUSY + "=0x64",
                         "--log-submits", os.path.join(tmp, "submits")], stdout=subprocess.PIPE)
    cport = harness.read_port_line(sim)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(offset_to(7) + 1800)  # night in the US
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA, CACMEACCT]")],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd")],
                       extra="policy: %s\nadmin:\n  address: 127.0.0.1:0\n  token_file: %s"
                       % (os.path.join(conf, "policy.yaml"), token_file))
    d.start()
    m = d.wait_log(r"event=admin_listening address=127\.0\.0\.1:(\d+) tls=no auth=token")
    url = "http://127.0.0.1:%s" % m[-1].group(1)

    def ctl(*args, token=True, env=None, offline=False):
        # without a token, no -c either: the config's token_file would do
        cmd = [smppctl, "--json"] + (["-c", d.conf] if token or offline else [])
        cmd += ["--offline"] if offline else ["--url", url]
        if token:
            cmd += ["--token-file", token_file]
        e = dict(os.environ)
        e.pop("SMPPCTL_TOKEN", None)
        e.update(env or {})
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, env=e, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def js(*args, **kw):
        rc, out, err = ctl(*args, **kw)
        if rc != 0:
            raise harness.Failure("smppctl %s: exit %d: %s" % (" ".join(args), rc, err.strip()))
        return json.loads(out)

    def http(method, path, body=None, token=TOKEN, ctype="application/json"):
        req = urllib.request.Request(url + path, data=body, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if body is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    # --- traffic ---
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    sent = c.submit(TWOFA, HANDSET, "Your Acme code is 111111", registered_delivery=1)
    check(sent.status == 0, "a 2FA message is accepted")
    held = c.submit(NOTIFY, HANDSET, "Your statement is ready")
    check(held.status == 0, "an account notification at night is accepted (it waits)")
    sent_id, held_id = sent.message_id(), held.message_id()
    rcpt = c.expect(sc.DELIVER_SM, timeout=15)
    c.answer(rcpt)

    # --- status, queue, one message ---
    st = js("status")
    check([x["binds"] for x in st["carriers"] if x["name"] == "sim"] == [1],
          "status: the carrier has its one bind")
    check([x["binds"] for x in st["accounts"] if x["system_id"] == "app1"] == [1],
          "status: app1 is bound once")
    check(st["states"]["deferred"] + st["states"]["queued"] >= 1 and st["store"]["map_bytes"] > 0,
          "status: the waiting message and the store's size are counted")
    check({"lane": "CACMEACCT", "queued": 1, "due": 0, "later": 1} in st["queue"],
          "status: CACMEACCT has one queued, deferred by quiet hours (later, not due now): %s"
          % st["queue"])
    q = js("queue", "--campaign", "CACMEACCT")
    check([x["id"] for x in q["messages"]] == [held_id] and q["next"] is None,
          "queue --campaign lists exactly the held message")
    check(held_id in [x["id"] for x in js("queue", "--destination", "+1 212 555 0100")["messages"]],
          "queue --destination matches by digits")
    check(js("queue", "--state", "cancelled")["messages"] == [], "queue --state cancelled: none yet")
    page = js("queue", "--limit", "1")
    check(len(page["messages"]) == 1 and page["next"] == page["messages"][0]["id"],
          "queue --limit 1 pages with next")
    page2 = js("queue", "--limit", "1", "--after", page["next"])
    check(len(page2["messages"]) == 1 and page2["messages"][0]["id"] != page["next"],
          "queue --after continues with the next message")
    harness.wait_for(lambda: js("msg", "show", sent_id)["state"] == "delivered", 15,
                     "the 2FA message to be delivered")
    one = js("msg", "show", sent_id)
    check(one["campaign"] == "CACME2FA" and one["destination"] == HANDSET and one["attempts"] == 1
          and one["carrier"] == "sim" and len(one["carrier_ids"]) == 1,
          "msg show: campaign, destination, one attempt, carrier and its id")
    h = js("msg", "show", held_id)
    check(js("queue", "show", held_id) == h, "queue show ID is msg show ID")
    check(h["state"] in ("queued", "deferred") and h["next_attempt"] is not None,
          "msg show: the notification waits with a due time")
    check(any("quiet" in (a["rule"] + a["reason"]) and a["message_id"] == held_id for a in h["audit"]),
          "msg show: its history has the quiet-hours decision, under its own id: %s" % h["audit"])
    check(all(a["message_id"] == held_id for a in h["audit"]),
          "msg show: and nothing about other messages")
    retried = c.submit(TWOFA, BUSY, "Your Acme code is 222222")
    check(retried.status == 0, "a 2FA message to a number the carrier answers 0x64 is accepted")
    rid = retried.message_id()
    tries = harness.wait_for(lambda: [a for a in js("msg", "show", rid)["audit"]
                                      if a["rule"] == "attempt"], 15, "a failed attempt in its history")
    check("carrier sim answered 0x00000064" in tries[0]["reason"] and tries[0]["message_id"] == rid,
          "msg show: each failed attempt is in the history with carrier and status: %s" % tries[0])

    # --- retry, cancel ---
    r = js("msg", "retry", held_id)
    check(r["id"] == held_id and r["done"] is True, "msg retry: the writer committed it")
    rc, out, err = ctl("msg", "retry", sent_id)
    check(rc == 1 and "only a queued or deferred" in err, "msg retry of a delivered message: exit 1")
    harness.wait_for(lambda: js("msg", "show", held_id)["state"] in ("queued", "deferred"), 10,
                     "the retried message back in the queue")
    r = js("msg", "cancel", held_id)
    check(r["done"] is True, "msg cancel: cancelled")
    check(js("msg", "show", held_id)["state"] == "cancelled", "msg show: cancelled")
    check(js("msg", "cancel", held_id)["done"] is False, "msg cancel again: nothing to do")
    check([x["id"] for x in js("queue", "--state", "cancelled")["messages"]] == [held_id],
          "queue --state cancelled lists it")

    # --- campaigns ---
    camp = {x["id"]: x for x in js("campaign", "list")["campaigns"]}
    check(set(camp) >= {"CACME2FA", "CACMEACCT"} and not camp["CACMEACCT"]["paused"],
          "campaign list: the policy's campaigns, not paused")
    check(js("campaign", "pause", "CACMEACCT")["changed"] is True, "campaign pause")
    check(js("campaign", "pause", "CACMEACCT")["changed"] is False, "campaign pause again: no change")
    check(c.submit(NOTIFY, HANDSET, "Another statement").status == 0x402,
          "a paused campaign's submit gets 0x402 at once")
    check({x["id"]: x for x in js("campaign", "list")["campaigns"]}["CACMEACCT"]["paused"],
          "campaign list shows it paused")
    check(js("campaign", "resume", "CACMEACCT")["changed"] is True, "campaign resume")
    check(c.submit(NOTIFY, HANDSET, "A third statement").status == 0, "resumed: accepted again")

    # --- audit ---
    a = js("audit", "--campaign", "CACMEACCT", "--since", "1h")["entries"]
    rules = [x["rule"] for x in a]
    check("pause" in rules and "resume" in rules, "audit --campaign: the pause and the resume")
    check(all(x["campaign"] == "CACMEACCT" for x in a), "audit --campaign: only that campaign")
    byrcpt = js("audit", "--recipient", "+" + HANDSET)["entries"]
    check(any(x["rule"] == "quiet_hours" and x["campaign"] == "CACMEACCT" for x in byrcpt) and
          all(x["recipient"] == HANDSET for x in byrcpt), "audit --recipient: the quiet-hours defer")
    check(js("audit", "--since", "2001-01-01", "--until", "2001-01-02")["entries"] == [],
          "audit over a range with nothing in it: empty")

    # --- opt-outs ---
    r = js("optout", "add", "+12025550123", "--brand", "Acme Bank")
    check(r["changed"] is True and r["number"] == "12025550123", "optout add")
    rows = ["number,brand", "12025550124,", "not-a-number,", "12025550125,No Such Brand",
            "+12025550126,Zing Coffee", '"12025550127",Acme Bank,extra']
    csv = os.path.join(tmp, "optouts.csv")
    with open(csv, "w") as f:
        f.write("\n".join(rows) + "\n")
    rc, out, err = ctl("optout", "import", csv)
    res = json.loads(out)
    check(rc == 1 and res["accepted"] == 2 and res["complete"],
          "optout import: 2 rows stored, exit 1 for the rejects")
    check([x["line"] for x in res["rejected"]] == [3, 4, 6], "optout import: rejects at lines 3, 4, 6")
    lst = js("optout", "list")["optouts"]
    check({(x["number"], x["brand"]) for x in lst} ==
          {("12025550123", "Acme Bank"), ("12025550124", None), ("12025550126", "Zing Coffee")},
          "optout list: the added and imported opt-outs")
    check(js("optout", "list", "--number", "12025550124")["optouts"][0]["brand"] is None,
          "optout list --number: a global opt-out")
    exp = subprocess.run([smppctl, "--url", url, "--token-file", token_file, "optout", "export"],
                         capture_output=True, text=True)
    lines = exp.stdout.strip().split("\n")
    check(exp.returncode == 0 and lines[0] == "number,brand,time" and len(lines) == 4 and
          "12025550123,Acme Bank," in exp.stdout, "optout export: CSV with a header and 3 rows")
    check(c.submit(TWOFA, "12025550123", "Your Acme code is 5").status == 0x400,
          "an opt-out added by smppctl blocks the next submit")
    check(js("optout", "remove", "12025550123", "--brand", "Acme Bank")["changed"] is True,
          "optout remove")
    rc, out, err = ctl("optout", "remove", "12025550123", "--brand", "Acme Bank")
    check(rc == 3, "optout remove of no opt-out: exit 3")

    # --- consent: an import across three batches, rejects by absolute line ---
    csv = os.path.join(tmp, "consent.csv")
    bad_lines = {2: "bad,Acme Bank,,web_form,,a,b,c",
                 1500: "12025551500,Nobody,,web_form,,a,b,c",
                 2400: "12025552400,Acme Bank,,carrier_pigeon,,a,b,c",
                 2500: "12025552500,Acme Bank,CZINGMKT,web_form,,a,b,c"}
    with open(csv, "w") as f:
        f.write("number,brand,campaign,method,time,who,purpose,evidence\n")
        for line in range(2, 2601):
            f.write(bad_lines.get(line, "1202555%04d,Acme Bank,%s,web_form,1700000000,crm,alerts,form %d"
                                  % (line, "CACMEACCT" if line % 2 else "", line)) + "\n")
    rc, out, err = ctl("consent", "import", csv)
    res = json.loads(out)
    check(rc == 1 and res["accepted"] == 2599 - 4, "consent import: 2,595 of 2,599 rows stored")
    check([x["line"] for x in res["rejected"]] == [2, 1500, 2400, 2500],
          "consent import: rejects named by their line in the file: %s" % res["rejected"])
    check("not a campaign of this brand" in res["rejected"][3]["error"], "consent import: reasons given")
    cl = js("consent", "list", "--number", "12025552599")["consent"]
    check(len(cl) == 1 and cl[0]["campaign"] == "CACMEACCT" and cl[0]["evidence"] == "form 2599",
          "consent list --number: the imported record")
    seen, after = [], None
    while True:
        page = js("consent", "list", "--limit", "1000", *(["--after", after] if after else []))
        seen += [(x["number"], x["campaign"]) for x in page["consent"]]
        after = page["next"]
        if after is None:
            break
    check(len(seen) == 2595 and len(set(seen)) == 2595,
          "consent list pages with next/after: every record once (%d)" % len(seen))
    check(ctl("consent", "list", "--after", "zz")[0] == 2, "consent list --after a bad cursor: exit 2")
    r = js("consent", "add", "12025559999", "Acme Bank", "--campaign", "CACME2FA", "--who", "ops")
    check(r["campaign"] == "CACME2FA", "consent add")
    rc, out, err = ctl("consent", "add", "12025559999", "Acme Bank", "--method", "telepathy")
    check(rc == 2 and "method" in err, "consent add with a bad method: exit 2")
    check(js("consent", "revoke", "12025559999", "Acme Bank", "--campaign", "CACME2FA")["revoked"],
          "consent revoke")
    rc, out, err = ctl("consent", "revoke", "12025559999", "Acme Bank", "--campaign", "CACME2FA")
    check(rc == 3, "consent revoke of nothing: exit 3")
    exp = subprocess.run([smppctl, "--url", url, "--token-file", token_file, "consent", "export"],
                         capture_output=True, text=True)
    check(exp.returncode == 0 and len(exp.stdout.strip().split("\n")) == 1 + 2595 and
          "12025552599,Acme Bank,CACMEACCT,web_form,1700000000,crm,alerts,form 2599" in exp.stdout,
          "consent export: every record, in the import's columns")

    # --- stats ---
    s = js("stats")
    check(s["messages"]["cancelled"] == 1 and s["store"]["commits"] > 0, "stats: counts and commits")

    # --- auth, not found, usage ---
    rc, out, err = ctl("status", token=False)
    check(rc == 4 and "token" in err, "no token: exit 4")
    rc, out, err = ctl("status", token=False, env={"SMPPCTL_TOKEN": "wrong-token-0000000000"})
    check(rc == 4, "a wrong token: exit 4")
    check(js("status", token=False, env={"SMPPCTL_TOKEN": TOKEN})["accounts"],
          "SMPPCTL_TOKEN is used")
    code, body = http("GET", "/v1/status", token=None)
    check(code == 401 and "error" in json.loads(body), "HTTP without a token: 401 with a JSON error")
    code, body = http("GET", "/v1/status", token=TOKEN + "x")
    check(code == 401, "HTTP with a wrong token: 401")
    check(ctl("msg", "show", "ffffffffffff")[0] == 3, "msg show of an unknown id: exit 3")
    check(ctl("msg", "cancel", "ffffffffffff")[0] == 3, "msg cancel of an unknown id: exit 3")
    check(ctl("campaign", "pause", "NOPE")[0] == 3, "campaign pause of an unknown campaign: exit 3")
    check(ctl("frobnicate")[0] == 2, "an unknown command: exit 2")
    check(ctl("queue", "--colour", "red")[0] == 2, "an unknown option: exit 2")
    check(ctl("queue", "--state", "sleeping")[0] == 2, "a bad state: exit 2")
    check(ctl("msg", "show", "not-hex")[0] == 2, "a bad message id: exit 2")
    check(ctl("audit", "--since", "yesterday-ish")[0] == 2, "a bad time: exit 2")
    check(ctl("msg")[0] == 2, "msg without arguments: exit 2")
    h = subprocess.run([smppctl, "--help"], capture_output=True, text=True)
    check(h.returncode == 0 and "Exit status" in h.stdout and "consent import" in h.stdout,
          "--help documents commands and exit codes")

    # --- hostile HTTP ---
    code, body = http("POST", "/v1/optouts", b"{\"number\": ")
    check(code == 400 and b"not JSON" in body, "bad JSON: 400")
    code, body = http("POST", "/v1/optouts", b"[1,2]")
    check(code == 400, "JSON that is not an object: 400")
    code, body = http("POST", "/v1/optouts", b"[" * 100000 + b"]" * 100000)
    check(code == 400 and b"deep" in body, "JSON nested 100,000 deep: 400")
    # evhttp answers on the headers alone; urllib would still be sending
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(b"POST /v1/optouts/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  TOKEN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % (5 << 20) + b"x" * 65536)
        head = s.recv(4096)
    check(head.startswith(b"HTTP/1.1 413"), "a 5 MiB body: 413 (%r)" % head[:40])
    code, body = http("GET", "/v1/nothing-here")
    check(code == 404 and "error" in json.loads(body), "an unknown path: 404 with a JSON error")
    code, body = http("DELETE", "/v1/status")
    check(code == 405, "a wrong method: 405")
    req = urllib.request.Request(url + "/v1/optouts", method="PUT", data=b"{}")
    try:
        urllib.request.urlopen(req, timeout=10)
        allow = None
    except urllib.error.HTTPError as e:
        allow = (e.code, e.headers.get("Allow"))
    check(allow == (405, "GET, POST"), "405 names the methods allowed: %s" % (allow,))
    code, body = http("GET", "/v1/messages/%2e%2e%2fetc")
    check(code == 400, "an encoded path segment that is no id: 400")
    code, body = http("POST", "/v1/consent/import?first_line=0", b"x", ctype="text/csv")
    check(code == 400, "first_line=0: 400")
    code, body = http("GET", "/healthz", token=None)
    check(code == 200 and json.loads(body)["status"] == "ok", "/healthz without a token: 200")
    code, body = http("GET", "/readyz", token=None)
    check(code == 200 and json.loads(body)["status"] == "ready", "/readyz: 200 ready")
    check(c.submit(TWOFA, HANDSET, "Your Acme code is 777777").status == 0,
          "smppd still takes traffic after all that")
    c.close()

    # --- smppd stopped: reads from the store ---
    check(d.stop() == 0, "smppd stops")
    st = js("status", offline=True)
    check("carriers" not in st and st["states"]["cancelled"] == 1, "status --offline: from the store")
    rc, out, err = ctl("status")
    check(rc == 0 and "reading the store directly" in err and json.loads(out)["states"]["cancelled"] == 1,
          "status with smppd down: falls back to the store")
    check(js("msg", "show", held_id, offline=True)["state"] == "cancelled", "msg show on the store")
    check([x["id"] for x in js("queue", "--state", "cancelled", offline=True)["messages"]] == [held_id],
          "queue on the store")
    check(len(js("optout", "list", offline=True)["optouts"]) == 2, "optout list on the store")
    check(len(js("consent", "list", "--brand", "Acme Bank", "--limit", "10000", offline=True)["consent"])
          == 2595, "consent list on the store")
    check({x["id"]: x for x in js("campaign", "list", offline=True)["campaigns"]}["CACMEACCT"]["paused"]
          is False, "campaign list on the store")
    check(any(x["rule"] == "pause" for x in js("audit", "--since", "2001-01-01", "--until", "2100-01-01",
                                                      "--limit", "10000", offline=True)["entries"]),
          "audit on the store")
    check(ctl("msg", "show", "ffffffffffff", offline=True)[0] == 3, "not found on the store: exit 3")
    rc, out, err = ctl("msg", "cancel", held_id)
    check(rc == 1, "a write with smppd stopped: exit 1")
    rc, out, err = ctl("optout", "add", "12025550199", offline=True)
    check(rc == 2, "a write with --offline: exit 2")
    sim.terminate()


harness.main(run)
