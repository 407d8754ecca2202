"""The vault: seals identities, finds them by blind index, rotates and destroys their keys.

An identity is sealed as the canonical JSON of ``{kind, document_type, number, name}``
under a data key of its own (:mod:`trustdesk.crypto.envelope`), bound by the associated
data to its row and service, so a ciphertext copied onto another row does not open.
Only :mod:`trustdesk.identity.disclosure` opens one, for an approved legal request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from sqlalchemy.orm import Session

from trustdesk.crypto.blindindex import BlindIndex
from trustdesk.crypto.envelope import DecryptionFailed, Sealed, open_sealed, seal
from trustdesk.crypto.keyring import KeyRing, open_configured
from trustdesk.db import sealed as sealed_rows
from trustdesk.identity.models import Identity
from trustdesk.settings import Settings


@dataclass(frozen=True, slots=True)
class Plain:
    """A decrypted identity: only ever built for an approved disclosure."""

    kind: str
    document_type: str
    number: str = field(repr=False)
    name: str = field(repr=False)


def _aad(identity_id: uuid.UUID, service_id: uuid.UUID) -> bytes:
    return b"trustdesk-identity-v1:" + identity_id.bytes + service_id.bytes


@dataclass(frozen=True, slots=True)
class Vault:
    """The key ring that seals identities and the blind index that finds their numbers."""

    keyring: KeyRing
    index: BlindIndex

    def blind_index(self, service_id: uuid.UUID, document_type: str, number: str) -> bytes:
        return self.index.digest("identity-number", str(service_id), document_type, value=number)

    def seal(self, identity_id: uuid.UUID, service_id: uuid.UUID, plain: Plain) -> Sealed:
        document = {
            "kind": plain.kind,
            "document_type": plain.document_type,
            "number": plain.number,
            "name": plain.name,
        }
        return seal(rfc8785.dumps(document), self.keyring, aad=_aad(identity_id, service_id))

    def open(self, row: Identity) -> Plain:
        """The plaintext of a sealed row; :class:`DecryptionFailed` if shredded or tampered."""
        sealed = row.sealed()
        if sealed is None:
            raise DecryptionFailed(f"identity {row.id} holds no key (erased)")
        document: Any = json.loads(
            open_sealed(sealed, self.keyring, aad=_aad(row.id, row.service_id))
        )
        return Plain(
            str(document["kind"]),
            str(document["document_type"]),
            str(document["number"]),
            str(document["name"]),
        )


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
