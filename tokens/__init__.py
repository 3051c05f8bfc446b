"""The domain of Shared Access Tokens: secrets, lifetimes, IP ranges, grants and lifecycle.

Imports no Starlette and no Strawberry: GraphQL, HTTP and the CLI all call these
functions, so every rule lives in one place.
"""
