"""The closed sets of the compliance register, stored as their stable string values.

The cryptography sets are the CycloneDX 1.6 values (``cryptoProperties`` in the 1.6 JSON
schema) that a provider's inventory needs; :mod:`trustdesk.compliance.cbom` maps them onto
cyclonedx-python-lib's enums when it writes a CBOM.
"""

from __future__ import annotations

import enum


class FilingStatus(enum.StrEnum):
    """Where a permit or filing stands today (derived from its dates, never stored)."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"


class AssetKind(enum.StrEnum):
    """What an inventory entry is: a server, or a data store (database, bucket, log store)."""

    SERVER = "server"
    DATA_STORE = "data_store"


class DataClass(enum.StrEnum):
    """What a server or data store holds."""

    IDENTITY = "identity"
    CONTENT = "content"
    EVIDENCE = "evidence"
    LOGS = "logs"


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class FindingReason(enum.StrEnum):
    """Why a server breaks a residency rule."""

    OUTSIDE_REGION = "outside_region"  # its ISO 3166 location is not in the rule's region
    DIVISION_OUTSIDE_PREFIX = "division_outside_prefix"  # its GB/T 2260 code is elsewhere
    DIVISION_MISSING = "division_missing"  # the rule names a prefecture; the server no code


class CryptoAssetType(enum.StrEnum):
    """CycloneDX ``assetType``; ``key`` is ``related-crypto-material`` (metadata only)."""

    ALGORITHM = "algorithm"
    PROTOCOL = "protocol"
    CERTIFICATE = "certificate"
    KEY = "key"


class Primitive(enum.StrEnum):
    AE = "ae"
    BLOCK_CIPHER = "block-cipher"
    STREAM_CIPHER = "stream-cipher"
    HASH = "hash"
    MAC = "mac"
    SIGNATURE = "signature"
    PKE = "pke"
    KEY_AGREE = "key-agree"
    KDF = "kdf"
    KEM = "kem"
    DRBG = "drbg"
    XOF = "xof"
    COMBINER = "combiner"
    OTHER = "other"


class Mode(enum.StrEnum):
    CBC = "cbc"
    ECB = "ecb"
    CCM = "ccm"
    GCM = "gcm"
    CFB = "cfb"
    OFB = "ofb"
    CTR = "ctr"
    OTHER = "other"


class Padding(enum.StrEnum):
    PKCS5 = "pkcs5"
    PKCS7 = "pkcs7"
    PKCS1V15 = "pkcs1v15"
    OAEP = "oaep"
    RAW = "raw"
    OTHER = "other"


class CryptoFunction(enum.StrEnum):
    GENERATE = "generate"
    KEYGEN = "keygen"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    DIGEST = "digest"
    TAG = "tag"
    KEYDERIVE = "keyderive"
    SIGN = "sign"
    VERIFY = "verify"
    ENCAPSULATE = "encapsulate"
    DECAPSULATE = "decapsulate"
    OTHER = "other"


class ProtocolType(enum.StrEnum):
    TLS = "tls"
    SSH = "ssh"
    IPSEC = "ipsec"
    IKE = "ike"
    SSTP = "sstp"
    WPA = "wpa"
    OTHER = "other"


class KeyType(enum.StrEnum):
    """What kind of key an inventory entry describes (never the key itself)."""

    PRIVATE_KEY = "private-key"
    PUBLIC_KEY = "public-key"
    SECRET_KEY = "secret-key"  # noqa: S105  (a vocabulary value, not a secret)


class KeyState(enum.StrEnum):
    PRE_ACTIVATION = "pre-activation"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    COMPROMISED = "compromised"
    DESTROYED = "destroyed"
