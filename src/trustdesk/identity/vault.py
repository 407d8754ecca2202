"""The vault: seals identities, finds them by blind index, rotates and destroys their keys.

An identity is sealed as the canonical JSON of ``{kind, document_type, number, name}``
under a data key of its own (:mod:`trustdesk.crypto.envelope`), bound by the associated
data to its row, service and subject, so a ciphertext copied onto another row, or a row
given another subject, does not open. Only :mod:`trustdesk.identity.disclosure` opens one,
for an approved legal request.

``identities.seal_version`` says which binding a row was sealed with: 2 (row, service and
subject) for everything sealed now; 1 (row and service) for rows sealed before revision
0008, which still open until :func:`reseal` (run by ``trustdesk vault rotate`` and
``rewrap``) seals them again as 2. A version-2 ciphertext never opens as version 1, since
its associated data differs; so after a rotation and the old key's retirement, nothing of
the weaker binding is left to open.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.crypto.blindindex import BlindIndex
from trustdesk.crypto.envelope import DecryptionFailed, open_sealed, seal
from trustdesk.crypto.keyring import KeyRing, open_configured
from trustdesk.db import sealed as sealed_rows
from trustdesk.db.engine import transaction
from trustdesk.identity.models import Identity
from trustdesk.records import evidence
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.settings import Settings


@dataclass(frozen=True, slots=True)
class Plain:
    """A decrypted identity: only ever built for an approved disclosure."""

    kind: str
    document_type: str
    number: str = field(repr=False)
    name: str = field(repr=False)


SEAL_VERSION = 2
RESEAL_BATCH = 200


def associated_data(
    version: int, identity_id: uuid.UUID, service_id: uuid.UUID, subject: str
) -> bytes:
    """What a sealed identity of ``version`` is bound to (ids are 16 bytes, so the subject,
    last, needs no length)."""
    if version == 1:
        return b"trustdesk-identity-v1:" + identity_id.bytes + service_id.bytes
    if version == SEAL_VERSION:
        head = b"trustdesk-identity-v2:" + identity_id.bytes + service_id.bytes
        return head + subject.encode("utf-8")
    raise DecryptionFailed(f"identity {identity_id}: unknown seal version {version}")


def _aad(row: Identity, version: int) -> bytes:
    return associated_data(version, row.id, row.service_id, row.subject)


def _document(plain: Plain) -> bytes:
    return rfc8785.dumps(
        {
            "kind": plain.kind,
            "document_type": plain.document_type,
            "number": plain.number,
            "name": plain.name,
        }
    )


def _plain(data: bytes) -> Plain:
    document: Any = json.loads(data)
    return Plain(
        str(document["kind"]),
        str(document["document_type"]),
        str(document["number"]),
        str(document["name"]),
    )


@dataclass(frozen=True, slots=True)
class Vault:
    """The key ring that seals identities and the blind index that finds their numbers."""

    keyring: KeyRing
    index: BlindIndex

    def blind_index(self, service_id: uuid.UUID, document_type: str, number: str) -> bytes:
        return self.index.digest("identity-number", str(service_id), document_type, value=number)

    def seal(self, row: Identity, plain: Plain) -> None:
        """Seal ``plain`` into ``row``, bound to its id, service and subject (set first)."""
        _seal_row(self.keyring, row, plain)

    def open(self, row: Identity) -> Plain:
        """The plaintext of a sealed row; :class:`DecryptionFailed` if shredded or tampered,
        or if the row's id, service or subject is not the one it was sealed with."""
        return _open_row(self.keyring, row)


def _seal_row(keyring: KeyRing, row: Identity, plain: Plain) -> None:
    row.store(seal(_document(plain), keyring, aad=_aad(row, SEAL_VERSION)))
    row.seal_version = SEAL_VERSION


def _open_row(keyring: KeyRing, row: Identity) -> Plain:
    sealed = row.sealed()
    if sealed is None:
        raise DecryptionFailed(f"identity {row.id} holds no key (erased)")
    version = row.seal_version or SEAL_VERSION  # None: a row not flushed yet
    return _plain(open_sealed(sealed, keyring, aad=_aad(row, version)))


def open_vault(settings: Settings) -> Vault:
    """The vault configured by ``settings``: the local key ring and the blind-index key."""
    return Vault(
        open_configured(settings),
        BlindIndex.open(settings.blind_index_key_path),
    )


def key_usage(session: Session) -> dict[str, int]:
    """How many identities each key-encryption key wraps."""
    return sealed_rows.key_usage(session, Identity)


def rewrap(session: Session, keyring: KeyRing, progress: sealed_rows.Progress | None = None) -> int:
    """Move every identity's data key to the current KEK (see :func:`rewrap_table`)."""
    return sealed_rows.rewrap_table(session, Identity, keyring, progress)


def reseal(session: Session, keyring: KeyRing, progress: sealed_rows.Progress | None = None) -> int:
    """Seal every version-1 identity again as version 2 (bound to its subject too), under a
    new data key wrapped by the current KEK; returns how many.

    Works in short batches that lock their rows, so a running server goes on meanwhile. A
    row that does not open (tampered, or its KEK missing) is left as it is and stops the
    run with :class:`DecryptionFailed`, as a rewrap does.
    """
    done = 0
    while True:
        with transaction(session):
            batch = session.scalars(
                select(Identity)
                .where(Identity.seal_version == 1, Identity.kek_id.is_not(None))
                .order_by(Identity.id)
                .limit(RESEAL_BATCH)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).all()
            for row in batch:
                try:
                    plain = _open_row(keyring, row)
                except DecryptionFailed as exc:
                    msg = f"identity {row.id}: {exc}; later rows were not sealed again"
                    raise DecryptionFailed(msg) from exc
                _seal_row(keyring, row, plain)
            session.flush()
        if not batch:
            return done
        done += len(batch)
        if progress is not None:
            progress(len(batch))


def rewrap_all(
    session: Session,
    keyring: KeyRing,
    progress: sealed_rows.Progress,
    *,
    by: str,
    also: Sequence[sealed_rows.Rewrap] = (),
) -> tuple[int, int]:
    """Rewrap every data key of the vault, of the evidence and of the tables ``also`` names
    (those of slices above this one, such as webhook secrets) under the current KEK, then
    seal version-1 identities again (see :func:`reseal`), and log it; both counts."""
    count = rewrap(session, keyring, progress) + evidence.rewrap(session, keyring, progress)
    count += sum(rewrap_table(session, keyring, progress) for rewrap_table in also)
    resealed = reseal(session, keyring, progress)
    with transaction(session):
        records.append(
            session,
            EventType.IDENTITY_VAULT_REWRAPPED,
            service_id=None,
            data={
                "kek_id": keyring.current_id(),
                "rewrapped": count,
                "resealed": resealed,
                "by": by,
            },
        )
    return count, resealed


def weakly_sealed(session: Session) -> int:
    """How many identities are still sealed as version 1 (not bound to their subject)."""
    with transaction(session):
        return int(
            session.scalar(
                select(func.count())
                .select_from(Identity)
                .where(Identity.seal_version == 1, Identity.kek_id.is_not(None))
            )
            or 0
        )
