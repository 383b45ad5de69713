"""Identity: services verify bearer tokens against an issuer's published keys (JWKS); they never sign.

The issuer is an OpenID Connect provider in production and the local `rcm-issuer` process in `make run`.
"""
