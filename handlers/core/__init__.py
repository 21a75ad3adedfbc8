"""What every feature builds on: services, access, the `/dks` router, errors, declarations.

Nothing here imports a feature; features import from here.
"""
