"""Encryption of confidential free text at rest (Fernet; several keys allow rotation)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A ciphertext could not be read with any configured key. Never carries the text."""


class Cipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "stored text could not be decrypted with the configured keys"
            ) from None

    def encrypt_optional(self, plaintext: str | None) -> str | None:
        return self.encrypt(plaintext) if plaintext else None

    def decrypt_optional(self, token: str | None) -> str | None:
        return self.decrypt(token) if token else None


def load_or_create_key_file(path: Path) -> str:
    """The embedded default: a key generated once, readable by the owner only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
