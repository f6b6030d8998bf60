"""`Authorization: Bearer <key>`: each key belongs to one partner organisation."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from lending.models import Partner, PartnerApiKey
from lending.services.partners import partner_api_key_authenticate

BEARER = "bearer"


@dataclass(frozen=True)
class PartnerPrincipal:
    """The caller behind a partner key: not a Django user, so no staff page or admin accepts it."""

    partner: Partner
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True

    def get_username(self) -> str:
        return f"partner:{self.partner.name}"


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """Bearer keys; a request without one is left to the next scheme (staff sessions)."""

    def authenticate(self, request: Request) -> tuple[PartnerPrincipal, PartnerApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != BEARER:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        key = partner_api_key_authenticate(presented=header[1])
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown, revoked or its partner is inactive.")
        return PartnerPrincipal(partner=key.partner), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="finai"'
