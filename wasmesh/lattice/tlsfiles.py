"""A local certificate authority for a lattice's TLS, made with the `cryptography` library.

For development and tests (`wasmesh lattice up --tls`): one CA, a server certificate for the
names and addresses clients dial, and one client certificate the server accepts. A real
cluster uses certificates from its own PKI, passed with `--tls-ca/--tls-cert/--tls-key`.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 365


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a local CA, the server's certificate and one client certificate."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client-key.pem"


def ensure_tls(directory: Path, hosts: Sequence[str]) -> TlsFiles:
    """The TLS files in `directory`, created when missing; the server certificate names
    `hosts` (DNS names or IP addresses) plus localhost and 127.0.0.1."""
    from wasmesh.lattice.credentials import write_private

    files = TlsFiles(directory)
    names = sorted({"localhost", "127.0.0.1", *(h for h in hosts if h not in ("", "0.0.0.0"))})
    if not files.ca.exists() or not files.ca_key.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        write_private(files.ca_key, _key_pem(key))
        files.ca.write_bytes(_pem(_certificate("wasmesh lattice CA", key.public_key(), key,
                                               None, ca=True)))  # fmt: skip
    ca_key, ca_cert = _load(files)
    if not files.server_cert.exists() or _names(files.server_cert) != names:
        key = ec.generate_private_key(ec.SECP256R1())
        write_private(files.server_key, _key_pem(key))
        cert = _certificate("wasmesh lattice server", key.public_key(), ca_key, ca_cert,
                            names=names)  # fmt: skip
        files.server_cert.write_bytes(_pem(cert))
    if not files.client_cert.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        write_private(files.client_key, _key_pem(key))
        cert = _certificate("wasmesh lattice client", key.public_key(), ca_key, ca_cert,
                            client=True)  # fmt: skip
        files.client_cert.write_bytes(_pem(cert))
    return files


def _load(files: TlsFiles) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{files.ca_key} is not the EC key wasmesh writes; delete the TLS files")
    return key, x509.load_pem_x509_certificate(files.ca.read_bytes())


def _names(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    found = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    found += [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    return sorted(found)


def _certificate(
    common_name: str, public_key: ec.EllipticCurvePublicKey,
    signer: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None, *, ca: bool = False,
    names: Sequence[str] = (), client: bool = False,
) -> x509.Certificate:  # fmt: skip
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False),
            critical=True,
        )  # fmt: skip
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
