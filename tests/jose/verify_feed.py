"""Verifies every event on a running penex's feed with an independent JOSE library (joserfc),
against the JWKS penex publishes: the header's alg must be the key's, the signature must verify
over the bytes as delivered, and the payload must name the event's own id and sequence number.

Run by .ci/schemathesis against the server it seeded:
    python verify_feed.py PKI_DIR PORT
Exits non-zero, naming the event, on the first event that does not verify.
"""
import json
import ssl
import sys
import urllib.request

from joserfc import jws
from joserfc.jwk import KeySet

pki, port = sys.argv[1], sys.argv[2]
base = f"https://localhost:{port}"
ctx = ssl.create_default_context(cafile=f"{pki}/exchange-ca.crt")
ctx.load_cert_chain(f"{pki}/clients/integrator.crt", f"{pki}/clients/integrator.key")


def get(path, context=None):
    with urllib.request.urlopen(base + path, context=context or ctx) as r:
        assert r.status == 200, (path, r.status)
        return json.load(r)


jwks = get("/.well-known/jwks.json")
keys = KeySet.import_key_set(jwks)
algs = {k["kid"]: k["alg"] for k in jwks["keys"]}
assert all(a in ("Ed25519", "EdDSA") for a in algs.values()), algs

verified, after = 0, 0
while True:
    page = get(f"/v1/events?after={after}&limit=1000")
    for e in page["events"]:
        header = jws.extract_compact(e["jws"].encode()).protected
        kid = header.get("kid")
        if header.get("alg") != algs.get(kid):
            sys.exit(f"event {e['seq']}: header alg {header.get('alg')} is not key {kid}'s {algs.get(kid)}")
        try:
            obj = jws.deserialize_compact(e["jws"], keys, algorithms=[algs[kid]])
        except Exception as err:  # joserfc raises several error types
            sys.exit(f"event {e['seq']} ({e['id']}) does not verify with joserfc: {err!r}")
        payload = json.loads(obj.payload)
        if payload.get("id") != e["id"] or payload.get("seq") != e["seq"]:
            sys.exit(f"event {e['seq']}: the signed payload names {payload.get('id')}/{payload.get('seq')}")
        verified += 1
    if page["next_after"] == after:
        break
    after = page["next_after"]

if verified == 0:
    sys.exit("the feed held no event to verify")
print(f"joserfc verified {verified} events against {len(algs)} key(s): {sorted(set(algs.values()))}")
