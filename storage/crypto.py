"""Encryption of confidential free text at rest (Fernet; several keys allow rotation).

Each ciphertext is bound to the row and column it belongs to: the plaintext sealed inside
the (authenticated) Fernet token starts with that context, and decryption checks it. A
ciphertext copied into another row, or another column, fails to decrypt instead of
quietly showing one person's words as someone else's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A ciphertext could not be read with any configured key. Never carries the text."""


SEAL = "upward-sealed:v1:"
PAD = 256  # sealed documents are padded to a multiple of this many characters


class Cipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self.key_count = len(keys)

    def encrypt(self, plaintext: str, context: str) -> str:
        """`context` names the row and column, e.g. `checkin.note:12:34:2`."""
        sealed = f"{SEAL}{context}\n{plaintext}"
        return self._fernet.encrypt(sealed.encode()).decode()

    def decrypt(self, token: str, context: str) -> str:
        try:
            sealed = self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise DecryptionError(
                "stored text could not be decrypted with the configured keys"
            ) from None
        header, _, plaintext = sealed.partition("\n")
        if header != SEAL + context:
            raise DecryptionError("stored text belongs to another row")
        return plaintext

    def encrypt_optional(self, plaintext: str | None, context: str) -> str | None:
        return self.encrypt(plaintext, context) if plaintext else None

    def decrypt_optional(self, token: str | None, context: str) -> str | None:
        return self.decrypt(token, context) if token else None

    def encrypt_json(self, value: Any, context: str, *, pad: int = PAD) -> str:
        """One sealed JSON document, padded with spaces to a multiple of `pad` characters:
        a ciphertext's length would otherwise tell how much was answered (how many themes,
        whether an optional answer was given, how large a count has grown)."""
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        width = -(-max(len(text), 1) // pad) * pad
        return self.encrypt(text.ljust(width), context)

    def decrypt_json(self, token: str, context: str) -> Any:
        try:
            return json.loads(self.decrypt(token, context))
        except json.JSONDecodeError:
            raise DecryptionError("stored document is not readable") from None

    def rotate(self, token: str) -> str:
        """The same sealed text under the newest key (the context travels inside)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "stored text could not be decrypted with the configured keys"
            ) from None


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
