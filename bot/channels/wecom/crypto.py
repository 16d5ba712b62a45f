"""WeCom (企业微信) callback crypto: signature check and AES-256-CBC decryption.

The protocol, as WeCom documents it for self-built apps:
- ``msg_signature`` = SHA-1 hex of the sorted, concatenated token, timestamp, nonce and the
  encrypted text;
- the key is the 43-character EncodingAESKey plus "=" decoded from base64 (32 bytes); the IV is
  its first 16 bytes;
- the plaintext is random(16) + length(4, network order) + message + receive-id, padded with
  PKCS#7 to a multiple of 32 bytes (not the AES block size, 16), and the receive-id must equal
  our CorpID.

Every failure raises :class:`CallbackRejected` with a short reason for the log line; the
endpoint turns it into a 4xx. The AES part is ``cryptography``'s; only the framing is ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32
MAX_ENCRYPTED = 512 * 1024  # base64 text; a WeCom message body is a few kB at most


class CallbackRejected(Exception):
    """A callback that is not from WeCom or not for us; ``reason`` goes to the log."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class WeComCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must have 43 characters")
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.receive_id = receive_id.encode()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        # Constant-time: the signature is the only thing standing between a caller and the bot.
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise CallbackRejected("bad signature", 403)

    def decrypt(self, encrypted: str) -> bytes:
        """The message bytes inside ``encrypted`` (base64), after checking padding and receive-id."""
        if len(encrypted) > MAX_ENCRYPTED:
            raise CallbackRejected("encrypted payload too large", 413)
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRejected("encrypted payload is not base64") from None
        if not raw or len(raw) % 16:
            raise CallbackRejected("encrypted payload has a bad length")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CallbackRejected("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CallbackRejected("message length beyond plaintext")
        message = plain[20 : 20 + length]
        if plain[20 + length :] != self.receive_id:
            raise CallbackRejected("wrong receive-id", 403)
        return message
