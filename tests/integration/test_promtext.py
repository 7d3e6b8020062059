#!/usr/bin/env python3
"""promtext.py refuses what the text format (or smppd's conventions)
forbid, and reads what it allows: the checker the metrics tests rely on
is itself checked.

    test_promtext.py
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promtext  # noqa: E402

GOOD = """# HELP a_total Things.
# TYPE a_total counter
a_total{x="1",y="q\\"uote\\\\back\\nline"} 3
a_total{x="2"} 0
# TYPE g gauge
g -1.5e3
# TYPE h_seconds histogram
h_seconds_bucket{c="a",le="0.1"} 1
h_seconds_bucket{c="a",le="1"} 3
h_seconds_bucket{c="a",le="+Inf"} 4
h_seconds_sum{c="a"} 2.5
h_seconds_count{c="a"} 4
"""

BAD = [
    ("no TYPE before the sample", "a_total 1\n"),
    ("TYPE after the samples", "# TYPE g gauge\ng 1\n# TYPE g gauge\n"),
    ("second TYPE", "# TYPE g gauge\n# TYPE g counter\ng 1\n"),
    ("unknown type", "# TYPE g meter\ng 1\n"),
    ("counter without _total", "# TYPE c counter\nc 1\n"),
    ("negative counter", "# TYPE c_total counter\nc_total -1\n"),
    ("duplicate series", "# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"1\"} 2\n"),
    ("duplicate label", "# TYPE g gauge\ng{a=\"1\",a=\"2\"} 1\n"),
    ("bad escape", "# TYPE g gauge\ng{a=\"\\t\"} 1\n"),
    ("unterminated value", "# TYPE g gauge\ng{a=\"1} 1\n"),
    ("bad label name", "# TYPE g gauge\ng{1a=\"1\"} 1\n"),
    ("reserved label name", "# TYPE g gauge\ng{__a=\"1\"} 1\n"),
    ("bad metric name", "# TYPE 1g gauge\n"),
    ("not a number", "# TYPE g gauge\ng one\n"),
    ("missing value", "# TYPE g gauge\ng\n"),
    ("families interleaved", "# TYPE g gauge\n# TYPE k gauge\ng{a=\"1\"} 1\nk 1\ng{a=\"2\"} 1\n"),
    ("no final newline", "# TYPE g gauge\ng 1"),
    ("histogram without +Inf", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"),
    ("+Inf != _count", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"),
    ("buckets not cumulative",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"2\"} 2\nh_bucket{le=\"+Inf\"} 3\n"
     "h_sum 1\nh_count 3\n"),
    ("le not increasing",
     "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
     "h_sum 1\nh_count 1\n"),
    ("histogram without _sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"),
    ("stray sample in a gauge family", "# TYPE g gauge\ng_count 1\n"),
]


def main():
    n = 0
    exp = promtext.parse(GOOD)
    checks = [
        (exp.value("a_total", x="1", y='q"uote\\back\nline') == 3, "escaped label values decoded"),
        (exp.value("g") == -1500, "a float gauge"),
        (exp.value("h_seconds_count", c="a") == 4 and exp.type("h_seconds") == "histogram",
         "a histogram"),
        (exp.total("a_total") == 3 and exp.value("a_total", x="3") is None, "totals and absence"),
    ]
    for ok, what in checks:
        n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
    failed = sum(1 for ok, _ in checks if not ok)
    for what, text in BAD:
        n += 1
        try:
            promtext.parse(text)
            print("not ok %d - refused: %s (it was accepted)" % (n, what))
            failed += 1
        except promtext.Error as e:
            print("ok %d - refused: %s (%s)" % (n, what, e))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
