"""Response bodies of the record-log API, in the shapes RFC 9162 clients expect (base64)."""

from __future__ import annotations

from pydantic import BaseModel


class KeyOut(BaseModel):
    origin: str
    verifier_key: str
    algorithm: str = "Ed25519"


class CheckpointOut(BaseModel):
    size: int
    root_hash: str
    timestamp: str
    checkpoint: str


class EntryOut(BaseModel):
    index: int
    leaf: str
    leaf_hash: str


class InclusionProofOut(BaseModel):
    index: int
    size: int
    proof: list[str]


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str]
