#!/usr/bin/env python3
"""GET /metrics: the Prometheus text format, with values that match the
traffic sent.

smppd runs with an admin address and token, between an application and a
smppsim carrier that delivers most messages, answers one destination with
a permanent error (0x45), fails the receipts of two others (UNDELIV) and
sends one STOP when it is bound.  The application sends accepted submits,
submits the policy rejects (unregistered source, opted-out recipient) and
one with an invalid destination.  The scrape is checked by a strict parser
(promtext.py) and by `promtool check metrics` when it is installed, then
counter by counter against what was sent.

    test_metrics.py SMPPD SMPPSIM SOURCE_ROOT
"""
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402
import promtext  # noqa: E402
import smpp_client as sc  # noqa: E402

TWOFA = "12025550101"                      # CACME2FA (2FA: no quiet hours)
UNREGISTERED = "12025559999"               # no campaign owns it
HANDSET = "12125550100"                    # sends STOP when the carrier binds
GOOD = ["1212555%04d" % (110 + i) for i in range(5)]
UNDELIV = ["12125550190", "12125550192"]   # receipts say UNDELIV err 1
PERMANENT = "12125550191"                  # submit_sm_resp 0x45
TOKEN = "metrics-test-token-0123456789"



def scrape(port, token=TOKEN):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if token is not None:
        req.add_header("Authorization", "Bearer %s" % token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, "", ""
    except urllib.error.URLError as e:
        raise harness.Failure("GET http://127.0.0.1:%d/metrics: %s (smppd serves it on its "
                              "admin address: mta/admin.c routes it to metrics_render)"
                              % (port, e.reason))


def parsed(port):
    status, ctype, text = scrape(port)
    if status != 200:
        raise harness.Failure("GET /metrics: HTTP %d" % status)
    return ctype, text, promtext.parse(text)


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = harness.copy_conf(root, tmp)
    args = [smppsim, "carrier", "--listen", "127.0.0.1:0",
            "--dst", "%s=undeliv:1" % UNDELIV[0], "--dst", "%s=undeliv:1" % UNDELIV[1],
            "--dst", "%s=0x45" % PERMANENT,
            "--mo-at-bind", "STOP", "--mo-src", HANDSET, "--mo-dst", TWOFA]
    cp = harness.spawn(args, stdout=subprocess.PIPE)
    cport = harness.read_port_line(cp)
    admin = harness.free_port()
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA]")],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd")],
                       extra="policy: %s\nadmin:\n  address: 127.0.0.1:%d\n  token: %s"
                       % (os.path.join(conf, "policy.yaml"), admin, TOKEN))
    d.start()
    d.wait_log(r"event=keyword kind=1 from=%s to=%s" % (HANDSET, TWOFA))

    status, _, _ = scrape(admin, token=None)
    check(status == 401, "GET /metrics without the token: 401 (%d)" % status)
    status, _, _ = scrape(admin, token="wrong-token-wrong-token")
    check(status == 401, "GET /metrics with a wrong token: 401 (%d)" % status)
    ctype, text, exp = parsed(admin)
    check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
          "Content-Type is the text format 0.0.4 (%r)" % ctype)
    check(exp.value("smppd_upstream_binds", account="app1") == 0, "before binding: app1 has 0 binds")

    c = sc.Client(d.port)
    c.bind("transmitter", "app1", "secret1")
    # in one go (a window of 8): more than the number's 25 mps lets through at once
    seqs = [c.send(sc.SUBMIT_SM, c.submit_body(TWOFA, n, "Your Acme code is 123456"))
            for n in GOOD + UNDELIV + [PERMANENT]]
    resps = {}
    while len(resps) < len(seqs):
        p = c.expect(sc.SUBMIT_SM | sc.RESP)
        resps[p.seq] = p.status
    sent = [resps[s] for s in seqs]
    check(sent == [0] * 8, "8 submits accepted (%s)" % sent)
    rej = [c.submit(UNREGISTERED, n, "Your Acme code is 123456").status for n in GOOD[:2]]
    check(rej == [0x0A, 0x0A], "2 submits from an unregistered source: 0x0A (%s)" % rej)
    r = c.submit(TWOFA, HANDSET, "Your Acme code is 123456")
    check(r.status == 0x400, "a submit to the number that sent STOP: 0x400 (0x%x)" % r.status)
    r = c.submit(TWOFA, "not-a-number", "Your Acme code is 123456")
    check(r.status == 0x0B, "a submit to an invalid destination: 0x0B (0x%x)" % r.status)

    # 8 messages and the STOP confirmation reach a final state: 6 DELIVRD
    # receipts, 2 UNDELIV receipts, 1 permanent error
    def settled():
        _, _, e = parsed(admin)
        return e if e.total("smppd_messages_final_total") >= 9 else None
    exp = harness.wait_for(settled, 30, "9 messages in a final state")
    status, ctype, text = scrape(admin)
    exp = promtext.parse(text)
    check(True, "the scrape parses strictly: %d families, %d series"
          % (len(exp.families), sum(len(f.samples) for f in exp.families.values())))
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        check(p.returncode == 0, "promtool check metrics: clean (%s)"
              % (p.stdout + p.stderr).decode().strip()[:500])
    with open(os.path.join(tmp, "metrics.txt"), "w") as f:
        f.write(text)

    def v(name, **labels):
        x = exp.value(name, **labels)
        return 0 if x is None else x

    subs = {s: v("smppd_upstream_submits_total", account="app1", status=s)
            for s in ("0x00000000", "0x0000000a", "0x00000400", "0x0000000b")}
    check(subs == {"0x00000000": 8, "0x0000000a": 2, "0x00000400": 1, "0x0000000b": 1}
          and exp.total("smppd_upstream_submits_total") == 12,
          "submits by account and status: 8 accepted, 2x 0x0A, 1x 0x400, 1x 0x0B (%s)" % subs)
    # the 8 accepted waited for the store's commit; refusals are answered at once
    check(exp.type("smppd_upstream_ack_seconds") == "histogram" and
          v("smppd_upstream_ack_seconds_count", account="app1") == 8 and
          v("smppd_upstream_ack_seconds_bucket", account="app1", le="+Inf") == 8 and
          0 < v("smppd_upstream_ack_seconds_sum", account="app1") < 8 * 10,
          "ack latency histogram: the 8 accepted submits, a plausible sum (%s s)"
          % v("smppd_upstream_ack_seconds_sum", account="app1"))
    rules = {l["rule"]: x for l, x in exp.series("smppd_policy_rejects_total") if x}
    check(rules == {"registration": 2, "opt_out": 1},
          "policy rejects by rule: registration 2, opt_out 1, nothing else (%s)" % rules)
    check(exp.total("smppd_policy_defers_total") == 0, "no policy defers (2FA has no quiet hours)")
    check(v("smppd_carrier_submits_total", carrier="sim") == 9,
          "carrier submits: 8 messages and the STOP confirmation")
    resp = {l["status"]: x for l, x in exp.series("smppd_carrier_responses_total") if x}
    check(resp == {"0x00000000": 8, "0x00000045": 1},
          "carrier responses by status: 8x 0, 1x 0x45 (%s)" % resp)
    check(v("smppd_carrier_response_seconds_count", carrier="sim") == 9 and
          v("smppd_carrier_response_seconds_bucket", carrier="sim", le="+Inf") == 9 and
          0 < v("smppd_carrier_response_seconds_sum", carrier="sim") < 9 * 10,
          "response latency histogram: 9 observations, a plausible sum")
    check(exp.type("smppd_carrier_response_seconds") == "histogram", "latency is a histogram")
    rc = {l["state"]: x for l, x in exp.series("smppd_receipts_total") if x}
    check(rc == {"DELIVRD": 6, "UNDELIV": 2}, "receipts by state: 6 DELIVRD, 2 UNDELIV (%s)" % rc)
    via = {l["via"]: x for l, x in exp.series("smppd_receipt_matches_total")}
    check(set(via) == {"in_flight", "cache", "store", "unmatched"} and
          via["in_flight"] + via["cache"] + via["store"] == 8 and via["unmatched"] == 0,
          "each of the 8 receipts matched once, none given up on (%s)" % via)
    check(v("smppd_mo_messages_total", carrier="sim") == 1, "one MO (the STOP)")
    fin = {(l["campaign"], l["state"]): x for l, x in exp.series("smppd_messages_final_total")}
    check(fin == {("CACME2FA", "delivered"): 6, ("CACME2FA", "undeliverable"): 3},
          "final states by campaign: CACME2FA 6 delivered, 3 undeliverable (%s)" % fin)
    check(v("smppd_optouts_total", campaign="CACME2FA") == 1 and
          exp.total("smppd_optouts_total") == 1, "one opt-out, for CACME2FA")
    kw = {(l["campaign"], l["keyword"]): x for l, x in exp.series("smppd_keyword_events_total")}
    check(kw == {("CACME2FA", "opt_out"): 1}, "keyword events: one opt_out for CACME2FA (%s)" % kw)
    waits = {(l["campaign"], l["limit"]): x for l, x in exp.series("smppd_throttle_waits_total")}
    check(all(c == "CACME2FA" and lim in ("campaign_rate", "brand_cap", "number_mps",
                                          "carrier_mps", "bind_mps", "bind_window")
              for c, lim in waits), "throttle waits name known limits (%s)" % waits)
    check(waits.get(("CACME2FA", "number_mps"), 0) >= 1,
          "8 messages at once from a 25 mps number (burst 2): it made CACME2FA wait")
    q = {l["state"]: x for l, x in exp.series("smppd_queue_messages") if l["campaign"] == "CACME2FA"}
    check(q == {"due": 0, "scheduled": 0, "held": 0}, "CACME2FA's queue is empty at the end (%s)" % q)
    st = {l["state"]: x for l, x in exp.series("smppd_store_messages")}
    check(st.get("delivered") == 6 and st.get("undeliverable") == 3 and st.get("queued") == 0,
          "store messages by state: 6 delivered, 3 undeliverable, 0 queued")
    used, size = v("smppd_store_used_bytes"), v("smppd_store_map_size_bytes")
    check(0 < used < size == 256 * 1024 * 1024, "store bytes used %d of a 256 MiB map" % used)
    commits = v("smppd_store_commits_total")
    check(commits > 0 and v("smppd_store_commit_seconds_count") >= commits,
          "store commits %d, each in the commit histogram" % commits)
    check(v("smppd_upstream_binds", account="app1") == 1, "app1 has 1 bind")
    check(v("smppd_carrier_binds", carrier="sim", state="bound") == 1 and
          v("smppd_carrier_binds", carrier="sim", state="down") == 0, "carrier sim: 1 bound, 0 down")
    for name, f in exp.families.items():
        if f.type == "counter" and not name.endswith("_total"):
            raise harness.Failure("counter %s without _total" % name)
    check(all(n.startswith("smppd_") for n in exp.families), "every metric is named smppd_*")

    c.close()
    harness.wait_for(lambda: v2(admin) == 0, 10, "app1's bind to go")
    check(True, "after the application disconnects: app1 has 0 binds")
    cp.terminate()
    harness.wait_for(lambda: down(admin) == 1, 15, "the carrier bind to go down")
    check(True, "after the carrier goes away: carrier sim 0 bound, 1 down")
    check(d.stop() == 0, "smppd stops cleanly")


def v2(admin):
    return parsed(admin)[2].value("smppd_upstream_binds", account="app1")


def down(admin):
    return parsed(admin)[2].value("smppd_carrier_binds", carrier="sim", state="down")


if __name__ == "__main__":
    harness.main(run)
