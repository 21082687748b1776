from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


class TokenAuthentication(DRFTokenAuthentication):
    """The token, its user and the user's membership in one query: every API view needs all three."""

    def authenticate_credentials(self, key):
        try:
            token = Token.objects.select_related("user__membership__organization").get(key=key)
        except Token.DoesNotExist:
            raise AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token
