"""The cryptography inventory as a CycloneDX 1.6 CBOM, built with cyclonedx-python-lib.

The service is the BOM's subject (``metadata.component``) and depends on every asset; each
asset is a ``cryptographic-asset`` component whose ``bom-ref`` is
``crypto/<type>/<id>``. A key is ``related-crypto-material`` carrying metadata only (type,
size, state, format, dates, what secures it), never a ``value``. Where an asset is used is
told by ``trustdesk:server`` properties (server name, ISO 3166-2 location, GB/T 2260 code).
SM2, SM3 and SM4 are not CycloneDX enum values: they appear by name with their OIDs.
Nothing here needs ``dependencies[].provides`` (the library lacks it), so the JSON is
written as the library makes it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.crypto import (
    AlgorithmProperties,
    CertificateProperties,
    CryptoAssetType,
    CryptoFunction,
    CryptoMode,
    CryptoPadding,
    CryptoPrimitive,
    CryptoProperties,
    ProtocolProperties,
    ProtocolPropertiesCipherSuite,
    ProtocolPropertiesType,
    RelatedCryptoMaterialProperties,
    RelatedCryptoMaterialSecuredBy,
    RelatedCryptoMaterialState,
    RelatedCryptoMaterialType,
)
from cyclonedx.output.json import JsonV1Dot6

from trustdesk import __version__
from trustdesk.compliance import vocabulary as v
from trustdesk.compliance.crypto_entry import CryptoAssetIn


@dataclass(frozen=True, slots=True, order=True)
class Place:
    """A server an asset is used on, and where it stands."""

    name: str
    location: str
    gbt2260: str | None

    def label(self) -> str:
        where = f"{self.location}, GB/T 2260 {self.gbt2260}" if self.gbt2260 else self.location
        return f"{self.name} ({where})"


@dataclass(frozen=True, slots=True)
class Asset:
    id: uuid.UUID
    entry: CryptoAssetIn
    places: tuple[Place, ...]


def bom_ref(asset_id: uuid.UUID, asset_type: v.CryptoAssetType) -> str:
    return f"crypto/{asset_type}/{asset_id}"


def _day(value: dt.date | None) -> dt.datetime | None:
    return None if value is None else dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def _algorithm(entry: CryptoAssetIn) -> AlgorithmProperties:
    return AlgorithmProperties(
        primitive=CryptoPrimitive(entry.primitive) if entry.primitive else None,
        parameter_set_identifier=entry.parameter_set,
        curve=entry.curve,
        mode=CryptoMode(entry.mode) if entry.mode else None,
        padding=CryptoPadding(entry.padding) if entry.padding else None,
        crypto_functions=[CryptoFunction(f) for f in entry.functions],
        classical_security_level=entry.security_level,
    )


def _protocol(entry: CryptoAssetIn) -> ProtocolProperties:
    return ProtocolProperties(
        type=ProtocolPropertiesType(entry.protocol) if entry.protocol else None,
        version=entry.version,
        cipher_suites=[ProtocolPropertiesCipherSuite(name=s) for s in entry.cipher_suites],
    )


def _certificate(entry: CryptoAssetIn, algorithm: BomRef | None) -> CertificateProperties:
    return CertificateProperties(
        subject_name=entry.subject_name,
        issuer_name=entry.issuer_name,
        not_valid_before=entry.not_valid_before,
        not_valid_after=entry.not_valid_after,
        signature_algorithm_ref=algorithm,
        certificate_format=entry.certificate_format,
    )


def _key(entry: CryptoAssetIn, algorithm: BomRef | None) -> RelatedCryptoMaterialProperties:
    return RelatedCryptoMaterialProperties(
        type=RelatedCryptoMaterialType(entry.key_type) if entry.key_type else None,
        state=RelatedCryptoMaterialState(entry.key_state) if entry.key_state else None,
        algorithm_ref=algorithm,
        creation_date=_day(entry.created_on),
        expiration_date=_day(entry.expires_on),
        size=entry.key_size,
        format=entry.key_format,
        secured_by=(
            RelatedCryptoMaterialSecuredBy(mechanism=entry.secured_by) if entry.secured_by else None
        ),
    )


def _properties(entry: CryptoAssetIn, refs: dict[uuid.UUID, BomRef]) -> CryptoProperties:
    algorithm = refs.get(entry.algorithm_id) if entry.algorithm_id else None
    kind = entry.asset_type
    return CryptoProperties(
        asset_type=(
            CryptoAssetType.RELATED_CRYPTO_MATERIAL
            if kind is v.CryptoAssetType.KEY
            else CryptoAssetType(kind.value)
        ),
        algorithm_properties=_algorithm(entry) if kind is v.CryptoAssetType.ALGORITHM else None,
        protocol_properties=_protocol(entry) if kind is v.CryptoAssetType.PROTOCOL else None,
        certificate_properties=(
            _certificate(entry, algorithm) if kind is v.CryptoAssetType.CERTIFICATE else None
        ),
        related_crypto_material_properties=(
            _key(entry, algorithm) if kind is v.CryptoAssetType.KEY else None
        ),
        oid=entry.oid,
    )


def build(service_id: uuid.UUID, service_name: str, assets: Sequence[Asset]) -> Bom:
    """The BOM of one service's cryptography inventory."""
    bom = Bom()
    root = Component(
        type=ComponentType.APPLICATION,
        name=service_name,
        bom_ref=f"service/{service_id}",
        properties=[Property(name="trustdesk:service-id", value=str(service_id))],
    )
    bom.metadata.component = root
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="trustdesk", version=__version__)
    )
    refs = {a.id: BomRef(bom_ref(a.id, a.entry.asset_type)) for a in assets}
    components = [
        Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=asset.entry.name,
            bom_ref=refs[asset.id],
            crypto_properties=_properties(asset.entry, refs),
            properties=_places(asset.places),
        )
        for asset in assets
    ]
    for component in components:
        bom.components.add(component)
    bom.register_dependency(root, components)
    return bom


def _places(places: Iterable[Place]) -> list[Property]:
    return [Property(name="trustdesk:server", value=place.label()) for place in places]


def document(service_id: uuid.UUID, service_name: str, assets: Sequence[Asset]) -> str:
    """The CBOM as CycloneDX 1.6 JSON text."""
    return JsonV1Dot6(build(service_id, service_name, assets)).output_as_string(indent=2) + "\n"
