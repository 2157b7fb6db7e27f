"""The national file of facial images (Prüm II Arts 19-20, P2-FACE-1..4): templates (`templates.py`), the
offences a search may be made for (`offences.py`), the exact 1:N search (`gallery.py`), its part in the exchange
(`exchange.py`, `plugin.py`), ANSI/NIST-ITL Type-10 records (`ansi_nist.py`), and the wire and servicer around
them. The officer's confirmation of a candidate (P2-FACE-3) is the exchange's (`services/exchange/face_confirmation.py`)."""
