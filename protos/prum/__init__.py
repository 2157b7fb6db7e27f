"""prum: a simulator of the Prüm federation (Council Decision 2008/615/JHA) on real gRPC services.

`prum.<service>.v1` holds the generated contracts; `prum.services`, `prum.federation` and
`prum.loadtests` hold the implementation.
"""

__version__ = "0.1.0"
