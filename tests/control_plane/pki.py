"""Throwaway keys and certificates for a test control plane.

EC keys throughout: generating one is instant, unlike RSA.
"""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_KEY_USAGE = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                  encipher_only=False, decipher_only=False)


def _name(common_name, organization=None):
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path, data):
    with open(path, "wb") as stream:
        stream.write(data)
    os.chmod(path, 0o600)
    return path


class CertificateAuthority:
    """A CA kept on disk as ``<dir>/ca.crt`` / ``ca.key``; issues serving and client certificates."""

    def __init__(self, directory):
        self.directory = directory
        now = datetime.datetime.now(datetime.timezone.utc)
        self.validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=7))
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (self._builder(_name("meshops-test-ca"), self.key.public_key())
                     .issuer_name(_name("meshops-test-ca"))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **_KEY_USAGE),
                                    critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca_file = _write(os.path.join(directory, "ca.crt"), self.cert.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject, public_key):
        return (x509.CertificateBuilder().subject_name(subject).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(self.validity[0]).not_valid_after(self.validity[1]))

    def _issue(self, name, subject, usage, sans=None):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(subject, key.public_key()).issuer_name(self.cert.subject)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        crt = _write(os.path.join(self.directory, name + ".crt"), cert.public_bytes(serialization.Encoding.PEM))
        return crt, _write(os.path.join(self.directory, name + ".key"), _pem_key(key))

    def serving(self, name):
        """(crt, key) for a server on 127.0.0.1 / localhost."""
        return self._issue(name, _name(name), ExtendedKeyUsageOID.SERVER_AUTH,
                           [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])

    def client(self, user, groups=()):
        """(crt, key) authenticating as ``user`` in ``groups`` (CN and O, as kube-apiserver reads them)."""
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)]
                            + [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups])
        safe = "".join(c if c.isalnum() or c in "-." else "-" for c in user)
        return self._issue("client-" + safe, subject, ExtendedKeyUsageOID.CLIENT_AUTH)


def write_signing_key(directory):
    """The service-account token signing key and its public half: (private, public) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return (_write(os.path.join(directory, "sa.key"), _pem_key(key)), _write(os.path.join(directory, "sa.pub"), public))
