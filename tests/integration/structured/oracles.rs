//! The Python oracles: a strict JSON reader, a go-logfmt tokenizer, the PyPI `logfmt` package.

// ------------------------------------------------------------------------------------------
// The Python oracles
// ------------------------------------------------------------------------------------------

/// The end of every Python script here: the lines of a file as statbuf cuts them, and the
/// call of the script's `main`.
pub(super) const PYTHON_TAIL: &str = r#"

def lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    if data.endswith(b"\n"):
        data = data[:-1]
    return [l[:-1] if l.endswith(b"\r") else l for l in data.split(b"\n")]


main()
"#;

/// A strict JSON reader over Python's `json` module: see its docstring.
pub(super) const JSON_ORACLE: &str = r##"r"""Per line of a JSON-lines file, what each member path gives, read with Python's json module.

Usage: python3 json_oracle.py FILE PATH...   where each PATH is a JSON array of member names.
Prints one line per input line, one field per path, separated by spaces:
  F/<notes>/<hex of the value's UTF-8 bytes>   the value, as jq -r -c prints it
  M/<notes>/                                   missing: absent, null, or past a non-object
  N/<notes>/                                   not one JSON object
A line is one JSON object (RFC 8259: no NaN or Infinity, no control character in a string)
nested at most 255 deep. The value is read as src/structured/json.rs documents it: numbers as
written, objects keeping repeated names, unpaired surrogates as U+FFFD, and not JSON when it
holds bytes that are not UTF-8. The notes (comma-separated, `-` for none) name where jq 1.6 is
documented to differ: `number` (a number jq may write otherwise), `dup` (an object in the value
repeats a name), `high` (a lone high surrogate, which jq refuses), `utf8` (bytes not UTF-8 in
the value, which jq prints as U+FFFD), `marked` (the fixture's id says jq-differs).
"""
import codecs
import json
import re
import sys

# Bytes that are not UTF-8 are read as characters of plane 16's private use area, so that the
# oracle sees where they were (no line of the corpus holds such characters otherwise).
BAD_BYTE = 0x10FF00


def bad_bytes(err):
    return "".join(chr(BAD_BYTE + b) for b in err.object[err.start:err.end]), err.end


codecs.register_error("bad-bytes", bad_bytes)


class Num(str):
    """A number, as the line writes it."""


class Obj(list):
    """An object's members in order, repeated names kept."""


def constant(name):
    raise ValueError("not JSON: " + name)


DECODER = json.JSONDecoder(
    object_pairs_hook=Obj, parse_int=Num, parse_float=Num, parse_constant=constant, strict=True
)
MAX_DEPTH = 255
# Integers jq 1.6 prints as written.
PLAIN_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,14})")
SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def depth(value):
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, Obj):
            deepest = max(deepest, d)
            todo.extend((m, d + 1) for _, m in v)
        elif isinstance(v, list):
            deepest = max(deepest, d)
            todo.extend((m, d + 1) for m in v)
    return deepest


class Render:
    """The text of a value as jq -r -c prints it, and the notes it earns."""

    def __init__(self):
        self.notes = set()

    def text(self, s):
        out = []
        for c in s:
            o = ord(c)
            if o >= BAD_BYTE:
                self.notes.add("utf8")
            if 0xD800 <= o <= 0xDBFF:
                self.notes.add("high")
            out.append("\ufffd" if 0xD800 <= o <= 0xDFFF else c)
        return "".join(out)

    def quoted(self, s):
        out = ['"']
        for c in self.text(s):
            if c in SHORT:
                out.append(SHORT[c])
            elif ord(c) < 0x20 or ord(c) == 0x7F:
                out.append("\\u%04x" % ord(c))
            else:
                out.append(c)
        out.append('"')
        return "".join(out)

    def compact(self, v):
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, Num):
            if not PLAIN_INTEGER.fullmatch(v):
                self.notes.add("number")
            return str(v)
        if isinstance(v, str):
            return self.quoted(v)
        if isinstance(v, Obj):
            names = [n for n, _ in v]
            if len(set(names)) != len(names):
                self.notes.add("dup")
            return "{" + ",".join(self.quoted(n) + ":" + self.compact(m) for n, m in v) + "}"
        return "[" + ",".join(self.compact(m) for m in v) + "]"

    def raw(self, v):
        if isinstance(v, str) and not isinstance(v, Num):
            return self.text(v)
        return self.compact(v)


def has_high_surrogate(value):
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, Obj):
            todo.extend(n for n, _ in v)
            todo.extend(m for _, m in v)
        elif isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, str) and not isinstance(v, Num):
            if any(0xD800 <= ord(c) <= 0xDBFF for c in v):
                return True
    return False


def lookup(doc, members):
    """The value the members lead to from doc (the last of repeated names), or None."""
    v = doc
    for name in members:
        if not isinstance(v, Obj):
            return None
        found = [m for n, m in v if n == name]
        if not found:
            return None
        v = found[-1]
    return v


def main():
    paths = [json.loads(p) for p in sys.argv[2:]]
    for line in lines(sys.argv[1]):
        marked = b"jq-differs:" in line
        try:
            doc = DECODER.decode(line.decode("utf-8", "bad-bytes"))
            if not isinstance(doc, Obj) or depth(doc) > MAX_DEPTH:
                doc = None
        except (ValueError, RecursionError):
            doc = None
        # jq refuses a line with a lone high surrogate anywhere, value or not.
        high = doc is not None and has_high_surrogate(doc)
        fields = []
        for members in paths:
            r = Render()
            if marked:
                r.notes.add("marked")
            if high:
                r.notes.add("high")
            status, value = "N", b""
            if doc is not None:
                v = lookup(doc, members)
                if v is None:
                    status = "M"
                else:
                    text = r.raw(v)
                    if "utf8" not in r.notes:
                        status, value = "F", text.encode("utf-8")
            notes = ",".join(sorted(r.notes)) or "-"
            fields.append("%s/%s/%s" % (status, notes, value.hex()))
        sys.stdout.write(" ".join(fields) + "\n")
"##;

/// A logfmt tokenizer written from go-logfmt's rules as `LogfmtScanner` states them.
pub(super) const LOGFMT_ORACLE: &str = r##"r"""Per line of a logfmt file, the value of each key, by go-logfmt's rules.

Usage: python3 logfmt_oracle.py FILE KEY...
Prints one line per input line, one field per key, separated by spaces:
  F/<kinds>/<hex of the value>   the key's value (the last one, when it repeats)
  M/<kinds>/                     the key is absent, or the line is malformed
where kinds says how the line's pairs are written (bare, empty, plain, quoted, escaped), or is
`malformed` where go-logfmt stops with a syntax error, or `none` for a line with no pair.

The rules: pairs are separated by runs of bytes up to the space; a key is a run of other bytes
without `=` or `"`, UTF-8 without U+FFFD; `key` alone and `key=` have an empty value; `key=value`
runs to the next blank and holds no `=` or `"`; `key="..."` ends at the first quote no backslash
takes, and may be followed at once by the next key. Without a backslash the quoted bytes are the
value as they are; with one they are decoded as Go's encoding/json decodes a string: the short
escapes (and \'), \uXXXX with surrogate pairs and U+FFFD for an unpaired surrogate, any control
character refused, and every byte of a sequence that is not UTF-8 one U+FFFD.
"""
import codecs
import re
import sys

BLANKS = re.compile(rb"[\x00-\x20]*")
KEY = re.compile(rb'[^\x00-\x20="]+')
PLAIN = re.compile(rb"[^\x00-\x20]*")
QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.S)
SHORT = {b'"': '"', b"\\": "\\", b"/": "/", b"'": "'", b"b": "\b", b"f": "\f", b"n": "\n", b"r": "\r", b"t": "\t"}
HEX4 = re.compile(rb"\\u([0-9a-fA-F]{4})")


def per_byte(err):
    return "\ufffd" * (err.end - err.start), err.end


codecs.register_error("per-byte", per_byte)


class Malformed(Exception):
    pass


def unquote(body):
    out, at = [], 0
    while at < len(body):
        c = body[at : at + 1]
        if c == b"\\":
            e = body[at + 1 : at + 2]
            if e in SHORT:
                out.append(SHORT[e])
                at += 2
                continue
            m = HEX4.match(body, at)
            if not m:
                raise Malformed("bad escape")
            unit, at = int(m.group(1), 16), m.end()
            if 0xD800 <= unit <= 0xDBFF:
                low = HEX4.match(body, at)
                if low and 0xDC00 <= int(low.group(1), 16) <= 0xDFFF:
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
                    at = low.end()
                else:
                    unit = 0xFFFD
            elif 0xDC00 <= unit <= 0xDFFF:
                unit = 0xFFFD
            out.append(chr(unit))
        elif c[0] < 0x20 or c == b'"':
            raise Malformed("a control character")
        else:
            end = at + 1
            while end < len(body) and body[end] >= 0x20 and body[end] not in b'"\\':
                end += 1
            out.append(body[at:end].decode("utf-8", "per-byte"))
            at = end
    return "".join(out).encode("utf-8")


def pairs(line):
    out, at = [], BLANKS.match(line).end()
    while at < len(line):
        key = KEY.match(line, at)
        if not key:
            raise Malformed("no key")
        name, at = key.group(), key.end()
        try:
            if "\ufffd" in name.decode("utf-8"):
                raise Malformed("U+FFFD in a key")
        except UnicodeDecodeError:
            raise Malformed("a key that is not UTF-8")
        after = line[at : at + 1]
        if after == b'"':
            raise Malformed("a quote in a key")
        if after != b"=":
            out.append((name, b"", "bare"))
        elif line[at + 1 : at + 2] == b'"':
            q = QUOTED.match(line, at + 1)
            if not q:
                raise Malformed("a quote not closed")
            body, at = q.group(1), q.end()
            if b"\\" in body:
                out.append((name, unquote(body), "escaped"))
            else:
                out.append((name, body, "quoted"))
        else:
            v = PLAIN.match(line, at + 1)
            value, at = v.group(), v.end()
            if b"=" in value or b'"' in value:
                raise Malformed("= or a quote in a value")
            out.append((name, value, "plain" if value else "empty"))
        at = BLANKS.match(line, at).end()
    return out


def main():
    keys = [k.encode() for k in sys.argv[2:]]
    for line in lines(sys.argv[1]):
        try:
            found = pairs(line)
            kinds = ",".join(sorted({k for _, _, k in found})) or "none"
        except Malformed:
            found, kinds = [], "malformed"
        fields = []
        for key in keys:
            values = [v for k, v, _ in found if k == key]
            if values:
                fields.append("F/%s/%s" % (kinds, values[-1].hex()))
            else:
                fields.append("M/%s/" % kinds)
        sys.stdout.write(" ".join(fields) + "\n")
"##;

/// The PyPI `logfmt` package's reading, in the same output shape.
pub(super) const PYPI_LOGFMT: &str = r##"r"""Per line, each key's value as the PyPI logfmt package's parse_line reads it."""
import sys

import logfmt


def main():
    keys = sys.argv[2:]
    for line in lines(sys.argv[1]):
        pairs = logfmt.parse_line(line.decode("ascii"))
        fields = []
        for key in keys:
            value = pairs.get(key)
            if value is None:
                fields.append("M/-/")
            else:
                fields.append("F/-/%s" % ("" if value is True else value).encode().hex())
        sys.stdout.write(" ".join(fields) + "\n")
"##;
