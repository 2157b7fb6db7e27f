"""Police records under Prüm II (EPRIS, Regulation (EU) 2024/982 Art 25, 44; P2-EPRIS-1..5).

`index`: a state's national records and their pseudonymised index (keyed phonetic blocking values, rotated
at every refresh), searched by names and date of birth with their variations. `plugin` and `wire` plug the
search into the exchange seam; `servicer` and `transport` carry it and the reasoned follow-up (whose core is
`prum.services.exchange.record_requests`) over gRPC.
"""
