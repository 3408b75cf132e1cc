"""Signed unit artifacts: Ed25519 signatures over an artifact's sha256 digest.

A deploy signs the digest of each unit artifact with the lattice's signing key (PEM, PKCS#8)
and stores the signature next to the artifact, as object `<digest>.sig.<key id>`. A host
holding the public key (`--trust`) verifies the signature and then the digest of the bytes
it fetched before compiling anything; an artifact that is unsigned, signed by another key, or
whose bytes do not hash to the signed digest is refused. Keys and signatures are made by the
`cryptography` library (RFC 8032 Ed25519).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wasmesh.lattice.errors import LatticeError

DOMAIN = b"wasmesh-artifact-v1:"  # what is signed: DOMAIN + the sha256 hex digest


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """A public key's short name: the first 16 hex digits of the sha256 of its raw bytes."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def signature_name(digest: str, key: str) -> str:
    """The object-store name of the signature of artifact `digest` by key id `key`."""
    return f"{digest}.sig.{key}"


@dataclass(frozen=True)
class Signer:
    """A private signing key."""

    key: Ed25519PrivateKey

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """The key in PEM file `path`; a `LatticeError` when it is not an Ed25519 key."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise LatticeError(f"the signing key {path} cannot be read ({exc.strerror}).") from None
        if b"PUBLIC KEY-----" in data:
            raise LatticeError(
                f"the signing key {path} is a public key; deploys sign with the private one "
                "(--sign-key signing.key, next to signing.pub, from `wasmesh lattice up`)."
            )
        try:
            key = serialization.load_pem_private_key(data, None)
        except (ValueError, TypeError):
            raise LatticeError(
                f"the signing key {path} is not a PEM private key; pass the signing.key "
                "`wasmesh lattice up` wrote."
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise LatticeError(f"the signing key {path} is not an Ed25519 key.")
        return cls(key)

    @property
    def key_id(self) -> str:
        return key_id(self.key.public_key())

    def sign(self, digest: str) -> bytes:
        """The signature of the artifact whose sha256 hex digest is `digest`."""
        return self.key.sign(DOMAIN + digest.encode())


@dataclass(frozen=True)
class Verifier:
    """A trusted public key."""

    key: Ed25519PublicKey

    @classmethod
    def from_file(cls, path: Path) -> Verifier:
        """The public key in PEM file `path`; a `LatticeError` when it is not Ed25519."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise LatticeError(f"the trusted key {path} cannot be read ({exc.strerror}).") from None
        if b"PRIVATE KEY-----" in data:
            raise LatticeError(
                f"the trusted key {path} is a private key; hosts verify with the public one "
                "(--trust signing.pub, next to signing.key, from `wasmesh lattice up`), and the "
                "private key stays with whoever deploys."
            )
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError):
            raise LatticeError(
                f"the trusted key {path} is not a PEM public key; pass the signing.pub "
                "`wasmesh lattice up` wrote."
            ) from None
        if not isinstance(key, Ed25519PublicKey):
            raise LatticeError(f"the trusted key {path} is not an Ed25519 public key.")
        return cls(key)

    @property
    def key_id(self) -> str:
        return key_id(self.key)

    def verify(self, digest: str, signature: bytes) -> bool:
        """Whether `signature` is this key's signature of artifact `digest`."""
        try:
            self.key.verify(signature, DOMAIN + digest.encode())
        except InvalidSignature:
            return False
        return True


def ensure_signing_key(private: Path, public: Path) -> None:
    """Create an Ed25519 key pair at `private` (mode 0600) and `public` unless it exists."""
    from wasmesh.lattice.credentials import write_private

    if private.exists() and public.exists():
        return
    key = Ed25519PrivateKey.generate()
    write_private(
        private,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
