"""Ed25519 keys and signatures for claim packs, and X.509 certificates for RFC 3161 tokens.
The only module that imports ``cryptography`` (pysnmp uses it on its own).

Keys are files: the private key PKCS#8 PEM (mode 0600), the public key SubjectPublicKeyInfo
PEM beside it as ``NAME.pub``. A key's *fingerprint* is the SHA-256 of its 32 raw public
bytes, in hex: a pack's manifest names the key that signed it by that.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from monitor.core.errors import InputError


def keygen(path: Path) -> tuple[Path, str]:
    """Write a new private key to ``path`` (refusing to overwrite one) and its public key to
    ``path.pub``; (public key path, fingerprint)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub = path.with_name(path.name + ".pub")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(
            f"{path} exists: keep it (packs it signed name it), or choose another file with -o",
            "-o",
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create: {exc.strerror}", "-o") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    pub.write_bytes(public)
    return pub, fingerprint(key.public_key())


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read: {exc.strerror}", what) from None


def load_private(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path`` (evidence.key_file)."""
    try:
        key = serialization.load_pem_private_key(_read(path, "evidence.key_file"), None)
    except ValueError as exc:
        raise InputError(
            f"evidence.key_file {path}: not a PEM private key ({exc}); make one "
            "with slawatch evidence keygen",
            "evidence.key_file",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"evidence.key_file {path}: not an Ed25519 key; make one with slawatch evidence keygen",
            "evidence.key_file",
        )
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path`` (``--public-key``)."""
    try:
        key = serialization.load_pem_public_key(_read(path, "--public-key"))
    except ValueError as exc:
        raise InputError(
            f"--public-key {path}: not a PEM public key ({exc})", "--public-key"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"--public-key {path}: not an Ed25519 public key", "--public-key")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``data``."""
    return key.sign(data)


def signed(key: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``data``."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def public_of(key: Ed25519PrivateKey) -> Ed25519PublicKey:
    return key.public_key()


def certificates(path: Path) -> list[Any]:
    """The X.509 certificates in the PEM file ``path`` (evidence.tsa_ca_file)."""
    try:
        return list(x509.load_pem_x509_certificates(_read(path, "evidence.tsa_ca_file")))
    except ValueError as exc:
        raise InputError(
            f"evidence.tsa_ca_file {path}: no PEM certificate in it ({exc})", "evidence.tsa_ca_file"
        ) from None
