"""Identity figures: validating a document, registering (seal + blind index + log), the
publishing gate, disclosure reveal, and rewrapping every data key in a rotation.

Registration runs through the service layer on a SQLite file, one transaction each, as the
API does; the figures set what a sign-up burst costs. ``BENCH_IDENTITIES`` sets how many
identities the rotation rewraps (default 20,000).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.foundation import summary, timed
from trustdesk.compliance import service as compliance
from trustdesk.crypto.blindindex import BlindIndex
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.identity import service as identity
from trustdesk.identity import vault as vaults
from trustdesk.identity.documents import cn_ric
from trustdesk.identity.vault import Vault
from trustdesk.identity.vocabulary import IdentityKind
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType


def synthetic(n: int) -> str:
    body = f"110101{1950 + n % 60:04d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + cn_ric.calc_check_digit(body)


def run() -> dict[str, object]:
    count = int(os.environ.get("BENCH_IDENTITIES", "20000"))
    figures: dict[str, object] = {"identities": count}
    figures["validate_cn_ric"] = summary(timed(lambda: cn_ric.validate(synthetic(7)), 2000))
    registry = load_registry()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        database = Database.from_url(f"sqlite:///{root / 'bench.db'}")
        migrate.upgrade(database.engine)
        keyring = LocalKeyRing.open(root / "keyring.json", development=True)
        vault = Vault(keyring, BlindIndex.open(root / "blind.key"))
        with database.session() as session:
            service_id = compliance.create_service(
                session,
                registry,
                name="Bench",
                types=[ServiceType.ONLINE_CHAT],
                packs=["cn-xj-2014"],
            ).service.id
            packs = compliance.packs_for(session, registry, service_id)
            samples: list[float] = []
            for n in range(count):
                # distinct numbers: the sequence cycles with n, the county changes per 1000
                body = f"{110101 + (n // 1000) % 8:06d}" + synthetic(n)[6:17]
                attempt = identity.Registration(
                    f"acct-{n}",
                    IdentityKind.INDIVIDUAL,
                    "Bench Person",
                    "cn.ric",
                    body + cn_ric.calc_check_digit(body),
                )
                start = time.perf_counter()
                identity.register(session, vault, packs, service_id, attempt)
                samples.append(time.perf_counter() - start)
            figures["register"] = summary(samples)
            figures["publish_gate"] = summary(
                timed(lambda: identity.may_publish(session, service_id, packs, "acct-5"), 2000)
            )
            keyring.rotate()
            start = time.perf_counter()
            moved = vaults.rewrap(session, keyring)
            elapsed = time.perf_counter() - start
            figures["rotation_rewrap"] = {
                "rewrapped": moved,
                "seconds": round(elapsed, 2),
                "per_second": round(moved / elapsed, 1),
            }
        figures["db_bytes_per_identity"] = round((root / "bench.db").stat().st_size / count, 1)
        database.dispose()
    return figures
