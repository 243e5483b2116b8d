#!/usr/bin/env python3
"""Independent verifier for fusion ledgers, checkpoints and proof bundles.

Written from the README's description alone ("Ledger format", "Merkle tree,
checkpoints and proofs"), with the Python 3 standard library only, so that a
bug in fusion's Rust code is not silently shared by its verifier.

    verify_ledger.py LEDGER [--checkpoint CP] [--key PUB]
    verify_ledger.py --proof BUNDLE --checkpoint CP [--key PUB]

Prints `ok: ...` and exits 0, or prints `error: ...` and exits 1.
"""

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys

GENESIS_PREV = "0" * 64
MAX_SAFE_INTEGER = 2 ** 53 - 1
# Used with fullmatch: `$` would also match before a final newline.
RFC3339_UTC = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)
MEMBERS = ("v", "seq", "recorded", "event", "prev", "hash")


class Invalid(Exception):
    """Something does not verify."""


# --- JCS (RFC 8785) for the JSON the ledger holds (no floats) -------------

def _jcs_string(s):
    # json.dumps with ensure_ascii=False escapes exactly `"`, `\`, and the
    # control characters U+0000..U+001F (\b \f \n \r \t short forms, the
    # others as \u00xx in lowercase hex), which is what JCS asks for.
    return json.dumps(s, ensure_ascii=False)


def jcs(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise Invalid("the integer %d is outside +-(2^53-1)" % value)
        return str(value)
    if isinstance(value, float):
        raise Invalid("a float in the ledger (fusion writes integers only)")
    if isinstance(value, str):
        return _jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(_jcs_string(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise Invalid("unexpected JSON value %r" % (value,))


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Invalid("duplicate member `%s`" % k)
        d[k] = v
    return d


def load_json(text):
    return json.loads(text, object_pairs_hook=_no_duplicates)


# --- records and the chain ------------------------------------------------

def is_hex_hash(h):
    return isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h)


def check_record(rec, where):
    if not isinstance(rec, dict):
        raise Invalid("%s: a record must be a JSON object" % where)
    if set(rec) != set(MEMBERS):
        raise Invalid("%s: members must be exactly %s, found %s" % (where, ", ".join(MEMBERS), ", ".join(rec)))
    if rec["v"] != 1 or isinstance(rec["v"], bool):
        raise Invalid("%s: format version `%s` is not 1" % (where, rec["v"]))
    if not isinstance(rec["seq"], int) or isinstance(rec["seq"], bool) or rec["seq"] < 1:
        raise Invalid("%s: `seq` must be a positive integer" % where)
    if not isinstance(rec["recorded"], str) or not RFC3339_UTC.fullmatch(rec["recorded"]):
        raise Invalid("%s: `recorded` must be YYYY-MM-DDTHH:MM:SS, an optional fraction of 1 to 9 digits, then Z" % where)
    if not isinstance(rec["event"], dict):
        raise Invalid("%s: `event` must be an object" % where)
    for m in ("prev", "hash"):
        if not is_hex_hash(rec[m]):
            raise Invalid("%s: `%s` is not 64 lowercase hex digits" % (where, m))
    body = {k: rec[k] for k in MEMBERS if k != "hash"}
    computed = hashlib.sha256(jcs(body).encode("utf-8")).hexdigest()
    if computed != rec["hash"]:
        raise Invalid("%s: hash mismatch: stored %s, content hashes to %s (tampered record)"
                      % (where, rec["hash"], computed))


def instant(recorded):
    """`recorded` (already matched by RFC3339_UTC) as a tuple that orders
    as the instants do, to the nanosecond, or None if it names no time.
    Year 0000 and second 60 (a leap second, at any minute) are valid, as
    in RFC 3339's grammar, so Python's datetime (years 1-9999, no second
    60, microseconds) is not used."""
    y, mo, d, h, mi, s, frac = RFC3339_UTC.fullmatch(recorded).groups()
    y, mo, d, h, mi, s = int(y), int(mo), int(d), int(h), int(mi), int(s)
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12 and 1 <= d <= days[mo - 1] and h <= 23 and mi <= 59 and s <= 60):
        return None
    return (y, mo, d, h, mi, s, int((frac or "").ljust(9, "0")))


def check_chain(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        raise Invalid("%s: starts with a byte-order mark" % path)
    hashes = []
    prev = GENESIS_PREV
    last_time = None
    for n, raw in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        where = "line %d" % n
        if raw.endswith(b"\r"):
            raise Invalid("%s: ends in CR LF; ledger lines end in LF alone" % where)
        try:
            rec = load_json(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Invalid("%s: not a JSON record: %s" % (where, e))
        check_record(rec, where)
        time = instant(rec["recorded"])
        if time is None:
            raise Invalid("%s: `recorded` `%s` is not a valid time" % (where, rec["recorded"]))
        if last_time is not None and time < last_time:
            raise Invalid("%s: `recorded` goes back in time (%s after %s)" % (where, rec["recorded"], prev_time))
        last_time, prev_time = time, rec["recorded"]
        if rec["seq"] != n:
            raise Invalid("%s: seq is %d, expected %d" % (where, rec["seq"], n))
        if rec["prev"] != prev:
            raise Invalid("%s: prev is %s, the previous record's hash is %s (broken link)" % (where, rec["prev"], prev))
        prev = rec["hash"]
        hashes.append(rec["hash"])
    # Found once the lines before it are checked, as fusion verify does.
    if data and not data.endswith(b"\n"):
        raise Invalid("%s: the last line has no newline (interrupted append?)" % path)
    return hashes


# --- Merkle tree (RFC 9162 section 2.1) -----------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """Root over leaf hashes, by the recursive definition (iteratively)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    # Complete subtrees, largest first, then fold from the right.
    stack = []  # (size, hash)
    for leaf in leaves:
        size, h = 1, leaf
        while stack and stack[-1][0] == size:
            s, left = stack.pop()
            size, h = s + size, node_hash(left, h)
        stack.append((size, h))
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root


def root_from_inclusion(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise Invalid("leaf index %d is outside a tree of size %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Invalid("the inclusion proof is too long (forged proof)")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("the inclusion proof is too short (forged proof)")
    return r


def verify_consistency(old, new, old_root, new_root, proof):
    """RFC 9162 section 2.1.4.2, plus the sizes that need no proof."""
    if old > new:
        raise Invalid("old size %d is larger than new size %d" % (old, new))
    if old == 0 or old == new:
        if proof:
            raise Invalid("the consistency proof must be empty for sizes %d -> %d" % (old, new))
        if old == 0 and old_root != hashlib.sha256(b"").digest():
            raise Invalid("a tree of size 0 must have the empty root")
        if old == new and old_root != new_root:
            raise Invalid("two trees of size %d with different roots (a fork)" % old)
        return
    if not proof:
        raise Invalid("empty consistency proof")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Invalid("the consistency proof is too long (forged proof)")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise Invalid("the consistency proof does not verify: the old tree is not a prefix of the new one (forged proof or rewritten log)")


# --- Ed25519 verification (RFC 8032), pure Python --------------------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _decompress(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            return None
        return (0, y, 1, 0)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = _decompress(_GY.to_bytes(32, "little"))


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


# --- checkpoints, signed notes and keys -----------------------------------

def b64decode(text):
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise Invalid("`%s` is not base64" % text[:80])
    if base64.b64encode(raw).decode("ascii") != text:
        raise Invalid("`%s` is not canonical base64" % text[:80])
    return raw


def parse_public_key(text):
    text = text.strip()
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Invalid("public key `%s`: expected <name>+<key id>+<base64 key>" % text[:80])
    name, key_id, key64 = parts
    blob = b64decode(key64)
    if len(blob) != 33 or blob[0] != 1:
        raise Invalid("public key `%s`: not an Ed25519 (type 0x01) key" % text[:80])
    expected = hashlib.sha256(name.encode("utf-8") + b"\n" + blob).digest()[:4].hex()
    if key_id != expected:
        raise Invalid("public key `%s`: key id does not match the key" % text[:80])
    return name, bytes.fromhex(key_id), blob[1:]


def parse_checkpoint(note):
    """Returns (origin, size, root bytes, text, [(name, key id bytes, sig)])."""
    if not note.endswith("\n"):
        raise Invalid("checkpoint: the note must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Invalid("checkpoint: a control character other than newline")
    cut = note.rfind("\n\n")
    if cut >= 0:
        text, sig_block = note[:cut + 1], note[cut + 2:]
        if not sig_block:
            raise Invalid("checkpoint: a blank line with no signature after it")
    else:
        text, sig_block = note, ""
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise Invalid("checkpoint: needs origin, size and root lines")
    origin, size_text, root64 = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or not size_text.isascii() or (len(size_text) > 1 and size_text[0] == "0"):
        raise Invalid("checkpoint: size `%s` is not a decimal number" % size_text)
    root = b64decode(root64)
    if len(root) != 32:
        raise Invalid("checkpoint: the root is not 32 bytes")
    sigs = []
    for line in sig_block.split("\n")[:-1]:
        if not line.startswith("\u2014 "):
            raise Invalid("checkpoint: signature line `%s` does not start with an em dash" % line[:80])
        name, _, blob64 = line[2:].partition(" ")
        blob = b64decode(blob64)
        if len(blob) < 5:
            raise Invalid("checkpoint: signature too short")
        sigs.append((name, blob[:4], blob[4:]))
    return origin, int(size_text), root, text, sigs


def check_signature(checkpoint, key_text):
    name, key_id, public = parse_public_key(key_text)
    _, _, _, text, sigs = checkpoint
    # Only the first signature by the key counts, as Go's note.Open drops
    # later ones.
    matching = [s for s in sigs if s[0] == name and s[1] == key_id][:1]
    if not matching:
        raise Invalid("checkpoint is not signed by key `%s+%s` (wrong key?)" % (name, key_id.hex()))
    for _, _, sig in matching:
        if not ed25519_verify(public, text.encode("utf-8"), sig):
            raise Invalid("the signature by `%s` does not verify (altered checkpoint or forged signature)" % name)
    return name


# --- bundles ----------------------------------------------------------------

def parse_hashes(items):
    if not isinstance(items, list) or len(items) > 64:
        raise Invalid("bundle: `hashes` must be a list of at most 64 hashes")
    for h in items:
        if not is_hex_hash(h):
            raise Invalid("bundle: `%s` is not 64 lowercase hex digits" % str(h)[:80])
    return [bytes.fromhex(h) for h in items]


def same_head(a, b):
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2]


def check_bundle(bundle, trusted, key_text):
    if not isinstance(bundle, dict):
        raise Invalid("bundle: not a JSON object")
    kind = bundle.get("type")
    if bundle.get("v") != 1:
        raise Invalid("bundle: version must be 1")
    if kind == "inclusion":
        rec = bundle.get("record")
        check_record(rec, "bundle record")
        seq, index, size = bundle.get("seq"), bundle.get("leaf_index"), bundle.get("tree_size")
        if rec["seq"] != seq or index != seq - 1:
            raise Invalid("bundle: seq / leaf_index do not match the record")
        embedded = parse_checkpoint(bundle.get("checkpoint", ""))
        if not same_head(embedded, trusted) or size != trusted[1]:
            raise Invalid("bundle: its checkpoint is not the trusted checkpoint")
        leaf = leaf_hash(bytes.fromhex(rec["hash"]))
        root = root_from_inclusion(index, size, leaf, parse_hashes(bundle.get("hashes")))
        if root != trusted[2]:
            raise Invalid("the inclusion proof does not lead to the checkpoint's root (forged proof or altered record)")
        return "record %d (hash %s) is in `%s` at size %d" % (seq, rec["hash"], trusted[0], size)
    if kind == "consistency":
        old = parse_checkpoint(bundle.get("old_checkpoint", ""))
        new = parse_checkpoint(bundle.get("new_checkpoint", ""))
        if old[1] != bundle.get("old_size") or new[1] != bundle.get("new_size"):
            raise Invalid("bundle: sizes do not match its checkpoints")
        if old[0] != new[0]:
            raise Invalid("bundle: the two checkpoints have different origins")
        if not (same_head(old, trusted) or same_head(new, trusted)):
            raise Invalid("bundle: the trusted checkpoint is neither end of the proof")
        if key_text is not None:
            check_signature(old, key_text)
            check_signature(new, key_text)
        verify_consistency(old[1], new[1], old[2], new[2], parse_hashes(bundle.get("hashes")))
        return "size %d is a prefix of size %d in `%s`" % (old[1], new[1], old[0])
    raise Invalid("bundle: unknown type `%s`" % kind)


def read_text(path):
    with open(path, "r", encoding="utf-8", newline="") as f:
        return f.read()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ledger", nargs="?", help="ledger file (JSON Lines)")
    ap.add_argument("--checkpoint", help="a checkpoint note file")
    ap.add_argument("--key", help="a public key file (<name>+<id>+<base64>)")
    ap.add_argument("--proof", help="a proof bundle (JSON) to check against --checkpoint")
    args = ap.parse_args(argv)
    try:
        checkpoint = parse_checkpoint(read_text(args.checkpoint)) if args.checkpoint else None
        key_text = read_text(args.key) if args.key else None
        signed = ""
        if checkpoint is not None and key_text is not None:
            signed = ", signed by `%s`" % check_signature(checkpoint, key_text)
        if args.proof:
            if checkpoint is None:
                raise Invalid("--proof needs --checkpoint (the checkpoint you trust)")
            bundle = load_json(read_text(args.proof))
            print("ok: " + check_bundle(bundle, checkpoint, key_text) + signed)
            return 0
        if not args.ledger:
            raise Invalid("give a LEDGER, or --proof BUNDLE --checkpoint CP")
        hashes = check_chain(args.ledger)
        msg = "ok: %d records, head %s" % (len(hashes), hashes[-1] if hashes else GENESIS_PREV)
        if checkpoint is not None:
            origin, size, root, _, _ = checkpoint
            if size > len(hashes):
                raise Invalid("checkpoint covers %d records but the ledger has %d" % (size, len(hashes)))
            computed = mth([leaf_hash(bytes.fromhex(h)) for h in hashes[:size]])
            if computed != root:
                raise Invalid("the first %d records have root %s, the checkpoint says %s (rewritten ledger or another ledger)"
                              % (size, computed.hex(), root.hex()))
            msg += "; extends checkpoint `%s` at size %d%s" % (origin, size, signed)
        print(msg)
        return 0
    except (Invalid, OSError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
