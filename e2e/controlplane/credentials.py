"""Self-made credentials for a throwaway apiserver: a CA, its serving certificate, a service-account key, tokens.

ECDSA P-256 throughout: key generation takes microseconds, and kube-apiserver accepts it for both TLS and
service-account tokens (ES256). Users authenticate with static bearer tokens (--token-auth-file), which keeps
kubeconfigs to one line per user and lets tests hold several identities with different RBAC rights.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True, slots=True)
class User:
    """A static-token identity; groups such as system:masters grant rights without RBAC bindings."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pki:
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    service_account_public: Path
    service_account_private: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_pki(directory: Path, now: datetime.datetime, hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> Pki:
    """Write a one-day CA, a serving certificate for `hosts` signed by it, and a service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("tokenhub-e2e-ca"))
        .issuer_name(_name("tokenhub-e2e-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    serving_key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    serving_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver"))
        .issuer_name(ca_cert.subject)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = ec.generate_private_key(ec.SECP256R1())
    pki = Pki(
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        service_account_public=directory / "sa.pub",
        service_account_private=directory / "sa.key",
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))
    pki.serving_key.write_bytes(_pem_key(serving_key))
    pki.serving_key.chmod(0o600)
    pki.service_account_public.write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    pki.service_account_private.write_bytes(_pem_key(sa_key))
    pki.service_account_private.chmod(0o600)
    return pki


def new_tokens(users: Iterable[User]) -> dict[User, str]:
    """One fresh 256-bit bearer token per user."""
    return {user: secrets.token_urlsafe(32) for user in users}


def token_file(tokens: dict[User, str]) -> str:
    """The --token-auth-file CSV: token,user,uid,"group1,group2"."""
    lines = []
    for user, token in tokens.items():
        for field in (user.name, *user.groups):
            if not field or any(ch in field for ch in ',"\n'):
                raise ValueError(f"user or group name unusable in a token file: {field!r}")
        lines.append(f'{token},{user.name},uid-{user.name},"{",".join(user.groups)}"')
    return "\n".join(lines) + "\n"
