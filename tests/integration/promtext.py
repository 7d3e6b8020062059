#!/usr/bin/env python3
"""A strict parser of the Prometheus text exposition format (0.0.4).

Stricter than Prometheus itself where smppd's conventions say so: every
family has a # TYPE line before its first sample, a family's samples are
contiguous, no series appears twice, counters are named *_total,
histograms have cumulative buckets in increasing `le` order ending in
+Inf, equal to _count, with _sum and _count for every label set.

    exp = promtext.parse(text)          # raises promtext.Error("line N: ...")
    exp.value("smppd_x_total", carrier="sim")   # None when absent
    exp.total("smppd_x_total", carrier="sim")   # sum over the other labels

As a program: reads stdin, prints the number of families and series, exit
status 1 with the first error.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class Error(Exception):
    pass


class Family:
    def __init__(self, name, line):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []      # (sample name, {labels}, value)
        self.first_line = line


def _float(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        raise Error("%s: %r is not a number" % (where, text))
    return float(text)


def _labels(text, i, where):
    """Parses {a="b",...} from text[i] == '{'; returns (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(text) and text[i] == "}":
            return labels, i + 1
        m = LABEL.match(text, i)
        if not m:
            raise Error("%s: bad label name at column %d" % (where, i + 1))
        key = m.group(0)
        if key.startswith("__"):
            raise Error("%s: label name %r is reserved" % (where, key))
        i = m.end()
        if text[i:i + 2] != '="':
            raise Error("%s: expected =\" after label %r" % (where, key))
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise Error("%s: unterminated value of label %r" % (where, key))
            ch = text[i]
            if ch == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ('\\', '"', "n"):
                    raise Error("%s: bad escape \\%s in label %r" % (where, nxt, key))
                value.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            if ch == '"':
                i += 1
                break
            if ch == "\n":
                raise Error("%s: raw newline in label %r" % (where, key))
            value.append(ch)
            i += 1
        if key in labels:
            raise Error("%s: label %r twice" % (where, key))
        labels[key] = "".join(value)
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == "}":
            return labels, i + 1
        raise Error("%s: expected , or } after label %r" % (where, key))


def _family_of(sample, families, current):
    """The family a sample name belongs to: its own, or a histogram's."""
    if sample in families:
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix):
            base = sample[:-len(suffix)]
            if base in families and families[base].type in ("histogram", "summary"):
                return base
    return None


class Exposition:
    def __init__(self, families):
        self.families = families

    def series(self, name):
        fam = _family_of(name, self.families, None)
        if fam is None:
            return []
        return [(l, v) for n, l, v in self.families[fam].samples if n == name]

    def value(self, name, **labels):
        want = {k: str(v) for k, v in labels.items()}
        for l, v in self.series(name):
            if l == want:
                return v
        return None

    def total(self, name, **labels):
        want = {k: str(v) for k, v in labels.items()}
        return sum(v for l, v in self.series(name) if all(l.get(k) == x for k, x in want.items()))

    def type(self, name):
        f = self.families.get(name)
        return f.type if f else None


def _check_histogram(f):
    groups = {}
    for n, labels, v in f.samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if n == f.name + "_bucket":
            if "le" not in labels:
                raise Error("histogram %s: a bucket without le %r" % (f.name, labels))
            g["buckets"].append((_float(labels["le"], "histogram %s le" % f.name), v))
        elif n == f.name + "_sum":
            g["sum"] = v
        elif n == f.name + "_count":
            g["count"] = v
        else:
            raise Error("histogram %s: unexpected sample %s" % (f.name, n))
    for rest, g in groups.items():
        b = g["buckets"]
        where = "histogram %s%s" % (f.name, dict(rest))
        if not b or b[-1][0] != math.inf:
            raise Error("%s: last bucket is not le=\"+Inf\"" % where)
        for (le0, c0), (le1, c1) in zip(b, b[1:]):
            if not le1 > le0:
                raise Error("%s: le %s after %s: not increasing" % (where, le1, le0))
            if c1 < c0:
                raise Error("%s: bucket le=%s count %s below the previous %s" % (where, le1, c1, c0))
        if g["count"] is None or g["sum"] is None:
            raise Error("%s: _sum or _count missing" % where)
        if b[-1][1] != g["count"]:
            raise Error("%s: +Inf bucket %s != _count %s" % (where, b[-1][1], g["count"]))
        if any(c < 0 for _, c in b) or g["count"] < 0:
            raise Error("%s: negative count" % where)


def parse(text):
    if text and not text.endswith("\n"):
        raise Error("the exposition does not end with a newline")
    families = {}
    order = []          # families in the order their samples appeared
    seen = set()
    current = None
    for no, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = "line %d" % no
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise Error("%s: bad metric name %r" % (where, name))
                f = families.get(name)
                if f is None:
                    f = families[name] = Family(name, no)
                elif f.samples:
                    raise Error("%s: # %s %s after its samples" % (where, parts[1], name))
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise Error("%s: bad TYPE line %r" % (where, line))
                    if f.type is not None:
                        raise Error("%s: second TYPE for %s" % (where, name))
                    f.type = parts[3]
                    if f.type == "counter" and not name.endswith("_total"):
                        raise Error("%s: counter %s does not end in _total" % (where, name))
                else:
                    if f.help is not None:
                        raise Error("%s: second HELP for %s" % (where, name))
                    f.help = parts[3] if len(parts) == 4 else ""
            continue
        m = NAME.match(line)
        if not m:
            raise Error("%s: bad metric name in %r" % (where, line))
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _labels(line, i, where)
        if i >= len(line) or line[i] != " ":
            raise Error("%s: expected a space before the value" % where)
        fields = line[i + 1:].split(" ")
        if len(fields) not in (1, 2) or fields[0] == "":
            raise Error("%s: expected VALUE [TIMESTAMP], got %r" % (where, line[i + 1:]))
        value = _float(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise Error("%s: bad timestamp %r" % (where, fields[1]))
        fam = _family_of(name, families, current)
        if fam is None or families[fam].type is None:
            raise Error("%s: sample %s before a # TYPE line for it" % (where, name))
        f = families[fam]
        if f.type in ("counter", "gauge", "untyped") and name != fam:
            raise Error("%s: sample %s in %s family %s" % (where, name, f.type, fam))
        if current != fam:
            if fam in order:
                raise Error("%s: samples of %s are not together" % (where, fam))
            order.append(fam)
            current = fam
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise Error("%s: series %s%s appears twice" % (where, name, labels))
        seen.add(key)
        if f.type == "counter" and (value < 0 or math.isnan(value)):
            raise Error("%s: counter %s is %s" % (where, name, fields[0]))
        f.samples.append((name, labels, value))
    for f in families.values():
        if f.type == "histogram":
            _check_histogram(f)
    return Exposition(families)


def main():
    try:
        exp = parse(sys.stdin.read())
    except Error as e:
        print("promtext: %s" % e, file=sys.stderr)
        return 1
    n = sum(len(f.samples) for f in exp.families.values())
    print("%d families, %d series" % (len(exp.families), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
