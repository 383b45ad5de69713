"""rcm-issuer: the platform's local token issuer (discovery, JWKS, client credentials, development login)."""
