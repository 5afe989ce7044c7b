"""A loopback Bot Framework identity provider: OpenID metadata, JWKS, and a token minter.

For testing inbound JWT validation with auth ON. Point the bot's configuration at it::

    with FakeIdentity() as idp:
        config.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = idp.metadata_url
        config.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = "https://api.botframework.com"
        token = idp.token(audience="app-id", service_url=activity.service_url)
        headers = {"Authorization": f"Bearer {token}"}

Setting any ``TO_*`` option switches botbuilder to its "parameterized" authentication, which
takes *every* such option from the configuration: without ``TO_BOT_FROM_CHANNEL_TOKEN_ISSUER``
the allowed issuer is ``None`` and even valid tokens are refused.

botbuilder fetches the metadata and keys with blocking ``requests.get`` from inside its async
code (``JwtTokenExtractor``), so the server runs on its own thread (``ThreadingHTTPServer``),
never on the test's event loop. botbuilder caches metadata per URL for a day in a class-level
dict; each ``FakeIdentity`` listens on a fresh port, so its URLs are never cached stale.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdentity:
    """Serves ``metadata_url`` and its JWKS from a daemon thread; mints RS256 tokens."""

    def __init__(
        self, *, kid: str = "test-key-1", endorsements: Sequence[str] = ("msteams",)
    ) -> None:
        self.kid = kid
        self.endorsements = list(endorsements)
        self.key = _new_key()
        self.other_key = _new_key()  # for token(key="other"): a key the JWKS does not list
        self.fetched: list[str] = []  # paths requested, in order
        self.delay = 0.0  # seconds before each answer (a slow login.botframework.com)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def start(self) -> Self:
        identity = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                identity.fetched.append(self.path)
                time.sleep(identity.delay)
                if self.path == METADATA_PATH:
                    self._json(200, identity.metadata())
                elif self.path == KEYS_PATH:
                    self._json(200, identity.jwks())
                else:
                    self._json(404, {"error": "not found"})

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="fake-identity",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- documents

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeIdentity is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return self.base_url + METADATA_PATH

    @property
    def jwks_uri(self) -> str:
        return self.base_url + KEYS_PATH

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": BOT_FRAMEWORK_ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.kid,
                    "n": jwk["n"],
                    "e": jwk["e"],
                    "endorsements": self.endorsements,
                }
            ]
        }

    # ---- tokens

    def token(
        self,
        *,
        audience: str,
        service_url: str,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        expires_in: int = 3600,
        key: Literal["other"] | None = None,
        kid: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A channel-to-bot token as the Bot Connector sends it.

        ``expires_in < 0`` gives an expired token; botbuilder allows 5 minutes of clock skew, so
        use e.g. -3600. ``key="other"`` signs with a key the JWKS does not list (same ``kid``
        unless ``kid`` is given). ``extra`` claims are added last (and may override).
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + expires_in,
            "iat": now - 60,
            "iss": issuer,
            "aud": audience,
            "jti": uuid.uuid4().hex,
        }
        if expires_in < 0:  # keep nbf/iat before exp
            claims["nbf"] = claims["iat"] = claims["exp"] - 3600
        claims.update(extra or {})
        signing_key = self.other_key if key == "other" else self.key
        return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": kid or self.kid})


__all__ = ["BOT_FRAMEWORK_ISSUER", "FakeIdentity"]
