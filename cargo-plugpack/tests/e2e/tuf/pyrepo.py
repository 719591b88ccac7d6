"""Writes a TUF repository with python-tuf's Metadata API and plugpack's PEM keys.

usage: pyrepo.py OUT_DIR KEYS_DIR BUNDLE TARGET_NAME
Keys are KEYS_DIR/{root,targets,snapshot,timestamp}.key (PKCS#8 PEM from `keygen`).
Prints one `ROLE KEYID` line per role: the key ids python-tuf computes for our keys.
Metadata is written indented (python-tuf's default), not canonical.
"""

import os
import shutil
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    MetaFile,
    Metadata,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer


def main():
    out, keys, bundle, name = sys.argv[1:5]
    os.makedirs(os.path.join(out, "targets"), exist_ok=True)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
    roles = {
        "root": Metadata(Root(expires=expires)),
        "targets": Metadata(Targets(expires=expires)),
        "snapshot": Metadata(Snapshot(expires=expires)),
        "timestamp": Metadata(Timestamp(expires=expires)),
    }
    signers = {}
    for role in roles:
        with open(os.path.join(keys, role + ".key"), "rb") as f:
            signers[role] = CryptoSigner(load_pem_private_key(f.read(), None))
        roles["root"].signed.add_key(signers[role].public_key, role)
        print(role, signers[role].public_key.keyid)

    target = TargetFile.from_file(name, bundle, ["sha256", "sha512"])
    roles["targets"].signed.targets[name] = target
    sha256 = target.hashes["sha256"]
    shutil.copyfile(bundle, os.path.join(out, "targets", f"{sha256}.{name}"))
    roles["snapshot"].signed.meta["targets.json"] = MetaFile(
        version=roles["targets"].signed.version
    )
    roles["timestamp"].signed.snapshot_meta = MetaFile(
        version=roles["snapshot"].signed.version
    )
    for role, md in roles.items():
        md.sign(signers[role])
        if role == "timestamp":
            fname = "timestamp.json"
        else:
            fname = f"{md.signed.version}.{role}.json"
        md.to_file(os.path.join(out, fname), JSONSerializer(compact=False))


main()
