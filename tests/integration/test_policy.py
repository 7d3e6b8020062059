#!/usr/bin/env python3
"""The compliance policy through smppd: for each rule a message that passes
and one rejected with the right status, quiet hours deferring and releasing
(the clock moved with SMPPD_TEST_CLOCK_OFFSET), SIGHUP with a broken
policy keeping the old one, and nothing rejected ever reaching the carrier.

    test_policy.py SMPPD NODE_CACHE_DIR SOURCE_ROOT
"""
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import common  # noqa: E402
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402
import smpp_client as sc  # noqa: E402

NOTIFY = "12025550111"   # CACMEACCT, account notifications, not quiet-hour exempt
TWOFA = "12025550101"    # CACME2FA, exempt
MARKETING = "13125550120"  # CZINGMKT, consent required
PENDING = "13125550130"  # CZINGMIX, pending
NYC = "12125550100"      # a New York recipient


def run(tmp):
    smppd, cache, root = sys.argv[1], sys.argv[2], sys.argv[3]
    mods = common.ensure_node_smpp(cache)
    conf = harness.copy_conf(root, tmp)
    seen_log = os.path.join(tmp, "carrier.log")
    carrier = harness.spawn(["node", os.path.join(HERE, "node_peers.js"), mods, "carrier"],
                            stdout=subprocess.PIPE, env=dict(os.environ, CARRIER_LOG=seen_log))
    cport = harness.read_port_line(carrier)
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA, CACMEACCT, CZINGMKT, CZINGMIX]"),
                                 dict(system_id="app2", allowed_campaigns="[CACME2FA]")],
                       carriers=[dict(name="node", host="127.0.0.1", port=cport, system_id="smppd",
                                      message_id_format="hex_resp_dec_receipt")],
                       extra="policy: %s" % os.path.join(conf, "policy.yaml"))
    # 03:00 in New York (08:00 UTC in winter, 07:00 in summer): 07:30 UTC
    # is night there in either season.
    night = offset_to(7) + 1800
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(night)
    port = d.start()
    c = sc.Client(port)
    check(c.bind("transceiver", "app1", "secret1").status == 0, "app1 binds")
    a2 = sc.Client(port)
    a2.bind("transmitter", "app2", "secret1")

    def status(src, text, client=c, dst=NYC):
        return client.submit(src, dst, text).status

    passed = []
    r = c.submit(TWOFA, NYC, "Your Acme code is 123456")
    check(r.status == 0, "2FA at 03:00 New York time: accepted (exempt from quiet hours)")
    passed.append(NYC)
    check(status("19995550000", "hello") == 0x0A, "unregistered source: ESME_RINVSRCADR")
    check(status(PENDING, "hello") == 0x402, "pending campaign: 0x402")
    check(status(MARKETING, "Coffee sale today") == 0x401, "marketing without consent: 0x401")
    check(status(TWOFA, "Your code 1234, cheap vodka here") == 0x403, "SHAFT word: 0x403")
    check(status(TWOFA, "Code 1234 see https://bit.ly/x") == 0x403, "public URL shortener: 0x403")
    check(status(TWOFA, "Code 1234 see https://example.com/bit.ly") == 0,
          "bit.ly only in a path is not a shortener")
    passed.append(NYC)
    check(status(TWOFA, "Your code 1234 " + "x" * 1000) == 0x404, "more segments than the limit: 0x404")
    check(status(TWOFA, "Your code 1234", dst="123") == 0x0B, "not a NANP number: ESME_RINVDSTADR")
    check(status(NOTIFY, "statement ready", client=a2) == 0x0A,
          "another account's campaign: ESME_RINVSRCADR")
    r = c.submit(NOTIFY, NYC, "Your statement is ready")
    check(r.status == 0, "account notification at night: accepted...")
    deferred = r.message_id()
    d.wait_log(r"event=defer account=app1 campaign=CACMEACCT .*rule=quiet_hours")
    st = c.query(deferred, NOTIFY)
    check(st.body[st.cstrings(2)[1]] == 0, "...and held in the queue (query_sm: SCHEDULED)")
    d.wait_log(r"event=receipt id=", count=2)
    time.sleep(0.5)
    with open(seen_log) as f:
        seen = f.read().split()
    check(len(seen) == 2, "only the two accepted 2FA messages reached the carrier (%d)" % len(seen))

    # A broken policy file: SIGHUP keeps the running one.
    with open(os.path.join(conf, "policy.yaml"), "a") as f:
        f.write("\nnot_a_key: [\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"event=reload_failed kept=old")
    check(status("19995550000", "hello") == 0x0A and status(TWOFA, "code 99") == 0,
          "SIGHUP with a broken policy.yaml: the old policy stays in force")
    c.close()
    a2.close()
    check(d.stop() == 0, "smppd stops")

    # Morning in New York: the deferred message goes out after a restart.
    shutil.copy(os.path.join(root, "conf", "policy.yaml"), conf)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(night + 6 * 3600 + 1800)  # 14:00 UTC
    d.proc = None
    d.start()
    harness.wait_for(lambda: sum(1 for _ in open(seen_log)) >= 4, 20,
                     "the deferred message at the carrier in the morning")
    check(True, "at 09:00/10:00 New York time the deferred message reaches the carrier")
    # Accepted in the day but still queued at night (the carrier was down):
    # quiet hours hold it at dispatch too.
    carrier.kill()
    carrier.wait()
    d.wait_log(r"event=unbound carrier=node", count=1)
    c = sc.Client(d.port)
    c.bind("transmitter", "app1", "secret1")
    late = c.submit(NOTIFY, NYC, "Your statement is ready (2)")
    check(late.status == 0, "in the day, with the carrier down: accepted and queued")
    c.close()
    check(d.stop() == 0, "smppd stops again")
    carrier = harness.spawn(["node", os.path.join(HERE, "node_peers.js"), mods, "carrier"],
                            stdout=subprocess.PIPE, env=dict(os.environ, CARRIER_LOG=seen_log))
    d.carriers[0]["port"] = harness.read_port_line(carrier)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(night + 86400)  # the next night
    d.start()
    d.wait_log(r"event=defer id=%s .*rule=quiet_hours at=dispatch" % late.message_id())
    time.sleep(0.5)
    check(sum(1 for _ in open(seen_log)) == 4, "the next night it is held again, not sent")
    check(d.stop() == 0, "smppd stops a third time")

    # The operator's view of the audit log, with smppd stopped.
    def audit(*args):
        return subprocess.run([smppd, "-c", d.conf, "--audit"] + list(args), capture_output=True,
                              text=True)
    # smppd's clock ran a day ahead of this process's: ask for a wide range
    wide = ["--since", "3d", "--until", str(int(time.time()) + 3 * 86400)]
    r = audit("--json", *wide)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    rules = {x["rule"] for x in rows}
    check(r.returncode == 0 and {"campaign", "consent", "content:shaft", "quiet_hours"} <= rules,
          "smppd --audit lists the rejects and defers (%s)" % ", ".join(sorted(rules)))
    check(all(x["recipient"] and x["time"].endswith("Z") for x in rows),
          "each audit entry has its time (UTC) and recipient")
    r = audit("--json", "--campaign", "CZINGMKT", *wide)
    mine = [json.loads(line) for line in r.stdout.splitlines()]
    check(mine and all(x["campaign"] == "CZINGMKT" for x in mine),
          "--campaign keeps that campaign's entries (%d)" % len(mine))
    r = audit("--recipient", "+1" + NYC.lstrip("+1"), *wide)
    check(r.returncode == 0 and "RECIPIENT" in r.stdout.splitlines()[0]
          and len(r.stdout.splitlines()) > 1, "--recipient as +1... matches, as a table")
    r = audit("--recipient", "19995550000", *wide)
    check(len(r.stdout.splitlines()) == 1 and "no audit entries" in r.stderr,
          "no entries for another recipient: the header and a note")
    r = audit("--since", "yesterday")
    check(r.returncode == 2 and "--since: bad time \"yesterday\"" in r.stderr,
          "a bad time is refused naming it (exit 2)")
    r = subprocess.run([smppd, "-c", d.conf, "--campaign", "X"], capture_output=True, text=True)
    check(r.returncode == 2 and "go with --audit" in r.stderr, "a filter without --audit: exit 2")

    # Consent imported from a file: bad rows are named by line, good ones
    # stored; a marketing message to an imported number then passes.
    csv = os.path.join(tmp, "consent.csv")
    with open(csv, "w") as f:
        f.write("number,brand,campaign,method,time,who,purpose,evidence\n"
                "+13125550901,Zing Coffee,CZINGMKT,web_form,1767225600,signup form,"
                "\"offers, weekly\",form-4411\n"
                "13125550902,Zing Coffee,,keyword,,shortcode 55512,offers,JOIN\n"
                "123,Zing Coffee,,web_form,,x,y,z\n"
                "13125550903,Nobody Inc,,web_form,,x,y,z\n"
                "13125550904,Zing Coffee,CACME2FA,web_form,,x,y,z\n"
                "13125550905,Zing Coffee,,fax,,x,y,z\n"
                "13125550906,Zing Coffee,,api,tomorrow,x,y,z\n"
                "13125550907,Zing Coffee,,api\n"
                "\"13125550908,Zing Coffee,,api,,x,y,z\n")
    r = subprocess.run([smppd, "-c", d.conf, "--consent-import", csv], capture_output=True,
                       text=True)
    print("# " + r.stderr.replace("\n", "\n# "))
    check(r.returncode == 1 and "2 rows stored, 7 rejected" in r.stdout,
          "--consent-import: 2 rows stored, 7 rejected (%s)" % r.stdout.strip())
    for line, why in [(4, "not a NANP number"), (5, "no such brand"), (6, "not a campaign of this brand"),
                      (7, "method must be"), (8, "time must be"), (9, "expected 8 fields"),
                      (10, "bad quoting")]:
        check("line %d: %s" % (line, why) in r.stderr, "line %d is named: %s" % (line, why))
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(night + 6 * 3600 + 1800)  # daytime
    d.start()
    c = sc.Client(d.port)
    c.bind("transmitter", "app1", "secret1")
    check(c.submit(MARKETING, "13125550901", "Coffee sale today").status == 0,
          "marketing to a number with imported consent: accepted")
    check(c.submit(MARKETING, "13125550902", "Coffee sale today").status == 0,
          "brand-wide consent from a keyword: accepted")
    check(c.submit(MARKETING, "13125550903", "Coffee sale today").status == 0x401,
          "a number whose row was rejected still has no consent: 0x401")
    c.close()
    check(d.stop() == 0, "smppd stops a fourth time")


harness.main(run)
